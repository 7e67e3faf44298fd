// Runs side by side: parameters (rows that differ marked), latest metrics, one metric's
// curves overlaid (one request for every run's history), and a scatter of a parameter or
// metric against a metric, one point per run. Choices live in the URL.
import { useMemo } from "preact/hooks";
import { mlflowGet } from "../api";
import { href, navigate } from "../router";
import { useLoad } from "../hooks";
import { Empty, ErrorBox, Loading, PageHeader, formatDuration, formatNumber, formatTime } from "../components/common";
import { LineChart, ScatterChart, XModeSelect, type LineSeries, type ScatterPoint } from "../components/chart";
import { groupByRun, parseXMode, scatterAxis, seriesColor, toXY } from "../components/chart-data";
import { fetchHistories, historyPoints, latestMetrics, runDuration, runName, statusClass, type Run } from "../components/run-types";
import "./tracking.css";

/** Run ids from ?runs=a,b,c, without blanks or repeats. */
export function parseRunIds(s: string | null): string[] {
  return [...new Set((s ?? "").split(",").map((x) => x.trim()).filter(Boolean))];
}

/** Rows of values per run; a row differs when its values are not all the same (a missing value counts). */
export function differs(values: (string | number | undefined)[]): boolean {
  return values.some((v) => v !== values[0] && !(typeof v === "number" && typeof values[0] === "number" && Number.isNaN(v) && Number.isNaN(values[0])));
}

/** Names that tell runs apart in legends: a repeated name gets the start of its id. */
function labels(runs: Run[]): string[] {
  const names = runs.map(runName);
  const count = new Map<string, number>();
  for (const n of names) count.set(n, (count.get(n) ?? 0) + 1);
  return names.map((n, i) => (count.get(n)! > 1 ? `${n} (${runs[i].info.run_id.slice(0, 7)})` : n));
}

export function ComparePage({ query }: { query: URLSearchParams }) {
  const ids = parseRunIds(query.get("runs"));
  const key = ids.join(",");
  const res = useLoad(
    (signal) => Promise.allSettled(ids.map((id) => mlflowGet<{ run: Run }>("runs/get", { run_id: id }, signal).then((a) => a.run))),
    [key],
  );
  const runs = (res.data ?? []).flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = (res.data ?? []).flatMap((r, i) => (r.status === "rejected" ? [`${ids[i]}: ${(r.reason as Error).message}`] : []));

  const set = (change: Record<string, string | undefined>) => {
    const q: Record<string, string | undefined> = {};
    query.forEach((v, k) => (q[k] = v));
    navigate(href(["compare"], { ...q, ...change }), true);
  };

  if (ids.length === 0) {
    return (
      <div data-testid="page-compare">
        <PageHeader title="Compare runs" />
        <Empty title="No runs chosen">
          <p>
            Tick two runs or more in an experiment's run list, then press Compare. <a href={href(["experiments"])}>Experiments</a>
          </p>
        </Empty>
      </div>
    );
  }
  return (
    <div data-testid="page-compare">
      <PageHeader title={`Compare ${ids.length} runs`} sub={<a href={href(["experiments"])}>Experiments</a>} />
      {failed.length > 0 && <ErrorBox error={new Error("Some runs could not be read:\n" + failed.join("\n"))} />}
      {res.loading && !res.data && <Loading what="runs" />}
      {runs.length > 0 && <Compared runs={runs} query={query} set={set} />}
    </div>
  );
}

