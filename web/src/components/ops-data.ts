// The wire types of Plinth's /api/v1 registry, serving and batch routes (see
// internal/api/v1/wire.go, endpoints.go, activity.go and batch.go), and the pure helpers the
// Models, Endpoints and Batch jobs pages compute with. No DOM here: everything is unit-tested.

// ---- registry ----

export interface Model {
  name: string;
  description: string;
  latest_version: number | null;
  aliases: Record<string, number>;
  requires_approval: boolean;
  protected_aliases: string[];
  tags: Record<string, string>;
  user: string;
  created_at: string;
  updated_at: string;
}

export interface Version {
  name: string;
  version: number;
  stage: string;
  approval: string; // pending, approved or rejected
  aliases: string[];
  description: string;
  source: string;
  storage_location: string;
  run_id: string;
  model_id: string;
  status: string;
  tags: Record<string, string>;
  user: string;
  created_at: string;
  updated_at: string;
}

export interface ApprovalEvent {
  from: string;
  to: string;
  actor: string;
  reason: string;
  time: string;
}

// ---- serving ----

export interface EndpointTarget {
  model_uri: string;
  mode: string; // canary or shadow
  percent?: number;
}

export interface TargetState {
  role: string; // primary, canary or shadow
  model_uri: string;
  status: string; // loading, serving or failed
  model?: string;
  version?: string;
  loaded_at?: string;
  last_error?: string;
  last_error_version?: string;
  last_error_at?: string;
  requests: number;
  errors: number;
}

export interface PredictionLogState {
  backlog_bytes: number;
  dropped: number;
  uploaded: number;
  last_upload?: string;
  last_error?: string;
}

export interface Endpoint {
  name: string;
  model_uri: string;
  secondary?: EndpointTarget;
  description: string;
  log_sample_rate: number;
  subject_field: string;
  invocations_path: string;
  created_at: string;
  updated_at: string;
  state?: { degraded: boolean; targets: TargetState[]; log: PredictionLogState };
}

export interface ActivityBucket {
  time: string;
  requests: number;
  rows: number;
  errors: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
}

export interface RecentPrediction {
  request_id: string;
  inference_id?: string;
  row?: number;
  time: string;
  model_version: string;
  role: string;
  status: number;
  latency_ms: number;
  inputs: unknown;
  outputs: unknown;
  error: string;
}

export interface Activity {
  endpoint: string;
  scope: string;
  bucket_seconds: number;
  buckets: ActivityBucket[];
  recent: RecentPrediction[];
}

/** The scope a server sends when the process answering does not serve the endpoint. */
export const notServedScope = "this process does not serve the endpoint";

// ---- batch ----

export interface BatchSpec {
  model_uri: string;
  input: string;
  input_format?: string;
  output: string;
  output_format?: string;
  rejects?: string;
  passthrough?: string[];
  predict_kind?: string;
  parallelism?: number;
}

export interface BatchInputFile {
  path: string;
  format: string;
  size: number;
  digest: string;
}

export interface BatchShard {
  index: number;
  file: string;
  row_group_start?: number;
  row_group_end?: number;
  byte_start?: number;
  byte_end?: number;
  first_row: number;
  first_line?: number;
  rows?: number;
  status: string;
  attempts: number;
  worker?: string;
  rows_in: number;
  rows_out: number;
  rows_rejected: number;
  part?: string;
  part_digest?: string;
  part_bytes?: number;
  rejects_part?: string;
  error?: string;
  started_at?: string;
  ended_at?: string;
}

export interface BatchJob {
  id: string;
  status: string;
  spec: BatchSpec;
  model_name: string;
  model_version: string;
  model_source: string;
  error?: string;
  actor: string;
  schedule?: string;
  generation: number;
  inputs: BatchInputFile[];
  shards_total: number;
  shards_done: number;
  rows_in: number;
  rows_out: number;
  rows_rejected: number;
  manifest?: string;
  created_at: string;
  started_at?: string;
  ended_at?: string;
  shards?: BatchShard[];
}

export const batchStates = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"];

