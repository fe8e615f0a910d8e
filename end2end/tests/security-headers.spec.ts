import { expect, test } from "@playwright/test";
import { hydrated, signIn } from "./helpers";

// Issue 6: the Content-Security-Policy must let the app hydrate and run, and the browser
// must report no violation anywhere on the way through the console.
test("the console hydrates under its CSP with no violations", async ({ page }) => {
  const violations: string[] = [];
  page.on("console", (msg) => {
    if (/Content Security Policy|Content-Security-Policy/i.test(msg.text())) {
      violations.push(msg.text());
    }
  });
  page.on("pageerror", (err) => {
    if (/Content Security Policy/i.test(err.message)) violations.push(err.message);
  });

  const res = await page.goto("/console/login");
  const headers = res!.headers();
  expect(headers["content-security-policy"]).toContain("'wasm-unsafe-eval'");
  expect(headers["content-security-policy"]).not.toContain("unsafe-inline");
  expect(headers["x-frame-options"]).toBe("DENY");
  await hydrated(page);

  await signIn(page);
  await expect(page.getByTestId("signed-in-admin")).toBeVisible();
  await hydrated(page);
  for (const path of ["/console/users", "/console/events", "/console/auth-profiles"]) {
    await page.goto(path);
    await hydrated(page);
  }
  await page.goto("/login");
  await expect(page.locator("form")).toBeVisible();

  expect(violations).toEqual([]);
});
