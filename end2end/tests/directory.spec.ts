import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { hydrated, scimRequest as scim, signIn } from "./helpers";

// Users & Groups against data each test provisions itself over SCIM. Every name carries a
// run tag, so the tests find only their own users and groups in a shared database.

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";

function tag(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/** Makes a SCIM token on the SCIM Import page (the admin is signed in) and returns it. */
async function scimToken(page: Page, name: string): Promise<string> {
  await page.goto("/console/scim");
  await hydrated(page);
  await page.getByLabel("Token name").fill(name);
  await page.getByRole("button", { name: "Generate token" }).click();
  const revealed = page.getByTestId("new-token");
  await expect(revealed).toHaveValue(/^gh_scim_/);
  return revealed.inputValue();
}

async function scimUser(
  request: APIRequestContext,
  token: string,
  userName: string,
  given: string,
  family: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const made = await scim(request, token, "POST", "/Users", {
    schemas: [USER, ENTERPRISE],
    userName,
    name: { givenName: given, familyName: family },
    displayName: `${given} ${family}`,
    emails: [{ value: userName, type: "work", primary: true }],
    active: true,
    ...extra,
  });
  return made.id;
}

async function scimGroup(request: APIRequestContext, token: string, displayName: string, members: string[]) {
  const made = await scim(request, token, "POST", "/Groups", {
    schemas: [GROUP],
    displayName,
    members: members.map((value) => ({ value })),
  });
  return made.id as string;
}

/** The userNames in the users table, in order. */
async function listedUsers(page: Page): Promise<string[]> {
  await expect(page.getByTestId("user-table")).toHaveAttribute("aria-busy", "false");
  return page.getByTestId("user-row").locator("td:first-child").allInnerTexts();
}

test.beforeEach(async ({ page }) => {
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto("/console/login?next=/console/users");
  await signIn(page);
  await expect(page).toHaveURL(/^[^?]*\/console\/users$/);
});

test("search and filter users, sort them, and open one", async ({ page }) => {
  const run = tag();
  const token = await scimToken(page, `Okta ${run}`);
  const ada = `dir-${run}-ada@example.com`;
  const grace = `dir-${run}-grace@example.com`;
  const alan = `dir-${run}-alan@example.com`;
  const adaId = await scimUser(page.request, token, ada, "Ada", "Lovelace", {
    title: "Analyst",
    phoneNumbers: [{ value: "+44 20 7946 0000", type: "work" }],
    [ENTERPRISE]: { department: "Engines", employeeNumber: "1815" },
  });
  const graceId = await scimUser(page.request, token, grace, "Grace", "Hopper");
  const alanId = await scimUser(page.request, token, alan, "Alan", "Turing");
  await scim(page.request, token, "PATCH", `/Users/${alanId}`, {
    schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    Operations: [{ op: "replace", value: { active: false } }],
  });
  const groupName = `Directory ${run}`;
  await scimGroup(page.request, token, groupName, [adaId, graceId]);

  // Search from the form: the URL carries it.
  await page.goto("/console/users");
  await hydrated(page);
  await page.getByLabel("Search name, username or email").fill(`dir-${run}`);
  await page.getByLabel("Search name, username or email").press("Enter");
  await expect(page).toHaveURL(new RegExp(`[?&]q=dir-${run}`));
  expect(await listedUsers(page)).toEqual([ada, alan, grace]);
  await expect(page.getByTestId("user-total")).toHaveText("3 users");

  // The prefix of a userName finds one user; the middle of it only with "Contains".
  await page.getByLabel("Search name, username or email").fill(`dir-${run}-gr`);
  await page.getByRole("button", { name: "Apply" }).click();
  expect(await listedUsers(page)).toEqual([grace]);
  await page.getByLabel("Search name, username or email").fill(`${run}-gra`);
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByText("No user matches", { exact: true })).toBeVisible();
  await page.getByLabel("Match").selectOption("contains");
  await expect(page).toHaveURL(/match=contains/);
  expect(await listedUsers(page)).toEqual([grace]);

  // Status: only the deactivated one.
  await page.goto(`/console/users?q=dir-${run}`);
  await hydrated(page);
  await page.getByLabel("Status").selectOption("inactive");
  await expect(page).toHaveURL(/status=inactive/);
  expect(await listedUsers(page)).toEqual([alan]);
  await expect(page.getByTestId("user-row").getByTestId("status")).toHaveText("Inactive");

  // Group, by name: its two members. Source: the token that created them.
  await page.goto(`/console/users?q=dir-${run}`);
  await hydrated(page);
  await page.getByLabel("Group (name or id)").fill(groupName);
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/group=Directory/);
  expect(await listedUsers(page)).toEqual([ada, grace]);
  await expect(page.getByTestId("user-total")).toHaveText(`2 users in ${groupName}`);
  await page.getByLabel("Source").selectOption({ label: `Token \u201cOkta ${run}\u201d` });
  await expect(page).toHaveURL(/source=/);
  expect(await listedUsers(page)).toEqual([ada, grace]);

  // Sort by name, then the other way.
  await page.goto(`/console/users?q=dir-${run}`);
  await hydrated(page);
  await page.getByTestId("sort-name").click();
  await expect(page).toHaveURL(/sort=name&order=asc/);
  expect(await listedUsers(page)).toEqual([ada, alan, grace]);
  await page.getByTestId("sort-name").click();
  await expect(page).toHaveURL(/order=desc/);
  expect(await listedUsers(page)).toEqual([grace, alan, ada]);
  await expect(page.locator("th[aria-sort=descending]")).toHaveText(/Name/);

  // A user's page: everything the IdP sent, read-only, with groups and events.
  await page.getByRole("link", { name: ada }).click();
  await expect(page).toHaveURL(new RegExp(`/console/users/${adaId}$`));
  await expect(page.getByRole("heading", { level: 1, name: "Ada Lovelace" })).toBeVisible();
  await expect(page.getByTestId("managed-by")).toHaveText(`Managed by Okta ${run} (SCIM)`);
  await expect(page.getByTestId("status")).toHaveText("Active");
  const attributes = page.getByTestId("attribute");
  await expect(attributes.filter({ hasText: "Engines" })).toContainText("department");
  await expect(attributes.filter({ hasText: "+44 20 7946 0000" })).toContainText("Phone (work)");
  await expect(attributes.filter({ hasText: "Analyst" })).toHaveCount(1);
  await expect(page.getByTestId("user-groups")).toContainText(groupName);
  await expect(page.getByTestId("effective-profile")).toContainText("No profile");
  await expect(page.getByTestId("last-sign-in")).toHaveText("Never signed in");
  await expect(page.getByTestId("no-sessions")).toBeVisible();
  await expect(page.getByTestId("recent-event").filter({ hasText: "user.created" })).toHaveCount(1);
  await expect(page.getByTestId("all-events")).toHaveAttribute("href", new RegExp(`target=${adaId}`));
  // Nothing on the page edits the IdP's attributes.
  await expect(page.getByTestId("user-detail").locator("input, textarea")).toHaveCount(0);
});

