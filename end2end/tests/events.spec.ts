import { expect, test, type APIResponse, type Page } from "@playwright/test";
import * as fs from "node:fs";
import { hydrated, signIn } from "./helpers";

const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const CSV_HEADER =
  "id,occurred_at,category,action,outcome,actor_kind,actor_id,actor_name,target,target_id,detail";

/** Signs in, makes a SCIM token on the SCIM Import page and returns a SCIM caller with it. */
async function scimClient(page: Page) {
  await page.goto("/console/login?next=/console/scim");
  await signIn(page);
  await expect(page).toHaveURL(/^[^?]*\/console\/scim$/);
  await page.getByLabel("Token name").fill(`Okta events e2e ${Date.now()}`);
  await page.getByRole("button", { name: "Generate token" }).click();
  const revealed = page.getByTestId("new-token");
  await expect(revealed).toHaveValue(/^gh_scim_/);
  const token = await revealed.inputValue();
  return (method: string, path: string, body?: unknown): Promise<APIResponse> =>
    page.request.fetch(`/scim/v2${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/scim+json",
      },
      data: body === undefined ? undefined : JSON.stringify(body),
    });
}

test("filter events by outcome and target, share the view, open an event, export CSV, see new events arrive", async ({
  page,
}) => {
  const scim = await scimClient(page);
  const userName = `e2e-events-${Date.now()}@example.com`;
  const created = await scim("POST", "/Users", {
    schemas: [USER_SCHEMA],
    userName,
    name: { givenName: "Eve", familyName: "Events" },
    emails: [{ primary: true, value: userName, type: "work" }],
    active: true,
  });
  expect(created.status()).toBe(201);
  const id: string = (await created.json()).id;
  // A PATCH no identity provider would send: refused, and recorded as a failure about this user.
  const refused = await scim("PATCH", `/Users/${id}`, {
    schemas: [PATCH_SCHEMA],
    Operations: [{ op: "explode", path: "active", value: false }],
  });
  expect(refused.status()).toBe(400);

  await page.goto("/console/events");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Events / Logs" })).toBeVisible();
  await page.getByLabel("Outcome", { exact: true }).selectOption("failure");
  await expect(page).toHaveURL(/[?&]outcome=failure/);
  const target = page.getByLabel(/^Target/);
  await target.fill(id);
  await target.press("Enter");
  await expect(page).toHaveURL(new RegExp(`[?&]target=${id}`));
  await expect(page).toHaveURL(/[?&]outcome=failure/);

  const rows = page.getByTestId("event-row");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("user.update");
  await expect(rows.first()).toContainText("Failure");
  await expect(page.getByTestId("chart-summary")).toContainText("1 event");

  // The URL is the view: a reload (or a colleague opening the link) shows the same.
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel("Outcome", { exact: true })).toHaveValue("failure");
  await expect(target).toHaveValue(id);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("user.update");

  // Export this view as CSV and read it.
  const downloading = page.waitForEvent("download");
  await page.getByTestId("export-csv").click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^gatehouse-events-\d{8}T\d{6}Z\.csv$/);
  const csv = fs.readFileSync(await download.path(), "utf8");
  const lines = csv.trimEnd().split("\r\n");
  expect(lines[0]).toBe(CSV_HEADER);
  expect(lines).toHaveLength(2);
  const cells = lines[1].split(",");
  expect(cells.slice(2, 6)).toEqual(["provisioning", "user.update", "failure", "scim_token"]);
  expect(cells[8]).toBe(id);
  expect(cells[9]).toBe(id);

  // Open the event: every field, and the error the identity provider was sent.
  await rows.first().getByRole("link", { name: "user.update" }).click();
  await expect(page).toHaveURL(/\/console\/events\/[0-9a-f-]{36}\?/);
  await expect(page.getByRole("heading", { level: 1, name: "Event user.update" })).toBeVisible();
  await expect(page.getByTestId("event-error")).toBeVisible();
  await expect(page.getByTestId("event-detail")).toContainText(id);
  await expect(page.getByTestId("event-facts")).toContainText("400");
  await page.getByRole("link", { name: /Back to Events/ }).click();
  await expect(page).toHaveURL(/[?&]outcome=failure/);
  await expect(rows).toHaveCount(1);

  // Everything about the user, then a change made while the page is open appears by itself.
  await page.goto(`/console/events?target=${id}`);
  await hydrated(page);
  await expect(rows).toHaveCount(2);
  const patched = await scim("PATCH", `/Users/${id}`, {
    schemas: [PATCH_SCHEMA],
    Operations: [{ op: "replace", path: "displayName", value: "Eve Renamed" }],
  });
  expect(patched.status()).toBe(200);
  await expect(rows).toHaveCount(3, { timeout: 15_000 });
  await expect(rows.first()).toContainText("user.updated");
  await expect(page.getByTestId("live-status")).toContainText("1 new event");
});

test("an impossible filter explains itself, and an empty result says what to do", async ({ page }) => {
  await page.goto("/console/login?next=/console/events%3Foutcome%3Dmaybe");
  await signIn(page);
  await expect(page).toHaveURL(/\/console\/events\?outcome=maybe$/);
  await expect(page.getByRole("alert").first()).toContainText('Unknown outcome "maybe"');

  await page.goto("/console/events?range=1h&target=nobody-at-all@example.com");
  await hydrated(page);
  await expect(page.getByTestId("empty-state")).toContainText("Widen the time range or clear a filter");
  await expect(page.getByRole("link", { name: "Last hour" })).toHaveAttribute("aria-current", "true");
  await expect(page.getByRole("link", { name: "Last 24 hours" })).not.toHaveAttribute("aria-current", "true");
});
