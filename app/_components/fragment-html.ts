import { escapeHtml } from "@/lib/escape-html";
import type { FragmentResult } from "@/lib/fragments";
import { noticeText } from "./fragment-notice";

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
      return `<div data-fragment="${name}" data-origin="${result.origin}">${body}</div>\n`;
    }
    case "pending":
      return `<div data-fragment="${name}"><p class="fragment-pending" role="status">${noticeText("pending", name)}</p></div>\n`;
    case "error":
      return `<div data-fragment="${name}"><p class="fragment-alert" role="alert">${noticeText("error", name)}</p></div>\n`;
  }
}
