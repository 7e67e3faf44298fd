// uPlot wrappers: a line chart of several series over step or time, and a scatter of
// points. Charts follow their container's width and the theme's colours. Where there is
// no canvas (happy-dom in unit tests) they render a one-line summary instead.
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatNumber, formatTime } from "./common";
import { alignSeries, seriesColor, shortDuration, xModes, type Aligned, type XMode, type XY } from "./chart-data";

let canvasOK: boolean | undefined;
/** Whether this environment can draw on a canvas (not so in unit tests). */
export function canDraw(): boolean {
  if (canvasOK === undefined) {
    try {
      canvasOK = !!document.createElement("canvas").getContext("2d");
    } catch {
      canvasOK = false;
    }
  }
  return canvasOK;
}
/** For tests that mock uPlot and a canvas. */
export function resetCanDraw() {
  canvasOK = undefined;
}

export interface Theme {
  fg: string;
  muted: string;
  grid: string;
}

function themeColors(): Theme {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return { fg: v("--fg", "#1b1f24"), muted: v("--muted", "#5d6673"), grid: v("--border", "#d6dbe2") };
}

/** Counts theme switches (html[data-theme] changes), so charts redraw in the new colours. */
function useThemeTick(): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const mo = new MutationObserver(() => setTick((t) => t + 1));
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => mo.disconnect();
  }, []);
  return tick;
}

type Opts = Omit<uPlot.Options, "width" | "height">;

interface PlotProps {
  /** Builds the options for the current theme. */
  options: (t: Theme) => Opts;
  data: uPlot.AlignedData;
  height: number;
  testid: string;
  /** Shown instead of the chart where nothing can be drawn. */
  summary: string;
  /** Anything that, when changed, means the options must be rebuilt. */
  optionsKey: string;
  className?: string;
}

/**
 * One uPlot instance in a div: built again when its options or the theme change, given new
 * data in place otherwise (a live page refreshing every few seconds keeps its cursor and
 * does not flicker).
 */
export function Plot({ options, data, height, testid, summary, optionsKey, className = "chart" }: PlotProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<{ u: uPlot; data: uPlot.AlignedData } | null>(null);
  const theme = useThemeTick();
  const drawable = canDraw();
  useEffect(() => {
    const el = box.current;
    if (!el || !drawable) return;
    const width = Math.max(200, el.clientWidth || 600);
    const u = new uPlot({ ...options(themeColors()), width, height }, data, el);
    plot.current = { u, data };
    // Follow the container's width (window resizes, side panels, tabs shown later).
    let last = width;
    const ro = typeof ResizeObserver === "undefined" ? undefined : new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (w !== last) {
        last = w;
        u.setSize({ width: w, height });
      }
    });
    ro?.observe(el);
    return () => {
      ro?.disconnect();
      u.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [optionsKey, theme, height, drawable]);
  useEffect(() => {
    const p = plot.current;
    if (p && p.data !== data) {
      p.u.setData(data);
      p.data = data;
    }
  }, [data]);
  return (
    <div class={className} data-testid={testid} ref={box}>
      {!drawable && <p class="muted chart-summary">{summary}</p>}
    </div>
  );
}

export interface LineSeries {
  label: string;
  xy: XY;
  color?: string;
}

function xAxisValues(mode: XMode) {
  if (mode === "relative") return (_u: uPlot, vals: number[]) => vals.map(shortDuration);
  if (mode === "step") return (_u: uPlot, vals: number[]) => vals.map((v) => formatNumber(v));
  return undefined; // uPlot's own time axis
}

function xLegend(mode: XMode) {
  return (_u: uPlot, v: number | null) => {
    if (v === null || v === undefined) return "";
    if (mode === "time") return formatTime(v * 1000);
    if (mode === "relative") return shortDuration(v);
    return String(v);
  };
}

const axisLabels: Record<XMode, string> = { step: "step", time: "time", relative: "time since start" };

/**
 * Several series over one x axis (steps, wall time or time since each run started),
 * aligned by x; gaps where a series has no point are spanned.
 */
export function LineChart(props: {
  series: LineSeries[];
  xMode: XMode;
  height?: number;
  testid?: string;
  /** Charts with the same key share a cursor (the run page's metric charts). */
  syncKey?: string;
  yLabel?: string;
}) {
  const { series, xMode, height = 240, testid = "line-chart", syncKey, yLabel } = props;
  const data = useAligned(series);
  const points = series.reduce((n, s) => n + s.xy.x.length, 0);
  const key = [xMode, syncKey, yLabel, ...series.map((s, i) => s.label + "|" + (s.color ?? seriesColor(i)) + "|" + (s.xy.x.length <= 60))].join("\u0000");
  return (
    <Plot
      testid={testid}
      height={height}
      data={data}
      optionsKey={key}
      summary={`${series.length} series, ${points} points`}
      options={(t) => ({
        scales: { x: { time: xMode === "time" } },
        // UTC, as every other time in the UI (formatTime).
        tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
        cursor: syncKey ? { sync: { key: syncKey } } : {},
        legend: { live: true },
        axes: [
          { stroke: t.muted, grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid }, values: xAxisValues(xMode) },
          { stroke: t.muted, grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid }, values: (_u, vals) => vals.map((v) => formatNumber(v)), size: 60, label: yLabel, labelSize: yLabel ? 18 : 0 },
        ],
        series: [
          { label: axisLabels[xMode], value: xLegend(xMode) },
          ...series.map((s, i) => ({
            label: s.label,
            stroke: s.color ?? seriesColor(i),
            width: 1.5,
            spanGaps: true,
            // Markers only where there are few points; thousands of dots hide the line.
            points: { show: s.xy.x.length <= 60, size: 4 },
            value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? "—" : formatNumber(v)),
          })),
        ],
      })}
    />
  );
}