function Compared({ runs, query, set }: { runs: Run[]; query: URLSearchParams; set: (q: Record<string, string | undefined>) => void }) {
  const names = useMemo(() => labels(runs), [runs]);
  const onlyDiff = query.get("diff") === "1";
  const params = useMemo(() => runs.map((r) => new Map((r.data?.params ?? []).map((p) => [p.key, p.value]))), [runs]);
  const metrics = useMemo(() => runs.map(latestMetrics), [runs]);
  const paramKeys = useMemo(() => [...new Set(params.flatMap((m) => [...m.keys()]))].sort((a, b) => a.localeCompare(b)), [params]);
  const metricKeys = useMemo(() => [...new Set(metrics.flatMap((m) => [...m.keys()]))].sort((a, b) => a.localeCompare(b)), [metrics]);

  const head = (
    <thead>
      <tr>
        <th></th>
        {runs.map((r, i) => (
          <th key={r.info.run_id} class="run-col">
            <span class="swatch" style={{ background: seriesColor(i) }} />
            <a href={href(["experiments", r.info.experiment_id, "runs", r.info.run_id])}>{names[i]}</a>
          </th>
        ))}
      </tr>
    </thead>
  );
  const table = (testid: string, keys: string[], value: (i: number, k: string) => string | number | undefined, show: (v: string | number | undefined) => string) => (
    <div class="table-wrap">
      <table class="compare-table" data-testid={testid} style={{ minWidth: `${220 + runs.length * 120}px` }}>
        {head}
        <tbody>
          {keys.map((k) => {
            const vals = runs.map((_, i) => value(i, k));
            const diff = differs(vals);
            if (onlyDiff && !diff) return null;
            return (
              <tr key={k} class={diff ? "diff" : ""}>
                <td class="mono">{k}</td>
                {vals.map((v, i) => (
                  <td key={i} class={typeof v === "number" ? "num" : "clip"} title={v === undefined ? "not logged" : String(v)}>
                    {show(v)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );

  return (
    <div>
      <div class="table-wrap">
        <table class="compare-table" data-testid="compare-runs" style={{ minWidth: `${220 + runs.length * 120}px` }}>
          {head}
          <tbody>
            <tr>
              <td class="muted">status</td>
              {runs.map((r) => (
                <td key={r.info.run_id}>
                  <span class={statusClass(r.info.status)}>{r.info.status?.toLowerCase()}</span>
                </td>
              ))}
            </tr>
            <tr>
              <td class="muted">started</td>
              {runs.map((r) => (
                <td key={r.info.run_id}>{formatTime(r.info.start_time)}</td>
              ))}
            </tr>
            <tr>
              <td class="muted">duration</td>
              {runs.map((r) => (
                <td key={r.info.run_id}>{formatDuration(runDuration(r.info))}</td>
              ))}
            </tr>
            <tr>
              <td class="muted">experiment</td>
              {runs.map((r) => (
                <td key={r.info.run_id}>
                  <a href={href(["experiments", r.info.experiment_id])}>{r.info.experiment_id}</a>
                </td>
              ))}
            </tr>
          </tbody>
        </table>
      </div>

      <div class="section-head">
        <h2>Parameters ({paramKeys.length})</h2>
        <label>
          <input type="checkbox" checked={onlyDiff} data-testid="only-diff" onChange={(e) => set({ diff: e.currentTarget.checked ? "1" : undefined })} /> Only differences
        </label>
      </div>
      {paramKeys.length === 0 ? <p class="muted">No parameters logged.</p> : table("compare-params", paramKeys, (i, k) => params[i].get(k), (v) => (v === undefined ? "—" : String(v)))}

      <h2>Metrics ({metricKeys.length})</h2>
      {metricKeys.length === 0 ? (
        <p class="muted">No metrics logged.</p>
      ) : (
        table("compare-metrics", metricKeys, (i, k) => metrics[i].get(k), (v) => (v === undefined ? "—" : formatNumber(v)))
      )}

      {metricKeys.length > 0 && <CurveSection runs={runs} names={names} metricKeys={metricKeys} query={query} set={set} />}
      {metricKeys.length > 0 && <ScatterSection runs={runs} names={names} params={params} metrics={metrics} paramKeys={paramKeys} metricKeys={metricKeys} query={query} set={set} />}
    </div>
  );
}

/** The metric charted first: one with a history (latest step above 0), else the first. */
function defaultCurve(runs: Run[], keys: string[]): string {
  const stepped = new Set(runs.flatMap((r) => (r.data?.metrics ?? []).filter((m) => Number(m.step ?? 0) > 0).map((m) => m.key)));
  return keys.find((k) => stepped.has(k)) ?? keys[0];
}

function CurveSection(props: { runs: Run[]; names: string[]; metricKeys: string[]; query: URLSearchParams; set: (q: Record<string, string | undefined>) => void }) {
  const { runs, names, metricKeys, query, set } = props;
  const wanted = query.get("metric");
  const metric = wanted && metricKeys.includes(wanted) ? wanted : defaultCurve(runs, metricKeys);
  const xMode = parseXMode(query.get("x"));
  const ids = runs.map((r) => r.info.run_id);
  // One request for all runs: the server samples each run's history down to historyPoints.
  const hist = useLoad((signal) => fetchHistories(ids, metric, signal), [ids.join(","), metric]);
  const series: LineSeries[] = useMemo(() => {
    if (!hist.data) return [];
    const byRun = groupByRun(hist.data);
    return runs.flatMap((r, i) => {
      const pts = byRun.get(r.info.run_id);
      return pts && pts.length ? [{ label: names[i], color: seriesColor(i), xy: toXY(pts, xMode) }] : [];
    });
  }, [hist.data, xMode, runs, names]);
  const missing = hist.data ? runs.length - series.length : 0;
  return (
    <section>
      <h2>Metric curves</h2>
      <div class="toolbar">
        <label>
          metric
          <select value={metric} data-testid="compare-metric" onChange={(e) => set({ metric: e.currentTarget.value })}>
            {metricKeys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <XModeSelect value={xMode} onChange={(x) => set({ x: x === "step" ? undefined : x })} />
        {missing > 0 && <span class="muted">{missing} of the runs did not log {metric}.</span>}
      </div>
      <ErrorBox error={hist.error} />
      {hist.loading && !hist.data && <Loading what="histories" />}
      {hist.data && <LineChart series={series} xMode={xMode} testid="compare-chart" height={320} />}
      {series.some((s) => s.xy.x.length >= historyPoints) && <div class="muted hint">Long histories are sampled by the server to {historyPoints} points per run.</div>}
    </section>
  );
}

function ScatterSection(props: {
  runs: Run[];
  names: string[];
  params: Map<string, string>[];
  metrics: Map<string, number>[];
  paramKeys: string[];
  metricKeys: string[];
  query: URLSearchParams;
  set: (q: Record<string, string | undefined>) => void;
}) {
  const { runs, names, params, metrics, paramKeys, metricKeys, query, set } = props;
  // Axis choices are "params.<key>" or "metrics.<key>".
  const choices = [...paramKeys.map((k) => "params." + k), ...metricKeys.map((k) => "metrics." + k)];
  const pick = (want: string | null, fallback: string) => (want && choices.includes(want) ? want : fallback);
  const x = pick(query.get("sx"), choices[0]);
  const y = pick(query.get("sy"), "metrics." + metricKeys[0]);
  const value = (i: number, c: string) => (c.startsWith("params.") ? params[i].get(c.slice(7)) : metrics[i].get(c.slice(8)));

  const { points, categories } = useMemo(() => {
    const xa = scatterAxis(runs.map((_, i) => value(i, x)));
    const pts: ScatterPoint[] = [];
    runs.forEach((_, i) => {
      const xv = xa.values[i];
      const yv = Number(value(i, y));
      if (xv !== null && Number.isFinite(yv)) pts.push({ x: xv, y: yv, label: names[i] });
    });
    return { points: pts, categories: xa.categories };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [runs, x, y, names]);

  const select = (testid: string, v: string, onChange: (v: string) => void) => (
    <select value={v} data-testid={testid} onChange={(e) => onChange(e.currentTarget.value)}>
      {choices.map((c) => (
        <option key={c} value={c}>
          {c}
        </option>
      ))}
    </select>
  );
  return (
    <section>
      <h2>Scatter</h2>
      <div class="toolbar">
        <label>x {select("scatter-x", x, (v) => set({ sx: v }))}</label>
        <label>y {select("scatter-y", y, (v) => set({ sy: v }))}</label>
        <span class="muted">
          one point per run{points.length < runs.length ? `; ${runs.length - points.length} without both values` : ""}
        </span>
      </div>
      <ScatterChart points={points} categories={categories} xLabel={x} yLabel={y} testid="scatter-chart" />
    </section>
  );
}
