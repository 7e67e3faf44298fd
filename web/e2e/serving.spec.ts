// Endpoints and batch jobs: what seed_ui.py set up through /api/v1 ("ui-e2e-endpoint" following
// models:/ui-e2e-model@champion with 8 predictions and 1 failed request; one batch job).
import { expect, test } from "@playwright/test";
import { bodyRows, byId, expectDrawnCanvas, open, seed, shot } from "./helpers";

test("endpoints: the list, then an endpoint's targets, activity and recent predictions", async ({ page }) => {
  const s = seed();
  const ep = s.endpoint;
  await open(page, "#/endpoints", "endpoints");
  const row = byId(byId(page, "endpoints-table"), "endpoint-" + ep.name);
  await expect(row).toBeVisible();
  await expect(row).toContainText(ep.model);
  await shot(page, "endpoints");

  await row.getByRole("link", { name: ep.name, exact: true }).click();
  await expect(byId(page, "page-endpoint")).toBeVisible();
  expect(page.url()).toContain("#/endpoints/" + ep.name);

  const primary = byId(byId(page, "endpoint-targets"), "target-primary");
  await expect(primary).toContainText(`models:/${ep.model}@champion`);
  await expect(primary).toContainText(ep.version);
  await expect(byId(page, "traffic-primary")).toContainText("100");

  const activity = byId(page, "endpoint-activity");
  await expect(byId(activity, "stat-requests")).toContainText(String(ep.requests));
  await expect(byId(activity, "stat-errors")).toContainText(String(ep.errors));
  await expectDrawnCanvas(byId(activity, "chart-requests"));

  const recent = byId(page, "recent-predictions");
  await expect(bodyRows(recent)).not.toHaveCount(0);
  const text = await recent.locator("tbody").innerText();
  for (const id of ep.request_ids) expect(text).toContain(id);
  await expect(bodyRows(recent).filter({ hasText: "e2e-bad" })).toContainText("400");
  await shot(page, "endpoint");
});

test("batch jobs: the list, then a job with its progress, shards and lineage", async ({ page }) => {
  const s = seed();
  const job = s.batch_job;
  await open(page, "#/batch", "batch");
  const row = byId(byId(page, "batch-table"), "job-" + job.id);
  await expect(row).toBeVisible();
  await expect(row).toContainText(/succeeded/i);
  await expect(row).toContainText(s.model.name);
  await expect(row).toContainText(`1/1 shards · ${job.rows} rows`);
  await shot(page, "batch");

  await row.getByRole("link", { name: job.id.slice(0, 8) }).click();
  await expect(byId(page, "page-batch-job")).toBeVisible();
  expect(page.url()).toContain("#/batch/" + job.id);
  await expect(byId(page, "job-status")).toContainText(/succeeded/i);
  await expect(byId(page, "progress-shards")).toContainText("1 / 1");
  await expect(byId(page, "progress-rows-out")).toContainText(String(job.rows));
  const shards = byId(page, "job-shards");
  await expect(bodyRows(shards)).toHaveCount(1);
  await expect(byId(shards, "shard-0")).toContainText(/done/i);
  await expect(byId(page, "job-manifest")).toContainText("_manifest.json");
  await expect(byId(page, "job-model-link")).toContainText(s.model.aliases.champion);
  await shot(page, "batch-job");

  // The job's page from a pasted link, too.
  await page.goto("/#/batch");
  await page.goto(`/#/batch/${job.id}`);
  await expect(byId(page, "job-status")).toContainText(/succeeded/i);
});
