import { expect, test, type Page } from "@playwright/test";
import { ADMIN, hydrated, signIn } from "./helpers";

// Settings and the Auditor role (issue 5). The tests share one server and run in order:
// an Administrator adds an Auditor, the Auditor looks around and is refused every change,
// changes their own password, and the Administrator removes them again.
test.describe.configure({ mode: "serial" });

const AUDITOR = {
  email: `auditor-${Date.now()}@example.com`,
  password: "auditor initial password",
  newPassword: "auditor changed password",
};

async function signInAs(page: Page, email: string, password: string) {
  await page.goto("/console/login");
  await signIn(page, email, password);
  await expect(page).toHaveURL(/\/console$/);
}

async function openSettings(page: Page) {
  await page.goto("/console/settings");
  await hydrated(page);
  await expect(page.getByTestId("admin-table")).toBeVisible();
}

function adminRow(page: Page, email: string) {
  return page.getByTestId("admin-row").filter({ hasText: email });
}

test("an Administrator sees the configuration and adds an Auditor", async ({ page }) => {
  await signInAs(page, ADMIN.email, ADMIN.password);
  await openSettings(page);
  await expect(page.getByTestId("read-only-notice")).toHaveCount(0);
  await expect(page.getByTestId("public-url")).toHaveText(/^http:\/\/127\.0\.0\.1:\d+$/);
  await expect(page.getByTestId("event-retention")).toContainText("365 days");
  await expect(adminRow(page, ADMIN.email).getByTestId("admin-role")).toHaveText("Administrator");

  const form = page.getByRole("region", { name: "Add an administrator" });
  await form.getByLabel("Email").fill(AUDITOR.email);
  await form.getByLabel("Role").selectOption("auditor");
  await form.getByLabel("Initial password (at least 12 characters)").fill(AUDITOR.password);
  await form.getByLabel("Initial password again").fill("a different password");
  await form.getByRole("button", { name: "Add administrator" }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText("The two passwords differ.");

  await form.getByLabel("Initial password again").fill(AUDITOR.password);
  await form.getByRole("button", { name: "Add administrator" }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText(`Added ${AUDITOR.email} as Auditor.`);
  const row = adminRow(page, AUDITOR.email);
  await expect(row.getByTestId("admin-role")).toHaveText("Auditor");
  await expect(row).toContainText("Never signed in");
});

test("the last Administrator cannot be removed, and a dismissed confirmation removes nothing", async ({ page }) => {
  await signInAs(page, ADMIN.email, ADMIN.password);
  await openSettings(page);

  page.once("dialog", (d) => d.dismiss());
  await page.getByRole("button", { name: `Remove ${AUDITOR.email}` }).click();
  await expect(adminRow(page, AUDITOR.email)).toBeVisible();
  await expect(page.getByTestId("admin-notice")).toHaveCount(0);

  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: `Remove ${ADMIN.email}` }).click();
  await expect(page.getByTestId("admin-notice")).toContainText(
    `${ADMIN.email} is the last Administrator`,
  );
  await expect(adminRow(page, ADMIN.email)).toBeVisible();
});

test("an Auditor sees every page but cannot change anything", async ({ page }) => {
  await signInAs(page, AUDITOR.email, AUDITOR.password);
  await expect(page.getByTestId("signed-in-admin")).toContainText(AUDITOR.email);

  const nav = page.getByRole("navigation", { name: "Console sections" });
  for (const [link, url] of [
    ["Authentication Profiles", "/console/auth-profiles"],
    ["SCIM Import", "/console/scim"],
    ["Users", "/console/users"],
    ["User Groups", "/console/groups"],
    ["Events / Logs", "/console/events"],
    ["Settings", "/console/settings"],
  ]) {
    await nav.getByRole("link", { name: link, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`${url}$`));
    await expect(page.getByRole("heading", { level: 1, name: link, exact: true })).toBeVisible();
  }

  // Settings: told they are read-only; no control that changes administrators.
  await hydrated(page);
  await expect(page.getByTestId("read-only-notice")).toContainText("Auditor");
  await expect(page.getByRole("region", { name: "Add an administrator" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: /^Remove / })).toHaveCount(0);
  await expect(adminRow(page, AUDITOR.email)).toContainText("(you)");

  // A page whose controls are shown is still refused by the server, with the reason.
  await nav.getByRole("link", { name: "SCIM Import", exact: true }).click();
  await hydrated(page);
  await page.getByLabel("Token name").fill("Auditor token");
  await page.getByRole("button", { name: "Generate token" }).click();
  await expect(page.getByRole("alert")).toContainText("signed in as an Auditor");
  await expect(page.getByText("Auditor token")).toHaveCount(0);

  // A hand-made call with the Auditor's session is refused just the same.
  for (const [endpoint, form] of [
    ["create_scim_token", { name: "Direct" }],
    ["create_auth_profile", { name: "Direct" }],
    [
      "add_admin",
      {
        email: "mallory@example.com",
        role: "administrator",
        password: "mallory password 123",
        password_confirmation: "mallory password 123",
      },
    ],
  ] as const) {
    const res = await page.request.post(`/console/api/${endpoint}`, { form });
    expect(res.status(), endpoint).toBe(403);
    expect(await res.text(), endpoint).toContain("Auditor");
  }
  await openSettings(page);
  await expect(adminRow(page, "mallory@example.com")).toHaveCount(0);
});

test("an Auditor changes their own password", async ({ page }) => {
  await signInAs(page, AUDITOR.email, AUDITOR.password);
  await openSettings(page);
  const form = page.getByRole("region", { name: "Change your password" });
  await form.getByLabel("Current password").fill("not my password at all");
  await form.getByLabel("New password (at least 12 characters)").fill(AUDITOR.newPassword);
  await form.getByLabel("New password again").fill(AUDITOR.newPassword);
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByRole("alert")).toHaveText("The current password is not correct.");

  await form.getByLabel("Current password").fill(AUDITOR.password);
  await form.getByLabel("New password (at least 12 characters)").fill(AUDITOR.newPassword);
  await form.getByLabel("New password again").fill(AUDITOR.newPassword);
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByTestId("password-changed")).toContainText("Your password was changed.");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/console\/login$/);
  await signIn(page, AUDITOR.email, AUDITOR.password);
  await expect(page.getByRole("alert")).toHaveText("The email or password is not correct.");
  await page.getByLabel("Password", { exact: true }).fill(AUDITOR.newPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/console$/);
});

test("an Administrator removes the Auditor after confirming", async ({ page }) => {
  await signInAs(page, ADMIN.email, ADMIN.password);
  await openSettings(page);
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: `Remove ${AUDITOR.email}` }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText(
    "Administrator removed; their sessions ended.",
  );
  await expect(adminRow(page, AUDITOR.email)).toHaveCount(0);
});
