import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, fireEvent, render, waitFor } from "@testing-library/preact";
import { BatchJobPage, BatchJobsPage } from "./batch";
import { formatBytes, formatRate, jobFinished, jobProgress, shardRange, type BatchJob, type BatchShard } from "../components/ops-data";
import { mockFetch } from "./ops-fixtures";


beforeEach(() => history.replaceState(null, "", "/"));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

function shard(index: number, over: Partial<BatchShard> = {}): BatchShard {
  return { index, file: "claims.csv", first_row: index * 1000, status: "PENDING", attempts: 0, rows_in: 0, rows_out: 0, rows_rejected: 0, ...over };
}

function job(over: Partial<BatchJob> = {}): BatchJob {
  return {
    id: "5f55aa00bb11cc22dd33ee44ff556677",
    status: "RUNNING",
    spec: { model_uri: "models:/fraud@champion", input: "/data/claims/", output: "/data/scores/", passthrough: ["claim_id"] },
    model_name: "fraud",
    model_version: "3",
    model_source: "mlflow-artifacts:/1/models/m-3/artifacts",
    actor: "ana",
    generation: 1,
    inputs: [{ path: "claims.csv", format: "csv", size: 3 * 1024 * 1024, digest: "sha256:abc" }],
    shards_total: 9,
    shards_done: 3,
    rows_in: 30000,
    rows_out: 29990,
    rows_rejected: 10,
    created_at: "2026-11-27T02:00:00.000Z",
    started_at: "2026-11-27T02:00:10.000Z",
    ...over,
  };
}

describe("jobProgress", () => {
  it("computes rows per second of a running job up to now", () => {
    const p = jobProgress(job(), Date.parse("2026-11-27T02:01:10Z")); // 60 s after the start
    expect(p).toMatchObject({ done: 3, total: 9, rowsIn: 30000, rowsOut: 29990, rowsRejected: 10, elapsedMs: 60000 });
    expect(p.fraction).toBeCloseTo(1 / 3);
    expect(p.rowsPerSecond).toBe(500);
  });

  it("uses the end time of a finished job, whatever the clock", () => {
    const j = job({ status: "SUCCEEDED", shards_done: 9, rows_in: 90000, ended_at: "2026-11-27T02:00:40.000Z" });
    const p = jobProgress(j, Date.parse("2026-11-28T00:00:00Z"));
    expect(p.elapsedMs).toBe(30000);
    expect(p.rowsPerSecond).toBe(3000);
    expect(p.fraction).toBe(1);
  });

  it("has no rate before the job starts, and no division by zero", () => {
    expect(jobProgress(job({ status: "QUEUED", started_at: undefined, shards_done: 0, rows_in: 0 }), Date.now()).rowsPerSecond).toBeUndefined();
    expect(jobProgress(job({ shards_total: 0, shards_done: 0 }), Date.now()).fraction).toBe(0);
    const same = job({ status: "SUCCEEDED", ended_at: "2026-11-27T02:00:10.000Z" });
    expect(jobProgress(same, Date.now()).rowsPerSecond).toBeUndefined();
  });

  it("knows the planned rows only when every shard was counted", () => {
    const counted = job({ shards_total: 2, shards: [shard(0, { rows: 100 }), shard(1, { rows: 50 })] });
    expect(jobProgress(counted, Date.now()).rowsPlanned).toBe(150);
    const whole = job({ shards_total: 2, shards: [shard(0, { rows: 100 }), shard(1)] });
    expect(jobProgress(whole, Date.now()).rowsPlanned).toBeUndefined();
  });

  it("formats shards, rates and sizes", () => {
    expect(shardRange(shard(0))).toBe("whole file");
    expect(shardRange(shard(0, { row_group_start: 4, row_group_end: 8 }))).toBe("row groups 4–7");
    expect(shardRange(shard(0, { row_group_start: 2, row_group_end: 3 }))).toBe("row group 2");
    expect(shardRange(shard(1, { byte_start: 1048576, byte_end: 2097152, first_line: 20001 }))).toBe("bytes 1.0 MiB–2.0 MiB, from line 20,001");
    expect(formatRate(95000.4)).toBe("95,000");
    expect(formatRate(12.345)).toBe("12.3");
    expect(formatBytes(3833)).toBe("3.7 KiB");
    expect(jobFinished("RUNNING")).toBe(false);
    expect(jobFinished("CANCELLED")).toBe(true);
  });
});

