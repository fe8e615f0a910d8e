import { defineConfig } from "@playwright/test";
import * as path from "node:path";

// The suite starts its own Gatehouse (the release binary by default) on a fresh database,
// and drives Debian's Chromium: no browser is ever downloaded.
const port = process.env.GATEHOUSE_E2E_PORT ?? "3400";
const baseURL = `http://127.0.0.1:${port}`;
/** A second Gatehouse with no administrator yet, for the first-run setup link. */
export const FRESH_PORT = process.env.GATEHOUSE_E2E_FRESH_PORT ?? "3401";
/** The test SAML IdP (start-idp.sh), on loopback. */
export const IDP_PORT = process.env.GATEHOUSE_E2E_IDP_PORT ?? "3402";
export const IDP_URL = `http://127.0.0.1:${IDP_PORT}`;
const root = path.resolve(__dirname, "..");

export default defineConfig({
  testDir: "./tests",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  outputDir: "./test-results",
  use: {
    baseURL,
    testIdAttribute: "data-test",
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
      ],
    },
  },
  webServer: [
    ...[
      { command: "bash ./start-server.sh", port: port },
      { command: "bash ./start-server.sh fresh", port: FRESH_PORT },
    ].map(({ command, port }) => ({
      command,
      url: `http://127.0.0.1:${port}/readyz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore" as const,
      stderr: "pipe" as const,
      env: {
        GATEHOUSE_LISTEN: `127.0.0.1:${port}`,
        GATEHOUSE_E2E_BINARY: process.env.GATEHOUSE_E2E_BINARY ?? path.join(root, "target/release/gatehouse"),
        GATEHOUSE_SITE_DIR: process.env.GATEHOUSE_E2E_SITE_DIR ?? path.join(root, "target/site"),
      },
    })),
    // The test SAML identity provider the sign-in tests go through (npm saml-idp).
    {
      command: "bash ./start-idp.sh",
      url: `${IDP_URL}/metadata`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore" as const,
      stderr: "pipe" as const,
      env: { GATEHOUSE_E2E_IDP_PORT: IDP_PORT },
    },
  ],
});
