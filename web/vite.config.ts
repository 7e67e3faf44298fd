import { defineConfig } from "vitest/config";

// The UI is served by `plinth server` at "/" with its files under /assets/; `npm run dev`
// proxies the APIs to a server on PLINTH_URL (default http://127.0.0.1:5000).
const api = process.env.PLINTH_URL ?? "http://127.0.0.1:5000";

export default defineConfig({
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 400 },
  server: {
    proxy: {
      "/api": api,
      "/ajax-api": api,
      "/endpoints": api,
    },
  },
  test: {
    environment: "happy-dom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