describe("BatchJobPage", () => {
  const shards = [
    shard(0, { status: "DONE", attempts: 1, worker: "w-1", rows_in: 10000, rows_out: 9990, rows_rejected: 10, part: "part-00000.parquet", part_digest: "sha256:feed", part_bytes: 2048, rejects_part: "rejects-00000.parquet" }),
    shard(1, { status: "RUNNING", attempts: 2, worker: "w-2", byte_start: 1000, byte_end: 2000, first_line: 501 }),
    shard(2, { status: "FAILED", attempts: 4, error: "column amount: text in a numeric column" }),
  ];

  it("shows progress, rows per second, shards, outputs and lineage", async () => {
    // The job started 20 s ago and read 30,000 rows: about 1,500 rows/s.
    const started = new Date(Date.now() - 20000).toISOString();
    mockFetch((m, p) => (m === "GET" && p === "/api/v1/batch-jobs/j1" ? [200, job({ started_at: started, shards })] : undefined));
    const r = render(<BatchJobPage id="j1" />);
    await waitFor(() => r.getByTestId("job-progress"));
    expect(r.getByTestId("page-batch-job")).toBeTruthy();
    expect(r.getByTestId("progress-shards").textContent).toContain("3 / 9");
    expect(r.getByTestId("progress-rows").textContent).toContain("30,000");
    const rate = Number(r.getByTestId("progress-rate").querySelector(".stat-value")!.textContent!.replace(/,/g, ""));
    expect(rate).toBeGreaterThan(1400);
    expect(rate).toBeLessThanOrEqual(1500);
    expect(r.getByTestId("job-progress").querySelector('[role="progressbar"]')!.getAttribute("aria-valuenow")).toBe("33");

    const rows = r.getByTestId("job-shards").querySelectorAll("tbody tr");
    expect(rows.length).toBe(3);
    expect(rows[0].textContent).toContain("w-1");
    expect(rows[1].textContent).toContain("from line 501");
    expect(rows[2].textContent).toContain("text in a numeric column");
    expect(r.getByTestId("job-errors").textContent).toContain("shard 2");

    expect(r.getByTestId("job-parts").textContent).toContain("part-00000.parquet");
    expect(r.getByTestId("job-parts").textContent).toContain("feed");
    expect(r.getByTestId("job-outputs").textContent).toContain("/data/scores/_rejects");
    expect(r.getByTestId("job-manifest").textContent).toContain("not written yet");
    expect(r.getByTestId("job-model-link").getAttribute("href")).toBe("#/models/fraud/versions/3");
    expect(r.getByTestId("job-inputs").textContent).toContain("sha256:abc");

    expect((r.getByTestId("retry-job") as HTMLButtonElement).disabled).toBe(true);
    expect((r.getByTestId("cancel-job") as HTMLButtonElement).disabled).toBe(false);
  });

  it("cancels, and shows the server's refusal", async () => {
    const calls = mockFetch((m, p) => {
      if (m === "GET" && p === "/api/v1/batch-jobs/j1") return [200, job()];
      if (m === "POST" && p === "/api/v1/batch-jobs/j1/cancel") return [409, { error: { code: "conflict", message: "job j1 is SUCCEEDED: only a queued or running job can be cancelled" } }];
      return undefined;
    });
    const r = render(<BatchJobPage id="j1" />);
    await waitFor(() => r.getByTestId("cancel-job"));
    fireEvent.click(r.getByTestId("cancel-job"));
    await waitFor(() => r.getByTestId("error"));
    expect(calls.some((c) => c.method === "POST" && c.path === "/api/v1/batch-jobs/j1/cancel")).toBe(true);
    expect(r.getByTestId("error").textContent).toContain("only a queued or running job can be cancelled");
  });

  it("retries a failed job", async () => {
    const calls = mockFetch((m, p) => {
      if (m === "GET" && p === "/api/v1/batch-jobs/j1") return [200, job({ status: "FAILED", error: "shard 2 failed 4 times", ended_at: "2026-11-27T02:01:00.000Z" })];
      if (m === "POST" && p === "/api/v1/batch-jobs/j1/retry") return [200, job({ generation: 2 })];
      return undefined;
    });
    const r = render(<BatchJobPage id="j1" />);
    await waitFor(() => r.getByTestId("job-error"));
    expect(r.getByTestId("job-error").textContent).toBe("shard 2 failed 4 times");
    fireEvent.click(r.getByTestId("retry-job"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.path === "/api/v1/batch-jobs/j1/retry")).toBe(true));
  });

  it("refreshes every 3 s while the job runs, and stops when it is done", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let status = "RUNNING";
    const calls = mockFetch((m, p) => (m === "GET" && p === "/api/v1/batch-jobs/j1" ? [200, job({ status })] : undefined));
    const r = render(<BatchJobPage id="j1" />);
    await waitFor(() => r.getByTestId("job-progress"));
    const gets = () => calls.filter((c) => c.method === "GET").length;
    expect(gets()).toBe(1);
    status = "SUCCEEDED";
    await act(async () => {
      vi.advanceTimersByTime(3000);
    });
    await waitFor(() => expect(gets()).toBe(2));
    await waitFor(() => expect(r.getByTestId("job-status").textContent).toBe("succeeded"));
    await act(async () => {
      vi.advanceTimersByTime(9000);
    });
    expect(gets()).toBe(2);
  });
});

