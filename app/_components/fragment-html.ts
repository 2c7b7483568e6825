import type { FragmentResult } from "@/lib/fragments";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/**
 * `/fragment/<name>` as HTML: one fragment as a snippet a client can drop into its container. Text is a
 * paragraph; other data is its JSON, pretty-printed (a client wanting the data asks for JSON instead).
 */
export function fragmentHtml(result: FragmentResult): string {
  const name = escapeHtml(result.name);
  switch (result.status) {
    case "ready": {
      const { data } = result;
      const body =
        typeof data === "string"
          ? `<p class="fragment-value">${escapeHtml(data)}</p>`
          : `<pre class="fragment-value">${escapeHtml(JSON.stringify(data, null, 2))}</pre>`;
      return `<div data-fragment="${name}" data-source="${result.origin}">${body}</div>\n`;
    }
    case "pending":
      return `<div data-fragment="${name}"><p class="fragment-pending" role="status">Still working on ${name}: its data is on the way.</p></div>\n`;
    case "error":
      return `<div data-fragment="${name}"><p class="fragment-alert" role="alert">This part (${name}) could not be loaded.</p></div>\n`;
  }
}
