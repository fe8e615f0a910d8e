import { expect, test, type Page } from "@playwright/test";
import { ADMIN, consoleScimToken, hydrated, scimRequest, signIn } from "./helpers";

// Settings and the Auditor role (issue 5). The tests share one server and run in order:
// an Administrator adds an Auditor, the Auditor looks around and is refused every change,
// changes their own password, and the Administrator removes them again.
test.describe.configure({ mode: "serial" });

const RUN = Date.now().toString(36);

const AUDITOR = {
  email: `auditor-${RUN}@example.com`,
  password: "auditor initial password",
  newPassword: "auditor changed password",
};

/** What the Administrator sets up for the Auditor to look at (ids filled in by the first test). */
const SEEN = {
  tokenName: `Settings token ${RUN}`,
  profileName: `Settings profile ${RUN}`,
  profileId: "",
  groupId: "",
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
  await expect(page.getByTestId("read-only-badge")).toHaveCount(0);

  // Something for the Auditor to look at: a token, a profile, a group with a member.
  const token = await consoleScimToken(page.request, SEEN.tokenName);
  const user = await scimRequest(page.request, token, "POST", "/Users", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    userName: `settings-${RUN}@example.com`,
    name: { givenName: "Settings", familyName: "Member" },
    active: true,
  });
  const group = await scimRequest(page.request, token, "POST", "/Groups", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    displayName: `Settings group ${RUN}`,
    members: [{ value: user.id }],
  });
  SEEN.groupId = group.id;
  const res = await page.request.post("/console/api/create_auth_profile", { form: { name: SEEN.profileName } });
  expect(res.status(), await res.text()).toBe(200);
  SEEN.profileId = (await res.json()).id;

  // The same controls the Auditor will find disabled are usable by an Administrator.
  await page.goto("/console/scim");
  await hydrated(page);
  await expect(page.getByRole("button", { name: "Generate token" })).toBeEnabled();
  await expect(page.getByRole("button", { name: `Revoke ${SEEN.tokenName}` })).toBeEnabled();
  await page.goto(`/console/auth-profiles/${SEEN.profileId}`);
  await hydrated(page);
  await expect(page.locator("#settings-name")).toBeEnabled();
  await expect(page.getByRole("button", { name: "Delete profile" })).toBeEnabled();
  await expect(page.getByLabel("From a URL")).toBeEnabled();
  await page.goto(`/console/groups/${SEEN.groupId}`);
  await hydrated(page);
  await expect(page.getByLabel("Sign in through")).toBeEnabled();
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

  // Every other page shows its data with the controls that change it disabled, and the
  // frame says why.
  await expect(page.getByTestId("read-only-badge")).toHaveText("Auditor: read-only");
  await nav.getByRole("link", { name: "SCIM Import", exact: true }).click();
  await hydrated(page);
  await expect(page.getByLabel("Token name")).toBeDisabled();
  await expect(page.getByRole("button", { name: "Generate token" })).toBeDisabled();
  await expect(page.getByRole("button", { name: `Regenerate ${SEEN.tokenName}` })).toBeDisabled();
  await expect(page.getByRole("button", { name: `Revoke ${SEEN.tokenName}` })).toBeDisabled();

  await nav.getByRole("link", { name: "Authentication Profiles", exact: true }).click();
  await hydrated(page);
  await expect(page.getByRole("link", { name: SEEN.profileName })).toBeVisible();
  await expect(page.getByRole("button", { name: "Create profile" })).toBeDisabled();

  await page.goto(`/console/auth-profiles/${SEEN.profileId}`);
  await hydrated(page);
  await expect(page.locator("#settings-name")).toHaveValue(SEEN.profileName);
  await expect(page.locator("#settings-name")).toBeDisabled();
  for (const button of ["Save settings", "Rotate certificate", "Assign", "Delete profile"]) {
    await expect(page.getByRole("button", { name: button, exact: true }), button).toBeDisabled();
  }
  await expect(page.getByLabel("From a URL")).toBeDisabled();
  await expect(page.getByRole("link", { name: "Download SP metadata" })).toBeVisible();

  await page.goto(`/console/groups/${SEEN.groupId}`);
  await hydrated(page);
  await expect(page.getByTestId("current-profile")).toContainText("No authentication profile");
  await expect(page.getByLabel("Sign in through")).toBeDisabled();
  await expect(page.getByRole("button", { name: "Save profile" })).toBeDisabled();
  await expect(page.getByText(`settings-${RUN}@example.com`)).toBeVisible();

  // The server refuses them anyway: a hand-made call with the Auditor's session gets a 403
  // with the reason.
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
