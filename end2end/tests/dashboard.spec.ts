import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { hydrated, signIn } from "./helpers";

// The Dashboard against data this test provisions over SCIM. The database may be shared
// with other specs, so counts are compared before and after; names carry a run tag.

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SCIM = { "Content-Type": "application/scim+json" };

function tag(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

async function scim(request: APIRequestContext, token: string, method: string, path: string, data: unknown) {
  return request.fetch(`/scim/v2${path}`, {
    method,
    headers: { ...SCIM, Authorization: `Bearer ${token}` },
    data,
  });
}

async function figure(page: Page, test: string): Promise<number> {
  return Number(await page.getByTestId(test).innerText());
}

async function figures(page: Page) {
  await expect(page.getByTestId("dashboard")).toBeVisible();
  return {
    active: await figure(page, "count-users-active"),
    inactive: await figure(page, "count-users-inactive"),
    groups: await figure(page, "count-groups"),
    failures: await figure(page, "scim-failures"),
  };
}

test("counts, provisioning health and the checklist follow what Okta pushes", async ({ page }) => {
  await page.goto("/console/login?next=/console");
  await signIn(page);
  await expect(page).toHaveURL(/^[^?]*\/console$/);
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();

  const before = await figures(page);
  const groupStep = page.getByTestId("setup-group");
  const oktaStep = page.getByTestId("setup-okta");
  if (before.groups === 0) {
    // A new installation: nothing pushed yet, so the steps are open and say so.
    await expect(groupStep).toHaveAttribute("data-done", "false");
    await expect(oktaStep).toHaveAttribute("data-done", "false");
    await expect(page.getByTestId("setup-checklist")).toHaveAttribute("open", "");
    await expect(page.getByTestId("last-scim-request")).toContainText("No SCIM request yet");
  }

  // Okta provisions two active users, one inactive user and a group, and one request is refused.
  const run = tag();
  const made = await page.request.post("/console/api/create_scim_token", { form: { name: `Dashboard ${run}` } });
  expect(made.status()).toBe(200);
  const token: string = (await made.json()).secret;
  const ids: string[] = [];
  for (const [name, active] of [
    ["ada", true],
    ["grace", true],
    ["alan", false],
  ] as const) {
    const res = await scim(page.request, token, "POST", "/Users", {
      schemas: [USER],
      userName: `dash-${run}-${name}@example.com`,
      active,
    });
    expect(res.status(), await res.text()).toBe(201);
    ids.push((await res.json()).id);
  }
  const group = await scim(page.request, token, "POST", "/Groups", {
    schemas: [GROUP],
    displayName: `Dashboard ${run}`,
    members: [{ value: ids[0] }],
  });
  expect(group.status(), await group.text()).toBe(201);
  const refused = await scim(page.request, token, "POST", "/Users", {
    schemas: [USER],
    userName: `DASH-${run}-ADA@example.com`,
  });
  expect(refused.status()).toBe(409);

  await page.reload();
  await hydrated(page);
  const after = await figures(page);
  expect(after.active - before.active).toBe(2);
  expect(after.inactive - before.inactive).toBe(1);
  expect(after.groups - before.groups).toBe(1);
  expect(after.failures - before.failures).toBe(1);
  await expect(page.getByTestId("last-scim-request")).toHaveText(/just now|minute/);
  await expect(page.getByTestId("last-scim-change")).toContainText("user.create");

  // The steps tick themselves from what now exists.
  await expect(groupStep).toHaveAttribute("data-done", "true");
  await expect(oktaStep).toHaveAttribute("data-done", "true");

  // The chart of the last day, and of the week through the URL.
  await expect(page.getByTestId("events-chart")).toBeVisible();
  await page.getByRole("navigation", { name: "Chart range" }).getByRole("link", { name: "Last 7 days" }).click();
  await expect(page).toHaveURL(/\/console\?chart=7d$/);
  await expect(page.getByTestId("chart-summary")).toContainText("failed");

  // The failures figure opens Events / Logs filtered to them.
  await page.getByTestId("scim-failures").click();
  await expect(page).toHaveURL(/\/console\/events\?range=24h&category=provisioning&outcome=failure$/);
  await expect(page.getByTestId("event-row").first()).toContainText("user.create");
});
