// A small uPlot time-series chart for the operations pages (endpoint activity): several
// lines over one time axis in UTC, following the container's width and the theme. Where
// there is no canvas (happy-dom in unit tests) it shows a one-line summary instead.
import { useMemo } from "preact/hooks";
import uPlot from "uplot";
import { formatTime } from "./common";
import { Plot } from "./chart";

export interface TimeSeries {
  label: string;
  values: (number | null)[];
  color: string;
  /** Dots on the values: for series with gaps, where a lone value has no line. */
  points?: boolean;
  /** Formats a value in the legend (and the y axis). */
  format?: (v: number) => string;
}

/** Lines over time; t is in seconds since the epoch. */
export function TimeChart(props: { t: number[]; series: TimeSeries[]; height?: number; testid: string; yLabel?: string; summary: string }) {
  const { t, series, height = 200, testid, yLabel, summary } = props;
  const key = [yLabel, t.length <= 180, ...series.map((s) => s.label + "|" + s.color + "|" + !!s.points)].join("\u0000");
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const data = useMemo(() => [t, ...series.map((s) => s.values)] as uPlot.AlignedData, [t, ...series.map((s) => s.values)]);
  const fmt = series[0]?.format ?? ((v: number) => String(v));
  return (
    <Plot
      className="ops-chart"
      testid={testid}
      height={height}
      data={data}
      optionsKey={key}
      summary={summary}
      options={(th) => ({
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max > 0 ? max * 1.1 : 1] } },
        legend: { live: true },
        cursor: { sync: { key: "ops-activity" } },
        axes: [
          { stroke: th.muted, grid: { stroke: th.grid, width: 1 }, ticks: { stroke: th.grid } },
          {
            stroke: th.muted,
            grid: { stroke: th.grid, width: 1 },
            ticks: { stroke: th.grid },
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
      })}
    />
  );
}
