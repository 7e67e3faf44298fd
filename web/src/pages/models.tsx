// The model registry: registered models, a model's versions with their approvals and
// aliases, and one version in detail. Everything comes from Plinth's /api/v1, which answers
// the approval status with each version (MLflow's registry API has no such field).
import { useEffect, useState } from "preact/hooks";
import { artifactURL, seg, v1Get, v1Send } from "../api";
import { href, navigate } from "../router";
import { useLoad } from "../hooks";
import { Empty, ErrorBox, Loading, PageHeader, SearchBox, formatTime } from "../components/common";
import { parseModelURI, shortId, modelFilter, type ApprovalEvent, type Endpoint, type Model, type Version } from "../components/ops-data";
import { loadSignature } from "../components/ops-fetch";
import { Snippet, StateBadge, TagChips } from "../components/ops-ui";
import { Pager, usePaging } from "../components/paging";
import "./ops.css";

const pageSize = 50;
const versionPageSize = 200;

interface ModelList {
  models: Model[];
  next_page_token?: string;
}
interface VersionList {
  versions: Version[];
  next_page_token?: string;
}

const modelPath = (name: string) => `models/${seg(name)}`;
const versionPath = (name: string, v: number | string) => `models/${seg(name)}/versions/${seg(String(v))}`;

function registerSnippet(origin: string, model = "my-model"): string {
  return `import mlflow
mlflow.set_tracking_uri("${origin}")

with mlflow.start_run():
    # ... train model ...
    mlflow.sklearn.log_model(model, name="model", registered_model_name="${model}",
                             input_example=X.head(3))

# or register a model logged before:
mlflow.register_model("runs:/<run id>/model", "${model}")`;
}

// ---------------------------------------------------------------- the list

