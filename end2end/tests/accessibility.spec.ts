import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { hydrated, signIn } from "./helpers";

// Every page of the console and of end-user sign-in, scanned by axe in the light and the
// dark theme, against data the test provisions itself over SCIM: a page fails on any
// serious or critical violation. The report names the rule, the element and why.

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";

async function scan(page: Page, what: string) {
  await hydrated(page);
  // Tables and charts settle (no "Loading…" row, no busy table) before they are judged.
  await expect(page.locator('[aria-busy="true"]'), `${what}: something stays busy`).toHaveCount(0);
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const report = bad
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n` + v.nodes.map((n) => `    ${n.target.join(" ")}: ${n.failureSummary}`).join("\n"))
    .join("\n");
  expect(bad, `${what}:\n${report}`).toEqual([]);
}

test("every page passes an axe scan in both themes", async ({ page }) => {
  test.setTimeout(120_000);
  const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

  // Signed out: the console's sign-in page and the end user's.
  await page.goto("/console/login");
  await scan(page, "console sign-in");
  await page.goto("/login");
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await expect(page.locator("body")).toBeVisible();
  const endUser = await new AxeBuilder({ page }).analyze();
  expect(endUser.violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);

  await page.goto("/console/login");
  await signIn(page);
  await expect(page).toHaveURL(/^[^?]*\/console$/);

  // Data for the detail pages: a profile, a token, a user in a group.
  const token = await page.request.post("/console/api/create_scim_token", { form: { name: `a11y ${run}` } });
  expect(token.status()).toBe(200);
  const secret = (await token.json()).secret as string;
  const scim = async (path: string, data: unknown) => {
    const res = await page.request.post(`/scim/v2${path}`, {
      headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/scim+json" },
      data,
    });
    expect(res.status(), await res.text()).toBe(201);
    return (await res.json()).id as string;
  };
  const userId = await scim("/Users", {
    schemas: [USER],
    userName: `a11y-${run}@example.com`,
    name: { givenName: "Ally", familyName: "Scan" },
    emails: [{ value: `a11y-${run}@example.com`, type: "work", primary: true }],
    active: true,
  });
  const groupId = await scim("/Groups", { schemas: [GROUP], displayName: `A11y ${run}`, members: [{ value: userId }] });
  await page.goto("/console/auth-profiles");
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill(`A11y ${run}`);
  await page.getByRole("button", { name: "Create profile" }).click();
  await expect(page).toHaveURL(/\/console\/auth-profiles\/[0-9a-f-]{36}$/);
  const profileId = page.url().split("/").pop()!;
  await page.goto("/console/events");
  await hydrated(page);
  const firstEvent = page.getByTestId("event-row").first().locator("a").first();
  const eventHref = (await firstEvent.getAttribute("href"))!;

  const pages: [string, string][] = [
    ["dashboard", "/console"],
    ["authentication profiles", "/console/auth-profiles"],
    ["a profile", `/console/auth-profiles/${profileId}`],
    ["SCIM import", "/console/scim"],
    ["users", "/console/users"],
    ["a user", `/console/users/${userId}`],
    ["user groups", "/console/groups"],
    ["a group", `/console/groups/${groupId}`],
    ["events", "/console/events"],
    ["an event", eventHref],
    ["settings", "/console/settings"],
    ["page not found", "/console/no-such-page"],
  ];
  for (const theme of ["light", "dark"] as const) {
    await page.goto("/console");
    await hydrated(page);
    await page.getByTestId(`theme-${theme}`).click();
    await expect(page.locator("html")).toHaveClass(theme === "dark" ? /\bdark\b/ : /^(?!.*\bdark\b)/);
    for (const [what, url] of pages) {
      await page.goto(url);
      await scan(page, `${what} (${theme})`);
    }
  }
});
