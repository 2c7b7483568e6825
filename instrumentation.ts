// Validates configuration when the server starts, so a bad variable fails loudly before the first request.
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { getConfig } = await import("./lib/config");
    getConfig();
  }
}
