import { expect, test, type APIRequestContext } from "@playwright/test";
import { IDP_URL } from "../playwright.config";
import { hydrated, signIn } from "./helpers";

// The whole setup guide, then an end user signing in through a real IdP process (npm
// saml-idp, which signs with node's xml-crypto, not Gatehouse's xmlsec): Okta-style SCIM
// provisioning, a profile made in the console with the IdP's metadata imported by URL and
// assigned to the group, sign-in at /login → IdP → ACS → portal, and SCIM deactivation
// ending the session and refusing the next sign-in.

const USER = "sso-user@example.com";
const GROUP = "SSO testers";
const SCIM = { "Content-Type": "application/scim+json" };

async function scim(request: APIRequestContext, token: string, method: string, path: string, data?: unknown) {
  const res = await request.fetch(`/scim/v2${path}`, {
    method,
    headers: { ...SCIM, Authorization: `Bearer ${token}` },
    data,
  });
  expect(res.status(), `${method} ${path}: ${await res.text()}`).toBeLessThan(300);
  return res.status() === 204 ? null : await res.json();
}

test("a SCIM-provisioned user signs in through the group's IdP, and deactivation ends it", async ({ page }) => {
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto("/console/login?next=/console/auth-profiles");
  await signIn(page);
  await expect(page).toHaveURL(/^[^?]*\/console\/auth-profiles$/);

  // Okta provisions the user and the group (a token made with the console's own function).
  const made = await page.request.post("/console/api/create_scim_token", { form: { name: "SSO e2e" } });
  expect(made.status()).toBe(200);
  const token: string = (await made.json()).secret;
  const user = await scim(page.request, token, "POST", "/Users", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    userName: USER,
    name: { givenName: "Sso", familyName: "User" },
    emails: [{ value: USER, primary: true, type: "work" }],
    active: true,
  });
  await scim(page.request, token, "POST", "/Groups", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    displayName: GROUP,
    members: [{ value: user.id }],
  });

  // The admin creates a profile, imports the IdP's metadata by URL and assigns the group.
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill("Test IdP SSO");
  await page.getByRole("button", { name: "Create profile" }).click();
  await expect(page).toHaveURL(/\/console\/auth-profiles\/[0-9a-f-]{36}$/);
  const acsUrl = await page.getByLabel("Single sign-on URL").inputValue();
  const entityId = await page.getByLabel("Audience URI (SP Entity ID)").inputValue();
  await page.getByLabel("Metadata URL").fill(`${IDP_URL}/metadata`);
  await page.getByRole("button", { name: "Preview" }).click();
  await page.getByTestId("metadata-preview").getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("idp-entity-id")).toHaveText("urn:gatehouse:test-idp");
  await page.getByLabel("Assign to a user group").fill(GROUP);
  await page.getByRole("button", { name: "Assign", exact: true }).click();
  await expect(page.getByTestId("profile-groups")).toContainText(GROUP);

  // Okta's side of the app: Single sign-on URL and Audience URI from the profile's page.
  const configured = await page.request.post(`${IDP_URL}/settings`, {
    form: { acsUrl, audience: entityId },
    maxRedirects: 0,
  });
  expect(configured.status()).toBe(302);

  // The end user: identifier first, then the IdP's sign-in form, then the portal.
  await page.goto("/login");
  await page.getByLabel("Email").fill(USER);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(new RegExp(`^${IDP_URL}/saml/sso\\?SAMLRequest=`));
  await page.locator("#userName").fill(USER);
  await page.locator("#email").fill(USER);
  await page.locator("#btn-sign-in").click();
  await expect(page).toHaveURL(/\/portal$/);
  await expect(page.getByTestId("portal-user")).toHaveText(USER);
  await expect(page.getByTestId("portal-profile")).toHaveText("Test IdP SSO");
  await expect(page.getByTestId("portal-groups")).toContainText(GROUP);
  await expect(page.getByTestId("portal-expires")).not.toBeEmpty();

  // Okta deactivates the user: the session is gone at once, and sign-in is refused calmly.
  await scim(page.request, token, "PATCH", `/Users/${user.id}`, {
    schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    Operations: [{ op: "replace", value: { active: false } }],
  });
  await page.reload();
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel("Email").fill(USER);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByTestId("login-message")).toHaveText(
    "We can't sign you in with this address. Check it, or ask your administrator for access.",
  );
  await expect(page).toHaveURL(/\/login/);

  // The admin sees why in Events.
  await page.goto("/console/events?range=all");
  await expect(page.getByText("sign_in.succeeded").first()).toBeVisible();
  await expect(page.getByText("sign_in.failed").first()).toBeVisible();
});
