// One run: its parameters, metrics, tags, datasets and logged models (overview), a chart
// per metric (metrics) and its files (artifacts). The tab and its choices are in the URL.
import { useMemo, useState } from "preact/hooks";
import { mlflowGet, mlflowPost } from "../api";
import { href, navigate } from "../router";
import { useLoad } from "../hooks";
import { Empty, ErrorBox, Loading, PageHeader, formatDuration, formatNumber, formatTime } from "../components/common";
import { LineChart, XModeSelect } from "../components/chart";
import { parseXMode, toXY, type XMode } from "../components/chart-data";
import { ArtifactBrowser, type ArtifactRoot } from "../components/artifact-browser";
import { fetchHistories, historyPoints, runDuration, runName, statusClass, tagValue, type Experiment, type LoggedModel, type Run } from "../components/run-types";
import "./tracking.css";

type Tab = "overview" | "metrics" | "artifacts";
const tabs: { key: Tab; label: string }[] = [
  { key: "overview", label: "Overview" },
  { key: "metrics", label: "Metrics" },
  { key: "artifacts", label: "Artifacts" },
];

/** Tags shown in the header rather than in the tags table. */
const headerTags = new Set(["mlflow.runName", "mlflow.user", "mlflow.source.name", "mlflow.source.type", "mlflow.source.git.commit", "mlflow.note.content", "mlflow.parentRunId"]);

export function RunPage({ runId, query }: { runId: string; query: URLSearchParams }) {
  const tab = (tabs.find((t) => t.key === query.get("tab"))?.key ?? "overview") as Tab;
  const res = useLoad((signal) => mlflowGet<{ run: Run }>("runs/get", { run_id: runId }, signal), [runId]);
  const run = res.data?.run;
  const expId = run?.info.experiment_id;
  const exp = useLoad(
    (signal) => (expId === undefined ? Promise.resolve(undefined) : mlflowGet<{ experiment: Experiment }>("experiments/get", { experiment_id: expId }, signal)),
    [expId],
  );
  const models = useLoggedModels(run);

  // Links keep the run's canonical address, under its experiment.
  const base = expId !== undefined ? ["experiments", expId, "runs", runId] : ["runs", runId];
  const link = (q: Record<string, string | undefined>) => href(base, q);

  return (
    <div data-testid="page-run">
      <PageHeader
        title={run ? runName(run) : "Run"}
        sub={
          <>
            <a href={href(["experiments"])}>Experiments</a>
            {expId !== undefined && (
              <>
                {" / "}
                <a href={href(["experiments", expId])}>{exp.data?.experiment.name ?? "experiment " + expId}</a>
              </>
            )}
            {" / "}
            <span class="mono">{runId}</span>
          </>
        }
      />
      <ErrorBox error={res.error} />
      {res.loading && !run && <Loading what="the run" />}
      {run && (
        <>
          <RunMeta run={run} />
          <nav class="tabs">
            {tabs.map((t) => (
              <a key={t.key} href={link({ tab: t.key === "overview" ? undefined : t.key })} class={t.key === tab ? "active" : ""} data-testid={"tab-" + t.key}>
                {t.label}
                {t.key === "metrics" && run.data?.metrics?.length ? ` (${run.data.metrics.length})` : ""}
              </a>
            ))}
          </nav>
          {tab === "overview" && <Overview run={run} models={models} link={link} />}
          {tab === "metrics" && <MetricsTab run={run} query={query} link={link} />}
          {tab === "artifacts" && <ArtifactsTab run={run} models={models.data ?? []} query={query} link={link} />}
        </>
      )}
    </div>
  );
}

/** The run's header line: status, who ran it from where, when and for how long. */
function RunMeta({ run }: { run: Run }) {
  const i = run.info;
  const user = tagValue(run, "mlflow.user") || i.user_id;
  const source = tagValue(run, "mlflow.source.name");
  const commit = tagValue(run, "mlflow.source.git.commit");
  const parent = tagValue(run, "mlflow.parentRunId");
  const note = tagValue(run, "mlflow.note.content");
  return (
    <>
      <div class="run-meta" data-testid="run-meta">
        <span>
          <span class={statusClass(i.status)} data-testid="run-status">
            {i.status?.toLowerCase()}
          </span>
          {i.lifecycle_stage === "deleted" && <span class="badge bad">deleted</span>}
        </span>
        {user && (
          <span>
            <span class="muted">user</span> {user}
          </span>
        )}
        {source && (
          <span title={tagValue(run, "mlflow.source.type")}>
            <span class="muted">source</span> <span class="mono">{source}</span>
            {commit && <span class="mono muted"> @{commit.slice(0, 8)}</span>}
          </span>
        )}
        <span>
          <span class="muted">started</span> {formatTime(i.start_time)}
        </span>
        <span>
          <span class="muted">duration</span> {formatDuration(runDuration(i))}
        </span>
        {parent && (
          <span>
            <span class="muted">parent</span> <a href={href(["runs", parent])}>{parent.slice(0, 12)}</a>
          </span>
        )}
      </div>
      {note && <p class="wrap" style="white-space:pre-wrap">{note}</p>}
    </>
  );
}