/** Whether a job has reached a state it leaves only by a retry. */
export function jobFinished(status: string): boolean {
  return status === "SUCCEEDED" || status === "FAILED" || status === "CANCELLED";
}

// ---- helpers ----

/** Milliseconds since the epoch of an RFC 3339 time, or undefined. */
export function timeMs(t: string | undefined | null): number | undefined {
  if (!t) return undefined;
  const ms = Date.parse(t);
  return isNaN(ms) ? undefined : ms;
}

/**
 * The filter of the models search box: plain text searches names (case-insensitive,
 * anywhere in the name); text that is already a filter (name …, tags.… …) is sent as is.
 */
export function modelFilter(text: string): string {
  const t = text.trim();
  if (!t) return "";
  if (/^(name|tags?\.\S+|`[^`]+`)\s*(=|!=|<>|\s(i?like)\s)/i.test(t)) return t;
  // MLflow keeps a quoted value verbatim (no escapes), so a quote matches any one character.
  return `name ILIKE '%${t.replace(/'/g, "_")}%'`;
}

export interface ModelRef {
  name: string;
  alias?: string;
  version?: string;
}

/** models:/NAME@ALIAS or models:/NAME/VERSION; null for anything else (runs:/, models:/m-…). */
export function parseModelURI(uri: string): ModelRef | null {
  const m = /^models:\/(.+)$/.exec(uri ?? "");
  if (!m) return null;
  const rest = m[1];
  const at = rest.lastIndexOf("@");
  if (at > 0) return { name: rest.slice(0, at), alias: rest.slice(at + 1) };
  const slash = rest.lastIndexOf("/");
  if (slash > 0) return { name: rest.slice(0, slash), version: rest.slice(slash + 1) };
  return null;
}

export interface FilledActivity {
  /** Start of each bucket, seconds since the epoch (uPlot's time unit). */
  t: number[];
  requests: number[];
  errors: number[];
  rows: number[];
  /** errors / requests in percent; null where the bucket had no request. */
  errorRate: (number | null)[];
  /** Latency percentiles in ms; null where the bucket had no request (a gap, not 0 ms). */
  p50: (number | null)[];
  p90: (number | null)[];
  p99: (number | null)[];
}

/**
 * The server sends only the buckets that had requests; charts want every bucket of the
 * window. Counts of the missing buckets are 0; their latencies are null (no request, no
 * latency), so the latency lines break instead of dropping to 0 ms. The window is the last
 * `minutes` buckets up to now (or to the newest bucket, if the server's clock is ahead).
 */
export function fillBuckets(buckets: ActivityBucket[], bucketSeconds: number, minutes: number, nowMs: number): FilledActivity {
  const bs = bucketSeconds > 0 ? bucketSeconds : 60;
  const byTime = new Map<number, ActivityBucket>();
  for (const b of buckets) {
    const ms = timeMs(b.time);
    if (ms !== undefined) byTime.set(Math.floor(ms / 1000 / bs) * bs, b);
  }
  const keys = [...byTime.keys()];
  let end = Math.floor(nowMs / 1000 / bs) * bs;
  if (keys.length) end = Math.max(end, ...keys);
  const n = Math.max(1, Math.round((minutes * 60) / bs));
  let start = end - (n - 1) * bs;
  if (keys.length) start = Math.min(start, ...keys);
  const out: FilledActivity = { t: [], requests: [], errors: [], rows: [], errorRate: [], p50: [], p90: [], p99: [] };
  for (let t = start; t <= end; t += bs) {
    const b = byTime.get(t);
    out.t.push(t);
    out.requests.push(b?.requests ?? 0);
    out.errors.push(b?.errors ?? 0);
    out.rows.push(b?.rows ?? 0);
    const has = !!b && b.requests > 0;
    out.errorRate.push(has ? (100 * b!.errors) / b!.requests : null);
    out.p50.push(has ? b!.p50_ms : null);
    out.p90.push(has ? b!.p90_ms : null);
    out.p99.push(has ? b!.p99_ms : null);
  }
  return out;
}

export interface ActivityTotals {
  requests: number;
  errors: number;
  rows: number;
  /** errors / requests, 0 to 1; undefined without requests. */
  errorRate?: number;
  /** The worst per-minute p99 of the window, ms. */
  worstP99?: number;
  /** The newest bucket that had requests. */
  last?: ActivityBucket;
}

