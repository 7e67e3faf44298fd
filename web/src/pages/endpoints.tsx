// Serving endpoints: the list with health and traffic split, and an endpoint's targets,
// live state, activity (request and error rates, latency percentiles, recent predictions,
// from GET /api/v1/endpoints/NAME/activity) and how to call it.
import { useCallback, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, seg, v1Get } from "../api";
import { href } from "../router";
import { useInterval, useLoad } from "../hooks";
import { Empty, ErrorBox, Loading, PageHeader, formatTime } from "../components/common";
import {
  activityTotals,
  curlExample,
  endpointHealth,
  exampleBody,
  fillBuckets,
  formatBytes,
  formatCount,
  formatMs,
  formatPercent,
  notServedScope,
  parseModelURI,
  trafficSplit,
  type Activity,
  type Endpoint,
  type RecentPrediction,
  type TargetState,
} from "../components/ops-data";
import { loadServingExample, loadSignature, primaryRef, resolveVersion } from "../components/ops-fetch";
import { JsonCell, Snippet, Stat, StateBadge, useLastGood } from "../components/ops-ui";
import { TimeChart } from "../components/ops-chart";
import "./ops.css";

const refreshMs = 5000;

/** A link to a model URI's model page or version page (models:/NAME@ALIAS, models:/NAME/N). */
function ModelURILink({ uri }: { uri: string }) {
  const r = parseModelURI(uri);
  if (!r) return <code>{uri}</code>;
  const to = r.version ? href(["models", r.name, "versions", r.version]) : href(["models", r.name]);
  return (
    <a href={to} class="mono">
      {uri}
    </a>
  );
}

function VersionLink({ model, version }: { model?: string; version?: string }) {
  if (!model || !version) return <span class="muted">none loaded</span>;
  return <a href={href(["models", model, "versions", version])}>version {version}</a>;
}

function HealthBadge({ e, testid }: { e: Endpoint; testid?: string }) {
  const h = endpointHealth(e);
  const cls = { serving: "ok", loading: "warn", degraded: "warn", failed: "bad", unknown: "" }[h.state] ?? "";
  return (
    <span class={"badge state " + cls} title={h.detail} data-testid={testid}>
      {h.state}
    </span>
  );
}

// ---------------------------------------------------------------- the list

