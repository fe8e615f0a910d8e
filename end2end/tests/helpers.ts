import { expect, type APIRequestContext, type Page } from "@playwright/test";

/** The administrator start-server.sh creates. */
export const ADMIN = {
  email: "e2e-admin@example.com",
  password: "e2e password that is long",
};

/** Waits until the wasm app has taken over the page (frontend sets data-hydrated). */
export async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

/** Signs in on the sign-in page the browser is on. */
export async function signIn(page: Page, email = ADMIN.email, password = ADMIN.password) {
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** A SCIM token made through the console's own server function (an Administrator is signed in). */
export async function consoleScimToken(request: APIRequestContext, name: string): Promise<string> {
  const res = await request.post("/console/api/create_scim_token", { form: { name } });
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()).secret;
}

/** One SCIM request as Okta would send it; fails the test unless it succeeded. */
export async function scimRequest(
  request: APIRequestContext,
  token: string,
  method: string,
  path: string,
  data: unknown,
) {
  const res = await request.fetch(`/scim/v2${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" },
    data,
  });
  expect(res.status(), `${method} ${path}: ${await res.text()}`).toBeLessThan(300);
  return res.json();
}