export function activityTotals(buckets: ActivityBucket[]): ActivityTotals {
  const out: ActivityTotals = { requests: 0, errors: 0, rows: 0 };
  for (const b of buckets) {
    out.requests += b.requests;
    out.errors += b.errors;
    out.rows += b.rows;
    if (b.requests > 0) {
      out.worstP99 = Math.max(out.worstP99 ?? 0, b.p99_ms);
      if (!out.last || (timeMs(b.time) ?? 0) >= (timeMs(out.last.time) ?? 0)) out.last = b;
    }
  }
  if (out.requests > 0) out.errorRate = out.errors / out.requests;
  return out;
}

export interface JobProgress {
  done: number;
  total: number;
  /** Shards done / total, 0 to 1 (0 for a job without shards). */
  fraction: number;
  rowsIn: number;
  rowsOut: number;
  rowsRejected: number;
  /** Rows the job will read, when planning counted every shard's rows (Parquet, byte ranges). */
  rowsPlanned?: number;
  /** From the first shard's start to the end (or now, while it runs); undefined before it starts. */
  elapsedMs?: number;
  /** Rows read per second over elapsedMs; undefined before it starts or with no time elapsed. */
  rowsPerSecond?: number;
}

/**
 * A job's progress from its counters: shards done of total, rows read by finished shards,
 * and rows per second over the time since its first shard started (to its end once
 * finished). nowMs is the client's clock, used only while the job runs.
 */
export function jobProgress(job: BatchJob, nowMs: number): JobProgress {
  const total = job.shards_total ?? 0;
  const done = job.shards_done ?? 0;
  const out: JobProgress = {
    done,
    total,
    fraction: total > 0 ? Math.min(1, done / total) : 0,
    rowsIn: job.rows_in ?? 0,
    rowsOut: job.rows_out ?? 0,
    rowsRejected: job.rows_rejected ?? 0,
  };
  const shards = job.shards ?? [];
  if (shards.length > 0 && shards.length === total && shards.every((s) => (s.rows ?? 0) > 0)) {
    out.rowsPlanned = shards.reduce((n, s) => n + (s.rows ?? 0), 0);
  }
  const start = timeMs(job.started_at);
  if (start !== undefined) {
    const end = timeMs(job.ended_at) ?? (jobFinished(job.status) ? undefined : nowMs);
    if (end !== undefined) {
      out.elapsedMs = Math.max(0, end - start);
      if (out.elapsedMs > 0) out.rowsPerSecond = (out.rowsIn * 1000) / out.elapsedMs;
    }
  }
  return out;
}

/** The part of its file a shard covers, as a person reads it. */
export function shardRange(s: BatchShard): string {
  const rgs = s.row_group_start ?? 0;
  const rge = s.row_group_end ?? 0;
  if (rge > 0) return rge - rgs === 1 ? `row group ${rgs}` : `row groups ${rgs}–${rge - 1}`;
  const be = s.byte_end ?? 0;
  if (be > 0) {
    const line = s.first_line ? `, from line ${formatCount(s.first_line)}` : "";
    return `bytes ${formatBytes(s.byte_start ?? 0)}–${formatBytes(be)}${line}`;
  }
  return "whole file";
}

/** 1234567 → "1,234,567". */
export function formatCount(n: number | undefined | null): string {
  if (n === undefined || n === null || !isFinite(n)) return "";
  return Math.round(n).toLocaleString("en-US");
}

