// Experiments, runs, a run and runs compared, against the runs seed_ui.py logged with the
// mlflow client (experiment "ui-e2e": 30 runs, each with a distinct rmse).
import { expect, test } from "@playwright/test";
import { bodyRows, byId, columnTexts, expectDrawnCanvas, open, seed, shot, tableRunIds } from "./helpers";

test("experiments: the list, a search, and a click into an experiment", async ({ page }) => {
  const s = seed();
  await open(page, "#/experiments", "experiments");
  const table = byId(page, "experiments-table");
  await expect(byId(table, "experiment-" + s.experiment.id)).toBeVisible();
  await expect(byId(table, "experiment-" + s.empty_experiment.id)).toBeVisible();
  await shot(page, "experiments");

  await byId(page, "experiment-search").fill("e2e-emp");
  await expect(byId(table, "experiment-" + s.experiment.id)).toHaveCount(0);
  await expect(byId(table, "experiment-" + s.empty_experiment.id)).toBeVisible();
  expect(page.url()).toContain("q=e2e-emp");

  await byId(page, "experiment-search").fill("ui-e2e");
  await byId(table, "experiment-" + s.experiment.id).getByRole("link").click();
  await expect(byId(page, "page-runs")).toBeVisible();
  expect(page.url()).toContain(`#/experiments/${s.experiment.id}`);
  await expect(bodyRows(byId(page, "runs-table"))).toHaveCount(s.experiment.runs);
});

test("runs: every run listed, a valid filter narrows them, an invalid one says why", async ({ page }) => {
  const s = seed();
  await open(page, `#/experiments/${s.experiment.id}`, "runs");
  const table = byId(page, "runs-table");
  await expect(bodyRows(table)).toHaveCount(s.experiment.runs);
  await expect(byId(page, "run-count")).toContainText(`1–${s.experiment.runs}`);
  expect((await tableRunIds(page)).sort()).toEqual(s.runs.map((r) => r.id).sort());
  await shot(page, "runs");

  const filter = byId(page, "runs-filter");
  await filter.fill(s.filter.expr);
  await filter.press("Enter");
  await expect(bodyRows(table)).toHaveCount(s.filter.count);
  expect(page.url()).toContain("filter=");
  for (const v of await columnTexts(table, "sort-params.optimizer")) expect(v).toBe("adam");
  for (const v of await columnTexts(table, "sort-metrics.rmse")) expect(Number(v)).toBeLessThan(0.6);
  await expect(byId(page, "filter-error")).toHaveCount(0);
  await shot(page, "runs-filtered");

  await filter.fill("metrics.rmse <<< 1 and");
  await filter.press("Enter");
  const err = byId(page, "filter-error");
  await expect(err).toBeVisible();
  await expect(err).not.toBeEmpty();
  await expect(filter).toHaveAttribute("aria-invalid", "true");
  // The last good result stays.
  await expect(bodyRows(table)).toHaveCount(s.filter.count);
  await shot(page, "runs-filter-error");

  // Fixing the filter clears the error.
  await filter.fill("params.optimizer = 'sgd'");
  await filter.press("Enter");
  await expect(byId(page, "filter-error")).toHaveCount(0);
  await expect(bodyRows(table)).toHaveCount(s.runs.filter((r) => r.params.optimizer === "sgd").length);
});

