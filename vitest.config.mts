import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: {
      // `server-only` throws outside the react-server condition; unit tests run lib/ in plain Node.
      "server-only": fileURLToPath(new URL("./harness/server-only.ts", import.meta.url)),
      "@": fileURLToPath(new URL(".", import.meta.url)),
    },
  },
  test: {
    include: [
      "lib/**/*.test.ts",
      "app/**/*.test.ts",
      "redis-bridge/**/*.test.ts",
      "sources/**/*.test.{ts,tsx}",
      "harness/**/*.test.ts",
      "bench/**/*.test.ts",
    ],
    environment: "node",
    // Memory tests measure live data after a full collection (global.gc) rather than V8's heap growth.
    execArgv: ["--expose-gc"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
