// Batch jobs: the list (filtered by state, live while jobs run) and one job with its
// progress, shards, output parts, rejects, errors and lineage, from /api/v1/batch-jobs.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, seg, v1Get, v1Send } from "../api";
import { href, navigate } from "../router";
import { useInterval, useLoad } from "../hooks";
import { Empty, ErrorBox, Loading, PageHeader, formatDuration, formatTime } from "../components/common";
import {
  batchStates,
  formatBytes,
  formatCount,
  formatRate,
  jobFinished,
  jobProgress,
  shardRange,
  shortId,
  timeMs,
  type BatchJob,
  type BatchShard,
} from "../components/ops-data";
import { ProgressBar, Snippet, Stat, StateBadge, useLastGood } from "../components/ops-ui";
import { Pager, usePaging } from "../components/paging";
import "./ops.css";

const pageSize = 50;
const jobRefreshMs = 3000;
const listRefreshMs = 5000;

interface BatchJobList {
  jobs: BatchJob[];
  next_page_token?: string;
}

function runSnippet(origin: string): string {
  return `export PLINTH_URL=${origin}
plinth batch run --model models:/fraud@champion \\
  --input ./claims/2026-11-26/ --output ./scores/2026-11-26/ --passthrough claim_id --wait

# or over REST:
curl -s ${origin}/api/v1/batch-jobs -H 'Content-Type: application/json' \\
  -d '{"model_uri": "models:/fraud@champion", "input": "s3://lake/claims/", "output": "s3://lake/scores/"}'`;
}

function ModelCell({ job }: { job: BatchJob }) {
  if (!job.model_name) return <code>{job.spec.model_uri}</code>;
  return (
    <a href={href(["models", job.model_name, "versions", job.model_version])} title={`${job.spec.model_uri} → version ${job.model_version}`}>
      {job.model_name} <span class="muted">v{job.model_version}</span>
    </a>
  );
}

// ---------------------------------------------------------------- the list