test("runs: sorting by a metric orders the rows by it, both ways", async ({ page }) => {
  const s = seed();
  await open(page, `#/experiments/${s.experiment.id}`, "runs");
  const table = byId(page, "runs-table");
  await expect(bodyRows(table)).toHaveCount(s.experiment.runs);
  const header = byId(page, "sort-metrics.rmse");

  await header.click(); // a new column sorts descending first
  await expect(header).toHaveAttribute("aria-sort", "descending");
  expect(page.url()).toMatch(/order=metrics\.(%60|`)rmse(%60|`)(\+|%20)DESC/);
  await expect.poll(() => tableRunIds(page)).toEqual([...s.rmse_ascending].reverse());
  const desc = (await columnTexts(table, "sort-metrics.rmse")).map(Number);
  expect(desc).toEqual([...desc].sort((a, b) => b - a));
  expect(desc[0]).toBe(Math.max(...s.runs.map((r) => r.rmse)));
  await shot(page, "runs-sorted-desc");

  await header.click();
  await expect(header).toHaveAttribute("aria-sort", "ascending");
  await expect.poll(() => tableRunIds(page)).toEqual(s.rmse_ascending);
  const asc = (await columnTexts(table, "sort-metrics.rmse")).map(Number);
  expect(asc).toEqual([...asc].sort((a, b) => a - b));
  expect(asc[0]).toBe(Math.min(...s.runs.map((r) => r.rmse)));
});

