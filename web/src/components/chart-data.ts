// Pure helpers behind the charts: metric histories to x/y arrays, several runs aligned on
// one x axis (uPlot wants one shared, sorted x array), and scatter axes. Kept apart from
// chart.tsx so that they are tested without a canvas.

/** What the x axis of a metric chart measures. */
export type XMode = "step" | "time" | "relative";

export const xModes: { value: XMode; label: string }[] = [
  { value: "step", label: "Step" },
  { value: "time", label: "Wall time" },
  { value: "relative", label: "Relative time" },
];

export function parseXMode(s: string | null | undefined): XMode {
  return s === "time" || s === "relative" ? s : "step";
}

/** One point of a metric history as the server sends it (numbers may come as strings). */
export interface HistoryPoint {
  key: string;
  value: number | string;
  timestamp: number | string;
  step?: number | string;
  run_id?: string;
}

/** A metric value: the server spells NaN and ±Infinity as JSON strings. */
export function metricValue(v: number | string | undefined | null): number {
  if (v === undefined || v === null) return NaN;
  if (typeof v === "number") return v;
  if (v === "Infinity" || v === "inf") return Infinity;
  if (v === "-Infinity" || v === "-inf") return -Infinity;
  return Number(v);
}

export interface XY {
  x: number[];
  /** null where the value is NaN or infinite: uPlot draws a gap there. */
  y: (number | null)[];
}

/**
 * One run's history as x/y for the chosen axis, sorted by x. Wall time is in seconds (what
 * uPlot's time scale reads); relative time is seconds since the run's first point.
 */
export function toXY(points: HistoryPoint[], mode: XMode): XY {
  let t0 = Infinity;
  if (mode === "relative") for (const p of points) t0 = Math.min(t0, Number(p.timestamp));
  const rows = points.map((p) => {
    const ts = Number(p.timestamp);
    const x = mode === "step" ? Number(p.step ?? 0) : mode === "time" ? ts / 1000 : (ts - t0) / 1000;
    const v = metricValue(p.value);
    return { x, y: Number.isFinite(v) ? v : null };
  });
  // A stable sort keeps the server's order among points of one step.
  rows.sort((a, b) => a.x - b.x);
  return { x: rows.map((r) => r.x), y: rows.map((r) => r.y) };
}

/** Groups bulk-history points by run id, keeping the server's order within a run. */
export function groupByRun(points: HistoryPoint[]): Map<string, HistoryPoint[]> {
  const out = new Map<string, HistoryPoint[]>();
  for (const p of points) {
    const id = p.run_id ?? "";
    let list = out.get(id);
    if (!list) out.set(id, (list = []));
    list.push(p);
  }
  return out;
}

/** uPlot's data: one sorted x array, then one y array per series of the same length. */
export type Aligned = [number[], ...(number | null)[][]];

/**
 * Puts series with different x values (runs logged at different steps, or timestamps)
 * on one x axis: the sorted union of their x, with null where a series has no point.
 * Where a series has several points at one x, the last one wins.
 */
export function alignSeries(series: XY[]): Aligned {
  const all = new Set<number>();
  for (const s of series) for (const x of s.x) all.add(x);
  const xs = Float64Array.from(all).sort();
  const index = new Map<number, number>();
  xs.forEach((x, i) => index.set(x, i));
  const out: Aligned = [Array.from(xs)];
  for (const s of series) {
    const ys: (number | null)[] = new Array(xs.length).fill(null);
    for (let i = 0; i < s.x.length; i++) ys[index.get(s.x[i])!] = s.y[i];
    out.push(ys);
  }
  return out;
}

/** A scatter axis from per-run values: numbers when every value is one, else categories. */
export interface ScatterAxis {
  values: (number | null)[];
  /** Set when the axis is categorical: values are indexes into it. */
  categories?: string[];
}

export function scatterAxis(raw: (string | number | undefined)[]): ScatterAxis {
  const present = raw.filter((v): v is string | number => v !== undefined && v !== "");
  const numeric = present.length > 0 && present.every((v) => Number.isFinite(typeof v === "number" ? v : Number(v)));
  if (numeric) return { values: raw.map((v) => (v === undefined || v === "" ? null : Number(v))) };
  const categories = [...new Set(present.map(String))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const at = new Map(categories.map((c, i) => [c, i]));
  return { values: raw.map((v) => (v === undefined || v === "" ? null : at.get(String(v))!)), categories };
}

// Colours that stay apart on both themes; past them, hues are spread around the wheel.
const palette = ["#2f6fed", "#e8590c", "#2b9348", "#d6336c", "#7048e8", "#0c8599", "#b08900", "#c92a2a", "#5c940d", "#862e9c", "#1971c2", "#e67700"];

export function seriesColor(i: number): string {
  if (i < palette.length) return palette[i];
  return `hsl(${(i * 137.5) % 360}, 65%, 50%)`;
}

/** Seconds as a short duration for the relative-time axis: 90 → "1m30s". */
export function shortDuration(s: number): string {
  if (!Number.isFinite(s)) return "";
  const neg = s < 0 ? "-" : "";
  s = Math.abs(s);
  if (s < 60) return neg + (Number.isInteger(s) ? s : Number(s.toPrecision(3))) + "s";
  const m = Math.floor(s / 60);
  if (m < 60) return `${neg}${m}m${Math.round(s % 60) ? Math.round(s % 60) + "s" : ""}`;
  const h = Math.floor(m / 60);
  return `${neg}${h}h${m % 60 ? (m % 60) + "m" : ""}`;
}