export function BatchJobsPage({ query }: { query: URLSearchParams }) {
  const status = query.get("status") ?? "";
  const schedule = query.get("schedule") ?? "";
  const paging = usePaging(status + "\u0000" + schedule);
  const res = useLoad(
    (signal) =>
      v1Get<BatchJobList>("batch-jobs", { status: status || undefined, schedule: schedule || undefined, max_results: pageSize, page_token: paging.token || undefined }, signal),
    [status, schedule, paging.token],
  );
  const data = useLastGood(res, status + "\u0000" + schedule + "\u0000" + paging.token);
  const jobs = data?.jobs ?? [];
  // Live while a job on the page is queued or running.
  const live = useRef(false);
  live.current = jobs.some((j) => !jobFinished(j.status));
  const reload = res.reload;
  useInterval(
    useCallback(() => {
      if (live.current) reload();
    }, [reload]),
    listRefreshMs,
  );
  const now = Date.now();
  const go = (q: { status?: string; schedule?: string }) => navigate(href(["batch"], { status: q.status ?? status, schedule: q.schedule ?? schedule }), true);
  const filtered = !!(status || schedule);

  return (
    <div data-testid="page-batch">
      <PageHeader title="Batch jobs" sub="Files scored with a registered model version, shard by shard, by the server and its workers." />
      <div class="ops-toolbar">
        <label>
          State{" "}
          <select data-testid="batch-status" value={status} onChange={(e) => go({ status: e.currentTarget.value })}>
            <option value="">any</option>
            {batchStates.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        {schedule && (
          <span class="chip">
            schedule <b>{schedule}</b>{" "}
            <button class="link" title="Show jobs of every schedule" onClick={() => go({ schedule: "" })}>
              ×
            </button>
          </span>
        )}
        {live.current && <span class="muted small">live · every {listRefreshMs / 1000} s</span>}
      </div>
      <ErrorBox error={res.error} />
      {!data && res.loading && <Loading what="batch jobs" />}
      {data && jobs.length === 0 && !filtered && !paging.token && (
        <Empty title="No batch jobs yet">
          <p>
            Score a file, a folder or an S3 prefix of CSV, JSON Lines or Parquet with a registered model. The job pins the version the alias names when you submit
            it, and writes Parquet parts and a <code>_manifest.json</code>.
          </p>
          <Snippet code={runSnippet(location.origin)} testid="batch-run-snippet" />
        </Empty>
      )}
      {data && jobs.length === 0 && filtered && (
        <Empty title="No job matches">
          <p>
            No {status ? <code>{status}</code> : ""} job{schedule ? <> of schedule <code>{schedule}</code></> : ""}. <a href={href(["batch"])}>Show all jobs</a>.
          </p>
        </Empty>
      )}
      {jobs.length > 0 && (
        <>
          <div class="table-wrap">
            <table class="ops-table" data-testid="batch-table">
              <thead>
                <tr>
                  <th>Job</th>
                  <th>Model</th>
                  <th>State</th>
                  <th>Progress</th>
                  <th class="num">Rows/s</th>
                  <th>Submitted</th>
                  <th>Actor</th>
                  <th>Input</th>
                </tr>
              </thead>
              <tbody>
                {jobs.map((j) => {
                  const p = jobProgress(j, now);
                  return (
                    <tr key={j.id} data-testid={"job-" + j.id}>
                      <td>
                        <a href={href(["batch", j.id])} class="mono" title={j.id}>
                          {shortId(j.id)}
                        </a>
                        {j.schedule && (
                          <div class="small">
                            <a href={href(["batch"], { schedule: j.schedule })} class="muted">
                              ⏱ {j.schedule}
                            </a>
                          </div>
                        )}
                      </td>
                      <td>
                        <ModelCell job={j} />
                      </td>
                      <td>
                        <StateBadge state={j.status} title={j.error} />
                      </td>
                      <td>
                        <ProgressBar
                          fraction={p.fraction}
                          state={j.status}
                          label={
                            <>
                              {p.done}/{p.total} shards · {formatCount(p.rowsIn)} rows
                            </>
                          }
                        />
                      </td>
                      <td class="num">{formatRate(p.rowsPerSecond)}</td>
                      <td title={j.created_at}>{formatTime(j.created_at)}</td>
                      <td>{j.actor}</td>
                      <td class="mono clip" title={j.spec.input}>
                        {j.spec.input}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <Pager what="jobs" from={paging.index * pageSize} count={jobs.length} prev={paging.prev} next={paging.next(data?.next_page_token)} />
        </>
      )}
    </div>
  );
}

// ---------------------------------------------------------------- one job

export function BatchJobPage({ id }: { id: string }) {
  const res = useLoad((signal) => v1Get<BatchJob>(`batch-jobs/${seg(id)}`, undefined, signal), [id]);
  const job = useLastGood(res, id);
  const live = useRef(true);
  // Live until the job is finished; a job that does not exist is not polled.
  live.current = (!job || !jobFinished(job.status)) && !(res.error instanceof ApiError && res.error.status === 404);
  const reload = res.reload;
  useInterval(
    useCallback(() => {
      if (live.current) reload();
    }, [reload]),
    jobRefreshMs,
  );
  const [busy, setBusy] = useState("");
  const [actionError, setActionError] = useState<Error | undefined>();
  useEffect(() => setActionError(undefined), [id]);
  const act = async (what: "cancel" | "retry") => {
    setBusy(what);
    setActionError(undefined);
    try {
      await v1Send("POST", `batch-jobs/${seg(id)}/${what}`);
      reload();
    } catch (e) {
      setActionError(e as Error);
    } finally {
      setBusy("");
    }
  };

  return (
    <div data-testid="page-batch-job">
      <PageHeader
        title={
          <>
            Batch job <span class="mono">{shortId(id)}</span> {job && <StateBadge state={job.status} testid="job-status" />}
          </>
        }
        sub={
          <span>
            <a href={href(["batch"])}>Batch jobs</a> / <span class="mono">{id}</span>
          </span>
        }
      >
        {job && !jobFinished(job.status) && <span class="muted small">live · every {jobRefreshMs / 1000} s</span>}
        {job && (
          <>
            <button
              data-testid="cancel-job"
              class="danger"
              disabled={jobFinished(job.status) || busy !== ""}
              title={jobFinished(job.status) ? "Only a queued or running job can be cancelled" : "Stop it: shards not started are dropped, running ones stop at their next heartbeat"}
              onClick={() => act("cancel")}
            >
              {busy === "cancel" ? "Cancelling…" : "Cancel"}
            </button>
            <button
              data-testid="retry-job"
              disabled={!(job.status === "FAILED" || job.status === "CANCELLED") || busy !== ""}
              title={
                job.status === "FAILED" || job.status === "CANCELLED"
                  ? "Run the shards that are not done again (done shards are kept)"
                  : "Only a failed or cancelled job can be retried"
              }
              onClick={() => act("retry")}
            >
              {busy === "retry" ? "Retrying…" : "Retry"}
            </button>
          </>
        )}
      </PageHeader>
      <ErrorBox error={actionError} />
      <ErrorBox error={res.error} />
      {!job && res.loading && <Loading what="the job" />}
      {job && <JobBody job={job} />}
    </div>
  );
}

function JobBody({ job }: { job: BatchJob }) {
  const p = jobProgress(job, Date.now());
  const shards = job.shards ?? [];
  const failedShards = shards.filter((s) => s.error);
  return (
    <>
      {job.error && (
        <div class="error" role="alert" data-testid="job-error">
          {job.error}
        </div>
      )}
      <section class="ops-section" data-testid="job-progress">
        <ProgressBar
          fraction={p.fraction}
          state={job.status}
          label={
            <>
              {p.done}/{p.total} shards ({Math.floor(p.fraction * 100)}%)
            </>
          }
        />
        <div class="stats">
          <Stat label="Shards done" value={`${p.done} / ${p.total}`} testid="progress-shards" />
          <Stat
            label="Rows read"
            value={formatCount(p.rowsIn)}
            sub={p.rowsPlanned !== undefined ? `of ${formatCount(p.rowsPlanned)} planned` : "by finished shards"}
            testid="progress-rows"
          />
          <Stat label="Rows written" value={formatCount(p.rowsOut)} testid="progress-rows-out" />
          <Stat label="Rows rejected" value={formatCount(p.rowsRejected)} testid="progress-rejected" />
          <Stat
            label="Rows per second"
            value={p.rowsPerSecond !== undefined ? formatRate(p.rowsPerSecond) : "—"}
            sub={p.elapsedMs !== undefined ? `over ${formatDuration(p.elapsedMs)}${jobFinished(job.status) ? "" : " so far"}` : "not started"}
            testid="progress-rate"
            title="Rows read by finished shards, divided by the time since the first shard started (to the end, once finished)"
          />
        </div>
        <p class="muted small">
          Created {formatTime(job.created_at)}
          {job.started_at && <> · started {formatTime(job.started_at)}</>}
          {job.ended_at && <> · ended {formatTime(job.ended_at)}</>}
          {job.generation > 1 && <> · generation {job.generation} (retried {job.generation - 1}×)</>}
        </p>
      </section>

      <section class="ops-section">
        <h2>
          Shards <span class="muted">({shards.length})</span>
        </h2>
        {shards.length === 0 ? (
          <p class="muted">No shards: the job was not planned.</p>
        ) : (
          <div class="table-wrap">
            <table class="ops-table" data-testid="job-shards">
              <thead>
                <tr>
                  <th class="num">#</th>
                  <th>Input</th>
                  <th>Part of file</th>
                  <th>State</th>
                  <th class="num">Rows</th>
                  <th class="num">Rejects</th>
                  <th class="num">Attempts</th>
                  <th>Worker</th>
                  <th class="num">Took</th>
                  <th>Error</th>
                </tr>
              </thead>
              <tbody>
                {shards.map((s) => (
                  <ShardRow key={s.index} s={s} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <Outputs job={job} shards={shards} />

      {failedShards.length > 0 && (
        <section class="ops-section" data-testid="job-errors">
          <h2>Errors</h2>
          <ul class="errors">
            {failedShards.map((s) => (
              <li key={s.index}>
                shard {s.index} (<span class="mono">{s.file || "input"}</span>, {shardRange(s)}, attempt {s.attempts}): <span class="bad-text">{s.error}</span>
              </li>
            ))}
          </ul>
        </section>
      )}

      <Lineage job={job} />
    </>
  );
}

function ShardRow({ s }: { s: BatchShard }) {
  const start = timeMs(s.started_at);
  const end = timeMs(s.ended_at);
  return (
    <tr data-testid={"shard-" + s.index} class={s.status === "FAILED" ? "failed" : ""}>
      <td class="num">{s.index}</td>
      <td class="mono clip" title={s.file}>
        {s.file || <span class="muted">(the input)</span>}
      </td>
      <td title={s.first_row ? `first row ${s.first_row}` : undefined}>{shardRange(s)}</td>
      <td>
        <StateBadge state={s.status} />
      </td>
      <td class="num">
        {s.status === "DONE" || s.rows_in > 0 ? formatCount(s.rows_in) : ""}
        {s.rows ? <span class="muted">{s.status === "DONE" ? "" : `~${formatCount(s.rows)}`}</span> : null}
      </td>
      <td class={"num" + (s.rows_rejected > 0 ? " bad-text" : "")}>{s.rows_rejected > 0 ? formatCount(s.rows_rejected) : s.status === "DONE" ? "0" : ""}</td>
      <td class="num">{s.attempts}</td>
      <td class="mono">{s.worker ?? ""}</td>
      <td class="num">{start !== undefined && end !== undefined ? formatDuration(end - start) : start !== undefined ? "running" : ""}</td>
      <td class="clip bad-text" title={s.error}>
        {s.error}
      </td>
    </tr>
  );
}

function joinPath(base: string, rel: string): string {
  if (!rel) return base;
  return base.replace(/\/+$/, "") + "/" + rel;
}

function Outputs({ job, shards }: { job: BatchJob; shards: BatchShard[] }) {
  const parts = shards.filter((s) => s.part);
  const rejectsParts = shards.filter((s) => s.rejects_part);
  const rejects = job.spec.rejects || joinPath(job.spec.output, "_rejects");
  const totalBytes = parts.reduce((n, s) => n + (s.part_bytes ?? 0), 0);
  return (
    <section class="ops-section" data-testid="job-outputs">
      <h2>Output</h2>
      <dl class="kv">
        <dt>Output</dt>
        <dd class="mono">
          {job.spec.output} <span class="muted">({job.spec.output_format || "parquet"})</span>
        </dd>
        <dt>Manifest</dt>
        <dd class="mono" data-testid="job-manifest">
          {job.manifest ? job.manifest : <span class="muted">not written yet: readers see the output once the last shard is done and the manifest is written</span>}
        </dd>
        <dt>Rejects</dt>
        <dd>
          <span class="mono">{rejects}</span>{" "}
          <span class={job.rows_rejected > 0 ? "bad-text" : "muted"}>
            ({formatCount(job.rows_rejected)} row{job.rows_rejected === 1 ? "" : "s"} rejected
            {rejectsParts.length > 0 ? ` in ${rejectsParts.length} part${rejectsParts.length === 1 ? "" : "s"}: ${rejectsParts.map((s) => s.rejects_part).join(", ")}` : ""})
          </span>
        </dd>
      </dl>
      {parts.length > 0 && (
        <div class="table-wrap">
          <table class="ops-table compact" data-testid="job-parts">
            <thead>
              <tr>
                <th>Part</th>
                <th class="num">Shard</th>
                <th class="num">Rows</th>
                <th class="num">Size</th>
                <th>SHA-256</th>
              </tr>
            </thead>
            <tbody>
              {parts.map((s) => (
                <tr key={s.index}>
                  <td class="mono">{s.part}</td>
                  <td class="num">{s.index}</td>
                  <td class="num">{formatCount(s.rows_out)}</td>
                  <td class="num">{formatBytes(s.part_bytes)}</td>
                  <td class="mono digest" title={s.part_digest}>
                    {(s.part_digest ?? "").replace(/^sha256:/, "")}
                  </td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <td>{parts.length} parts</td>
                <td />
                <td class="num">{formatCount(parts.reduce((n, s) => n + s.rows_out, 0))}</td>
                <td class="num">{formatBytes(totalBytes)}</td>
                <td />
              </tr>
            </tfoot>
          </table>
        </div>
      )}
      {job.manifest && (
        <Snippet
          code={`import json, pandas as pd
manifest = json.load(open("${job.manifest}"))   # or read it from the object store
df = pd.concat(pd.read_${(job.spec.output_format || "parquet") === "csv" ? "csv" : "parquet"}("${job.spec.output.replace(/\/+$/, "")}/" + p["path"]) for p in manifest["parts"])`}
        />
      )}
    </section>
  );
}

function Lineage({ job }: { job: BatchJob }) {
  const s = job.spec;
  return (
    <section class="ops-section" data-testid="job-lineage">
      <h2>Lineage</h2>
      <dl class="kv">
        <dt>Model</dt>
        <dd>
          {job.model_name ? (
            <a href={href(["models", job.model_name, "versions", job.model_version])} data-testid="job-model-link">
              {job.model_name} version {job.model_version}
            </a>
          ) : (
            <span class="muted">not resolved</span>
          )}{" "}
          <span class="muted">
            from <code>{s.model_uri}</code>, pinned at submission
          </span>
        </dd>
        <dt>Model files</dt>
        <dd class="mono wrap">{job.model_source}</dd>
        <dt>Submitted</dt>
        <dd>
          {formatTime(job.created_at)} by {job.actor || <span class="muted">unknown</span>}
          {job.schedule && (
            <>
              {" "}
              by schedule <a href={href(["batch"], { schedule: job.schedule })}>{job.schedule}</a>
            </>
          )}
        </dd>
        <dt>Input</dt>
        <dd class="mono wrap">
          {s.input}
          {s.input_format && <span class="muted"> ({s.input_format})</span>}
        </dd>
        <dt>Predictions</dt>
        <dd>
          {s.predict_kind || "predict"}
          {s.passthrough && s.passthrough.length > 0 && (
            <>
              {" "}
              · passthrough <code>{s.passthrough.join(", ")}</code>
            </>
          )}
          {s.parallelism ? <> · at most {s.parallelism} shard{s.parallelism === 1 ? "" : "s"} at once</> : null}
        </dd>
      </dl>
      <h3>
        Input files <span class="muted">({job.inputs.length})</span>
      </h3>
      <div class="table-wrap">
        <table class="ops-table compact" data-testid="job-inputs">
          <thead>
            <tr>
              <th>File</th>
              <th>Format</th>
              <th class="num">Size</th>
              <th>Digest</th>
            </tr>
          </thead>
          <tbody>
            {job.inputs.map((f, i) => (
              <tr key={i}>
                <td class="mono">{f.path || s.input}</td>
                <td>{f.format}</td>
                <td class="num" title={`${formatCount(f.size)} bytes`}>
                  {formatBytes(f.size)}
                </td>
                <td class="mono digest" title={f.digest}>
                  {f.digest}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