describe("BatchJobsPage", () => {
  it("lists jobs with progress and filters by state", async () => {
    const calls = mockFetch((m, p) => (m === "GET" && p.startsWith("/api/v1/batch-jobs?") ? [200, { jobs: [job({ shards })] }] : undefined));
    const r = render(<BatchJobsPage query={new URLSearchParams("status=RUNNING")} />);
    await waitFor(() => r.getByTestId("batch-table"));
    expect(r.getByTestId("page-batch")).toBeTruthy();
    expect(new URLSearchParams(calls[0].path.split("?")[1]).get("status")).toBe("RUNNING");
    const row = r.getByTestId("job-5f55aa00bb11cc22dd33ee44ff556677");
    expect(row.querySelector('a[href="#/batch/5f55aa00bb11cc22dd33ee44ff556677"]')).toBeTruthy();
    expect(row.querySelector('a[href="#/models/fraud/versions/3"]')).toBeTruthy();
    expect(row.textContent).toContain("3/9 shards");
    expect(row.textContent).toContain("30,000 rows");
    expect(row.textContent).toContain("ana");
    fireEvent.change(r.getByTestId("batch-status"), { target: { value: "FAILED" } });
    expect(location.hash).toBe("#/batch?status=FAILED");
  });

  it("shows how to submit a job when there is none", async () => {
    mockFetch(() => [200, { jobs: [] }]);
    const r = render(<BatchJobsPage query={new URLSearchParams()} />);
    await waitFor(() => r.getByTestId("empty"));
    expect(r.getByTestId("batch-run-snippet").textContent).toContain("plinth batch run");
  });

  it("says when a filter matches nothing", async () => {
    mockFetch(() => [200, { jobs: [] }]);
    const r = render(<BatchJobsPage query={new URLSearchParams("status=CANCELLED")} />);
    await waitFor(() => r.getByTestId("empty"));
    expect(r.getByTestId("empty").textContent).toContain("No job matches");
  });
});

const shards = [shard(0, { status: "DONE", rows_in: 10 })];