export function ModelsPage({ query }: { query: URLSearchParams }) {
  const q = query.get("q") ?? "";
  const paging = usePaging(q);
  const res = useLoad(
    (signal) => v1Get<ModelList>("models", { filter: modelFilter(q) || undefined, max_results: pageSize, page_token: paging.token || undefined }, signal),
    [q, paging.token],
  );
  const models = res.data?.models ?? [];
  const go = (v: string) => navigate(href(["models"], { q: v }), true);

  return (
    <div data-testid="page-models">
      <PageHeader title="Models" sub="Registered models: versions, aliases and the approvals a version needs before it serves." />
      <div class="ops-toolbar">
        <SearchBox value={q} onSearch={go} placeholder="Search models by name, or a filter such as tags.team = 'risk'" testid="model-search" />
      </div>
      <ErrorBox error={res.error} />
      {res.loading && !res.data && <Loading what="models" />}
      {res.data && models.length === 0 && !q && !paging.token && (
        <Empty title="No registered models yet">
          <p>
            Register a model with the mlflow client: log it with <code>registered_model_name=…</code>, or register a logged model with{" "}
            <code>mlflow.register_model</code>. Each registration adds a version here.
          </p>
          <Snippet code={registerSnippet(location.origin)} testid="register-snippet" />
        </Empty>
      )}
      {res.data && models.length === 0 && q && (
        <Empty title="No model matches">
          <p>
            Nothing matches <code>{q}</code>. <a href={href(["models"])}>Show all models</a>.
          </p>
        </Empty>
      )}
      {models.length > 0 && (
        <>
          <div class="table-wrap">
            <table data-testid="models-table" class={res.loading ? "ops-table stale" : "ops-table"}>
              <thead>
                <tr>
                  <th>Name</th>
                  <th class="num">Latest version</th>
                  <th>Aliases</th>
                  <th>Approval</th>
                  <th>Last updated</th>
                  <th>Description</th>
                </tr>
              </thead>
              <tbody>
                {models.map((m) => (
                  <tr key={m.name} data-testid={"model-" + m.name}>
                    <td>
                      <a href={href(["models", m.name])}>{m.name}</a>
                    </td>
                    <td class="num">
                      {m.latest_version !== null ? <a href={href(["models", m.name, "versions", m.latest_version])}>{m.latest_version}</a> : <span class="muted">none</span>}
                    </td>
                    <td>
                      <AliasBadges aliases={m.aliases} model={m.name} protectedAliases={m.protected_aliases} />
                    </td>
                    <td>
                      {m.requires_approval ? (
                        <span class="badge warn" title={"Protected aliases: " + (m.protected_aliases.join(", ") || "none")}>
                          required
                        </span>
                      ) : (
                        <span class="muted">not required</span>
                      )}
                    </td>
                    <td title={m.updated_at}>{formatTime(m.updated_at)}</td>
                    <td class="clip" title={m.description}>
                      {m.description}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager what="models" from={paging.index * pageSize} count={models.length} prev={paging.prev} next={paging.next(res.data?.next_page_token)} />
        </>
      )}
    </div>
  );
}

function AliasBadges({ aliases, model, protectedAliases }: { aliases: Record<string, number>; model: string; protectedAliases: string[] }) {
  const names = Object.keys(aliases).sort();
  if (!names.length) return <span class="muted">—</span>;
  return (
    <>
      {names.map((a) => (
        <a key={a} class={"badge alias" + (protectedAliases.includes(a) ? " protected" : "")} href={href(["models", model, "versions", aliases[a]])} data-testid={"alias-" + a} title={`@${a} → version ${aliases[a]}`}>
          @{a} → v{aliases[a]}
        </a>
      ))}
    </>
  );
}

// ---------------------------------------------------------------- one model

export function ModelPage({ name, version }: { name: string; version?: string; query?: URLSearchParams }) {
  if (version !== undefined) return <VersionPage name={name} version={version} />;
  return <OneModel name={name} />;
}

type Decision = { version: number; action: "approve" | "reject" };

function OneModel({ name }: { name: string }) {
  const paging = usePaging(name);
  const res = useLoad(async (signal) => {
    const [model, versions] = await Promise.all([
      v1Get<Model>(modelPath(name), undefined, signal),
      v1Get<VersionList>(modelPath(name) + "/versions", { max_results: versionPageSize, page_token: paging.token || undefined }, signal),
    ]);
    return { model, versions };
  }, [name, paging.token]);
  const [deciding, setDeciding] = useState<Decision | null>(null);
  const [flash, setFlash] = useState("");
  const [aliasPreset, setAliasPreset] = useState<{ alias: string; n: number } | null>(null);

  const model = res.data?.model;
  const versions = res.data?.versions.versions ?? [];
  const after = (msg: string) => {
    setFlash(msg);
    setDeciding(null);
    res.reload();
  };

  return (
    <div data-testid="page-model">
      <PageHeader
        title={name}
        sub={
          <span>
            <a href={href(["models"])}>Models</a> / {name}
            {model?.description ? " — " + model.description : ""}
          </span>
        }
      />
      {res.loading && !res.data && <Loading what="the model" />}
      <ErrorBox error={res.error} />
      {flash && (
        <div class="ops-flash" role="status" data-testid="flash">
          {flash}
          <button class="ghost" aria-label="Dismiss" onClick={() => setFlash("")}>
            ×
          </button>
        </div>
      )}
      {model && (
        <>
          <PolicyLine model={model} />
          <section class="ops-section">
            <h2>Versions</h2>
            {versions.length === 0 && !paging.token ? (
              <Empty title="No versions yet">
                <p>Register a version of this model with the mlflow client:</p>
                <Snippet code={registerSnippet(location.origin, name)} />
              </Empty>
            ) : (
              <>
                <div class="table-wrap">
                  <table data-testid="versions-table" class={res.loading ? "ops-table stale" : "ops-table"}>
                    <thead>
                      <tr>
                        <th class="num">Version</th>
                        <th>Aliases</th>
                        <th>Stage</th>
                        <th>Approval</th>
                        <th>Run</th>
                        <th>Logged model</th>
                        <th>Created</th>
                        <th>Tags</th>
                        <th>Decide</th>
                      </tr>
                    </thead>
                    <tbody>
                      {versions.map((v) => (
                        <VersionRow key={v.version} v={v} model={model} deciding={deciding} setDeciding={setDeciding} onDecided={after} />
                      ))}
                    </tbody>
                  </table>
                </div>
                <Pager
                  what="versions"
                  from={paging.index * versionPageSize}
                  count={versions.length}
                  prev={paging.prev}
                  next={paging.next(res.data?.versions.next_page_token)}
                />
              </>
            )}
          </section>
          <section class="ops-section">
            <h2>Aliases</h2>
            <p class="muted">
              An alias names the version that callers get: <code>models:/{name}@champion</code> in <code>mlflow.pyfunc.load_model</code>, endpoints and batch jobs. Moving
              it moves every endpoint that follows it.
            </p>
            <AliasTable model={model} onMove={(alias, n) => setAliasPreset({ alias, n })} onDeleted={(a) => after(`Alias @${a} deleted.`)} />
            <AliasForm model={model} versions={versions} preset={aliasPreset} onDone={(a, n) => after(`Alias @${a} now points at version ${n}.`)} />
          </section>
        </>
      )}
    </div>
  );
}

function PolicyLine({ model }: { model: Model }) {
  if (!model.requires_approval) {
    return (
      <p class="muted" data-testid="approval-policy">
        No approval policy: any version may serve through an alias. To require a decision on record first:{" "}
        <code>
          plinth models policy {model.name} --require-approval --protect champion
        </code>
      </p>
    );
  }
  return (
    <p data-testid="approval-policy">
      <span class="badge warn">approval required</span> A version must be approved before it serves as primary or canary
      {model.protected_aliases.length > 0 && (
        <>
          ; protected aliases, which can point only at approved versions:{" "}
          {model.protected_aliases.map((a) => (
            <code key={a} class="alias-name">
              @{a}{" "}
            </code>
          ))}
        </>
      )}
      .
    </p>
  );
}

function VersionRow(props: {
  v: Version;
  model: Model;
  deciding: Decision | null;
  setDeciding: (d: Decision | null) => void;
  onDecided: (msg: string) => void;
}) {
  const { v, model, deciding, setDeciding, onDecided } = props;
  const open = deciding?.version === v.version ? deciding : null;
  return (
    <>
      <tr data-testid={"version-" + v.version} class={open ? "selected" : ""}>
        <td class="num">
          <a href={href(["models", model.name, "versions", v.version])}>{v.version}</a>
          {v.status && v.status !== "READY" && <StateBadge state={v.status} />}
        </td>
        <td>
          {v.aliases.length === 0 && <span class="muted">—</span>}
          {v.aliases.map((a) => (
            <span key={a} class={"badge alias" + (model.protected_aliases.includes(a) ? " protected" : "")} data-testid={"alias-" + a} title={model.protected_aliases.includes(a) ? "protected alias" : undefined}>
              @{a}
            </span>
          ))}
        </td>
        <td>{v.stage && v.stage !== "None" ? v.stage : <span class="muted">None</span>}</td>
        <td>
          <StateBadge state={v.approval} testid={"approval-" + v.version} />
        </td>
        <td>{v.run_id ? <a href={href(["runs", v.run_id])} class="mono" title={v.run_id}>{shortId(v.run_id)}</a> : <span class="muted">—</span>}</td>
        <td class="mono clip" title={`source: ${v.source}\nstorage: ${v.storage_location}`}>
          {v.model_id || v.source}
        </td>
        <td title={v.created_at}>
          {formatTime(v.created_at)}
          {v.user && <div class="muted small">{v.user}</div>}
        </td>
        <td>
          <TagChips tags={v.tags} />
        </td>
        <td class="actions">
          <button data-testid={"approve-" + v.version} class={open?.action === "approve" ? "primary" : ""} onClick={() => setDeciding(open?.action === "approve" ? null : { version: v.version, action: "approve" })}>
            Approve
          </button>
          <button data-testid={"reject-" + v.version} class={open?.action === "reject" ? "danger active" : "danger"} onClick={() => setDeciding(open?.action === "reject" ? null : { version: v.version, action: "reject" })}>
            Reject
          </button>
        </td>
      </tr>
      {open && (
        <tr class="decision-row">
          <td colSpan={9}>
            <DecisionForm name={model.name} version={v} action={open.action} onCancel={() => setDeciding(null)} onDone={onDecided} />
          </td>
        </tr>
      )}
    </>
  );
}

/** Approve or reject a version, with the reason the record keeps. Errors stay in the form. */
export function DecisionForm(props: { name: string; version: Version; action: "approve" | "reject"; onCancel: () => void; onDone: (msg: string) => void }) {
  const { name, version, action, onCancel, onDone } = props;
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await v1Send("POST", `${versionPath(name, version.version)}/${action}`, { reason });
      onDone(`Version ${version.version} ${action === "approve" ? "approved" : "rejected"}.`);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const verb = action === "approve" ? "Approve" : "Reject";
  return (
    <form class="decision-form" onSubmit={submit} data-testid="decision-form">
      <label>
        <span>
          {verb} version {version.version} of <b>{name}</b> (now {version.approval}). The reason is kept with your name:
        </span>
        <textarea
          data-testid="decision-reason"
          rows={2}
          value={reason}
          placeholder={action === "approve" ? "e.g. backtest AUC 0.93 on 2026-10, reviewed by risk" : "e.g. drift on segment B"}
          onInput={(e) => setReason(e.currentTarget.value)}
          autoFocus
        />
      </label>
      <ErrorBox error={error} />
      <div class="row">
        <button type="submit" data-testid="decision-submit" class={action === "approve" ? "primary" : "danger"} disabled={busy}>
          {busy ? "Sending…" : verb}
        </button>
        <button type="button" class="ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function AliasTable({ model, onMove, onDeleted }: { model: Model; onMove: (alias: string, n: number) => void; onDeleted: (alias: string) => void }) {
  const [confirm, setConfirm] = useState("");
  const [error, setError] = useState<Error | undefined>();
  const names = Object.keys(model.aliases).sort();
  if (!names.length) return <p class="muted">No aliases yet.</p>;
  const del = async (a: string) => {
    setError(undefined);
    try {
      await v1Send("DELETE", `${modelPath(model.name)}/aliases/${seg(a)}`);
      setConfirm("");
      onDeleted(a);
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <>
      <table class="ops-table compact" data-testid="aliases-table">
        <thead>
          <tr>
            <th>Alias</th>
            <th>Version</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {names.map((a) => (
            <tr key={a} data-testid={"alias-row-" + a}>
              <td>
                <code>@{a}</code>
                {model.protected_aliases.includes(a) && (
                  <span class="badge warn protected-mark" title="Can point only at approved versions">
                    protected
                  </span>
                )}
              </td>
              <td>
                <a href={href(["models", model.name, "versions", model.aliases[a]])}>version {model.aliases[a]}</a>
              </td>
              <td class="actions">
                <button class="ghost" onClick={() => onMove(a, model.aliases[a])} data-testid={"move-alias-" + a}>
                  Move…
                </button>
                {confirm === a ? (
                  <>
                    <button class="danger" data-testid="confirm-delete-alias" onClick={() => del(a)}>
                      Delete @{a}
                    </button>
                    <button class="ghost" onClick={() => setConfirm("")}>
                      Keep
                    </button>
                  </>
                ) : (
                  <button class="ghost danger" data-testid={"delete-alias-" + a} onClick={() => setConfirm(a)}>
                    Delete
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorBox error={error} />
    </>
  );
}

/** Set or move an alias: PUT /api/v1/models/NAME/aliases/ALIAS {"version": N}. */
function AliasForm(props: { model: Model; versions: Version[]; preset: { alias: string; n: number } | null; onDone: (alias: string, n: number) => void }) {
  const { model, versions, preset, onDone } = props;
  const [alias, setAlias] = useState("");
  const [version, setVersion] = useState<string>("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>();
  useEffect(() => {
    if (preset) {
      setAlias(preset.alias);
      setVersion(String(preset.n));
    }
  }, [preset]);
  const chosen = version || String(versions[0]?.version ?? "");
  const a = alias.trim().replace(/^@/, "");
  const isProtected = model.requires_approval && model.protected_aliases.includes(a);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!a) {
      setError(new Error("Name the alias to set, e.g. champion."));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await v1Send("PUT", `${modelPath(model.name)}/aliases/${seg(a)}`, { version: Number(chosen) });
      setAlias("");
      setVersion("");
      onDone(a, Number(chosen));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="alias-form" onSubmit={submit} data-testid="alias-form">
      <h3>Set or move an alias</h3>
      <div class="row">
        <label>
          Alias{" "}
          <input data-testid="alias-name" list="alias-names" value={alias} placeholder="champion" onInput={(e) => setAlias(e.currentTarget.value)} />
        </label>
        <datalist id="alias-names">
          {Object.keys(model.aliases).map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
        <label>
          → version{" "}
          <select data-testid="alias-version" value={chosen} onChange={(e) => setVersion(e.currentTarget.value)}>
            {versions.map((v) => (
              <option key={v.version} value={String(v.version)}>
                {v.version} ({v.approval}
                {v.aliases.length ? ", @" + v.aliases.join(" @") : ""})
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary" data-testid="alias-submit" disabled={busy || versions.length === 0}>
          {busy ? "Saving…" : model.aliases[a] !== undefined ? "Move alias" : "Set alias"}
        </button>
      </div>
      {isProtected && <p class="muted small">@{a} is protected: it can point only at an approved version.</p>}
      <ErrorBox error={error} />
    </form>
  );
}

// ---------------------------------------------------------------- one version

function VersionPage({ name, version }: { name: string; version: string }) {
  const res = useLoad(async (signal) => {
    const [v, approvals, model] = await Promise.all([
      v1Get<Version>(versionPath(name, version), undefined, signal),
      v1Get<{ approvals: ApprovalEvent[] }>(versionPath(name, version) + "/approvals", undefined, signal),
      v1Get<Model>(modelPath(name), undefined, signal),
    ]);
    return { v, approvals: approvals.approvals ?? [], model };
  }, [name, version]);
  const [deciding, setDeciding] = useState<"approve" | "reject" | null>(null);
  const [flash, setFlash] = useState("");
  const v = res.data?.v;
  const model = res.data?.model;

  return (
    <div data-testid="page-version">
      <PageHeader
        title={
          <>
            {name} <span class="muted">version {version}</span> {v && <StateBadge state={v.approval} testid="version-approval" />}
          </>
        }
        sub={
          <span>
            <a href={href(["models"])}>Models</a> / <a href={href(["models", name])}>{name}</a> / version {version}
          </span>
        }
      >
        {v && (
          <>
            <button data-testid={"approve-" + v.version} class={deciding === "approve" ? "primary" : ""} onClick={() => setDeciding(deciding === "approve" ? null : "approve")}>
              Approve
            </button>
            <button data-testid={"reject-" + v.version} class="danger" onClick={() => setDeciding(deciding === "reject" ? null : "reject")}>
              Reject
            </button>
          </>
        )}
      </PageHeader>
      {res.loading && !res.data && <Loading what="the version" />}
      <ErrorBox error={res.error} />
      {flash && (
        <div class="ops-flash" role="status" data-testid="flash">
          {flash}
        </div>
      )}
      {v && deciding && (
        <DecisionForm
          name={name}
          version={v}
          action={deciding}
          onCancel={() => setDeciding(null)}
          onDone={(msg) => {
            setFlash(msg);
            setDeciding(null);
            res.reload();
          }}
        />
      )}
      {v && model && (
        <>
          <div class="ops-cards">
            <section class="card">
              <h3>Version</h3>
              <dl class="kv" data-testid="version-fields">
                <dt>Approval</dt>
                <dd>
                  <StateBadge state={v.approval} />
                  {model.requires_approval ? <span class="muted"> (required to serve)</span> : <span class="muted"> (not required by this model's policy)</span>}
                </dd>
                <dt>Aliases</dt>
                <dd>
                  {v.aliases.length === 0 && <span class="muted">none</span>}
                  {v.aliases.map((a) => (
                    <span key={a} class={"badge alias" + (model.protected_aliases.includes(a) ? " protected" : "")} data-testid={"alias-" + a}>
                      @{a}
                    </span>
                  ))}
                </dd>
                <dt>Stage</dt>
                <dd>{v.stage || "None"}</dd>
                <dt>Status</dt>
                <dd>{v.status}</dd>
                <dt>Run</dt>
                <dd>{v.run_id ? <a href={href(["runs", v.run_id])} class="mono">{v.run_id}</a> : <span class="muted">none</span>}</dd>
                <dt>Logged model</dt>
                <dd class="mono">{v.model_id || <span class="muted">none</span>}</dd>
                <dt>Source</dt>
                <dd class="mono wrap">{v.source}</dd>
                <dt>Storage</dt>
                <dd class="mono wrap">{v.storage_location}</dd>
                <dt>Registered</dt>
                <dd>
                  {formatTime(v.created_at)} {v.user && <span class="muted">by {v.user}</span>}
                </dd>
                <dt>Updated</dt>
                <dd>{formatTime(v.updated_at)}</dd>
                {v.description && (
                  <>
                    <dt>Description</dt>
                    <dd class="wrap">{v.description}</dd>
                  </>
                )}
              </dl>
            </section>
            <section class="card">
              <h3>Use it</h3>
              <Snippet
                code={`import mlflow
model = mlflow.pyfunc.load_model("models:/${name}/${v.version}")${v.aliases[0] ? `\n# or, following the alias:\nmodel = mlflow.pyfunc.load_model("models:/${name}@${v.aliases[0]}")` : ""}`}
              />
              <Snippet
                code={`plinth endpoints create ${endpointNameHint(name)} --model-uri models:/${name}${v.aliases[0] ? "@" + v.aliases[0] : "/" + v.version}
plinth batch run --model models:/${name}/${v.version} --input IN --output OUT`}
              />
              <ServedBy name={name} version={v} />
            </section>
          </div>

          <section class="ops-section">
            <h2>Approval history</h2>
            {res.data!.approvals.length === 0 ? (
              <p class="muted">
                No decision yet. Approve or reject above, or <code>plinth models approve {name} {v.version} --reason "…"</code>.
              </p>
            ) : (
              <table class="ops-table" data-testid="approvals-table">
                <thead>
                  <tr>
                    <th>Time</th>
                    <th>Change</th>
                    <th>By</th>
                    <th>Reason</th>
                  </tr>
                </thead>
                <tbody>
                  {res.data!.approvals.map((e, i) => (
                    <tr key={i}>
                      <td>{formatTime(e.time)}</td>
                      <td>
                        <StateBadge state={e.from} /> → <StateBadge state={e.to} />
                      </td>
                      <td>{e.actor}</td>
                      <td class="wrap">{e.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>

          <section class="ops-section">
            <h2>Tags</h2>
            {Object.keys(v.tags).length === 0 ? (
              <p class="muted">No tags.</p>
            ) : (
              <table class="ops-table compact" data-testid="version-tags">
                <tbody>
                  {Object.entries(v.tags)
                    .sort(([a], [b]) => a.localeCompare(b))
                    .map(([k, val]) => (
                      <tr key={k}>
                        <td class="mono">{k}</td>
                        <td class="wrap">{val}</td>
                      </tr>
                    ))}
                </tbody>
              </table>
            )}
          </section>

          <SignatureSection storage={v.storage_location} />
        </>
      )}
    </div>
  );
}

function endpointNameHint(model: string): string {
  const s = model
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return (s || "my-model").slice(0, 50);
}

/** The endpoints of this server whose served (or configured) target is this version. */
function ServedBy({ name, version }: { name: string; version: Version }) {
  const res = useLoad((signal) => v1Get<{ endpoints: Endpoint[] }>("endpoints", undefined, signal), [name]);
  const eps = (res.data?.endpoints ?? []).flatMap((e) => {
    const roles: string[] = [];
    for (const t of e.state?.targets ?? []) if (t.model === name && t.version === String(version.version)) roles.push(t.role);
    if (!e.state) {
      for (const [role, uri] of [["primary", e.model_uri], [e.secondary?.mode ?? "", e.secondary?.model_uri ?? ""]]) {
        const r = parseModelURI(uri);
        if (r && r.name === name && (r.version === String(version.version) || (r.alias && version.aliases.includes(r.alias)))) roles.push(role);
      }
    }
    return roles.length ? [{ name: e.name, roles }] : [];
  });
  if (!eps.length) return null;
  return (
    <p data-testid="served-by">
      Served by:{" "}
      {eps.map((e) => (
        <span key={e.name}>
          <a href={href(["endpoints", e.name])}>{e.name}</a> <span class="muted">({e.roles.join(", ")})</span>{" "}
        </span>
      ))}
    </p>
  );
}

function SignatureSection({ storage }: { storage: string }) {
  const res = useLoad((signal) => loadSignature(storage, signal), [storage]);
  return (
    <section class="ops-section" data-testid="signature">
      <h2>Signature</h2>
      {res.loading && <Loading what="the signature" />}
      {res.error && <p class="muted">The signature could not be read: {res.error.message}</p>}
      {!res.loading && !res.error && !res.data && (
        <p class="muted">
          {artifactURL(storage, "") ? "This version has no signature." : "The model's files are not served by this server's artifact proxy, so its signature is not shown."} Log one with{" "}
          <code>signature=infer_signature(X, model.predict(X))</code> or <code>input_example=…</code>; endpoints check inputs against it.
        </p>
      )}
      {res.data && (
        <div class="ops-cards">
          {res.data.inputs && <SpecTable title="Inputs" cols={res.data.inputs} testid="signature-inputs" />}
          {res.data.outputs && <SpecTable title="Outputs" cols={res.data.outputs} testid="signature-outputs" />}
          {res.data.params && res.data.params.length > 0 && (
            <div>
              <h3>Parameters</h3>
              <table class="ops-table compact">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Type</th>
                    <th>Default</th>
                  </tr>
                </thead>
                <tbody>
                  {res.data.params.map((p) => (
                    <tr key={p.name}>
                      <td class="mono">{p.name}</td>
                      <td>{p.type}</td>
                      <td class="mono">{JSON.stringify(p.default)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </section>
  );
}

function SpecTable({ title, cols, testid }: { title: string; cols: { name?: string; type: string; required?: boolean; dtype?: string; shape?: number[] }[]; testid: string }) {
  return (
    <div>
      <h3>
        {title} <span class="muted">({cols.length})</span>
      </h3>
      <table class="ops-table compact" data-testid={testid}>
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th>Required</th>
          </tr>
        </thead>
        <tbody>
          {cols.map((c, i) => (
            <tr key={i}>
              <td class="mono">{c.name ?? <span class="muted">(unnamed)</span>}</td>
              <td class="mono">{c.type === "tensor" ? `tensor ${c.dtype ?? ""} ${JSON.stringify(c.shape ?? [])}` : c.type}</td>
              <td>{c.required === undefined ? <span class="muted">—</span> : c.required ? "yes" : "optional"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
