/**
 * The talk's `externalApi.performSlowExternalCall`, pointed at the same scripted upstream as the app
 * (`SLOW_API_URL`, a template with `{query}`), so both systems wait on identical latencies.
 */
export function performSlowExternalCall(urlTemplate: string, query: string): Promise<string> {
  return fetch(urlTemplate.replaceAll("{query}", encodeURIComponent(query))).then((response) => {
    if (!response.ok) throw new Error(`upstream answered ${response.status} for "${query}"`);
    return response.text();
  });
}
