import { expect, test } from "@playwright/test";
import { hydrated, signIn } from "./helpers";

// Pictures of the main screens for the README, in both themes. They are written to
// test-results/screenshots and copied to docs/screenshots by hand when the screens change.
// The suite runs this file after the others (alphabetical order), so the screens show the
// users, groups, profiles and events the other tests provisioned. The assertions make sure
// each picture shows a finished page, not a spinner.
test("screenshots of the console in both themes", async ({ page }) => {
  test.setTimeout(90_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto("/console/login");
  await signIn(page);
  await expect(page).toHaveURL(/^[^?]*\/console$/);
  const shots: [string, string][] = [
    ["dashboard", "/console"],
    ["auth-profiles", "/console/auth-profiles"],
    ["scim-import", "/console/scim"],
    ["users", "/console/users"],
    ["groups", "/console/groups"],
    ["events", "/console/events"],
    ["settings", "/console/settings"],
  ];
  for (const theme of ["light", "dark"] as const) {
    await hydrated(page);
    await page.getByTestId(`theme-${theme}`).click();
    for (const [name, url] of shots) {
      await page.goto(url);
      await hydrated(page);
      await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
      await expect(page.locator('[aria-busy="true"]')).toHaveCount(0);
      await expect(page.getByText(/Loading|Counting/)).toHaveCount(0);
      await page.screenshot({ path: `test-results/screenshots/${name}-${theme}.png` });
    }
  }
  await page.goto("/console/scim");
  await expect(page.getByTestId("base-url")).toHaveValue(/\/scim\/v2$/);
});
