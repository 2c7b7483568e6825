import { escapeHtml } from "../../../lib/escape-html";

/**
 * The talk's skeleton: a heading and one spinner per part, then the client script. The `data-fragment`,
 * role and label are the only additions, so the benchmark's browser probe finds parts and spinners the
 * same way on both systems.
 */
export function skeletonPage(names: string[]): string {
  const parts = names
    .map((raw) => {
      const name = escapeHtml(raw);
      return `<div id="${name}" data-fragment="${name}">\n  <img src="/images/spinner.svg" width="32" height="32" role="status" aria-label="Loading fragment ${name}" />\n</div>`;
    })
    .join("\n");
  return `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Node Worker Pattern</title></head>\n<body>\n<h1>Node Worker Pattern</h1>\n${parts}\n<script src="/javascripts/client.js"></script>\n</body>\n</html>\n`;
}

/** The talk's `fragment` template: the part's container, replaced wholesale by the client. */
export function fragmentSnippet(name: string, result: string): string {
  return `<div id="${escapeHtml(name)}" data-fragment="${escapeHtml(name)}">${escapeHtml(result)}</div>\n`;
}

/** The talk's client.coffee without jQuery: on DOM ready, one request per part, each swapped in on arrival. */
export const CLIENT_SCRIPT = `function makeRequest(url, callback) {
  fetch(url).then(function (response) { return response.text(); }).then(callback, function (error) { console.log(error); });
}
function start() {
  document.querySelectorAll("[data-fragment]").forEach(function (part) {
    makeRequest("/fragment/" + encodeURIComponent(part.id), function (content) { part.outerHTML = content; });
  });
}
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
`;
