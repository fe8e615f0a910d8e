import { expect, test } from "@playwright/test";
import { ADMIN, hydrated, signIn } from "./helpers";

test("a stranger at the site root is sent to sign in", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/console\/login$/);
  await expect(page.getByRole("heading", { name: "Sign in to the console" })).toBeVisible();
});

test("a wrong password says so without revealing whether the email exists", async ({ page }) => {
  await page.goto("/console/login");
  await signIn(page, ADMIN.email, "not the right password");
  const alert = page.getByRole("alert");
  await expect(alert).toHaveText("The email or password is not correct.");
  await expect(page).toHaveURL(/\/console\/login/);

  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(alert).toHaveText("The email or password is not correct.");
});

const SECTIONS: [string, string, string][] = [
  ["Authentication Profiles", "/console/auth-profiles", "Authentication Profiles"],
  ["SCIM Import", "/console/scim", "SCIM Import"],
  ["Users", "/console/users", "Users"],
  ["User Groups", "/console/groups", "User Groups"],
  ["Events / Logs", "/console/events", "Events / Logs"],
  ["Settings", "/console/settings", "Settings"],
  ["Dashboard", "/console", "Dashboard"],
];

test("sign in, visit every section, sign out", async ({ page }) => {
  // A deep link survives the detour through sign-in.
  await page.goto("/console/users");
  await expect(page).toHaveURL(/\/console\/login\?next=\/console\/users$/);
  await signIn(page);
  await expect(page).toHaveURL(/^[^?]*\/console\/users$/);
  await expect(page.getByTestId("signed-in-admin")).toContainText(ADMIN.email);

  const nav = page.getByRole("navigation", { name: "Console sections" });
  for (const [link, url, heading] of SECTIONS) {
    await nav.getByRole("link", { name: link, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`${url}$`));
    await expect(page.getByRole("heading", { level: 1, name: heading, exact: true })).toBeVisible();
    await expect(nav.getByRole("link", { name: link, exact: true })).toHaveAttribute("aria-current", "page");
  }

  // Real data only: the sign-in just made is on the dashboard, the admin in Settings.
  await expect(page.getByTestId("event-table")).toContainText("admin.sign_in");
  await nav.getByRole("link", { name: "Settings", exact: true }).click();
  await expect(page.getByTestId("database")).toHaveText("SQLite");
  await expect(page.getByText(ADMIN.email, { exact: true }).first()).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/console\/login$/);
  await page.goto("/console/settings");
  await expect(page).toHaveURL(/\/console\/login\?next=\/console\/settings$/);
});

test("the theme switches, is remembered, and renders without a flash", async ({ page, context }) => {
  await page.emulateMedia({ colorScheme: "light" });
  await page.goto("/console/login");
  await signIn(page);
  await expect(page).toHaveURL(/\/console$/);
  const html = page.locator("html");
  await expect(html).not.toHaveClass(/dark/);

  await page.getByTestId("theme-dark").click();
  await expect(html).toHaveClass(/dark/);
  await expect(page.getByTestId("theme-dark")).toHaveAttribute("aria-pressed", "true");
  const bg = await page.locator("body").evaluate((b) => getComputedStyle(b).backgroundColor);
  expect(bg).not.toBe("rgb(248, 250, 252)"); // slate-50, the light background

  // The server renders the remembered choice into the first byte of HTML.
  const cookies = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
  const res = await page.request.get("/console", { headers: { cookie: cookies } });
  expect(await res.text()).toContain('<html lang="en" class="dark"');
  await page.reload();
  await expect(html).toHaveClass(/dark/);

  await page.getByTestId("theme-light").click();
  await expect(html).not.toHaveClass(/dark/);
  await page.reload();
  await expect(html).not.toHaveClass(/dark/);

  // "System" follows the operating system's setting.
  await hydrated(page);
  await page.getByTestId("theme-system").click();
  await page.emulateMedia({ colorScheme: "dark" });
  await page.reload();
  await expect(html).toHaveClass(/dark/);
  await page.emulateMedia({ colorScheme: "light" });
  await expect(html).not.toHaveClass(/dark/);
});

test("on a phone the sections sit behind a menu button", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/console/login");
  await signIn(page);
  await expect(page).toHaveURL(/\/console$/);
  const nav = page.getByRole("navigation", { name: "Console sections" });
  await expect(nav).toBeHidden();
  const menu = page.getByRole("button", { name: "Menu" });
  await expect(menu).toHaveAttribute("aria-expanded", "false");
  await menu.click();
  await expect(menu).toHaveAttribute("aria-expanded", "true");
  await expect(nav).toBeVisible();
  await nav.getByRole("link", { name: "Users", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Users" })).toBeVisible();
});

test("a keyboard user can skip to the content", async ({ page }) => {
  await page.goto("/console/login");
  await signIn(page);
  await expect(page).toHaveURL(/\/console$/);
  await page.goto("/console/settings");
  await hydrated(page);
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/#main$/);
});
