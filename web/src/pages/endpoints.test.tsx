import { afterEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, fireEvent, render, waitFor } from "@testing-library/preact";

// No canvas in happy-dom: charts must never reach uPlot's drawing code.
vi.mock("uplot", () => {
  class FakePlot {
    static tzDate(d: Date) {
      return d;
    }
    setData() {}
    setSize() {}
    destroy() {}
  }
  return { default: FakePlot };
});

import { EndpointPage, EndpointsPage } from "./endpoints";
import { activityTotals, curlExample, endpointHealth, exampleBody, fillBuckets, trafficSplit, type Endpoint } from "../components/ops-data";
import { mockFetch } from "./ops-fixtures";


afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const bucket = (time: string, requests: number, errors = 0, p = 1) => ({ time, requests, rows: requests * 2, errors, p50_ms: p, p90_ms: p * 2, p99_ms: p * 3 });

describe("fillBuckets", () => {
  it("fills minutes without requests with zeros, and leaves latency gaps", () => {
    const now = Date.parse("2026-11-27T02:05:30Z");
    const f = fillBuckets([bucket("2026-11-27T02:01:00.000Z", 4, 1, 2), bucket("2026-11-27T02:04:00.000Z", 10, 0, 5)], 60, 6, now);
    // the last 6 minutes up to now: 02:00 … 02:05
    expect(f.t.map((t) => new Date(t * 1000).toISOString().slice(11, 16))).toEqual(["02:00", "02:01", "02:02", "02:03", "02:04", "02:05"]);
    expect(f.requests).toEqual([0, 4, 0, 0, 10, 0]);
    expect(f.errors).toEqual([0, 1, 0, 0, 0, 0]);
    expect(f.rows).toEqual([0, 8, 0, 0, 20, 0]);
    expect(f.errorRate).toEqual([null, 25, null, null, 0, null]);
    expect(f.p50).toEqual([null, 2, null, null, 5, null]);
    expect(f.p99).toEqual([null, 6, null, null, 15, null]);
  });

  it("covers buckets outside the window and a server clock ahead of ours", () => {
    const now = Date.parse("2026-11-27T02:05:10Z");
    const f = fillBuckets([bucket("2026-11-27T01:58:00Z", 1), bucket("2026-11-27T02:07:00Z", 2)], 60, 3, now);
    expect(f.t.length).toBe(10); // 01:58 … 02:07
    expect(f.requests[0]).toBe(1);
    expect(f.requests[9]).toBe(2);
    expect(f.requests.slice(1, 9).every((n) => n === 0)).toBe(true);
  });

  it("gives a window of zeros without buckets", () => {
    const f = fillBuckets([], 60, 60, Date.parse("2026-11-27T02:05:10Z"));
    expect(f.t.length).toBe(60);
    expect(f.requests.every((n) => n === 0)).toBe(true);
    expect(f.p50.every((v) => v === null)).toBe(true);
  });
});

