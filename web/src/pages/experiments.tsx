// Experiments: a searchable, paged list. A new server shows how to log a first run.
import { mlflowGet, mlflowPost } from "../api";
import { href, navigate } from "../router";
import { useLoad } from "../hooks";
import { Empty, ErrorBox, Loading, PageHeader, SearchBox, formatTime } from "../components/common";
import { nameFilter } from "../components/run-columns";
import { Pager, usePaging } from "../components/paging";
import type { Experiment } from "../components/run-types";
import "./tracking.css";

const pageSize = 100;

interface SearchAnswer {
  experiments?: Experiment[];
  next_page_token?: string;
}

export function ExperimentsPage({ query }: { query: URLSearchParams }) {
  const q = query.get("q") ?? "";
  const deleted = query.get("deleted") === "1";

  const paging = usePaging(q + "\u0000" + deleted);
  const token = paging.token;

  const res = useLoad(
    (signal) =>
      mlflowGet<SearchAnswer>(
        "experiments/search",
        {
          filter: nameFilter(q) || undefined,
          max_results: pageSize,
          page_token: token || undefined,
          order_by: ["last_update_time DESC"],
          view_type: deleted ? "ALL" : undefined,
        },
        signal,
      ),
    [q, deleted, token],
  );
  const exps = res.data?.experiments ?? [];
  const go = (params: { q?: string; deleted?: boolean }) =>
    navigate(href(["experiments"], { q: params.q ?? q, deleted: (params.deleted ?? deleted) ? "1" : undefined }), true);


  const onlyDefault = !q && !token && res.data !== undefined && exps.length <= 1 && (exps.length === 0 || exps[0].experiment_id === "0");
  return (
    <div data-testid="page-experiments">
      <PageHeader title="Experiments" sub="Each experiment groups the runs of one piece of work." />
      <div class="toolbar">
        <SearchBox value={q} onSearch={(v) => go({ q: v })} placeholder="Search experiments by name" testid="experiment-search" />
        <label title="Also list experiments that were deleted (they can be restored with the mlflow client)">
          <input type="checkbox" checked={deleted} data-testid="show-deleted" onChange={(e) => go({ deleted: e.currentTarget.checked })} />
          Show deleted
        </label>
      </div>
      <ErrorBox error={res.error} />
      {res.loading && !res.data && <Loading what="experiments" />}
      {onlyDefault && <GettingStarted defaultOnly={exps.length === 1} />}
      {res.data && exps.length === 0 && q && (
        <Empty title="No experiment matches">
          <p>
            No experiment name contains <code>{q}</code>. <a href={href(["experiments"])}>Show all experiments</a>.
          </p>
        </Empty>
      )}
      {exps.length > 0 && (
        <>
          <div class="table-wrap">
            <table data-testid="experiments-table" class={res.loading ? "loading" : ""}>
              <thead>
                <tr>
                  <th>Name</th>
                  <th>ID</th>
                  <th>Created</th>
                  <th>Last update</th>
                  <th>Tags</th>
                </tr>
              </thead>
              <tbody>
                {exps.map((e) => (
                  <tr key={e.experiment_id} data-testid={"experiment-" + e.experiment_id}>
                    <td>
                      <a href={href(["experiments", e.experiment_id])}>{e.name}</a>
                      {e.lifecycle_stage === "deleted" && <span class="badge bad" style="margin-left:6px">deleted</span>}
                    </td>
                    <td class="mono">{e.experiment_id}</td>
                    <td>{formatTime(e.creation_time)}</td>
                    <td>{formatTime(e.last_update_time)}</td>
                    <td>
                      <Tags tags={e.tags} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager what="experiments" from={paging.index * pageSize} count={exps.length} prev={paging.prev} next={paging.next(res.data?.next_page_token)} />
        </>
      )}
    </div>
  );
}

/** Experiment tags people set (MLflow's own mlflow.* tags are left out). */
function Tags({ tags }: { tags?: { key: string; value: string }[] }) {
  const shown = (tags ?? []).filter((t) => !t.key.startsWith("mlflow."));
  return (
    <>
      {shown.slice(0, 6).map((t) => (
        <span class="tag" key={t.key} title={`${t.key} = ${t.value}`}>
          <b>{t.key}</b>
          {t.value ? ": " + t.value : ""}
        </span>
      ))}
      {shown.length > 6 && <span class="muted">+{shown.length - 6}</span>}
    </>
  );
}

/**
 * What a new user needs to log a first run against this server. Shown when there is no
 * experiment, or only the Default one and it has no run yet.
 */
function GettingStarted({ defaultOnly }: { defaultOnly: boolean }) {
  // With only the Default experiment, ask whether it holds a run before calling the server empty.
  const runs = useLoad(
    (signal) =>
      defaultOnly
        ? mlflowPost<{ runs?: unknown[] }>("runs/search", { experiment_ids: ["0"], max_results: 1, run_view_type: "ALL" }, signal)
        : Promise.resolve({ runs: [] }),
    [defaultOnly],
  );
  if (runs.loading || (runs.data?.runs?.length ?? 0) > 0 || runs.error) return null;
  const origin = location.origin;
  return (
    <Empty title="No runs logged yet">
      <p>Point the mlflow client at this server and log a run; it shows up here.</p>
      <pre data-testid="getting-started">
        <code>
          {`pip install mlflow
export MLFLOW_TRACKING_URI=${origin}`}
        </code>
      </pre>
      <pre>
        <code>
          {`import mlflow

mlflow.set_experiment("my-first-experiment")
with mlflow.start_run():
    mlflow.log_param("learning_rate", 0.01)
    mlflow.log_metric("rmse", 0.42)`}
        </code>
      </pre>
      <p class="muted">
        Existing code that calls <code>mlflow.autolog()</code> or <code>mlflow.&lt;flavor&gt;.log_model</code> works unchanged.
      </p>
    </Empty>
  );
}
