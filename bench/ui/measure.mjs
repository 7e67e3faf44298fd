// Times a page of Plinth's UI in headless Chromium (Debian's, through web/node_modules'
// playwright-core): from the start of the navigation to the moment what matters is on screen.
//
//   node bench/ui/measure.mjs --url 'http://127.0.0.1:PORT/#/experiments/1' --wait rows --reps 7
//
// --wait rows   the runs table's body rows ([data-testid=runs-table] tbody tr) are in the page
// --wait chart  the compare chart's canvas ([data-testid=compare-chart] canvas) is in the page
// and then painted: the time is taken in the page, in the task after the next animation
// frame, relative to the navigation's start (performance.now()). Every load is in a fresh
// browser context (nothing cached; the browser process stays up, as a user's does).
// Prints one JSON line per load, then a summary line {"summary": true, "median_ms": …}.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { chromium } = createRequire(join(root, "web", "package.json"))("playwright-core");

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const url = args.url;
const wait = args.wait ?? "rows";
const reps = Number(args.reps ?? 7);
const warmup = Number(args.warmup ?? 1);
const timeout = Number(args.timeout ?? 60000);
if (!url) {
  console.error("usage: measure.mjs --url URL [--wait rows|chart] [--reps 7] [--warmup 1]");
  process.exit(2);
}
const selectors = {
  rows: '[data-testid="runs-table"] tbody tr',
  chart: '[data-testid="compare-chart"] canvas',
};
const selector = selectors[wait];
if (!selector) throw new Error("--wait must be rows or chart");

function init(sel) {
  const mark = { seen: undefined, painted: undefined, domContentLoaded: undefined };
  window.__uiBench = mark;
  document.addEventListener("DOMContentLoaded", () => (mark.domContentLoaded = performance.now()));
  const check = () => {
    if (mark.seen !== undefined || !document.querySelector(sel)) return;
    mark.seen = performance.now();
    // After the frame that shows it has been painted.
    requestAnimationFrame(() => setTimeout(() => (mark.painted = performance.now()), 0));
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true });
}

const browser = await chromium.launch({
  executablePath: process.env.PLINTH_CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const times = [];
try {
  for (let i = 0; i < warmup + reps; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await ctx.newPage();
    await page.addInitScript(init, selector);
    const t0 = Date.now();
    await page.goto(url, { waitUntil: "commit" });
    await page.waitForFunction(() => window.__uiBench?.painted !== undefined, null, { timeout, polling: 50 });
    const wall = Date.now() - t0;
    const m = await page.evaluate(() => window.__uiBench);
    const detail = await page.evaluate(
      ([w]) => {
        if (w === "rows") return { rows: document.querySelectorAll('[data-testid="runs-table"] tbody tr').length };
        const c = document.querySelector('[data-testid="compare-chart"] canvas');
        return { canvas: c ? `${c.width}x${c.height}` : null };
      },
      [wait],
    );
    const res = await page.evaluate(() =>
      performance
        .getEntriesByType("resource")
        .filter((e) => /ajax-api|api\/v1/.test(e.name))
        .map((e) => ({ url: e.name.replace(location.origin, "").slice(0, 100), start: Math.round(e.startTime), ms: Math.round(e.duration), bytes: e.transferSize })),
    );
    const rec = {
      wait,
      rep: i - warmup,
      warmup: i < warmup,
      ms: Math.round(m.painted),
      seen_ms: Math.round(m.seen),
      dom_content_loaded_ms: Math.round(m.domContentLoaded ?? -1),
      wall_ms: wall,
      ...detail,
      requests: res,
    };
    console.log(JSON.stringify(rec));
    if (i >= warmup) times.push(rec.ms);
    await ctx.close();
  }
} finally {
  await browser.close();
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
console.log(JSON.stringify({ summary: true, wait, url, reps, median_ms: median, min_ms: sorted[0], max_ms: sorted.at(-1), all_ms: times }));
