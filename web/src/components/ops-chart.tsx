// A small uPlot time-series chart for the operations pages (endpoint activity): several
// lines over one time axis in UTC, following the container's width and the theme. Where
// there is no canvas (happy-dom in unit tests) it shows a one-line summary instead.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatTime } from "./common";

let canvasOK: boolean | undefined;
function canDraw(): boolean {
  if (canvasOK === undefined) {
    try {
      canvasOK = !!document.createElement("canvas").getContext("2d");
    } catch {
      canvasOK = false;
    }
  }
  return canvasOK;
}

export interface TimeSeries {
  label: string;
  values: (number | null)[];
  color: string;
  /** Dots on the values: for series with gaps, where a lone value has no line. */
  points?: boolean;
  /** Formats a value in the legend (and the y axis). */
  format?: (v: number) => string;
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function useThemeTick(): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const mo = new MutationObserver(() => setTick((t) => t + 1));
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => mo.disconnect();
  }, []);
  return tick;
}

/** Lines over time; t is in seconds since the epoch. */
export function TimeChart(props: { t: number[]; series: TimeSeries[]; height?: number; testid: string; yLabel?: string; summary: string }) {
  const { t, series, height = 200, testid, yLabel, summary } = props;
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const theme = useThemeTick();
  const drawable = canDraw();
  const shape = [yLabel, ...series.map((s) => s.label + "|" + s.color + "|" + !!s.points)].join("\u0000");
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const data = useMemo(() => [t, ...series.map((s) => s.values)] as uPlot.AlignedData, [t, ...series.map((s) => s.values)]);

  // Build the chart when its shape or theme changes; new data only calls setData.
  useEffect(() => {
    const el = box.current;
    if (!el || !drawable) return;
    const fg = cssVar("--muted", "#5d6673");
    const grid = cssVar("--border", "#d6dbe2");
    const fmt = series[0]?.format ?? ((v: number) => String(v));
    const width = Math.max(200, el.clientWidth || 600);
    const u = new uPlot(
      {
        width,
        height,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max > 0 ? max * 1.1 : 1] } },
        legend: { live: true },
        cursor: { sync: { key: "ops-activity" } },
        axes: [
          { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
          {
            stroke: fg,
            grid: { stroke: grid, width: 1 },
            ticks: { stroke: grid },
            size: 78,
            label: yLabel,
            labelSize: yLabel ? 18 : 0,
            values: (_u, vals) => vals.map((v) => fmt(v)),
          },
        ],
        series: [
          { label: "time (UTC)", value: (_u, v) => (v === null || v === undefined ? "" : formatTime(v * 1000).slice(11, 16)) },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 1.5,
            points: { show: !!s.points, size: t.length <= 180 ? 5 : 2 },
            value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? "—" : (s.format ?? String)(v)),
          })),
        ],
      },
      data,
      el,
    );
    plot.current = u;
    let last = width;
    const ro =
      typeof ResizeObserver === "undefined"
        ? undefined
        : new ResizeObserver(() => {
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
  }, [shape, theme, height, drawable]);

  useEffect(() => {
    plot.current?.setData(data);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [data]);

  return (
    <div class="ops-chart" data-testid={testid} ref={box}>
      {!drawable && <p class="muted">{summary}</p>}
    </div>
  );
}