describe("endpoint helpers", () => {
  it("totals the window", () => {
    const t = activityTotals([bucket("2026-11-27T02:04:00Z", 10, 0, 5), bucket("2026-11-27T02:01:00Z", 4, 1, 9)]);
    expect(t).toMatchObject({ requests: 14, errors: 1, rows: 28, worstP99: 27 });
    expect(t.errorRate).toBeCloseTo(1 / 14);
    expect(t.last!.time).toBe("2026-11-27T02:04:00Z");
    expect(activityTotals([]).errorRate).toBeUndefined();
  });

  it("splits traffic", () => {
    expect(trafficSplit({ model_uri: "models:/a@champion" })).toEqual([{ role: "primary", model_uri: "models:/a@champion", traffic: "100%" }]);
    expect(trafficSplit({ model_uri: "models:/a@champion", secondary: { model_uri: "models:/a/3", mode: "canary", percent: 10 } }).map((s) => s.traffic)).toEqual(["90%", "10%"]);
    expect(trafficSplit({ model_uri: "models:/a@champion", secondary: { model_uri: "models:/a/3", mode: "shadow" } })[1]).toMatchObject({ role: "shadow", traffic: "copy of each request" });
  });

  it("judges health from the live state", () => {
    const target = (role: string, status: string, extra = {}) => ({ role, model_uri: "models:/a@x", status, model: "a", version: "2", requests: 0, errors: 0, ...extra });
    const st = (targets: any[], degraded = false) => ({ state: { degraded, targets, log: { backlog_bytes: 0, dropped: 0, uploaded: 0 } } });
    expect(endpointHealth({}).state).toBe("unknown");
    expect(endpointHealth(st([target("primary", "serving")])).state).toBe("serving");
    expect(endpointHealth(st([target("primary", "loading", { version: undefined })])).state).toBe("loading");
    expect(endpointHealth(st([target("primary", "failed", { version: undefined, last_error: "no such alias" })]))).toEqual({ state: "failed", detail: "no version loaded: no such alias" });
    expect(endpointHealth(st([target("primary", "serving", { last_error: "signature mismatch" })])).state).toBe("degraded");
    expect(endpointHealth(st([target("primary", "serving"), target("canary", "failed")])).state).toBe("degraded");
    expect(endpointHealth(st([target("primary", "serving")], true)).state).toBe("degraded");
  });

  it("builds the example request from the best source", () => {
    const serving = { dataframe_split: { columns: ["a", "b"], data: [[1, 2], [3, 4]] } };
    expect(exampleBody({ servingExample: serving })).toBe('{"dataframe_split":{"columns":["a","b"],"data":[[1,2]]}}');
    expect(exampleBody({ signature: { inputs: [{ name: "amount", type: "double" }, { name: "city", type: "string" }] } })).toBe(
      '{"dataframe_split":{"columns":["amount","city"],"data":[[0.5,"text"]]}}',
    );
    expect(exampleBody({ recentInputs: { x: 1.5 } })).toBe('{"dataframe_split":{"columns":["x"],"data":[[1.5]]}}');
    expect(exampleBody({})).toBeUndefined();
    // a quote in the body survives the shell
    expect(curlExample("http://h", "/endpoints/e/invocations", `{"a":"it's"}`)).toContain(`-d '{"a":"it'"'"'s"}'`);
  });
});

const endpoint: Endpoint = {
  name: "fraud-scorer",
  model_uri: "models:/fraud@champion",
  secondary: { model_uri: "models:/fraud/3", mode: "canary", percent: 10 },
  description: "",
  log_sample_rate: 1,
  subject_field: "",
  invocations_path: "/endpoints/fraud-scorer/invocations",
  created_at: "2026-11-27T01:00:00.000Z",
  updated_at: "2026-11-27T01:00:00.000Z",
  state: {
    degraded: false,
    targets: [
      { role: "primary", model_uri: "models:/fraud@champion", status: "serving", model: "fraud", version: "2", loaded_at: "2026-11-27T01:00:01.000Z", requests: 120, errors: 2 },
      { role: "canary", model_uri: "models:/fraud/3", status: "serving", model: "fraud", version: "3", loaded_at: "2026-11-27T01:00:01.000Z", requests: 12, errors: 0 },
    ],
    log: { backlog_bytes: 0, dropped: 0, uploaded: 130 },
  },
};

const activity = {
  endpoint: "fraud-scorer",
  scope: "this server process since it started",
  bucket_seconds: 60,
  buckets: [bucket(new Date(Math.floor(Date.now() / 60000) * 60000 - 120000).toISOString(), 7, 1, 1.2)],
  recent: [
    {
      request_id: "req-2",
      time: "2026-11-27T02:00:02.000Z",
      model_version: "3",
      role: "canary",
      status: 200,
      latency_ms: 1.3,
      inputs: { amount: 120.5, merchant: "a very long merchant name that does not fit in the table cell at all" },
      outputs: { prediction: 1 },
      error: "",
    },
    { request_id: "req-1", time: "2026-11-27T02:00:01.000Z", model_version: "", role: "", status: 400, latency_ms: 0.2, inputs: null, outputs: null, error: "missing column amount" },
  ],
};

const serving = { dataframe_split: { columns: ["amount", "merchant"], data: [[10, "shop"]] } };

function routes(act: [number, unknown]) {
  return (m: string, p: string): [number, unknown] | undefined => {
    if (m !== "GET") return undefined;
    if (p === "/api/v1/endpoints/fraud-scorer") return [200, endpoint];
    if (p.startsWith("/api/v1/endpoints/fraud-scorer/activity")) return act;
    if (p === "/api/v1/models/fraud/versions/2") return [200, { name: "fraud", version: 2, storage_location: "mlflow-artifacts:/1/models/m-2/artifacts" }];
    if (p === "/ajax-api/2.0/mlflow-artifacts/artifacts/1/models/m-2/artifacts/serving_input_example.json") return [200, serving];
    return undefined;
  };
}

