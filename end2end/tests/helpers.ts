import { expect, type Page } from "@playwright/test";

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