/**
 * The run's logged models (MLflow 3): those whose source is this run, and any linked to
 * it as outputs (run.outputs.model_outputs) from elsewhere, with the step they were logged at.
 */
function useLoggedModels(run: Run | undefined) {
  const runId = run?.info.run_id;
  const expId = run?.info.experiment_id;
  const outputs = run?.outputs?.model_outputs ?? [];
  return useLoad(
    async (signal): Promise<(LoggedModel & { step?: string | number })[]> => {
      if (!runId || expId === undefined) return [];
      const found = await mlflowPost<{ models?: LoggedModel[] }>(
        "logged-models/search",
        { experiment_ids: [expId], filter: `source_run_id = '${runId}'`, max_results: 100 },
        signal,
      );
      const byId = new Map((found.models ?? []).map((m) => [m.info.model_id, { ...m } as LoggedModel & { step?: string | number }]));
      for (const o of outputs) {
        const m = byId.get(o.model_id);
        if (m) m.step = o.step;
        else {
          // Linked from another run: fetch it, or list it by id alone if that fails.
          const got = await mlflowGet<{ model: LoggedModel }>(`logged-models/${encodeURIComponent(o.model_id)}`, undefined, signal).catch(() => undefined);
          byId.set(o.model_id, { ...(got?.model ?? { info: { model_id: o.model_id, experiment_id: expId, name: o.model_id } }), step: o.step });
        }
      }
      return [...byId.values()];
    },
    [runId, expId, outputs.map((o) => o.model_id).join(",")],
  );
}

