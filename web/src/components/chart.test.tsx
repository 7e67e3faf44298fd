import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, waitFor } from "@testing-library/preact";
import { alignSeries, groupByRun, metricValue, parseXMode, scatterAxis, shortDuration, toXY } from "./chart-data";

// uPlot draws on a canvas, which happy-dom lacks: a stand-in records what the charts ask for.
const made = vi.hoisted(() => [] as { opts: any; data: any; destroyed: boolean; sizes: any[]; setData?: number }[]);
vi.mock("uplot", () => ({
  default: class {
    rec: (typeof made)[number];
    constructor(opts: any, data: any) {
      this.rec = { opts, data, destroyed: false, sizes: [] };
      made.push(this.rec);
    }
    setSize(s: any) {
      this.rec.sizes.push(s);
    }
    setData(d: any) {
      this.rec.data = d;
      this.rec.setData = (this.rec.setData ?? 0) + 1;
    }
    destroy() {
      this.rec.destroyed = true;
    }
  },
}));

import { LineChart, ScatterChart, resetCanDraw } from "./chart";

describe("toXY", () => {
  const pts = [
    { key: "m", value: 3, timestamp: 5000, step: 2 },
    { key: "m", value: "NaN", timestamp: 4000, step: 1 },
    { key: "m", value: "1.5", timestamp: 3000, step: 0 },
    { key: "m", value: "Infinity", timestamp: 6000, step: 3 },
  ];
  it("orders by step and turns NaN and infinities into gaps", () => {
    expect(toXY(pts, "step")).toEqual({ x: [0, 1, 2, 3], y: [1.5, null, 3, null] });
  });
  it("uses seconds of wall time, or seconds since the first point", () => {
    expect(toXY(pts, "time").x).toEqual([3, 4, 5, 6]);
    expect(toXY(pts, "relative").x).toEqual([0, 1, 2, 3]);
  });
  it("reads the server's spellings of special values", () => {
    expect(metricValue("-Infinity")).toBe(-Infinity);
    expect(metricValue("NaN")).toBeNaN();
    expect(metricValue(2)).toBe(2);
    expect(parseXMode("time")).toBe("time");
    expect(parseXMode("bogus")).toBe("step");
  });
});

describe("alignSeries", () => {
  it("joins runs logged at different steps onto one x axis with gaps", () => {
    const a = { x: [0, 10, 20], y: [1, 2, 3] };
    const b = { x: [0, 5, 10, 15], y: [4, 5, 6, 7] };
    const c = { x: [], y: [] };
    expect(alignSeries([a, b, c])).toEqual([
      [0, 5, 10, 15, 20],
      [1, null, 2, null, 3],
      [4, 5, 6, 7, null],
      [null, null, null, null, null],
    ]);
  });
  it("keeps the last of several points at one x", () => {
    expect(alignSeries([{ x: [1, 1, 2], y: [5, 6, 7] }])).toEqual([[1, 2], [6, 7]]);
  });
  it("aligns 20 runs of 1,000 sampled points quickly", () => {
    const series = Array.from({ length: 20 }, (_, r) => ({ x: Array.from({ length: 1000 }, (_, i) => i * (100 + r)), y: Array.from({ length: 1000 }, (_, i) => i) }));
    const t = performance.now();
    const out = alignSeries(series);
    expect(performance.now() - t).toBeLessThan(500);
    expect(out).toHaveLength(21);
    expect(out[1].filter((v) => v !== null)).toHaveLength(1000);
  });
});

describe("groupByRun and scatterAxis", () => {
  it("groups bulk history points by run, in order", () => {
    const g = groupByRun([
      { key: "m", value: 1, timestamp: 0, step: 0, run_id: "a" },
      { key: "m", value: 2, timestamp: 0, step: 0, run_id: "b" },
      { key: "m", value: 3, timestamp: 0, step: 1, run_id: "a" },
    ]);
    expect([...g.keys()]).toEqual(["a", "b"]);
    expect(g.get("a")!.map((p) => p.value)).toEqual([1, 3]);
  });
  it("reads numeric params as numbers and others as categories", () => {
    expect(scatterAxis(["0.1", "1e-3", undefined, "2"])).toEqual({ values: [0.1, 0.001, null, 2] });
    expect(scatterAxis(["rf", "xgb", "rf", undefined])).toEqual({ values: [0, 1, 0, null], categories: ["rf", "xgb"] });
    expect(scatterAxis(["10", "9", "x"]).categories).toEqual(["9", "10", "x"]);
  });
  it("writes short durations", () => {
    expect(shortDuration(42)).toBe("42s");
    expect(shortDuration(90)).toBe("1m30s");
    expect(shortDuration(7200)).toBe("2h");
  });
});

