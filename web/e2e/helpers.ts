// What every end-to-end test shares: the seed summary written by python/e2e/seed_ui.py,
// screenshots, and small reads of the tables (by data-testid, never by layout).
import { readFileSync, mkdirSync } from "node:fs";
import { expect, type Locator, type Page } from "@playwright/test";

export interface SeedRun {
  id: string;
  name: string;
  params: Record<string, string>;
  rmse: number;
  accuracy: number;
}

export interface Seed {
  url: string;
  experiment: { id: string; name: string; runs: number };
  empty_experiment: { id: string; name: string };
  models_experiment: { id: string; runs: string[] };
  runs: SeedRun[];
  showcase_run: string;
  rmse_ascending: string[];
  filter: { expr: string; count: number };
  compare_runs: string[];
  artifacts: { text: string; json: string; csv: string; image: string; image_width: number; csv_rows: number };
  model: { name: string; versions: number; aliases: Record<string, string>; approved: string[]; pending: string[] };
  gated_model: { name: string; aliases: Record<string, string>; approved: string[]; pending: string[] };
  endpoint: { name: string; model: string; version: string; requests: number; errors: number; request_ids: string[] };
  batch_job: { id: string; rows: number };
}

let cached: Seed | undefined;

/** The seed summary (PLINTH_E2E_SEED, set by scripts/ui-e2e.sh). */
export function seed(): Seed {
  if (!cached) {
    const path = process.env.PLINTH_E2E_SEED;
    if (!path) throw new Error("PLINTH_E2E_SEED is not set: run the tests with scripts/ui-e2e.sh (make test-e2e)");
    cached = JSON.parse(readFileSync(path, "utf8")) as Seed;
  }
  return cached;
}

export const byId = (page: Page | Locator, id: string) => page.getByTestId(id);

/** A full-page screenshot in test-results/screenshots/NAME.png, to look at after a run. */
export async function shot(page: Page, name: string) {
  mkdirSync("test-results/screenshots", { recursive: true });
  // Let charts and images finish drawing first.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
}

/** Goes to a hash route ("#/experiments/1") and waits for the page root page-NAME. */
export async function open(page: Page, hash: string, pageName: string) {
  await page.goto("/" + hash);
  await expect(byId(page, "page-" + pageName)).toBeVisible();
}

/** The run ids of the runs table's rows, in order, read from their select-run-<id> boxes. */
export async function tableRunIds(page: Page): Promise<string[]> {
  const boxes = byId(page, "runs-table").locator("tbody [data-testid^='select-run-']");
  const ids = await boxes.evaluateAll((els) => els.map((e) => e.getAttribute("data-testid")!.slice("select-run-".length)));
  return ids;
}

/** The texts of a column of a table, the column being the one of the header cell with that test id. */
export async function columnTexts(table: Locator, headerTestId: string): Promise<string[]> {
  const index = await table.getByTestId(headerTestId).evaluate((th) => (th as HTMLTableCellElement).cellIndex);
  return table.locator("tbody tr").evaluateAll(
    (rows, i) => rows.map((r) => ((r as HTMLTableRowElement).cells[i as number]?.textContent ?? "").trim()),
    index,
  );
}

/** The body rows of a table (or of the table inside a test id'd container). */
export function bodyRows(container: Locator): Locator {
  return container.locator("tbody tr");
}

/** The canvas of a chart container, checked to have been drawn on (some pixel not blank). */
export async function expectDrawnCanvas(chart: Locator) {
  const canvas = chart.locator("canvas").first();
  await expect(canvas).toBeVisible();
  await expect
    .poll(
      () =>
        canvas.evaluate((c) => {
          const cv = c as HTMLCanvasElement;
          const ctx = cv.getContext("2d");
          if (!ctx || cv.width === 0 || cv.height === 0) return 0;
          const d = ctx.getImageData(0, 0, cv.width, cv.height).data;
          let n = 0;
          for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
          return n;
        }),
      { message: "the chart's canvas stays blank" },
    )
    .toBeGreaterThan(50);
}

/** Plinth's /api/v1, through the test's own request context (same server as the page). */
export async function apiGet(page: Page, path: string): Promise<any> {
  const r = await page.request.get(path);
  expect(r.ok(), `GET ${path}: ${r.status()} ${await r.text()}`).toBeTruthy();
  return r.json();
}
