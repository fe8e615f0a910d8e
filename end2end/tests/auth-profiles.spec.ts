import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { IDP_URL } from "../playwright.config";
import { consoleScimToken, hydrated, signIn } from "./helpers";

const IDP_METADATA_URL = `${IDP_URL}/metadata`;
const IDP_ENTITY_ID = "urn:gatehouse:test-idp";
/** The test IdP's certificate fingerprint, as Gatehouse shows it (AB:CD:… upper case). */
const IDP_FINGERPRINT = new X509Certificate(
  fs.readFileSync(path.join(__dirname, "../test-idp/idp-public-cert.pem")),
).fingerprint256;

/** A name no other test uses, so tests do not depend on each other's profiles. */
function unique(prefix: string): string {
  return `${prefix} ${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/** Signs in and creates a profile through the console; returns its id, on its page. */
async function createProfile(page: Page, name: string, description = ""): Promise<string> {
  await page.goto("/console/auth-profiles");
  if (page.url().includes("/console/login")) await signIn(page);
  await expect(page).toHaveURL(/^[^?]*\/console\/auth-profiles$/);
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill(name);
  if (description) await page.getByLabel("Description (optional)").fill(description);
  await page.getByRole("button", { name: "Create profile" }).click();
  await expect(page).toHaveURL(/\/console\/auth-profiles\/[0-9a-f-]{36}$/);
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  return page.url().split("/").pop()!;
}

async function scimGroup(request: APIRequestContext, token: string, displayName: string): Promise<string> {
  const res = await request.post("/scim/v2/Groups", {
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" },
    data: { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName, members: [] },
  });
  expect(res.status()).toBe(201);
  return (await res.json()).id;
}

test.beforeEach(async ({ page }) => {
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto("/console/login?next=/console/auth-profiles");
  await signIn(page);
  await expect(page).toHaveURL(/^[^?]*\/console\/auth-profiles$/);
});

test("create a profile, see what Okta asks for, download the SP metadata, rotate the certificate", async ({ page }) => {
  const name = unique("Okta");
  const id = await createProfile(page, name, "Employees through Okta");
  const base = new URL(page.url()).origin;

  // Labelled as Okta's form labels them, and derived from the public URL and the profile.
  await expect(page.getByLabel("Single sign-on URL")).toHaveValue(`${base}/saml/${id}/acs`);
  await expect(page.getByLabel("Audience URI (SP Entity ID)")).toHaveValue(`${base}/saml/${id}/metadata`);
  await expect(page.getByTestId("no-idp")).toBeVisible();
  await expect(page.getByTestId("sp-expiry")).toHaveText(/^Expires \d{4}-\d{2}-\d{2}$/);

  const downloading = page.waitForEvent("download");
  await page.getByTestId("download-sp-metadata").click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe(`gatehouse-sp-${id}.xml`);
  const xml = fs.readFileSync((await download.path())!, "utf8");
  expect(xml).toContain(`entityID="${base}/saml/${id}/metadata"`);
  expect(xml).toMatch(/AssertionConsumerService[^>]*Binding="urn:oasis:names:tc:SAML:2\.0:bindings:HTTP-POST"/);
  expect(xml).toContain(`Location="${base}/saml/${id}/acs"`);
  expect(xml).toContain("X509Certificate");

  // Rotating replaces the certificate: another fingerprint, in the page and in the metadata.
  const certificate = page.getByTestId("sp-certificate");
  const before = await certificate.textContent();
  await page.getByRole("button", { name: "Rotate certificate" }).click();
  await expect(page.getByTestId("flash")).toContainText("New SP certificate");
  await expect(certificate).not.toHaveText(before!);
  const after = await (await page.request.get(`/saml/${id}/metadata`)).text();
  expect(after).not.toBe(xml);

  // The list shows it, with no IdP yet.
  await page.getByRole("link", { name: "\u2190 Authentication Profiles" }).click();
  const row = page.getByTestId("profile-row").filter({ hasText: name });
  await expect(row).toContainText("No IdP metadata yet");
  await expect(row).toContainText("Employees through Okta");
});

test("import the test IdP's metadata by URL and by file; refresh it; refusals say why", async ({ page, request }, testInfo) => {
  await createProfile(page, unique("Test IdP"));

  // By URL: preview first, nothing saved until Save.
  await page.getByLabel("Metadata URL").fill(IDP_METADATA_URL);
  await page.getByRole("button", { name: "Preview" }).click();
  const preview = page.getByTestId("metadata-preview");
  await expect(preview.getByTestId("preview-entity-id")).toHaveText(IDP_ENTITY_ID);
  await expect(preview.getByTestId("preview-sso")).toContainText("HTTP-Redirect");
  await expect(preview.getByTestId("preview-sso")).toContainText(`${IDP_URL}/saml/sso`);
  await expect(preview.getByTestId("preview-certificates")).toContainText(IDP_FINGERPRINT);
  await expect(preview.getByTestId("preview-certificates")).toContainText("CN=");
  await expect(page.getByTestId("no-idp")).toBeVisible();
  await preview.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("flash")).toHaveText(`IdP metadata saved: ${IDP_ENTITY_ID}.`);
  await expect(page.getByTestId("idp-entity-id")).toHaveText(IDP_ENTITY_ID);
  await expect(page.getByTestId("idp-certificates")).toContainText(IDP_FINGERPRINT);
  await expect(page.getByTestId("idp-source")).toContainText(`Fetched from ${IDP_METADATA_URL}`);
  await expect(page.getByTestId("metadata-preview")).toHaveCount(0);

  // Refresh from URL: the same preview, against what is saved (no certificate is new).
  await page.getByRole("button", { name: "Refresh from URL" }).click();
  await expect(preview.getByTestId("preview-entity-id")).toHaveText(IDP_ENTITY_ID);
  await expect(preview.getByText("new", { exact: true })).toHaveCount(0);
  await preview.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("metadata-preview")).toHaveCount(0);

  // Refused: an HTML page pasted instead of metadata, and a DOCTYPE (XXE carrier).
  await page.getByLabel("Paste XML").check();
  const xmlBox = page.getByLabel("Metadata XML");
  await xmlBox.fill("<html><body><form>Sign in to Okta</form></body></html>");
  await page.getByRole("button", { name: "Preview" }).click();
  await expect(page.getByRole("alert")).toContainText("This is not SAML metadata");
  await xmlBox.fill('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>');
  await page.getByRole("button", { name: "Preview" }).click();
  await expect(page.getByRole("alert")).toContainText("DOCTYPE");
  // Metadata larger than the console's usual 64 KiB body limit still goes through (the
  // metadata calls have their own limit), while a file over the parser's 1 MiB is refused
  // in the browser before it is sent.
  const metadataXml = await (await request.get(IDP_METADATA_URL)).text();
  const padded = metadataXml.replace("<EntityDescriptor", `<!-- ${"x".repeat(200 * 1024)} -->\n<EntityDescriptor`);
  expect(padded.length).toBeGreaterThan(200 * 1024);
  await xmlBox.fill(padded);
  await page.getByRole("button", { name: "Preview" }).click();
  await expect(preview.getByTestId("preview-entity-id")).toHaveText(IDP_ENTITY_ID);
  await preview.getByRole("button", { name: "Cancel" }).click();
  await expect(preview).toHaveCount(0);

  // A URL that is not metadata: the server's sentence, not a generic error.
  await page.getByLabel("From a URL").check();
  await page.getByLabel("Metadata URL").fill(`${IDP_URL}/no-such-page`);
  await page.getByRole("button", { name: "Preview" }).click();
  await expect(page.getByRole("alert")).toContainText("Could not import the metadata: the metadata URL answered HTTP 404");
  await expect(page.getByTestId("idp-entity-id")).toHaveText(IDP_ENTITY_ID);

  // By file upload: a copy of the IdP's metadata written to disk first.
  const metadata = await (await request.get(IDP_METADATA_URL)).text();
  expect(metadata).toContain(IDP_ENTITY_ID);
  const file = testInfo.outputPath("idp-metadata.xml");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, metadata);
  await page.getByLabel("Upload a file").check();
  const huge = testInfo.outputPath("huge.xml");
  fs.writeFileSync(huge, metadata + " ".repeat(1 << 20));
  await page.getByLabel("Metadata file (XML)").setInputFiles(huge);
  await expect(page.getByText("IdP metadata over 1024 KiB is refused")).toBeVisible();
  // Switching the source put away the previous refusal.
  await expect(page.getByText("Could not import the metadata")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Preview" })).toBeDisabled();
  await page.getByLabel("Metadata file (XML)").setInputFiles(file);
  await expect(page.getByTestId("file-read")).toContainText("idp-metadata.xml");
  await page.getByRole("button", { name: "Preview" }).click();
  await expect(preview.getByTestId("preview-entity-id")).toHaveText(IDP_ENTITY_ID);
  await preview.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("metadata-preview")).toHaveCount(0);
  await expect(page.getByTestId("idp-source")).toContainText("Uploaded or pasted");
  await expect(page.getByRole("button", { name: "Refresh from URL" })).toHaveCount(0);
});

test("settings are saved, with IdP-initiated sign-in off until turned on", async ({ page }) => {
  await createProfile(page, unique("Settings"));
  const idpInitiated = page.getByLabel(/Allow IdP-initiated sign-in/);
  await expect(idpInitiated).not.toBeChecked();
  await expect(page.getByLabel("Sign AuthnRequests")).not.toBeChecked();
  await expect(page.getByLabel("Allowed clock skew (seconds)")).toHaveValue("120");
  await expect(page.getByTestId("idp-initiated-warning")).toHaveCount(0);

  await page.getByLabel("Match users by").selectOption("email");
  await page.getByLabel("SAML attribute to match (optional)").fill("email");
  await page.getByLabel("Allowed clock skew (seconds)").fill("300");
  await page.getByLabel("Sign AuthnRequests").check();
  await idpInitiated.check();
  await expect(page.getByTestId("idp-initiated-warning")).toBeVisible();
  await page.getByLabel("Description", { exact: true }).fill("Contractors");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByTestId("settings-saved")).toBeVisible();

  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel("Match users by")).toHaveValue("email");
  await expect(page.getByLabel("SAML attribute to match (optional)")).toHaveValue("email");
  await expect(page.getByLabel("Allowed clock skew (seconds)")).toHaveValue("300");
  await expect(page.getByLabel("Sign AuthnRequests")).toBeChecked();
  await expect(idpInitiated).toBeChecked();
  await expect(page.getByText("Contractors").first()).toBeVisible();
  // What Okta's "Application username" must be follows the setting.
  await expect(page.getByText("Gatehouse reads the SAML attribute \u201cemail\u201d")).toBeVisible();

  // A rule broken on the server comes back as its sentence.
  await page.getByLabel("Name", { exact: true }).fill(" ");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByRole("alert")).toContainText("Give the profile a name");
});

test("priority order, assigning a group, and deleting a profile its group moves away from", async ({ page }) => {
  const token = await consoleScimToken(page.request, unique("e2e"));
  const groupName = unique("Engineering");
  const groupId = await scimGroup(page.request, token, groupName);
  const first = unique("First");
  const second = unique("Second");
  const firstId = await createProfile(page, first);
  await createProfile(page, second);

  // Assign the group to the second profile from its page.
  await page.getByLabel("Assign to a user group").fill(groupName);
  await page.getByRole("button", { name: "Assign", exact: true }).click();
  await expect(page.getByTestId("assign-result")).toHaveText(`\u201c${groupName}\u201d now signs in through this profile.`);
  await expect(page.getByTestId("profile-groups").getByRole("link", { name: groupName })).toHaveAttribute(
    "href",
    `/console/groups/${groupId}`,
  );
  await page.getByLabel("Assign to a user group").fill("No such group");
  await page.getByRole("button", { name: "Assign", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("There is no group with the id or name");

  // The list: the rule is stated; moving the second above the first changes the numbers.
  await page.goto("/console/auth-profiles");
  await hydrated(page);
  await expect(page.getByText("the profile highest in this list (priority 1 first) wins")).toBeVisible();
  const rowOf = (name: string) => page.getByTestId("profile-row").filter({ hasText: name });
  const firstPriority = Number(await rowOf(first).getByTestId("profile-priority").textContent());
  await expect(rowOf(second).getByTestId("profile-priority")).toHaveText(String(firstPriority + 1));
  await expect(rowOf(second)).toContainText(groupName);
  await page.getByRole("button", { name: `Move ${second} up` }).click();
  await expect(rowOf(second).getByTestId("profile-priority")).toHaveText(String(firstPriority));
  await expect(rowOf(first).getByTestId("profile-priority")).toHaveText(String(firstPriority + 1));

  // Deleting the second asks where its group goes; moving it to the first keeps it assigned.
  await rowOf(second).getByRole("link", { name: second }).click();
  await hydrated(page);
  await expect(page.getByText("1 user group(s) use this profile")).toBeVisible();
  await page.getByLabel("Move them to").check();
  await page.getByLabel("Profile to move the groups to").selectOption({ label: first });
  await page.getByTestId("delete-profile").click();
  await expect(page).toHaveURL(/^[^?]*\/console\/auth-profiles$/);
  await expect(rowOf(second)).toHaveCount(0);
  await expect(rowOf(first)).toContainText(groupName);
  await page.goto(`/console/auth-profiles/${firstId}`);
  await expect(page.getByTestId("profile-groups")).toContainText(groupName);
});

test("the profile calls need an administrator's session", async ({ playwright, baseURL }) => {
  const anonymous = await playwright.request.newContext({ baseURL });
  const listed = await anonymous.post("/console/api/list_auth_profiles");
  expect(listed.status()).toBe(401);
  const previewed = await anonymous.post("/console/api/preview_idp_metadata", {
    data: { source: { kind: "url", value: IDP_METADATA_URL }, entity_id: null },
  });
  expect(previewed.status()).toBe(401);
  await anonymous.dispose();
});
