// The shapes of MLflow's tracking entities as the server sends them (proto JSON: int64
// fields may arrive as numbers or strings, metric values as "NaN"/"Infinity" strings).
import { mlflowGet } from "../api";
import { metricValue, type HistoryPoint } from "./chart-data";

export interface KeyValue {
  key: string;
  value: string;
}

export interface Metric {
  key: string;
  value: number | string;
  timestamp: number | string;
  step?: number | string;
  model_id?: string;
  dataset_name?: string;
  dataset_digest?: string;
}

export interface RunInfo {
  run_id: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status?: string;
  start_time?: number | string;
  end_time?: number | string;
  artifact_uri?: string;
  lifecycle_stage?: string;
}

export interface DatasetInput {
  tags?: KeyValue[];
  dataset: { name: string; digest: string; source_type?: string; source?: string; schema?: string; profile?: string };
}

export interface Run {
  info: RunInfo;
  data?: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs?: { dataset_inputs?: DatasetInput[] };
  outputs?: { model_outputs?: { model_id: string; step?: number | string }[] };
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: string;
  creation_time?: number | string;
  last_update_time?: number | string;
  tags?: KeyValue[];
}

export interface LoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    creation_timestamp_ms?: number | string;
    artifact_uri?: string;
    status?: string;
    model_type?: string;
    source_run_id?: string;
    tags?: KeyValue[];
  };
  data?: { params?: KeyValue[]; metrics?: Metric[] };
}

/** The run's name as people know it: run_name, else the mlflow.runName tag, else its id. */
export function runName(run: Run): string {
  return run.info.run_name || tagValue(run, "mlflow.runName") || run.info.run_id;
}

export function tagValue(run: Run, key: string): string | undefined {
  return run.data?.tags?.find((t) => t.key === key)?.value;
}

/** How long a run took, or has been running (ms); NaN without a start. */
export function runDuration(info: RunInfo, now = Date.now()): number {
  const start = Number(info.start_time);
  if (!start) return NaN;
  const end = info.end_time !== undefined && info.end_time !== null && info.end_time !== "" ? Number(info.end_time) : info.status === "RUNNING" ? now : NaN;
  return end - start;
}

export function statusClass(status: string | undefined): string {
  switch (status) {
    case "FINISHED":
      return "badge ok";
    case "RUNNING":
    case "SCHEDULED":
      return "badge warn";
    case "FAILED":
    case "KILLED":
      return "badge bad";
  }
  return "badge";
}

/** Latest metric values by key, numbers already decoded. */
export function latestMetrics(run: Run): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of run.data?.metrics ?? []) m.set(x.key, metricValue(x.value));
  return m;
}

/** The server's cap on run ids in one history request (metrics.go: maxRunsPerBulkHistory). */
export const maxRunsPerHistoryRequest = 100;
/** Points per run the UI asks for; the server samples long histories down to this. */
export const historyPoints = 1000;

/**
 * A metric's history for several runs from get-history-bulk-interval: the server samples
 * each run down to max points (first and last kept), so a 100,000-step run costs no more
 * than a short one. More runs than one request may carry are asked in chunks.
 */
export async function fetchHistories(runIds: string[], key: string, signal?: AbortSignal, max = historyPoints): Promise<HistoryPoint[]> {
  const chunks: string[][] = [];
  for (let i = 0; i < runIds.length; i += maxRunsPerHistoryRequest) chunks.push(runIds.slice(i, i + maxRunsPerHistoryRequest));
  const answers = await Promise.all(
    chunks.map((ids) => mlflowGet<{ metrics?: HistoryPoint[] }>("metrics/get-history-bulk-interval", { run_ids: ids, metric_key: key, max_results: max }, signal)),
  );
  return answers.flatMap((a) => a.metrics ?? []);
}
