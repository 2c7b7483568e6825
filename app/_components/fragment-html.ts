import { escapeHtml } from "@/lib/escape-html";
import type { FragmentResult } from "@/lib/fragments";
import { noticeText, notFoundText } from "./fragment-notice";

/**
 * `/fragment/<name>` as HTML: one fragment as a snippet a client can drop into its container. Text is a
 * paragraph; other data is its JSON, pretty-printed (a client wanting the data asks for JSON instead).
 */
export function fragmentHtml(result: FragmentResult): string {
  const name = escapeHtml(result.name);
  if (result.status === "not-found") {
    const text = escapeHtml(notFoundText(result.name));
    return `<div data-fragment="${name}" data-origin="${result.origin}"><p class="fragment-empty">${text}</p></div>\n`;
  }
  if (result.status === "ready") {
    const { data } = result;
    const body =
      typeof data === "string"
        ? `<p class="fragment-value">${escapeHtml(data)}</p>`
        : `<pre class="fragment-value">${escapeHtml(JSON.stringify(data, null, 2))}</pre>`;
    return `<div data-fragment="${name}" data-origin="${result.origin}">${body}</div>\n`;
  }
  const notice = escapeHtml(noticeText(result));
  const quiet = result.status === "pending" || result.status === "busy";
  const paragraph = quiet
    ? `<p class="fragment-${result.status}" role="status">${notice}</p>`
    : `<p class="fragment-alert" role="alert">${notice}</p>`;
  return `<div data-fragment="${name}">${paragraph}</div>\n`;
}
