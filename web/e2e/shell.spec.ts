// The shell: navigation between the sections, the theme (kept across reloads) and an
// address that matches no page.
import { expect, test } from "@playwright/test";
import { byId, open, shot } from "./helpers";

test("navigation: each section's link opens its page", async ({ page }) => {
  await open(page, "#/experiments", "experiments");
  for (const [section, root] of [
    ["models", "models"],
    ["endpoints", "endpoints"],
    ["batch", "batch"],
    ["experiments", "experiments"],
  ]) {
    await byId(page, "nav-" + section).click();
    await expect(byId(page, "page-" + root)).toBeVisible();
    expect(page.url()).toContain("#/" + section);
    await expect(byId(page, "nav-" + section)).toHaveClass(/active/);
  }
  // The root address is the experiments page.
  await page.goto("/");
  await expect(byId(page, "page-experiments")).toBeVisible();
});

test("theme: the toggle switches dark and light, and a reload keeps the choice", async ({ page }) => {
  await open(page, "#/experiments", "experiments");
  const html = page.locator("html");
  const first = await html.getAttribute("data-theme");
  expect(["dark", "light"]).toContain(first);
  const other = first === "dark" ? "light" : "dark";
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const bgFirst = await background();

  await byId(page, "theme-toggle").click();
  await expect(html).toHaveAttribute("data-theme", other);
  expect(await background()).not.toBe(bgFirst);
  await shot(page, `theme-${other}`);

  await page.reload();
  await expect(byId(page, "page-experiments")).toBeVisible();
  await expect(html).toHaveAttribute("data-theme", other);

  await byId(page, "theme-toggle").click();
  await expect(html).toHaveAttribute("data-theme", first!);
  await page.reload();
  await expect(byId(page, "page-experiments")).toBeVisible();
  await expect(html).toHaveAttribute("data-theme", first!);
  expect(await background()).toBe(bgFirst);
});

test("an address that matches no page says so", async ({ page }) => {
  await page.goto("/#/no-such-page/at-all");
  await expect(byId(page, "empty")).toBeVisible();
  await expect(byId(page, "empty")).toContainText("#/no-such-page/at-all");
});
