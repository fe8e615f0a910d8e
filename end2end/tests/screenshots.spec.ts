import { expect, test } from "@playwright/test";
import { signIn } from "./helpers";

// Pictures of the console for the README (copied from test-results/screenshots to
// docs/screenshots by hand when the screens change). The assertions make sure each picture
// shows a finished page, not a spinner.
test("screenshots of the console in both themes", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 760 });
  await page.goto("/console/login");
  await signIn(page);
  await expect(page).toHaveURL(/\/console$/);
  for (const theme of ["light", "dark"] as const) {
    await page.getByTestId(`theme-${theme}`).click();
    await page.goto("/console/settings");
    await expect(page.getByTestId("database")).toHaveText("SQLite");
    await page.screenshot({ path: `test-results/screenshots/settings-${theme}.png` });
    await page.goto("/console");
    await expect(page.getByTestId("event-table")).toBeVisible();
    await page.screenshot({ path: `test-results/screenshots/dashboard-${theme}.png` });
    await page.goto("/console/scim");
    await expect(page.getByTestId("base-url")).toHaveValue(/\/scim\/v2$/);
    await page.screenshot({ path: `test-results/screenshots/scim-import-${theme}.png`, fullPage: true });
  }
});
