// @ts-check

const securityHeaders = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), browsing-topics=()" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
  { key: "Strict-Transport-Security", value: "max-age=63072000; includeSubDomains" },
];

/** @type {import("next").NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  output: "standalone",
  experimental: {
    // The stylesheet goes into the page's <head> as a <style>, so no request blocks the first paint.
    inlineCss: true,
    // Next keeps this much of every request's body in memory before the proxy runs (10 MiB unless said):
    // the largest body the app takes, the purge route's or the server action's (lib/request-bodies.ts).
    proxyClientMaxBodySize: 1024,
    serverActions: {
      // The retry control's argument, one fragment name (ACTION_BODY_MAX_BYTES in lib/request-bodies.ts).
      bodySizeLimit: 1024,
    },
  },
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders }];
  },
};

module.exports = nextConfig;