describe("charts", () => {
  beforeEach(() => {
    made.length = 0;
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue({} as any);
    resetCanDraw();
  });
  afterEach(() => {
    cleanup();
    vi.restoreAllMocks();
    resetCanDraw();
    delete document.documentElement.dataset.theme;
  });

  it("draws one line per series on aligned data, with the run names in the legend", () => {
    render(
      <LineChart
        xMode="step"
        testid="c"
        series={[
          { label: "run-a", xy: { x: [0, 2], y: [1, 2] } },
          { label: "run-b", xy: { x: [1, 2], y: [3, 4] } },
        ]}
      />,
    );
    expect(made).toHaveLength(1);
    const { opts, data } = made[0];
    expect(opts.series.slice(1).map((s: any) => s.label)).toEqual(["run-a", "run-b"]);
    expect(opts.series[1].stroke).not.toBe(opts.series[2].stroke);
    expect(opts.series[1].spanGaps).toBe(true);
    expect(opts.scales.x.time).toBe(false);
    expect(data).toEqual([[0, 1, 2], [1, null, 2], [null, 3, 4]]);
  });

  it("uses a time scale for wall time", () => {
    render(<LineChart xMode="time" series={[{ label: "a", xy: { x: [1, 2], y: [1, 2] } }]} />);
    expect(made[0].opts.scales.x.time).toBe(true);
  });

  it("redraws in the new colours when the theme changes, and cleans up when gone", async () => {
    const { unmount } = render(<LineChart xMode="step" series={[{ label: "a", xy: { x: [1], y: [1] } }]} />);
    expect(made).toHaveLength(1);
    document.documentElement.dataset.theme = "dark";
    await waitFor(() => expect(made).toHaveLength(2));
    expect(made[0].destroyed).toBe(true);
    unmount();
    await waitFor(() => expect(made[1].destroyed).toBe(true));
  });

  it("gives new data to the chart it has, and builds a new one only for new series", () => {
    const a = { label: "a", xy: { x: [1, 2], y: [1, 2] } };
    const { rerender } = render(<LineChart xMode="step" series={[a]} />);
    rerender(<LineChart xMode="step" series={[{ ...a, xy: { x: [1, 2, 3], y: [1, 2, 3] } }]} />);
    expect(made).toHaveLength(1);
    expect(made[0].setData).toBe(1);
    expect(made[0].data).toEqual([[1, 2, 3], [1, 2, 3]]);
    rerender(<LineChart xMode="step" series={[a, { label: "b", xy: { x: [1], y: [5] } }]} />);
    expect(made).toHaveLength(2);
    expect(made[0].destroyed).toBe(true);
  });

  it("draws a scatter as points without lines", () => {
    render(
      <ScatterChart
        xLabel="params.model"
        yLabel="metrics.rmse"
        categories={["rf", "xgb"]}
        points={[
          { x: 1, y: 0.5, label: "b" },
          { x: 0, y: 0.7, label: "a" },
        ]}
      />,
    );
    const { opts, data } = made[0];
    expect(data).toEqual([[0, 1], [0.7, 0.5]]);
    expect(opts.series[1].paths()).toBeNull();
    expect(opts.series[1].points.show).toBe(true);
    expect(opts.axes[0].values(null, [0, 1])).toEqual(["rf", "xgb"]);
  });
});

describe("without a canvas", () => {
  it("says what the chart holds instead of drawing", () => {
    resetCanDraw();
    made.length = 0;
    const { getByTestId } = render(<LineChart xMode="step" testid="c" series={[{ label: "a", xy: { x: [1, 2], y: [1, 2] } }]} />);
    expect(made).toHaveLength(0);
    expect(getByTestId("c").textContent).toBe("1 series, 2 points");
    cleanup();
  });
});