test("run: overview, metrics and artifacts with CSV, image, text and JSON previews", async ({ page }) => {
  const s = seed();
  const show = s.runs[0];
  await open(page, `#/experiments/${s.experiment.id}`, "runs");
  await byId(page, "run-link-" + show.id).click();
  await expect(byId(page, "page-run")).toBeVisible();
  expect(page.url()).toContain(`#/experiments/${s.experiment.id}/runs/${show.id}`);

  const params = byId(page, "params-table");
  for (const [k, v] of Object.entries(show.params)) {
    await expect(params.locator("tr", { hasText: k })).toContainText(v);
  }
  await expect(byId(page, "metrics-table").locator("tr", { hasText: "rmse" })).toContainText(String(show.rmse));
  await expect(byId(page, "metrics-table").locator("tr", { hasText: "loss" })).toBeVisible();
  await expect(byId(page, "tags-table")).toContainText("team");
  const datasets = byId(page, "datasets-table");
  await expect(bodyRows(datasets)).toHaveCount(1);
  await expect(datasets).toContainText("ui-e2e-train");
  await expect(datasets).toContainText("training");
  await shot(page, "run-overview");

  await byId(page, "tab-metrics").click();
  expect(page.url()).toContain("tab=metrics");
  const charts = byId(page, "metric-chart");
  await expect(charts).toHaveCount(3); // accuracy, loss, rmse
  await expectDrawnCanvas(charts.first());
  await shot(page, "run-metrics");

  await byId(page, "tab-artifacts").click();
  const tree = byId(page, "artifact-tree");
  await expect(byId(tree, "artifact-notes.txt")).toBeVisible();
  const preview = byId(page, "artifact-preview");

  // CSV as a table.
  await byId(tree, "artifact-data").click();
  await byId(tree, "artifact-" + s.artifacts.csv).click();
  const csv = byId(preview, "csv-table");
  await expect(csv).toBeVisible();
  await expect(csv.locator("thead th")).toHaveText(["city", "population", "area"]);
  await expect(bodyRows(csv)).toHaveCount(s.artifacts.csv_rows);
  await expect(bodyRows(csv).first()).toContainText("Oslo");
  expect(page.url()).toContain("path=data%2Fsample.csv");
  await shot(page, "run-artifact-csv");

  // The image, actually decoded.
  await byId(tree, "artifact-plots").click();
  await byId(tree, "artifact-" + s.artifacts.image).click();
  const img = preview.locator("img");
  await expect(img).toBeVisible();
  await expect.poll(() => img.evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBe(s.artifacts.image_width);
  await shot(page, "run-artifact-image");

  // Text and JSON.
  await byId(tree, "artifact-" + s.artifacts.text).click();
  await expect(byId(preview, "artifact-text")).toContainText("Notes for the showcase run.");
  await byId(tree, "artifact-" + s.artifacts.json).click();
  await expect(byId(preview, "artifact-text")).toContainText('"model": "xgboost"');
});

test("run: a run that logged a model lists it", async ({ page }) => {
  const s = seed();
  await open(page, `#/runs/${s.models_experiment.runs[0]}`, "run");
  const models = byId(page, "models-table");
  await expect(bodyRows(models)).toHaveCount(1);
  await expect(models).toContainText(/m-[0-9a-f]{32}/); // the logged model's id
  await expect(models).toContainText("ready");
});

test("compare: three runs side by side, differing params marked, curves drawn", async ({ page }) => {
  const s = seed();
  await open(page, `#/experiments/${s.experiment.id}`, "runs");
  await expect(byId(page, "compare-button")).toBeDisabled();
  for (const id of s.compare_runs) await byId(page, "select-run-" + id).check();
  await expect(byId(page, "run-count")).toContainText("3 selected");
  await byId(page, "compare-button").click();

  await expect(byId(page, "page-compare")).toBeVisible();
  const url = new URL(page.url());
  const runs = new URLSearchParams(url.hash.slice(url.hash.indexOf("?") + 1)).get("runs")!.split(",");
  expect(runs.sort()).toEqual([...s.compare_runs].sort());

  const params = byId(page, "compare-params");
  // lr, depth and optimizer differ among the three; "data" is the same in all.
  await expect(params.locator("tbody tr.diff")).toHaveCount(3);
  await expect(params.locator("tbody tr:not(.diff)")).toHaveCount(1);
  await expect(params.locator("tbody tr:not(.diff)")).toContainText("data");
  await expect(params.locator("tbody tr.diff", { hasText: "optimizer" })).toBeVisible();

  await byId(page, "compare-metric").selectOption("loss");
  expect(page.url()).toContain("metric=loss");
  await expectDrawnCanvas(byId(page, "compare-chart"));
  await expectDrawnCanvas(byId(page, "scatter-chart"));
  await shot(page, "compare");
});

test("empty state: a fresh experiment explains how to log a run", async ({ page }) => {
  const s = seed();
  await open(page, `#/experiments/${s.empty_experiment.id}`, "runs");
  await expect(byId(page, "empty")).toBeVisible();
  await expect(byId(page, "empty")).toContainText(s.empty_experiment.name);
  await expect(byId(page, "runs-table")).toHaveCount(0);
  await shot(page, "runs-empty");
});

test("deep links: a pasted URL opens the page in its state", async ({ page }) => {
  const s = seed();
  // A filtered, sorted run list.
  const q = new URLSearchParams({ filter: s.filter.expr, order: "metrics.`rmse` ASC" });
  await page.goto(`/#/experiments/${s.experiment.id}?${q}`);
  await expect(byId(page, "page-runs")).toBeVisible();
  await expect(byId(page, "runs-filter")).toHaveValue(s.filter.expr);
  await expect(bodyRows(byId(page, "runs-table"))).toHaveCount(s.filter.count);
  await expect(byId(page, "sort-metrics.rmse")).toHaveAttribute("aria-sort", "ascending");
  const want = s.rmse_ascending.filter((id) => {
    const r = s.runs.find((x) => x.id === id)!;
    return r.params.optimizer === "adam" && r.rmse < 0.6;
  });
  expect(await tableRunIds(page)).toEqual(want);

  // A file of a run, in a fresh tab of the browser.
  const other = await page.context().newPage();
  await other.goto(`/#/runs/${s.showcase_run}?tab=artifacts&path=${encodeURIComponent(s.artifacts.csv)}`);
  await expect(byId(other, "page-run")).toBeVisible();
  await expect(bodyRows(byId(other, "csv-table"))).toHaveCount(s.artifacts.csv_rows);

  // Compare, straight from its URL.
  await other.goto(`/#/compare?runs=${s.compare_runs.join(",")}`);
  await expect(byId(other, "page-compare")).toBeVisible();
  await expect(byId(other, "compare-params").locator("tbody tr.diff")).toHaveCount(3);
  await other.close();
});