export function EndpointsPage() {
  const res = useLoad((signal) => v1Get<{ endpoints: Endpoint[] }>("endpoints", undefined, signal), []);
  useInterval(res.reload, 10000);
  const data = useLastGood(res);
  const eps = data?.endpoints ?? [];
  return (
    <div data-testid="page-endpoints">
      <PageHeader title="Endpoints" sub="Always-on scoring services for registered models; each follows an alias or pins a version." />
      <ErrorBox error={res.error} />
      {!data && res.loading && <Loading what="endpoints" />}
      {data && eps.length === 0 && (
        <Empty title="No endpoints yet">
          <p>
            Create one for a registered model; it follows the alias, so moving <code>@champion</code> moves the endpoint. It answers MLflow's scoring protocol at{" "}
            <code>/endpoints/NAME/invocations</code> and KServe V2 at <code>/v2/models/NAME/infer</code>.
          </p>
          <Snippet
            testid="create-endpoint-snippet"
            code={`plinth endpoints create fraud-scorer --model-uri models:/fraud@champion

# or over REST:
curl -s ${location.origin}/api/v1/endpoints -H 'Content-Type: application/json' \\
  -d '{"name": "fraud-scorer", "model_uri": "models:/fraud@champion"}'`}
          />
          <p class="muted">
            No registered model yet? See <a href={href(["models"])}>Models</a>.
          </p>
        </Empty>
      )}
      {eps.length > 0 && (
        <div class="table-wrap">
          <table class="ops-table" data-testid="endpoints-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Model</th>
                <th>Serving</th>
                <th>State</th>
                <th>Traffic split</th>
                <th class="num" title="Answered by this server process since it started">Requests</th>
                <th class="num">Errors</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {eps.map((e) => {
                const targets = e.state?.targets ?? [];
                const req = targets.reduce((n, t) => n + t.requests, 0);
                const err = targets.reduce((n, t) => n + t.errors, 0);
                return (
                  <tr key={e.name} data-testid={"endpoint-" + e.name}>
                    <td>
                      <a href={href(["endpoints", e.name])}>{e.name}</a>
                    </td>
                    <td>
                      <ModelURILink uri={e.model_uri} />
                    </td>
                    <td>
                      {e.state ? (
                        targets.map((t) => (
                          <div key={t.role}>
                            <span class="muted">{t.role}</span> <VersionLink model={t.model} version={t.version} />
                          </div>
                        ))
                      ) : (
                        <span class="muted">not served here</span>
                      )}
                    </td>
                    <td>
                      <HealthBadge e={e} />
                    </td>
                    <td>
                      {trafficSplit(e)
                        .map((s) => `${s.role} ${s.traffic === "copy of each request" ? "(copy)" : s.traffic}`)
                        .join(" · ")}
                    </td>
                    <td class="num">{e.state ? formatCount(req) : ""}</td>
                    <td class={"num" + (err > 0 ? " bad-text" : "")}>{e.state ? formatCount(err) : ""}</td>
                    <td title={e.updated_at}>{formatTime(e.updated_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

// ---------------------------------------------------------------- one endpoint

export function EndpointPage({ name }: { name: string }) {
  const res = useLoad((signal) => v1Get<Endpoint>(`endpoints/${seg(name)}`, undefined, signal), [name]);
  const [minutes, setMinutes] = useState(60);
  const act = useLoad((signal) => v1Get<Activity>(`endpoints/${seg(name)}/activity`, { minutes }, signal), [name, minutes]);
  const reloadEp = res.reload;
  const reloadAct = act.reload;
  // A 404 of an endpoint that was deleted shows on the page (and stops the refresh); old
  // data stays on screen only through other errors.
  const gone = res.error instanceof ApiError && res.error.status === 404;
  const goneRef = useRef(gone);
  goneRef.current = gone;
  const tick = useCallback(() => {
    if (goneRef.current) return;
    reloadEp();
    reloadAct();
  }, [reloadEp, reloadAct]);
  useInterval(tick, refreshMs);
  const e = useLastGood(res, name);
  const activity = useLastGood(act, name);

  return (
    <div data-testid="page-endpoint">
      <PageHeader
        title={
          <>
            {name} {e && !gone && <HealthBadge e={e} testid="endpoint-health" />}
          </>
        }
        sub={
          <span>
            <a href={href(["endpoints"])}>Endpoints</a> / {name}
            {e?.description ? " — " + e.description : ""}
          </span>
        }
      >
        {!gone && (
          <span class="muted small" title="The page refreshes itself every 5 seconds">
            live · every {refreshMs / 1000} s
          </span>
        )}
      </PageHeader>
      <ErrorBox error={res.error} />
      {!e && res.loading && <Loading what="the endpoint" />}
      {e && !gone && (
        <>
          <Targets e={e} />
          <ActivitySection name={name} e={e} activity={activity} error={act.error} minutes={minutes} setMinutes={setMinutes} />
          <CallIt e={e} recent={activity?.recent?.[0]} />
          <Settings e={e} />
        </>
      )}
    </div>
  );
}

function Targets({ e }: { e: Endpoint }) {
  const split = trafficSplit(e);
  const byRole = new Map<string, TargetState>((e.state?.targets ?? []).map((t) => [t.role, t]));
  const health = endpointHealth(e);
  return (
    <section class="ops-section" data-testid="endpoint-targets">
      <h2>Targets and traffic</h2>
      {!e.state && (
        <p class="muted">
          This server process does not serve the endpoint (it runs with <code>--no-serving</code>, or has not loaded it yet), so only its definition is shown. A serving
          replica reports its live state: <code>plinth endpoints describe {e.name} --server http://REPLICA:8080</code>.
        </p>
      )}
      {e.state && health.state !== "serving" && (
        <div class={health.state === "failed" ? "error" : "ops-warn"} data-testid="endpoint-health-detail">
          {health.state}: {health.detail}
        </div>
      )}
      <div class="table-wrap">
        <table class="ops-table">
          <thead>
            <tr>
              <th>Role</th>
              <th>Traffic</th>
              <th>Model URI</th>
              <th>Serving</th>
              <th>Status</th>
              <th>Loaded</th>
              <th class="num">Requests</th>
              <th class="num">Errors</th>
              <th>Last error</th>
            </tr>
          </thead>
          <tbody>
            {split.map((s) => {
              const t = byRole.get(s.role);
              return (
                <tr key={s.role} data-testid={"target-" + s.role}>
                  <td>
                    <b>{s.role}</b>
                  </td>
                  <td data-testid={"traffic-" + s.role}>
                    {s.traffic !== "copy of each request" && <TrafficBar text={s.traffic} />}
                    {s.traffic}
                  </td>
                  <td>
                    <ModelURILink uri={s.model_uri} />
                  </td>
                  <td>{t ? <VersionLink model={t.model} version={t.version} /> : <span class="muted">—</span>}</td>
                  <td>{t ? <StateBadge state={t.status} /> : <span class="muted">unknown</span>}</td>
                  <td>{t?.loaded_at ? formatTime(t.loaded_at) : ""}</td>
                  <td class="num">{t ? formatCount(t.requests) : ""}</td>
                  <td class="num">{t ? formatCount(t.errors) : ""}</td>
                  <td class="wrap">
                    {t?.last_error && (
                      <span class="bad-text" title={t.last_error_at}>
                        {t.last_error_version ? `version ${t.last_error_version}: ` : ""}
                        {t.last_error}
                        {t.last_error_at && <span class="muted"> ({formatTime(t.last_error_at)})</span>}
                      </span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p class="muted small">
        {e.state ? "Requests and errors are this server process's since it started. " : ""}Change the split:{" "}
        <code>
          plinth endpoints update {e.name} --canary-uri models:/MODEL/VERSION --canary-percent 10
        </code>{" "}
        (or <code>--shadow-uri …</code>, <code>--no-secondary</code>).
      </p>
    </section>
  );
}

function TrafficBar({ text }: { text: string }) {
  const p = parseFloat(text);
  if (!isFinite(p)) return null;
  return (
    <span class="traffic-bar" aria-hidden="true">
      <span style={{ width: Math.max(0, Math.min(100, p)) + "%" }} />
    </span>
  );
}

const windows = [
  { minutes: 15, label: "15 min" },
  { minutes: 60, label: "1 hour" },
  { minutes: 360, label: "6 hours" },
  { minutes: 1440, label: "24 hours" },
];

function ActivitySection(props: { name: string; e: Endpoint; activity?: Activity; error?: Error; minutes: number; setMinutes: (m: number) => void }) {
  const { name, e, activity, error, minutes, setMinutes } = props;
  const missing = error instanceof ApiError && error.status === 404;
  return (
    <section class="ops-section" data-testid="endpoint-activity">
      <div class="section-bar">
        <h2>Activity</h2>
        <label class="muted">
          Last{" "}
          <select data-testid="activity-window" value={String(minutes)} onChange={(ev) => setMinutes(Number(ev.currentTarget.value))}>
            {windows.map((w) => (
              <option key={w.minutes} value={String(w.minutes)}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {missing ? (
        <p class="muted" data-testid="activity-unavailable">
          Activity is not available from this server: it has no <code>/api/v1/endpoints/{name}/activity</code> route (an older Plinth). The endpoint's totals are in the
          targets above and in <code>/metrics</code> (<code>plinth_serving_requests_total</code>).
        </p>
      ) : (
        <>
          {error && <ErrorBox error={error} />}
          {!activity && !error && <Loading what="activity" />}
          {activity && <ActivityBody name={name} e={e} a={activity} minutes={minutes} />}
        </>
      )}
    </section>
  );
}

const colors = { requests: "#2463eb", errors: "#d33c3c", rate: "#d33c3c", p50: "#1b9e5a", p90: "#d68a00", p99: "#8e44ad" };

function ActivityBody({ name, e, a, minutes }: { name: string; e: Endpoint; a: Activity; minutes: number }) {
  // Recomputed when new data arrives (or the minute turns), not on every render.
  const nowMinute = Math.floor(Date.now() / 60000);
  const filled = useMemo(() => fillBuckets(a.buckets, a.bucket_seconds, minutes, nowMinute * 60000 + 59999), [a, minutes, nowMinute]);
  const totals = useMemo(() => activityTotals(a.buckets), [a]);
  const model = e.state?.targets.find((t) => t.role === "primary")?.model ?? parseModelURI(e.model_uri)?.name;
  const notServed = a.scope === notServedScope;
  const perMin = (v: number) => formatCount(v);
  return (
    <>
      <p class="muted small" data-testid="activity-scope">
        {notServed ? `Scope: ${a.scope}.` : `Numbers of ${a.scope}, per ${a.bucket_seconds === 60 ? "minute" : a.bucket_seconds + " s"}; other replicas count their own.`}
      </p>
      {notServed && (
        <p class="muted">
          No activity to show: requests to this endpoint are answered by serving replicas (<code>plinth serve</code>); each reports its own at{" "}
          <code>GET /api/v1/endpoints/{name}/activity</code>.
        </p>
      )}
      {!notServed && (
        <>
          <div class="stats" data-testid="activity-stats">
            <Stat label="Requests" value={formatCount(totals.requests)} sub={`${formatCount(totals.rows)} rows predicted`} testid="stat-requests" />
            <Stat
              label="Errors"
              value={formatCount(totals.errors)}
              sub={totals.errorRate !== undefined ? formatPercent(totals.errorRate) + " of requests" : "no requests"}
              testid="stat-errors"
            />
            <Stat
              label="Latency, last minute with requests"
              value={totals.last ? `${formatMs(totals.last.p50_ms)} p50` : "—"}
              sub={totals.last ? `${formatMs(totals.last.p90_ms)} p90 · ${formatMs(totals.last.p99_ms)} p99` : ""}
              testid="stat-latency"
            />
            <Stat label="Worst p99 of a minute" value={totals.worstP99 !== undefined ? formatMs(totals.worstP99) : "—"} testid="stat-worst-p99" />
          </div>
          {totals.requests === 0 ? (
            <p class="muted">No prediction requests in this window.</p>
          ) : (
            <div class="ops-charts">
              <div class="card">
                <h3>Requests per minute</h3>
                <TimeChart
                  testid="chart-requests"
                  t={filled.t}
                  series={[
                    { label: "requests", values: filled.requests, color: colors.requests, format: perMin },
                    { label: "errors", values: filled.errors, color: colors.errors, format: perMin },
                  ]}
                  summary={`${formatCount(totals.requests)} requests, ${formatCount(totals.errors)} errors over ${filled.t.length} minutes`}
                />
              </div>
              <div class="card">
                <h3>Error rate</h3>
                <TimeChart
                  testid="chart-error-rate"
                  t={filled.t}
                  series={[{ label: "errors %", values: filled.errorRate, color: colors.rate, points: true, format: (v) => `${Math.round(v * 10) / 10}%` }]}
                  summary={`${formatPercent(totals.errorRate)} of requests failed`}
                />
              </div>
              <div class="card">
                <h3>Latency</h3>
                <TimeChart
                  testid="chart-latency"
                  t={filled.t}
                  series={[
                    { label: "p50", values: filled.p50, color: colors.p50, points: true, format: formatMs },
                    { label: "p90", values: filled.p90, color: colors.p90, points: true, format: formatMs },
                    { label: "p99", values: filled.p99, color: colors.p99, points: true, format: formatMs },
                  ]}
                  summary={totals.worstP99 !== undefined ? `worst p99 ${formatMs(totals.worstP99)}` : ""}
                />
              </div>
            </div>
          )}
        </>
      )}
      <h3>Recent predictions</h3>
      {a.recent.length === 0 ? (
        <p class="muted">{notServed ? "None here." : "No predictions answered by this process yet. Send one with the request below."}</p>
      ) : (
        <RecentTable rows={a.recent} modelOf={(role) => e.state?.targets.find((t) => t.role === role)?.model ?? (role === "primary" ? model : parseModelURI(e.secondary?.model_uri ?? "")?.name) ?? model} endpoint={name} />
      )}
    </>
  );
}

const recentShown = 25;

function RecentVersion({ model, version }: { model?: string; version: string }) {
  if (!version) return <span class="muted">—</span>;
  if (!model) return <>{version}</>;
  return <a href={href(["models", model, "versions", version])}>{version}</a>;
}

function RecentTable({ rows: all, modelOf, endpoint }: { rows: RecentPrediction[]; modelOf: (role: string) => string | undefined; endpoint: string }) {
  const [more, setMore] = useState(false);
  const rows = more ? all : all.slice(0, recentShown);
  return (
    <>
      <div class="table-wrap">
        <table class="ops-table recent" data-testid="recent-predictions">
          <thead>
            <tr>
              <th>Time</th>
              <th>Request id</th>
              <th class="num">Row</th>
              <th>Version</th>
              <th>Role</th>
              <th>Status</th>
              <th class="num">Latency</th>
              <th>Inputs</th>
              <th>Outputs</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={`${r.request_id}/${r.row ?? 0}/${i}`} class={r.status !== 200 ? "failed" : ""}>
                <td title={r.time}>{formatTime(r.time).slice(11)}</td>
                <td class="mono" title={r.inference_id ? `inference id ${r.inference_id}` : undefined}>
                  {r.request_id}
                  {r.inference_id && <div class="muted small">{r.inference_id}</div>}
                </td>
                <td class="num">{r.row ?? ""}</td>
                <td>
                  <RecentVersion model={modelOf(r.role)} version={r.model_version} />
                </td>
                <td>{r.role || <span class="muted">—</span>}</td>
                <td>
                  <span class={"badge " + (r.status === 200 ? "ok" : "bad")}>{r.status}</span>
                </td>
                <td class="num">{formatMs(r.latency_ms)}</td>
                <td class="json">
                  <JsonCell value={r.inputs} />
                </td>
                <td class="json">{r.error ? <span class="bad-text" title={r.error}>{r.error}</span> : <JsonCell value={r.outputs} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {all.length > recentShown && (
        <button class="ghost" data-testid="recent-more" onClick={() => setMore(!more)}>
          {more ? `Show the newest ${recentShown}` : `Show all ${all.length}`}
        </button>
      )}
      <p class="muted small">The newest rows first (one per predicted row); the prediction log keeps every one: <code>endpoint={endpoint}/date=…/*.parquet</code>.</p>
    </>
  );
}

function CallIt({ e, recent }: { e: Endpoint; recent?: RecentPrediction }) {
  const ref = primaryRef(e);
  const key = ref ? `${ref.name}\u0000${ref.version ?? ""}\u0000${ref.alias ?? ""}` : "";
  // The served version's saved example, else its signature: read once per version.
  const ex = useLoad(async (signal) => {
    if (!ref) return {};
    const v = await resolveVersion(ref, signal);
    if (!v) return {};
    const servingExample = await loadServingExample(v.storage_location, signal).catch(() => undefined);
    const signature = servingExample ? undefined : await loadSignature(v.storage_location, signal).catch(() => undefined);
    return { servingExample, signature };
  }, [key]);
  const recentInputs = recent?.status === 200 ? recent.inputs : undefined;
  const body =
    exampleBody({ servingExample: ex.data?.servingExample, signature: ex.data?.signature, recentInputs }) ??
    JSON.stringify({ dataframe_split: { columns: ["feature_1", "feature_2"], data: [[1.0, 2.0]] } });
  const origin = location.origin;
  return (
    <section class="ops-section" data-testid="endpoint-call">
      <h2>Call it</h2>
      <p class="muted">
        MLflow's scoring protocol (<code>dataframe_split</code>, <code>dataframe_records</code>, <code>instances</code>, <code>inputs</code> or CSV), exactly as{" "}
        <code>mlflow models serve</code>. Send <code>X-Inference-Id</code> to join ground truth later; every answer names the version in <code>X-Plinth-Model-Version</code>.
      </p>
      <Snippet code={curlExample(origin, e.invocations_path || `/endpoints/${e.name}/invocations`, body)} testid="curl-example" />
      <p class="muted small">
        KServe V2 (Open Inference Protocol): <code>POST {origin}/v2/models/{e.name}/infer</code>, readiness at <code>GET {origin}/v2/models/{e.name}/ready</code>.
      </p>
    </section>
  );
}

function Settings({ e }: { e: Endpoint }) {
  const log = e.state?.log;
  return (
    <section class="ops-section">
      <h2>Settings and prediction log</h2>
      <div class="ops-cards">
        <dl class="kv card" data-testid="endpoint-settings">
          <dt>Invocations</dt>
          <dd class="mono">{e.invocations_path}</dd>
          <dt>Logged requests</dt>
          <dd>{formatPercent(e.log_sample_rate)} of requests</dd>
          <dt>Subject field</dt>
          <dd>{e.subject_field ? <code>{e.subject_field}</code> : <span class="muted">none</span>}</dd>
          <dt>Created</dt>
          <dd>{formatTime(e.created_at)}</dd>
          <dt>Updated</dt>
          <dd>{formatTime(e.updated_at)}</dd>
        </dl>
        {log && (
          <dl class="kv card" data-testid="prediction-log">
            <dt>Prediction log</dt>
            <dd>{e.state?.degraded ? <span class="badge bad">degraded: new records are dropped</span> : <span class="badge ok">writing</span>}</dd>
            <dt>Rows uploaded</dt>
            <dd>{formatCount(log.uploaded)}</dd>
            <dt>Backlog</dt>
            <dd>{formatBytes(log.backlog_bytes)}</dd>
            <dt>Dropped</dt>
            <dd class={log.dropped > 0 ? "bad-text" : ""}>{formatCount(log.dropped)}</dd>
            <dt>Last upload</dt>
            <dd>{log.last_upload ? formatTime(log.last_upload) : <span class="muted">none yet</span>}</dd>
            {log.last_error && (
              <>
                <dt>Last error</dt>
                <dd class="bad-text wrap">{log.last_error}</dd>
              </>
            )}
          </dl>
        )}
      </div>
    </section>
  );
}
