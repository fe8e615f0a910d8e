import { expect, test, type APIRequestContext } from "@playwright/test";
import { signIn } from "./helpers";

async function scimStatus(request: APIRequestContext, token: string): Promise<number> {
  const res = await request.get("/scim/v2/ServiceProviderConfig", {
    headers: { Authorization: `Bearer ${token}` },
  });
  return res.status();
}

test("generate a token, see it once, use it, regenerate it, revoke it", async ({ page }) => {
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto("/console/login?next=/console/scim");
  await signIn(page);
  await expect(page).toHaveURL(/^[^?]*\/console\/scim$/);
  await expect(page.getByTestId("base-url")).toHaveValue(/\/scim\/v2$/);
  // Served over plain http here, so the page warns that Okta needs https.
  await expect(page.getByText("Okta only provisions to https URLs")).toBeVisible();

  await page.getByLabel("Token name").fill("Okta e2e");
  await page.getByRole("button", { name: "Generate token" }).click();
  const revealed = page.getByTestId("new-token");
  await expect(revealed).toHaveValue(/^gh_scim_/);
  const first = await revealed.inputValue();
  expect(await scimStatus(page.request, first)).toBe(200);

  // Shown once: after a reload the secret is nowhere on the page.
  await page.reload();
  await expect(page.getByTestId("token-table")).toContainText("Okta e2e");
  expect(await page.content()).not.toContain(first);
  await expect(page.getByTestId("last-request")).not.toHaveText("No request yet");

  await page.getByRole("button", { name: "Regenerate Okta e2e" }).click();
  await expect(revealed).toHaveValue(/^gh_scim_/);
  const second = await revealed.inputValue();
  expect(second).not.toBe(first);
  expect(await scimStatus(page.request, first)).toBe(401);
  expect(await scimStatus(page.request, second)).toBe(200);

  await page.getByRole("button", { name: "I have copied it" }).click();
  await expect(revealed).toHaveCount(0);
  await page.getByRole("button", { name: "Revoke Okta e2e" }).click();
  await expect(page.getByRole("button", { name: "Revoke Okta e2e" })).toHaveCount(0);
  expect(await scimStatus(page.request, second)).toBe(401);
  await expect(page.getByText("Recent provisioning errors")).toBeVisible();
});