test("open a group, page through its members, and assign a profile from its page", async ({ page }) => {
  const run = tag();
  const token = await scimToken(page, `Okta ${run}`);
  const ids: string[] = [];
  for (let i = 0; i < 52; i++) {
    ids.push(await scimUser(page.request, token, `grp-${run}-${String(i).padStart(2, "0")}@example.com`, "Member", `N${i}`));
  }
  const groupName = `Paged ${run}`;
  const groupId = await scimGroup(page.request, token, groupName, ids);

  // Create the profile on the Authentication Profiles page.
  const profileName = `Okta SSO ${run}`;
  await page.goto("/console/auth-profiles");
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill(profileName);
  await page.getByRole("button", { name: "Create profile" }).click();
  await expect(page).toHaveURL(/\/console\/auth-profiles\/[0-9a-f-]{36}$/);

  // The groups list: member count, no profile yet.
  await page.goto(`/console/groups?q=${encodeURIComponent(groupName)}`);
  await hydrated(page);
  const row = page.getByTestId("group-row").filter({ hasText: groupName });
  await expect(row.getByTestId("member-count")).toHaveText("52");
  await expect(row.getByTestId("group-profile")).toContainText("members cannot sign in");
  await row.getByRole("link", { name: groupName }).click();
  await expect(page).toHaveURL(new RegExp(`/console/groups/${groupId}$`));
  await expect(page.getByRole("heading", { level: 1, name: groupName })).toBeVisible();
  await expect(page.getByTestId("managed-by")).toContainText("(SCIM)");

  // Members: 50 on the first page, the rest on the next, and back.
  await expect(page.getByTestId("member-total")).toHaveText("52 members");
  await expect(page.getByTestId("user-row")).toHaveCount(50);
  await page.getByTestId("next-page").click();
  await expect(page).toHaveURL(/after=/);
  expect(await listedUsers(page)).toEqual([`grp-${run}-50@example.com`, `grp-${run}-51@example.com`]);
  await page.getByTestId("prev-page").click();
  await expect(page).toHaveURL(/before=/);
  await expect(page.getByTestId("user-row")).toHaveCount(50);
  await expect(page.getByTestId("user-row").first()).toContainText(`grp-${run}-00@example.com`);
  await page.getByLabel("Search members by name, username or email").fill(`grp-${run}-07`);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  expect(await listedUsers(page)).toEqual([`grp-${run}-07@example.com`]);

  // Assign the profile: visible feedback, and it stays after a reload.
  await expect(page.getByTestId("current-profile")).toContainText("No authentication profile");
  const option = page.getByLabel("Sign in through").locator("option", { hasText: profileName });
  await page.getByLabel("Sign in through").selectOption((await option.getAttribute("value"))!);
  await page.getByRole("button", { name: "Save profile" }).click();
  await expect(page.getByTestId("profile-feedback")).toHaveText(`${groupName} now signs in through ${profileName}.`);
  await expect(page.getByTestId("current-profile")).toContainText(profileName);
  await page.reload();
  await expect(page.getByTestId("current-profile")).toContainText(profileName);
  await expect(page.getByTestId("recent-event").filter({ hasText: "group.profile_assigned" })).toHaveCount(1);

  // The list and a member's page show it too.
  await page.goto(`/console/groups?q=${encodeURIComponent(groupName)}`);
  await expect(page.getByTestId("group-row").filter({ hasText: groupName }).getByTestId("group-profile")).toHaveText(profileName);
  await page.goto(`/console/users/${ids[0]}`);
  await expect(page.getByTestId("effective-profile")).toContainText(profileName);
  await expect(page.getByTestId("effective-profile")).toContainText(groupName);

  // Remove it again (confirmed): the feedback says what that means.
  await page.goto(`/console/groups/${groupId}`);
  await hydrated(page);
  await page.getByLabel("Sign in through").selectOption("");
  await page.getByRole("button", { name: "Save profile" }).click();
  await expect(page.getByTestId("profile-feedback")).toContainText(`${profileName} was removed from ${groupName}`);
  await expect(page.getByTestId("current-profile")).toContainText("No authentication profile");
});

test("an unknown user or group says so and links back", async ({ page }) => {
  await page.goto("/console/users/01900000-0000-7000-8000-000000000000");
  await expect(page.getByRole("alert")).toContainText("There is no user");
  await expect(page.getByRole("link", { name: "Back to all users" })).toBeVisible();
  await page.goto("/console/groups/not-an-id");
  await expect(page.getByRole("alert")).toContainText("There is no group");
  await page.goto("/console/users?sort=shoe");
  await expect(page.getByRole("alert")).toContainText("Unknown sort");
});
