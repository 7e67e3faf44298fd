// An experiment's runs: a page of 100 at a time from runs/search, with MLflow's filter
// grammar, server-side ordering by any column, chosen metric/param/tag columns, and a
// selection to compare. Everything but the selection lives in the URL.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, mlflowGet, mlflowPost } from "../api";
import { href, navigate } from "../router";
import { useLoad } from "../hooks";
import { Empty, ErrorBox, Loading, PageHeader, formatDuration, formatNumber, formatTime } from "../components/common";
import { decodeCols, defaultColumns, defaultOrder, encodeCols, keysOf, nextOrder, parseColumn, parseOrder, rowValues } from "../components/run-columns";
import { runDuration, runName, statusClass, type Experiment, type Run } from "../components/run-types";
import "./tracking.css";

export const runsPageSize = 100;

interface SearchAnswer {
  runs?: Run[];
  next_page_token?: string;
}

/**
 * Tokens of the pages visited, per search (experiment, filter, order), in order: "" is
 * the first page; a list that starts elsewhere began at a page opened by link. Kept
 * across remounts so Previous works after a visit to a run and back. Page tokens cannot
 * be made up, only remembered.
 */
const pageTokens = new Map<string, string[]>();
export function forgetPageTokens() {
  pageTokens.clear();
}

interface Loaded {
  runs?: Run[];
  next?: string;
  error?: Error;
  loading: boolean;
}

