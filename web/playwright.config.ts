// End-to-end tests of the UI against a real, seeded `plinth server`: run them with
// scripts/ui-e2e.sh (`make test-e2e`), which starts the server, seeds it and sets
// PLINTH_E2E_URL and PLINTH_E2E_SEED. Debian's Chromium, never a downloaded browser.
import { defineConfig } from "@playwright/test";

export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results/artifacts",
  // Two workers on the 2-core CI machine; the tests that change data use their own objects.
  workers: process.env.PLINTH_E2E_WORKERS ? Number(process.env.PLINTH_E2E_WORKERS) : 2,
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    baseURL: process.env.PLINTH_E2E_URL,
    browserName: "chromium",
    viewport: { width: 1400, height: 900 },
    launchOptions: {
      executablePath: process.env.PLINTH_CHROMIUM || "/usr/bin/chromium",
      args: chromiumArgs,
    },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    actionTimeout: 10_000,
    navigationTimeout: 15_000,
  },
});