describe("EndpointPage", () => {
  it("shows targets, the split, activity and recent predictions", async () => {
    const calls = mockFetch(routes([200, activity]));
    const r = render(<EndpointPage name="fraud-scorer" />);
    await waitFor(() => r.getByTestId("recent-predictions"));
    expect(r.getByTestId("page-endpoint")).toBeTruthy();
    const targets = r.getByTestId("endpoint-targets");
    expect(r.getByTestId("traffic-primary").textContent).toContain("90%");
    expect(r.getByTestId("traffic-canary").textContent).toContain("10%");
    expect(targets.querySelector('a[href="#/models/fraud/versions/3"]')).toBeTruthy();
    expect(r.getByTestId("endpoint-health").textContent).toBe("serving");
    expect(r.getByTestId("activity-scope").textContent).toContain("this server process since it started");
    expect(calls.some((c) => c.path === "/api/v1/endpoints/fraud-scorer/activity?minutes=60")).toBe(true);
    expect(r.getByTestId("stat-requests").textContent).toContain("7");
    expect(r.getByTestId("chart-latency")).toBeTruthy();

    const rows = r.getByTestId("recent-predictions").querySelectorAll("tbody tr");
    expect(rows.length).toBe(2);
    expect(rows[0].textContent).toContain("req-2");
    expect(rows[0].textContent).toContain("canary");
    expect(rows[0].querySelector('a[href="#/models/fraud/versions/3"]')).toBeTruthy();
    expect(rows[1].textContent).toContain("missing column amount");
    // long inputs are abbreviated, and expand on a click
    expect(rows[0].textContent).toContain("…");
    fireEvent.click(rows[0].querySelector("button.link")!);
    expect(rows[0].querySelector("pre.json-full")!.textContent).toContain("does not fit in the table cell at all");

    // the example request uses the served version's own example
    await waitFor(() => expect(r.getByTestId("curl-example").textContent).toContain('"columns":["amount","merchant"]'));
    expect(r.getByTestId("curl-example").textContent).toContain("/endpoints/fraud-scorer/invocations");
  });

  it("says so when the server has no activity route", async () => {
    mockFetch(routes([404, { error: { code: "not_found", message: "No API endpoint matches GET /api/v1/endpoints/fraud-scorer/activity" } }]));
    const r = render(<EndpointPage name="fraud-scorer" />);
    await waitFor(() => r.getByTestId("activity-unavailable"));
    expect(r.getByTestId("endpoint-activity").textContent).toMatch(/activity is not available from this server/i);
    expect(r.queryByTestId("error")).toBeNull();
    expect(r.getByTestId("endpoint-targets")).toBeTruthy();
  });

  it("explains a process that does not serve the endpoint", async () => {
    mockFetch(routes([200, { ...activity, scope: "this process does not serve the endpoint", buckets: [], recent: [] }]));
    const r = render(<EndpointPage name="fraud-scorer" />);
    await waitFor(() => r.getByTestId("activity-scope"));
    expect(r.getByTestId("activity-scope").textContent).toContain("does not serve the endpoint");
    expect(r.queryByTestId("recent-predictions")).toBeNull();
  });

  it("refreshes every 5 seconds", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const calls = mockFetch(routes([200, activity]));
    const r = render(<EndpointPage name="fraud-scorer" />);
    await waitFor(() => r.getByTestId("recent-predictions"));
    const count = () => calls.filter((c) => c.path.startsWith("/api/v1/endpoints/fraud-scorer/activity")).length;
    const before = count();
    await act(async () => {
      vi.advanceTimersByTime(5000);
    });
    await waitFor(() => expect(count()).toBe(before + 1));
  });
});

describe("EndpointsPage", () => {
  it("lists endpoints with their model, version, state and split", async () => {
    mockFetch((_m, p) => (p === "/api/v1/endpoints" ? [200, { endpoints: [endpoint] }] : undefined));
    const r = render(<EndpointsPage />);
    await waitFor(() => r.getByTestId("endpoints-table"));
    const row = r.getByTestId("endpoint-fraud-scorer");
    expect(row.querySelector('a[href="#/endpoints/fraud-scorer"]')).toBeTruthy();
    expect(row.querySelector('a[href="#/models/fraud/versions/2"]')).toBeTruthy();
    expect(row.textContent).toContain("serving");
    expect(row.textContent).toContain("primary 90% · canary 10%");
    expect(row.textContent).toContain("132");
  });

  it("shows how to create an endpoint when there is none", async () => {
    mockFetch(() => [200, { endpoints: [] }]);
    const r = render(<EndpointsPage />);
    await waitFor(() => r.getByTestId("empty"));
    expect(r.getByTestId("create-endpoint-snippet").textContent).toContain("plinth endpoints create");
  });
});
