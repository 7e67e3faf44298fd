import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/preact";
import { ComparePage, differs, parseRunIds } from "./compare";
import { Routed, hashQuery, makeRun, mockFetch, setHash, type Call } from "./tracking-fixtures";

const a = makeRun(1, {}, { params: [{ key: "lr", value: "0.1" }, { key: "model", value: "rf" }, { key: "seed", value: "1" }], metrics: [{ key: "rmse", value: 0.5, timestamp: 1, step: 10 }, { key: "acc", value: 0.9, timestamp: 1, step: 0 }] });
const b = makeRun(2, {}, { params: [{ key: "lr", value: "0.2" }, { key: "model", value: "rf" }, { key: "seed", value: "1" }], metrics: [{ key: "rmse", value: 0.4, timestamp: 1, step: 10 }, { key: "acc", value: 0.9, timestamp: 1, step: 0 }] });
const c = makeRun(3, {}, { params: [{ key: "lr", value: "0.3" }, { key: "model", value: "rf" }], metrics: [{ key: "rmse", value: 0.3, timestamp: 1, step: 10 }, { key: "acc", value: 0.8, timestamp: 1, step: 0 }] });
const all = [a, b, c];
const ids = all.map((r) => r.info.run_id);

function server() {
  return mockFetch((q) => {
    if (q.route === "runs/get") return { run: all.find((r) => r.info.run_id === q.query.get("run_id")) };
    if (q.route === "metrics/get-history-bulk-interval") {
      const key = q.query.get("metric_key");
      // Runs logged at different steps: the chart must still align them.
      return { metrics: q.query.getAll("run_ids").flatMap((id, i) => [0, 1, 2].map((s) => ({ key, value: s / (i + 1), timestamp: 1000 * s, step: s * (i + 1), run_id: id }))) };
    }
  });
}

function page(hash: string) {
  setHash(hash);
  return render(<Routed page={(r) => <ComparePage query={r.query} />} />);
}

const hist = (calls: Call[]) => calls.filter((q) => q.route === "metrics/get-history-bulk-interval");

beforeEach(() => setHash("#/"));
afterEach(cleanup);

describe("ComparePage", () => {
  it("marks the parameters that differ, and can show only those", async () => {
    server();
    const { findByTestId, getByTestId } = page(`#/compare?runs=${ids.join(",")}`);
    const table = await findByTestId("compare-params");
    const rows = () => [...getByTestId("compare-params").querySelectorAll("tbody tr")].map((tr) => [tr.querySelector("td")!.textContent, tr.classList.contains("diff")]);
    expect(table.querySelectorAll("thead th")).toHaveLength(4);
    // lr differs; model is the same everywhere; seed is missing from one run, so it differs.
    expect(rows()).toEqual([
      ["lr", true],
      ["model", false],
      ["seed", true],
    ]);
    fireEvent.click(getByTestId("only-diff"));
    await waitFor(() => expect(rows()).toEqual([["lr", true], ["seed", true]]));
    expect(hashQuery().get("diff")).toBe("1");
  });

  it("asks one history request for all runs and charts one series per run", async () => {
    const calls = server();
    const { findByTestId, getByTestId } = page(`#/compare?runs=${ids.join(",")}`);
    const chart = await findByTestId("compare-chart");
    expect(hist(calls)).toHaveLength(1);
    const q = hist(calls)[0].query;
    expect(q.getAll("run_ids")).toEqual(ids);
    // The metric with a history is charted first.
    expect(q.get("metric_key")).toBe("rmse");
    expect(Number(q.get("max_results"))).toBeGreaterThan(100);
    await waitFor(() => expect(chart.textContent).toContain("3 series, 9 points"));

    fireEvent.change(getByTestId("compare-metric"), { target: { value: "acc" } });
    await waitFor(() => expect(hist(calls).at(-1)!.query.get("metric_key")).toBe("acc"));
    expect(hist(calls).at(-1)!.query.getAll("run_ids")).toEqual(ids);
    expect(hashQuery().get("metric")).toBe("acc");
  });

  it("plots a chosen parameter against a chosen metric, one point per run", async () => {
    server();
    const { findByTestId, getByTestId } = page(`#/compare?runs=${ids.join(",")}&sx=params.lr&sy=metrics.rmse`);
    const scatter = await findByTestId("scatter-chart");
    expect(scatter.textContent).toContain("3 points");
    expect((getByTestId("scatter-x") as HTMLSelectElement).value).toBe("params.lr");
    fireEvent.change(getByTestId("scatter-x"), { target: { value: "params.seed" } });
    // seed is missing from one run: that run has no point.
    await waitFor(() => expect(getByTestId("scatter-chart").textContent).toContain("2 points"));
  });

  it("tells how to pick runs when none are given", async () => {
    server();
    const { findByTestId } = page("#/compare");
    expect((await findByTestId("empty")).textContent).toContain("Compare");
  });
});

describe("compare helpers", () => {
  it("reads run ids without blanks or repeats", () => {
    expect(parseRunIds("a, b,,a,c")).toEqual(["a", "b", "c"]);
    expect(parseRunIds(null)).toEqual([]);
  });
  it("tells rows that differ", () => {
    expect(differs(["1", "1", "1"])).toBe(false);
    expect(differs(["1", "1", undefined])).toBe(true);
    expect(differs([0.5, 0.25])).toBe(true);
    expect(differs([NaN, NaN])).toBe(false);
  });
});