/** Rows per second, rounded as a person reads a speed. */
export function formatRate(n: number | undefined): string {
  if (n === undefined || !isFinite(n)) return "";
  if (n >= 100) return formatCount(n);
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function formatBytes(n: number | undefined | null): string {
  if (n === undefined || n === null || !isFinite(n)) return "";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** Milliseconds of latency: "0.134 ms", "12.3 ms", "1,204 ms". */
export function formatMs(ms: number | null | undefined): string {
  if (ms === undefined || ms === null || !isFinite(ms)) return "";
  if (ms < 1) return `${ms.toFixed(3)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${formatCount(ms)} ms`;
}

export function formatPercent(f: number | undefined): string {
  if (f === undefined || !isFinite(f)) return "";
  const p = f * 100;
  if (p === 0 || p === 100) return `${p}%`;
  return `${p < 1 ? p.toFixed(2) : p.toFixed(1)}%`;
}

/** A JSON value in one line, cut to max characters with an ellipsis. */
export function abbreviateJSON(v: unknown, max = 80): string {
  if (v === undefined || v === null) return "";
  const s = typeof v === "string" ? v : JSON.stringify(v);
  if (s === undefined) return "";
  return s.length <= max ? s : s.slice(0, Math.max(1, max - 1)) + "…";
}

export interface Health {
  /** serving, loading, failed, degraded or unknown */
  state: string;
  detail: string;
}

/**
 * An endpoint's health from its live state: failed when its primary has no version to
 * answer with, degraded when it answers but a target failed its last load or predictions are
 * not being logged, loading while a target loads, serving otherwise; unknown without state
 * (this process does not serve it).
 */
export function endpointHealth(e: Pick<Endpoint, "state">): Health {
  const st = e.state;
  if (!st) return { state: "unknown", detail: "this server process does not serve the endpoint, so its live state is not known here" };
  const primary = st.targets.find((t) => t.role === "primary");
  if (primary?.status === "loading") return { state: "loading", detail: "loading its first version" };
  if (!primary || primary.status !== "serving") {
    return { state: "failed", detail: primary?.last_error ? "no version loaded: " + primary.last_error : "no version loaded" };
  }
  const failed = st.targets.filter((t) => t.status === "failed" || t.last_error);
  if (failed.length) return { state: "degraded", detail: failed.map((t) => `${t.role}: ${t.last_error || t.status}`).join("; ") };
  if (st.degraded) return { state: "degraded", detail: "predictions are answered but not logged (prediction log backlog full)" };
  const loading = st.targets.filter((t) => t.status === "loading");
  if (loading.length) return { state: "loading", detail: loading.map((t) => t.role).join(", ") + " loading" };
  return { state: "serving", detail: st.targets.map((t) => `${t.role} v${t.version ?? "?"}`).join(", ") };
}

/** The traffic split of an endpoint: primary's share, then the second target's. */
export function trafficSplit(e: Pick<Endpoint, "model_uri" | "secondary">): { role: string; model_uri: string; traffic: string }[] {
  const s = e.secondary;
  if (!s) return [{ role: "primary", model_uri: e.model_uri, traffic: "100%" }];
  if (s.mode === "canary") {
    const p = s.percent ?? 0;
    return [
      { role: "primary", model_uri: e.model_uri, traffic: `${round2(100 - p)}%` },
      { role: "canary", model_uri: s.model_uri, traffic: `${round2(p)}%` },
    ];
  }
  return [
    { role: "primary", model_uri: e.model_uri, traffic: "100%" },
    { role: s.mode || "shadow", model_uri: s.model_uri, traffic: "copy of each request" },
  ];
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

export interface ColSpec {
  name?: string;
  type: string;
  required?: boolean;
  /** Tensor specs: dtype and shape. */
  dtype?: string;
  shape?: number[];
}

export interface Signature {
  inputs?: ColSpec[];
  outputs?: ColSpec[];
  params?: { name: string; type: string; default?: unknown; shape?: unknown }[];
}

/**
 * The signature of an MLmodel file (YAML written by mlflow): the JSON strings under
 * `signature:` `inputs:`, `outputs:` and `params:`, which PyYAML folds over several lines
 * and quotes singly. Undefined when there is no signature; a part that cannot be read is
 * left out.
 */
export function parseMLmodelSignature(text: string): Signature | undefined {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => /^signature:\s*$/.test(l));
  if (start < 0) return undefined;
  const out: Signature = {};
  let i = start + 1;
  while (i < lines.length && (/^\s+\S/.test(lines[i]) || lines[i].trim() === "")) {
    const m = /^(\s+)(inputs|outputs|params):\s*(.*)$/.exec(lines[i]);
    if (!m) {
      i++;
      continue;
    }
    const indent = m[1].length;
    let raw = m[3];
    i++;
    // Continuation lines are indented deeper than the key.
    while (i < lines.length && lines[i].trim() !== "" && (lines[i].length - lines[i].trimStart().length) > indent) {
      raw += " " + lines[i].trim();
      i++;
    }
    const value = yamlScalar(raw.trim());
    if (value === null || value === "") continue;
    try {
      const parsed = JSON.parse(value);
      if (Array.isArray(parsed)) {
        if (m[2] === "inputs") out.inputs = parsed.map(colSpec);
        else if (m[2] === "outputs") out.outputs = parsed.map(colSpec);
        else out.params = parsed;
      }
    } catch {
      /* not JSON: leave it out */
    }
  }
  return out.inputs || out.outputs || out.params ? out : undefined;
}

function colSpec(c: any): ColSpec {
  const t = c?.["tensor-spec"];
  return {
    name: c?.name,
    type: String(c?.type ?? ""),
    // A column without "required" is required (MLflow before 2.x wrote none); tensors have none.
    required: t ? undefined : c?.required !== false,
    dtype: t?.dtype,
    shape: t?.shape,
  };
}

/** A YAML flow scalar already joined to one line: 'single', "double" or plain; null for null. */
function yamlScalar(s: string): string | null {
  if (s === "null" || s === "~") return null;
  if (s.startsWith("'") && s.endsWith("'") && s.length >= 2) return s.slice(1, -1).replace(/''/g, "'");
  if (s.startsWith('"') && s.endsWith('"') && s.length >= 2) {
    try {
      return JSON.parse(s);
    } catch {
      return s.slice(1, -1);
    }
  }
  return s;
}

/** A placeholder value of a column type, for an example request. */
export function exampleValue(type: string): unknown {
  switch (type) {
    case "string":
      return "text";
    case "boolean":
      return true;
    case "integer":
    case "long":
      return 1;
    case "datetime":
      return "2026-01-01T00:00:00";
    default:
      return 0.5;
  }
}

/** A {"dataframe_split": …} body of one row: columns and values given, or placeholders by type. */
export function dataframeSplit(columns: string[], row: unknown[]): string {
  return JSON.stringify({ dataframe_split: { columns, data: [row] } });
}

/**
 * The body of an example request to an endpoint, best source first: the model's own serving
 * example (its first row), the columns of its signature, the inputs of a recent prediction.
 */
export function exampleBody(opts: { servingExample?: unknown; signature?: Signature; recentInputs?: unknown }): string | undefined {
  const ex = opts.servingExample as any;
  const split = ex?.dataframe_split;
  if (split && Array.isArray(split.columns) && Array.isArray(split.data) && split.data.length > 0) {
    return dataframeSplit(split.columns, split.data[0]);
  }
  if (ex && typeof ex === "object" && !Array.isArray(ex) && Object.keys(ex).length > 0 && !split) {
    // Another MLflow input form ("inputs", "instances", "dataframe_records"): send it as it is.
    return JSON.stringify(ex);
  }
  const named = (opts.signature?.inputs ?? []).filter((c) => c.name);
  if (named.length > 0) {
    return dataframeSplit(
      named.map((c) => c.name!),
      named.map((c) => exampleValue(c.type)),
    );
  }
  const ri = opts.recentInputs;
  if (ri && typeof ri === "object" && !Array.isArray(ri)) {
    const cols = Object.keys(ri);
    if (cols.length > 0) return dataframeSplit(cols, cols.map((c) => (ri as Record<string, unknown>)[c]));
  }
  return undefined;
}

/** Single-quotes a string for a POSIX shell. */
export function shellQuote(s: string): string {
  return "'" + s.replace(/'/g, `'"'"'`) + "'";
}

export function curlExample(origin: string, path: string, body: string): string {
  return `curl -s ${origin}${path} \\\n  -H 'Content-Type: application/json' \\\n  -d ${shellQuote(body)}`;
}

/** The first 8 characters of an id, for tables (the full id is in the link and the title). */
export function shortId(id: string): string {
  return id.length > 12 ? id.slice(0, 8) : id;
}
