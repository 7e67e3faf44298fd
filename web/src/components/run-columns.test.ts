import { describe, expect, it } from "vitest";
import { decodeCols, defaultColumns, encodeCols, keysOf, nameFilter, nextOrder, orderByClause, parseOrder, rowValues } from "./run-columns";
import { makeRun } from "../pages/tracking-fixtures";

describe("order_by", () => {
  it("quotes keys of metrics, params and tags, not attributes", () => {
    expect(orderByClause("metrics.rmse", true)).toBe("metrics.`rmse` DESC");
    expect(orderByClause("params.val-loss rate", false)).toBe("params.`val-loss rate` ASC");
    expect(orderByClause("tags.a.b", true)).toBe("tags.`a.b` DESC");
    expect(orderByClause("attributes.start_time", true)).toBe("attributes.start_time DESC");
  });
  it("reads clauses back, the user's spellings included", () => {
    expect(parseOrder("metrics.`rmse` DESC")).toEqual({ id: "metrics.rmse", desc: true });
    expect(parseOrder("metric.rmse")).toEqual({ id: "metrics.rmse", desc: false });
    expect(parseOrder('params."lr" asc')).toEqual({ id: "params.lr", desc: false });
    expect(parseOrder("attributes.start_time DESC")).toEqual({ id: "attributes.start_time", desc: true });
    expect(parseOrder("tags.`a.b` DESC")).toEqual({ id: "tags.a.b", desc: true });
    expect(parseOrder("")).toBeNull();
  });
  it("sorts a new column descending and flips the sorted one", () => {
    expect(nextOrder(undefined, "metrics.rmse")).toBe("metrics.`rmse` DESC");
    expect(nextOrder("metrics.`rmse` DESC", "metrics.rmse")).toBe("metrics.`rmse` ASC");
    expect(nextOrder("metrics.`rmse` ASC", "metrics.rmse")).toBe("metrics.`rmse` DESC");
    // The default order is start_time DESC, so its first click goes ascending.
    expect(nextOrder(undefined, "attributes.start_time")).toBe("attributes.start_time ASC");
  });
});

describe("columns", () => {
  it("round-trips column lists, commas in keys included", () => {
    const ids = ["metrics.a,b", "params.100%", "tags.x"];
    expect(decodeCols(encodeCols(ids))).toEqual(ids);
    expect(decodeCols(null)).toBeNull();
    expect(decodeCols("")).toEqual([]);
  });
  it("defaults to the first metrics and params of the page", () => {
    const runs = [makeRun(1), makeRun(2, {}, { metrics: [{ key: "zeta", value: 1, timestamp: 0 }], params: [], tags: [] })];
    expect(keysOf(runs)).toEqual({ metrics: ["acc", "rmse", "zeta"], params: ["lr", "model"], tags: ["team"] });
    expect(defaultColumns(runs, 2)).toEqual(["metrics.acc", "metrics.rmse", "params.lr", "params.model"]);
  });
  it("maps a run's values by column", () => {
    const v = rowValues(makeRun(5, {}, { metrics: [{ key: "loss", value: "NaN", timestamp: 0 }], params: [{ key: "lr", value: "0.1" }], tags: [{ key: "t", value: "x" }] }));
    expect(v.get("metrics.loss")).toBeNaN();
    expect(v.get("params.lr")).toBe("0.1");
    expect(v.get("tags.t")).toBe("x");
  });
});

describe("nameFilter", () => {
  it("searches names case-insensitively, a quote matching as a wildcard", () => {
    expect(nameFilter(" prices ")).toBe("name ILIKE '%prices%'");
    expect(nameFilter("bob's")).toBe("name ILIKE '%bob_s%'");
    expect(nameFilter("")).toBe("");
  });
});
