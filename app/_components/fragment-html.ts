import type { FragmentResult } from "@/lib/fragment-result";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/** The seed's `/fragment/:name` answer: one fragment as an HTML snippet a client can drop into its container. */
export function fragmentHtml(result: FragmentResult): string {
  const name = escapeHtml(result.name);
  switch (result.status) {
    case "ready":
      return `<div data-fragment="${name}" data-source="${result.source}"><p class="fragment-value">${escapeHtml(result.value)}</p></div>\n`;
    case "pending":
      return `<div data-fragment="${name}"><p class="fragment-pending" role="status">Still working on ${name}: its data is on the way.</p></div>\n`;
    case "error":
      return `<div data-fragment="${name}"><p class="fragment-alert" role="alert">This part (${name}) could not be loaded.</p></div>\n`;
  }
}