/** Loads a page of runs. Unlike useLoad it keeps the last good page on an error, so a bad filter leaves the table as it was. */
function useRuns(experimentId: string, filter: string, order: string, page: string): Loaded & { reload: () => void } {
  const [state, setState] = useState<Loaded>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    mlflowPost<SearchAnswer>(
      "runs/search",
      { experiment_ids: [experimentId], filter, order_by: [order], max_results: runsPageSize, page_token: page || undefined },
      ctl.signal,
    ).then(
      (a) => !ctl.signal.aborted && setState({ runs: a.runs ?? [], next: a.next_page_token || undefined, loading: false }),
      (error) => !ctl.signal.aborted && setState((s) => ({ ...s, error, loading: false })),
    );
    return () => ctl.abort();
  }, [experimentId, filter, order, page, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

const attributeColumns: { id: string; label: string; sortable: boolean }[] = [
  { id: "attributes.run_name", label: "Run name", sortable: true },
  { id: "attributes.status", label: "Status", sortable: true },
  { id: "attributes.start_time", label: "Started", sortable: true },
  { id: "duration", label: "Duration", sortable: false },
  { id: "attributes.user_id", label: "User", sortable: true },
];

export function RunsPage({ experimentId, query }: { experimentId: string; query: URLSearchParams }) {
  const filter = query.get("filter") ?? "";
  const order = query.get("order") || defaultOrder;
  const page = query.get("page") ?? "";
  const chosenCols = decodeCols(query.get("cols"));

  const exp = useLoad((signal) => mlflowGet<{ experiment: Experiment }>("experiments/get", { experiment_id: experimentId }, signal), [experimentId]);
  const res = useRuns(experimentId, filter, order, page);
  const runs = res.runs ?? [];

  // The filter being typed; applied (into the URL) on Enter.
  const [draft, setDraft] = useState(filter);
  useEffect(() => setDraft(filter), [filter]);
  const filterError = res.error instanceof ApiError && res.error.status === 400 ? res.error : undefined;

  const [selected, setSelected] = useState<Map<string, string>>(new Map());
  const [chooser, setChooser] = useState(false);

  const searchKey = [experimentId, filter, order].join("\u0000");
  const stored = pageTokens.get(searchKey) ?? [""];
  // The first page always starts a list of its own.
  const tokens = page === "" && stored[0] !== "" ? [""] : stored;
  const pageIndex = tokens.indexOf(page);

  const urlWith = (change: Record<string, string | undefined>) =>
    href(["experiments", experimentId], {
      filter: filter || undefined,
      order: query.get("order") || undefined,
      cols: query.get("cols") ?? undefined,
      page: page || undefined,
      ...change,
    });

  const applyFilter = (f: string) => navigate(urlWith({ filter: f.trim() || undefined, page: undefined }));
  const sortBy = (id: string) => navigate(urlWith({ order: nextOrder(order, id), page: undefined }));
  const setCols = (ids: string[] | null) => navigate(urlWith({ cols: ids === null ? undefined : encodeCols(ids) }), true);
  const nextPage = () => {
    if (!res.next) return;
    // From a page opened by link, the pages before it are unknown: the list starts there.
    const list = pageIndex < 0 ? [page] : tokens.slice(0, pageIndex + 1);
    pageTokens.set(searchKey, [...list, res.next]);
    navigate(urlWith({ page: res.next }));
  };
  const prevPage = () => navigate(urlWith({ page: pageIndex > 0 ? tokens[pageIndex - 1] || undefined : undefined }));

  const keys = useMemo(() => keysOf(runs), [runs]);
  const cols = chosenCols ?? defaultColumns(runs);
  const values = useMemo(() => runs.map(rowValues), [runs]);
  const sorted = parseOrder(order);

  const exper = exp.data?.experiment;
  // Offsets are known when the list of tokens goes back to the first page.
  const from = pageIndex >= 0 && tokens[0] === "" ? pageIndex * runsPageSize + 1 : undefined;
  return (
    <div data-testid="page-runs">
      <PageHeader
        title={exper ? exper.name : `Experiment ${experimentId}`}
        sub={
          <>
            <a href={href(["experiments"])}>Experiments</a> / id <span class="mono">{experimentId}</span>
            {exper?.artifact_location && (
              <>
                {" "}
                · artifacts <span class="mono">{exper.artifact_location}</span>
              </>
            )}
          </>
        }
      >
        <button onClick={res.reload} title="Load this page of runs again">
          Refresh
        </button>
        <button
          class="primary"
          data-testid="compare-button"
          disabled={selected.size < 2}
          title={selected.size < 2 ? "Select two runs or more to compare them" : `Compare ${selected.size} runs`}
          onClick={() => navigate(href(["compare"], { runs: [...selected.keys()].join(",") }))}
        >
          Compare{selected.size ? ` (${selected.size})` : ""}
        </button>
      </PageHeader>
      <ErrorBox error={exp.error} />

      <div class="toolbar">
        <div class="filter-box">
          <input
            class={"search" + (filterError ? " invalid" : "")}
            data-testid="runs-filter"
            placeholder="metrics.rmse < 0.5 and params.model = 'rf' and tags.team = 'vision'   (Enter to apply)"
            value={draft}
            aria-invalid={!!filterError}
            onInput={(e) => setDraft(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter") applyFilter(e.currentTarget.value);
              if (e.key === "Escape") setDraft(filter);
            }}
          />
          {filterError ? (
            <div class="filter-error" data-testid="filter-error" role="alert">
              {filterError.message}
            </div>
          ) : (
            <div class="hint muted">
              MLflow's filter: <code>metrics.rmse &lt; 0.5</code>, <code>params.model = 'rf'</code>, <code>tags.team LIKE 'vis%'</code>,{" "}
              <code>attributes.status = 'FAILED'</code>, <code>metrics.`val-loss` &lt; 1</code>, joined with <code>and</code>.
            </div>
          )}
        </div>
        {filter && (
          <button onClick={() => applyFilter("")} title="Show every run of the experiment">
            Clear filter
          </button>
        )}
        <div class="popover-anchor">
          <button data-testid="columns-button" onClick={() => setChooser(!chooser)} aria-expanded={chooser}>
            Columns ({cols.length})
          </button>
          {chooser && <ColumnChooser keys={keys} cols={cols} custom={chosenCols !== null} onChange={setCols} onClose={() => setChooser(false)} />}
        </div>
      </div>

      {res.error && !filterError && <ErrorBox error={res.error} />}
      {res.loading && res.runs === undefined && <Loading what="runs" />}
      {res.runs !== undefined && runs.length === 0 && !res.loading && (
        <Empty title={filter ? "No run matches the filter" : page ? "No more runs" : "No runs in this experiment yet"}>
          {filter ? (
            <p>Change the filter, or clear it to see every run.</p>
          ) : (
            <pre>
              <code>{`import mlflow

mlflow.set_experiment(${JSON.stringify(exper?.name ?? "…")})
with mlflow.start_run():
    mlflow.log_param("learning_rate", 0.01)
    mlflow.log_metric("rmse", 0.42)`}</code>
            </pre>
          )}
        </Empty>
      )}

      {runs.length > 0 && (
        <div class="table-wrap runs-wrap">
          <table data-testid="runs-table" class={"runs-table" + (res.loading ? " loading" : "")}>
            <thead>
              <tr>
                <th>
                  <input
                    type="checkbox"
                    data-testid="select-all"
                    title="Select every run on this page"
                    checked={runs.every((r) => selected.has(r.info.run_id))}
                    onChange={(e) => {
                      const next = new Map(selected);
                      for (const r of runs) {
                        if (e.currentTarget.checked) next.set(r.info.run_id, runName(r));
                        else next.delete(r.info.run_id);
                      }
                      setSelected(next);
                    }}
                  />
                </th>
                {attributeColumns.map((c) => (
                  <Header key={c.id} id={c.id} label={c.label} sortable={c.sortable} sorted={sorted} onSort={sortBy} />
                ))}
                {cols.map((id) => {
                  const c = parseColumn(id);
                  if (!c) return null;
                  return <Header key={id} id={id} label={c.key} group={c.entity} sortable sorted={sorted} onSort={sortBy} num={c.entity === "metrics"} />;
                })}
              </tr>
            </thead>
            <tbody>
              {runs.map((r, i) => {
                const id = r.info.run_id;
                const v = values[i];
                return (
                  <tr key={id} class={selected.has(id) ? "selected" : ""}>
                    <td>
                      <input
                        type="checkbox"
                        data-testid={"select-run-" + id}
                        checked={selected.has(id)}
                        onChange={(e) => {
                          const next = new Map(selected);
                          if (e.currentTarget.checked) next.set(id, runName(r));
                          else next.delete(id);
                          setSelected(next);
                        }}
                      />
                    </td>
                    <td>
                      <a href={href(["experiments", experimentId, "runs", id])} data-testid={"run-link-" + id}>
                        {runName(r)}
                      </a>
                    </td>
                    <td>
                      <span class={statusClass(r.info.status)}>{r.info.status?.toLowerCase()}</span>
                    </td>
                    <td>{formatTime(r.info.start_time)}</td>
                    <td class="num">{formatDuration(runDuration(r.info))}</td>
                    <td>{r.info.user_id}</td>
                    {cols.map((c) => {
                      const x = v.get(c);
                      if (c.startsWith("metrics.")) return <td key={c} class="num">{x === undefined ? "" : formatNumber(x)}</td>;
                      return (
                        <td key={c} class="clip" title={x === undefined ? undefined : String(x)}>
                          {x}
                        </td>
                      );
                    })}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      {(runs.length > 0 || page) && (
        <div class="pager">
          <span class="muted" data-testid="run-count">
            {from !== undefined ? `runs ${from}–${from + runs.length - 1}` : `${runs.length} runs on this page`}
            {selected.size > 0 && ` · ${selected.size} selected`}
          </span>
          {selected.size > 0 && (
            <button class="ghost" onClick={() => setSelected(new Map())}>
              Clear selection
            </button>
          )}
          <button data-testid="prev-page" disabled={!page} onClick={prevPage}>
            ← Previous
          </button>
          <button data-testid="next-page" disabled={!res.next || res.loading} onClick={nextPage}>
            Next →
          </button>
        </div>
      )}
    </div>
  );
}

function Header(props: {
  id: string;
  label: string;
  sortable: boolean;
  sorted: { id: string; desc: boolean } | null;
  onSort: (id: string) => void;
  group?: string;
  num?: boolean;
}) {
  const { id, label, sortable, sorted, onSort, group, num } = props;
  const active = sorted?.id === id;
  const cls = [sortable ? "sortable" : "", active ? "sorted" : "", group ? "group-" + group : "", num ? "num" : ""].filter(Boolean).join(" ");
  return (
    <th
      class={cls}
      data-testid={sortable ? "sort-" + id : undefined}
      title={sortable ? `${id} — click to sort` : undefined}
      aria-sort={active ? (sorted!.desc ? "descending" : "ascending") : undefined}
      onClick={sortable ? () => onSort(id) : undefined}
    >
      {label}
      {active && <span class="arrow">{sorted!.desc ? "↓" : "↑"}</span>}
    </th>
  );
}

/** Checkboxes for the metric, param and tag keys seen on this page (and columns already chosen). */
function ColumnChooser(props: {
  keys: { metrics: string[]; params: string[]; tags: string[] };
  cols: string[];
  custom: boolean;
  onChange: (cols: string[] | null) => void;
  onClose: () => void;
}) {
  const { keys, cols, custom, onChange, onClose } = props;
  const [find, setFind] = useState("");
  const chosen = new Set(cols);
  const groups: [string, string, string[]][] = [
    ["Metrics", "metrics", keys.metrics],
    ["Parameters", "params", keys.params],
    ["Tags", "tags", keys.tags],
  ];
  const toggle = (id: string, on: boolean) => onChange(on ? [...cols, id] : cols.filter((c) => c !== id));
  // Close on Escape or a click elsewhere.
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const down = (e: MouseEvent) => {
      const anchor = box.current?.parentElement;
      if (anchor && !anchor.contains(e.target as Node)) onClose();
    };
    const key = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    document.addEventListener("mousedown", down);
    document.addEventListener("keydown", key);
    return () => {
      document.removeEventListener("mousedown", down);
      document.removeEventListener("keydown", key);
    };
  }, [onClose]);
  return (
    <div class="popover" data-testid="columns-chooser" role="dialog" ref={box}>
      <div class="row">
        <input class="grow" placeholder="Find a key" value={find} onInput={(e) => setFind(e.currentTarget.value)} style="flex:1" />
        {custom && (
          <button class="ghost" onClick={() => onChange(null)} title="Back to the first few metrics and parameters">
            Default
          </button>
        )}
        <button class="ghost" onClick={() => onChange([])}>
          None
        </button>
        <button onClick={onClose}>Close</button>
      </div>
      {groups.map(([title, entity, list]) => {
        // Keep columns chosen earlier even when this page has no value for them.
        const all = [...new Set([...list, ...cols.filter((c) => c.startsWith(entity + ".")).map((c) => c.slice(entity.length + 1))])];
        const shown = all.filter((k) => k.toLowerCase().includes(find.toLowerCase()));
        if (all.length === 0) return null;
        return (
          <div key={entity}>
            <h4>
              {title} ({all.length})
            </h4>
            <div class="cols">
              {shown.map((k) => {
                const id = entity + "." + k;
                return (
                  <label key={id}>
                    <input type="checkbox" data-testid={"column-" + id} checked={chosen.has(id)} onChange={(e) => toggle(id, e.currentTarget.checked)} />
                    {k}
                  </label>
                );
              })}
            </div>
          </div>
        );
      })}
    </div>
  );
}