function Overview({ run, models, link }: { run: Run; models: ReturnType<typeof useLoggedModels>; link: (q: Record<string, string | undefined>) => string }) {
  const [system, setSystem] = useState(false);
  const params = [...(run.data?.params ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  const metrics = [...(run.data?.metrics ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  const allTags = [...(run.data?.tags ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  const tags = allTags.filter((t) => system || !(t.key.startsWith("mlflow.") || headerTags.has(t.key)));
  const hidden = allTags.filter((t) => t.key.startsWith("mlflow.")).length;
  const datasets = run.inputs?.dataset_inputs ?? [];
  const versions = useRegistered(run.info.run_id);
  const versionsOf = (modelId: string) => (versions.data ?? []).filter((v) => v.model_id === modelId || v.source === "models:/" + modelId);
  const modelIds = new Set((models.data ?? []).map((m) => m.info.model_id));
  // Versions registered from the run's own artifacts (runs:/…), not from a logged model.
  const otherVersions = (versions.data ?? []).filter((v) => !(v.model_id && modelIds.has(v.model_id)) && ![...modelIds].some((id) => v.source === "models:/" + id));

  return (
    <div class="cards-2">
      <section>
        <h2>Parameters ({params.length})</h2>
        {params.length === 0 ? (
          <p class="muted">No parameters logged.</p>
        ) : (
          <KeyValueTable testid="params-table" rows={params} valueClass="wrap mono" />
        )}
      </section>
      <section>
        <h2>Metrics ({metrics.length})</h2>
        {metrics.length === 0 ? (
          <p class="muted">No metrics logged.</p>
        ) : (
          <div class="table-wrap">
            <table data-testid="metrics-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th class="num">Latest</th>
                  <th class="num">Step</th>
                  <th>Logged</th>
                </tr>
              </thead>
              <tbody>
                {metrics.map((m) => (
                  <tr key={m.key}>
                    <td class="mono">
                      <a href={link({ tab: "metrics", metric: m.key })} title="Its history">
                        {m.key}
                      </a>
                    </td>
                    <td class="num">{formatNumber(m.value)}</td>
                    <td class="num">{m.step ?? 0}</td>
                    <td>{formatTime(m.timestamp)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section>
        <div class="section-head">
          <h2>Tags ({tags.length})</h2>
          {hidden > 0 && (
            <label class="muted">
              <input type="checkbox" checked={system} data-testid="show-system-tags" onChange={(e) => setSystem(e.currentTarget.checked)} /> Show {hidden} system tags (mlflow.*)
            </label>
          )}
        </div>
        {tags.length === 0 ? (
          <p class="muted">No tags{hidden > 0 && !system ? " besides MLflow's own" : ""}.</p>
        ) : (
          <KeyValueTable testid="tags-table" rows={tags} valueClass="wrap" />
        )}
      </section>
      <section class="wide">
        <h2>Datasets ({datasets.length})</h2>
        {datasets.length === 0 ? (
          <p class="muted">
            No datasets logged. <code>mlflow.log_input(dataset, context="training")</code> records one.
          </p>
        ) : (
          <div class="table-wrap">
            <table data-testid="datasets-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Digest</th>
                  <th>Context</th>
                  <th>Source type</th>
                  <th>Source</th>
                </tr>
              </thead>
              <tbody>
                {datasets.map((d, i) => (
                  <tr key={i}>
                    <td>{d.dataset.name}</td>
                    <td class="mono">{d.dataset.digest}</td>
                    <td>{d.tags?.find((t) => t.key === "mlflow.data.context")?.value}</td>
                    <td>{d.dataset.source_type}</td>
                    <td class="clip mono" title={d.dataset.source}>
                      {sourceText(d.dataset.source)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section class="wide">
        <h2>Logged models ({models.data?.length ?? 0})</h2>
        <ErrorBox error={models.error} />
        {models.loading && !models.data && <Loading what="models" />}
        {models.data && models.data.length === 0 && <p class="muted">No models logged by this run.</p>}
        {models.data && models.data.length > 0 && (
          <div class="table-wrap">
            <table data-testid="models-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Model id</th>
                  <th>Type</th>
                  <th>Status</th>
                  <th class="num">Step</th>
                  <th>Created</th>
                  <th>Registered as</th>
                </tr>
              </thead>
              <tbody>
                {models.data.map((m) => (
                  <tr key={m.info.model_id}>
                    <td>
                      <a href={link({ tab: "artifacts", root: m.info.model_id })} title="Its files">
                        {m.info.name}
                      </a>
                    </td>
                    <td class="mono">{m.info.model_id}</td>
                    <td>{m.info.model_type}</td>
                    <td>{m.info.status?.replace(/^LOGGED_MODEL_/, "").toLowerCase()}</td>
                    <td class="num">{m.step ?? ""}</td>
                    <td>{formatTime(m.info.creation_timestamp_ms)}</td>
                    <td>
                      <VersionLinks versions={versionsOf(m.info.model_id)} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {otherVersions.length > 0 && (
          <p>
            Registered from this run's artifacts: <VersionLinks versions={otherVersions} />
          </p>
        )}
      </section>
    </div>
  );
}

interface ModelVersion {
  name: string;
  version: string;
  source?: string;
  model_id?: string;
  run_id?: string;
}

/** Registry versions made from this run (or its logged models). */
function useRegistered(runId: string) {
  return useLoad(
    (signal) => mlflowGet<{ model_versions?: ModelVersion[] }>("model-versions/search", { filter: `run_id = '${runId}'`, max_results: 100 }, signal).then((a) => a.model_versions ?? []),
    [runId],
  );
}

function VersionLinks({ versions }: { versions: ModelVersion[] }) {
  return (
    <>
      {versions.map((v) => (
        <a key={v.name + "/" + v.version} class="tag" href={href(["models", v.name, "versions", v.version])}>
          {v.name} v{v.version}
        </a>
      ))}
    </>
  );
}

/** A dataset's source is often JSON ({"uri": …}); show its uri or url when it has one. */
function sourceText(source: string | undefined): string {
  if (!source) return "";
  try {
    const s = JSON.parse(source);
    return s.uri ?? s.url ?? s.path ?? source;
  } catch {
    return source;
  }
}

function MetricsTab({ run, query, link }: { run: Run; query: URLSearchParams; link: (q: Record<string, string | undefined>) => string }) {
  const xMode = parseXMode(query.get("x"));
  const only = query.get("metric") ?? "";
  const [find, setFind] = useState("");
  const keys = useMemo(() => [...new Set((run.data?.metrics ?? []).map((m) => m.key))].sort((a, b) => a.localeCompare(b)), [run]);
  const shown = keys.filter((k) => (only ? k === only : k.toLowerCase().includes(find.toLowerCase())));
  const set = (q: Record<string, string | undefined>) => navigate(link({ tab: "metrics", x: xMode === "step" ? undefined : xMode, metric: only || undefined, ...q }), true);

  if (keys.length === 0) return <Empty title="No metrics logged">{<p>Metrics logged with <code>mlflow.log_metric</code> are charted here.</p>}</Empty>;
  return (
    <div>
      <div class="toolbar">
        <XModeSelect value={xMode} onChange={(x) => set({ x: x === "step" ? undefined : x })} />
        {only ? (
          <span>
            Showing <code>{only}</code> <a href={link({ tab: "metrics", x: xMode === "step" ? undefined : xMode })}>show all {keys.length}</a>
          </span>
        ) : (
          keys.length > 6 && <input placeholder="Find a metric" value={find} onInput={(e) => setFind(e.currentTarget.value)} />
        )}
      </div>
      <div class="grid">
        {shown.map((k) => (
          <MetricCard key={k} runId={run.info.run_id} metricKey={k} xMode={xMode} />
        ))}
      </div>
    </div>
  );
}

/** One metric's history, downsampled by the server to about historyPoints points. */
function MetricCard({ runId, metricKey, xMode }: { runId: string; metricKey: string; xMode: XMode }) {
  const res = useLoad((signal) => fetchHistories([runId], metricKey, signal), [runId, metricKey]);
  const series = useMemo(() => (res.data ? [{ label: metricKey, xy: toXY(res.data, xMode) }] : []), [res.data, xMode, metricKey]);
  const n = res.data?.length ?? 0;
  return (
    <div class="card chart-card">
      <h3 title={metricKey}>{metricKey}</h3>
      <ErrorBox error={res.error} />
      {res.loading && !res.data && <Loading />}
      {res.data && (n === 0 ? <p class="muted">No points.</p> : <LineChart series={series} xMode={xMode} testid="metric-chart" syncKey={"run-" + runId} height={200} />)}
      {n >= historyPoints && <div class="muted hint">Long history: {historyPoints} points sampled evenly by the server.</div>}
    </div>
  );
}

function ArtifactsTab({ run, models, query, link }: { run: Run; models: LoggedModel[]; query: URLSearchParams; link: (q: Record<string, string | undefined>) => string }) {
  const runId = run.info.run_id;
  const roots: ArtifactRoot[] = useMemo(
    () => [
      {
        id: "run",
        label: "Run artifacts",
        uri: run.info.artifact_uri ?? "",
        list: (path: string, signal: AbortSignal) => mlflowGet("artifacts/list", { run_id: runId, path: path || undefined }, signal),
      },
      ...models
        .filter((m) => m.info.artifact_uri)
        .map((m) => ({
          id: m.info.model_id,
          label: `Logged model ${m.info.name} (${m.info.model_id.slice(0, 10)}…)`,
          uri: m.info.artifact_uri!,
          list: (path: string, signal: AbortSignal) =>
            mlflowGet(`logged-models/${encodeURIComponent(m.info.model_id)}/artifacts/directories`, { artifact_directory_path: path || undefined }, signal),
        })),
    ],
    [runId, run.info.artifact_uri, models],
  );
  const root = roots.find((r) => r.id === (query.get("root") ?? "run")) ?? roots[0];
  const path = query.get("path") ?? "";
  const go = (q: Record<string, string | undefined>) => navigate(link({ tab: "artifacts", root: root.id === "run" ? undefined : root.id, path: path || undefined, ...q }), true);
  return (
    <div>
      {roots.length > 1 && (
        <div class="toolbar">
          <label>
            Files of
            <select value={root.id} data-testid="artifact-root" onChange={(e) => go({ root: e.currentTarget.value === "run" ? undefined : e.currentTarget.value, path: undefined })}>
              {roots.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.label}
                </option>
              ))}
            </select>
          </label>
          <span class="muted mono">{root.uri}</span>
        </div>
      )}
      <ArtifactBrowser root={root} path={path} onSelect={(p) => go({ path: p })} />
    </div>
  );
}

/** A two-column table of names and values (params, tags). */
function KeyValueTable({ rows, testid, valueClass }: { rows: { key: string; value: string }[]; testid: string; valueClass: string }) {
  return (
    <div class="table-wrap">
      <table data-testid={testid}>
        <thead>
          <tr>
            <th>Name</th>
            <th>Value</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <td class="mono">{r.key}</td>
              <td class={valueClass}>{r.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
