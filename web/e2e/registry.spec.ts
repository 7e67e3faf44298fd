// The model registry: models, versions with their approvals and aliases. Changes made in the
// UI are checked through Plinth's /api/v1 too. "ui-e2e-model": v1, v2 approved, v3 pending,
// champion (protected) → 2, challenger → 1. "ui-e2e-gated": v1 approved, v2 pending,
// champion → 1. The tests that change something touch different versions and aliases, so
// they may run in any order.
import { expect, test } from "@playwright/test";
import { apiGet, bodyRows, byId, open, seed, shot } from "./helpers";

const modelAPI = (name: string) => `/api/v1/models/${encodeURIComponent(name)}`;

test("models: the list shows the models with their aliases, and opens one", async ({ page }) => {
  const s = seed();
  await open(page, "#/models", "models");
  const row = byId(byId(page, "models-table"), "model-" + s.model.name);
  await expect(row).toBeVisible();
  await expect(byId(row, "alias-champion")).toContainText("v" + s.model.aliases.champion);
  await expect(byId(byId(page, "models-table"), "model-" + s.gated_model.name)).toBeVisible();
  await shot(page, "models");

  await row.getByRole("link", { name: s.model.name, exact: true }).click();
  await expect(byId(page, "page-model")).toBeVisible();
  expect(page.url()).toContain("#/models/" + s.model.name);
  const versions = byId(page, "versions-table");
  await expect(versions.locator("tbody tr[data-testid^='version-']")).toHaveCount(s.model.versions);
  await expect(byId(page, "approval-policy")).toContainText("champion");
  // Aliases sit on their versions' rows, approvals are shown per version.
  await expect(byId(byId(versions, "version-" + s.model.aliases.champion), "alias-champion")).toBeVisible();
  for (const v of s.model.approved) await expect(byId(versions, "approval-" + v)).toContainText("approved");
  await shot(page, "model");
});

test("models: moving an alias moves its badge, and the server agrees", async ({ page }) => {
  const s = seed();
  await open(page, `#/models/${s.model.name}`, "model");
  const versions = byId(page, "versions-table");
  const from = s.model.aliases.challenger;
  const to = "3";
  await expect(byId(byId(versions, "version-" + from), "alias-challenger")).toBeVisible();

  await byId(page, "alias-name").fill("challenger");
  await byId(page, "alias-version").selectOption(to);
  await byId(page, "alias-submit").click();
  await expect(byId(page, "flash")).toContainText("challenger");
  await expect(byId(byId(versions, "version-" + to), "alias-challenger")).toBeVisible();
  await expect(byId(byId(versions, "version-" + from), "alias-challenger")).toHaveCount(0);
  await shot(page, "model-alias-moved");

  const model = await apiGet(page, modelAPI(s.model.name));
  expect(model.aliases.challenger).toBe(Number(to));
  expect(model.aliases.champion).toBe(Number(s.model.aliases.champion)); // untouched
  // After a reload, the page shows what the server has.
  await page.reload();
  await expect(byId(byId(byId(page, "versions-table"), "version-" + to), "alias-challenger")).toBeVisible();
});

test("models: approving a version with a reason records it", async ({ page }) => {
  const s = seed();
  const v = s.model.pending[0];
  await open(page, `#/models/${s.model.name}`, "model");
  const versions = byId(page, "versions-table");
  await expect(byId(versions, "approval-" + v)).toContainText("pending");

  await byId(versions, "approve-" + v).click();
  await byId(page, "decision-reason").fill("e2e: backtest AUC 0.93, reviewed in the browser");
  await shot(page, "model-approve-form");
  await byId(page, "decision-submit").click();
  await expect(byId(page, "flash")).toContainText(`Version ${v} approved`);
  await expect(byId(versions, "approval-" + v)).toContainText("approved");

  const got = await apiGet(page, `${modelAPI(s.model.name)}/versions/${v}`);
  expect(got.approval).toBe("approved");
  const hist = await apiGet(page, `${modelAPI(s.model.name)}/versions/${v}/approvals`);
  expect(hist.approvals.at(-1)).toMatchObject({ from: "pending", to: "approved", reason: "e2e: backtest AUC 0.93, reviewed in the browser" });
  await shot(page, "model-approved");
});

test("models: a refused change shows the server's reason; a rejection is recorded", async ({ page }) => {
  const s = seed();
  const g = s.gated_model;
  const pending = g.pending[0];
  await open(page, `#/models/${g.name}`, "model");
  const versions = byId(page, "versions-table");

  // The protected alias cannot point at a version that is not approved.
  await byId(page, "alias-name").fill("champion");
  await byId(page, "alias-version").selectOption(pending);
  await byId(page, "alias-submit").click();
  await expect(byId(byId(page, "alias-form"), "error")).toContainText(/approv/i);
  await expect(byId(byId(versions, "version-" + g.aliases.champion), "alias-champion")).toBeVisible();
  expect((await apiGet(page, modelAPI(g.name))).aliases.champion).toBe(Number(g.aliases.champion));
  await shot(page, "model-alias-refused");

  // A decision needs a reason: the server says so and nothing changes.
  await byId(versions, "reject-" + pending).click();
  await byId(page, "decision-submit").click();
  await expect(byId(byId(page, "decision-form"), "error")).toContainText(/reason/i);
  expect((await apiGet(page, `${modelAPI(g.name)}/versions/${pending}`)).approval).toBe("pending");

  await byId(page, "decision-reason").fill("e2e: drift on segment B");
  await byId(page, "decision-submit").click();
  await expect(byId(versions, "approval-" + pending)).toContainText("rejected");
  expect((await apiGet(page, `${modelAPI(g.name)}/versions/${pending}`)).approval).toBe("rejected");
});

test("models: a version's page, from a pasted link", async ({ page }) => {
  const s = seed();
  const v = s.model.aliases.champion;
  await page.goto(`/#/models/${s.model.name}/versions/${v}`);
  await expect(byId(page, "page-version")).toBeVisible();
  await expect(byId(page, "version-approval")).toContainText("approved");
  await expect(byId(page, "alias-champion")).toBeVisible();
  await expect(bodyRows(byId(page, "approvals-table"))).not.toHaveCount(0);
  await expect(byId(page, "served-by")).toContainText(s.endpoint.name);
  await shot(page, "model-version");
});
