import { expect, test } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { FRESH_PORT } from "../playwright.config";
import { hydrated } from "./helpers";

// The first run of a new installation: no administrator, so Gatehouse prints a one-time
// setup link (start-server.sh fresh copies it to .state/setup-link).
function setupLink(): string {
  const file = path.join(__dirname, "..", ".state", "setup-link");
  const link = fs.readFileSync(file, "utf8").trim();
  expect(link).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${FRESH_PORT}/console/setup\\?token=`));
  return link;
}

test("the setup link creates the first administrator, then stops working", async ({ page }) => {
  const link = setupLink();
  await page.goto(link);
  await expect(page.getByRole("heading", { name: "Create the first administrator" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Email").fill("first@example.com");
  await page.getByLabel("Password", { exact: true }).fill("first admin password");
  await page.getByLabel("Password again").fill("a different password");
  await page.getByRole("button", { name: "Create administrator" }).click();
  await expect(page.getByRole("alert")).toHaveText("The two passwords differ.");

  await page.getByLabel("Password again").fill("first admin password");
  await page.getByRole("button", { name: "Create administrator" }).click();
  await expect(page).toHaveURL(new RegExp(`:${FRESH_PORT}/console$`));
  await expect(page.getByTestId("signed-in-admin")).toContainText("first@example.com");

  // The same link again: refused, with the way forward.
  await page.goto(link);
  await expect(page.getByRole("alert")).toContainText("This setup link is not valid");
});