function useAligned(series: LineSeries[]): uPlot.AlignedData {
  const cache = useRef<{ series: LineSeries[]; data: Aligned } | null>(null);
  if (cache.current?.series !== series) cache.current = { series, data: alignSeries(series.map((s) => s.xy)) };
  return cache.current.data as uPlot.AlignedData;
}

export interface ScatterPoint {
  x: number;
  y: number;
  label: string;
}

/**
 * Points only, no lines: one point per run. categories, when set, name the x values
 * 0, 1, 2… (a parameter that is not a number).
 */
export function ScatterChart(props: { points: ScatterPoint[]; xLabel: string; yLabel: string; categories?: string[]; height?: number; testid?: string }) {
  const { points, xLabel, yLabel, categories, height = 320, testid = "scatter-chart" } = props;
  const [hover, setHover] = useState<ScatterPoint | null>(null);
  const sorted = useSorted(points);
  // The cursor hook outlives a data change (new data does not rebuild the chart): it reads
  // the points through a ref.
  const current = useRef(sorted);
  current.current = sorted;
  const cats = categories;
  const fmtX = (v: number) => (cats ? (cats[Math.round(v)] ?? "") : formatNumber(v));
  const key = [xLabel, yLabel, ...(cats ?? [])].join("\u0000");
  return (
    <div>
      <Plot
        testid={testid}
        height={height}
        data={sorted.data}
        optionsKey={key}
        summary={`${points.length} points`}
        options={(t) => ({
          mode: 1,
          scales: {
            x: { time: false, range: cats ? () => [-0.5, cats.length - 0.5] : padded },
            y: { range: padded },
          },
          cursor: { drag: { x: true, y: true }, points: { size: 10 } },
          legend: { show: false },
          hooks: {
            setCursor: [
              (u: uPlot) => {
                const i = u.cursor.idx;
                setHover(i === null || i === undefined ? null : (current.current.points[i] ?? null));
              },
            ],
          },
          axes: [
            {
              stroke: t.muted,
              grid: { stroke: t.grid, width: 1 },
              ticks: { stroke: t.grid },
              label: xLabel,
              labelSize: 18,
              splits: cats ? () => cats.map((_, i) => i) : undefined,
              values: (_u, vals) => vals.map(fmtX),
            },
            { stroke: t.muted, grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid }, label: yLabel, labelSize: 18, size: 60, values: (_u, vals) => vals.map((v) => formatNumber(v)) },
          ],
          series: [
            {},
            {
              label: yLabel,
              stroke: seriesColor(0),
              fill: seriesColor(0),
              paths: () => null, // points only
              points: { show: true, size: 8, space: 0, fill: seriesColor(0), stroke: seriesColor(0) },
            },
          ],
        })}
      />
      <div class="muted chart-hover">{hover ? `${hover.label}: ${xLabel} = ${fmtX(hover.x)}, ${yLabel} = ${formatNumber(hover.y)}` : "\u00a0"}</div>
    </div>
  );
}

/** A scale's range with a margin, so that points on the edges are not cut in half. */
function padded(_u: uPlot, min: number, max: number): uPlot.Range.MinMax {
  const d = max - min || Math.abs(max) || 1;
  return [min - d * 0.05, max + d * 0.05];
}

function useSorted(points: ScatterPoint[]) {
  const cache = useRef<{ in: ScatterPoint[]; points: ScatterPoint[]; data: uPlot.AlignedData } | null>(null);
  if (cache.current?.in !== points) {
    const sorted = [...points].sort((a, b) => a.x - b.x);
    cache.current = { in: points, points: sorted, data: [sorted.map((p) => p.x), sorted.map((p) => p.y)] };
  }
  return cache.current;
}

/** The choice of x axis for metric charts: step, wall time or time since the run started. */
export function XModeSelect({ value, onChange }: { value: XMode; onChange: (x: XMode) => void }) {
  return (
    <label>
      x axis
      <select value={value} data-testid="x-axis" onChange={(e) => onChange(e.currentTarget.value as XMode)}>
        {xModes.map((m) => (
          <option key={m.value} value={m.value}>
            {m.label}
          </option>
        ))}
      </select>
    </label>
  );
}
