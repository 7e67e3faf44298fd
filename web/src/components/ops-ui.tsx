// Small pieces shared by the Models, Endpoints and Batch jobs pages: state badges, code
// snippets with a copy button, JSON cells that expand, and numbers in tiles.
import type { ComponentChildren } from "preact";
import { useRef, useState } from "preact/hooks";
import type { Loaded } from "../hooks";
import { abbreviateJSON } from "./ops-data";

const tone: Record<string, string> = {
  approved: "ok",
  pending: "warn",
  rejected: "bad",
  serving: "ok",
  loading: "warn",
  failed: "bad",
  READY: "ok",
  PENDING_REGISTRATION: "warn",
  FAILED_REGISTRATION: "bad",
  QUEUED: "warn",
  RUNNING: "run",
  SUCCEEDED: "ok",
  FAILED: "bad",
  CANCELLED: "",
  PENDING: "",
  DONE: "ok",
};

/** A state as a coloured badge: approvals, target status, job and shard states. */
export function StateBadge({ state, title, testid }: { state: string; title?: string; testid?: string }) {
  if (!state) return null;
  return (
    <span class={"badge state " + (tone[state] ?? "")} title={title} data-testid={testid}>
      {state.toLowerCase().replace(/_/g, " ")}
    </span>
  );
}

/** A snippet to copy: a shell command, Python, a request. */
export function Snippet({ code, testid }: { code: string; testid?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = () => {
    navigator.clipboard?.writeText(code).then(
      () => {
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
      },
      () => undefined,
    );
  };
  return (
    <div class="snippet">
      <pre data-testid={testid}>
        <code>{code}</code>
      </pre>
      {typeof navigator !== "undefined" && navigator.clipboard && (
        <button class="ghost copy" title="Copy to the clipboard" onClick={copy}>
          {copied ? "Copied" : "Copy"}
        </button>
      )}
    </div>
  );
}

/** A JSON value shortened to one line; a click shows all of it, formatted. */
export function JsonCell({ value, max = 60 }: { value: unknown; max?: number }) {
  const [open, setOpen] = useState(false);
  if (value === undefined || value === null) return <span class="muted">—</span>;
  const short = abbreviateJSON(value, max);
  const full = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  const long = short.length < (typeof value === "string" ? value : JSON.stringify(value)).length;
  if (!long) return <code class="json-cell">{short}</code>;
  return (
    <div class="json-cell">
      <button class="link" title={open ? "Show less" : "Show all of it"} aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? "▾" : "▸"}
      </button>
      {open ? <pre class="json-full">{full}</pre> : <code>{short}</code>}
    </div>
  );
}

/** A number with its label, for the summary rows of a page. */
export function Stat({ label, value, sub, testid, title }: { label: string; value: ComponentChildren; sub?: ComponentChildren; testid?: string; title?: string }) {
  return (
    <div class="stat" data-testid={testid} title={title}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {sub !== undefined && <div class="stat-sub muted">{sub}</div>}
    </div>
  );
}

/** A progress bar with its text; fraction from 0 to 1. */
export function ProgressBar({ fraction, label, state }: { fraction: number; label?: ComponentChildren; state?: string }) {
  const pct = Math.max(0, Math.min(100, fraction * 100));
  return (
    <div class="ops-progress">
      <div class={"progress " + (state ? "state-" + state.toLowerCase() : "")} role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)}>
        <div style={{ width: pct + "%" }} />
      </div>
      {label !== undefined && <span class="progress-label">{label}</span>}
    </div>
  );
}

/** key = value tags as small chips; MLflow's own mlflow.* tags are left out. */
export function TagChips({ tags }: { tags?: Record<string, string> }) {
  const shown = Object.entries(tags ?? {}).filter(([k]) => !k.startsWith("mlflow."));
  if (!shown.length) return null;
  return (
    <>
      {shown.slice(0, 5).map(([k, v]) => (
        <span class="chip" key={k} title={`${k} = ${v}`}>
          <b>{k}</b>
          {v ? ": " + v : ""}
        </span>
      ))}
      {shown.length > 5 && <span class="muted">+{shown.length - 5}</span>}
    </>
  );
}

/** The last data a live page loaded for key: a failed refresh keeps the numbers on screen. */
export function useLastGood<T>(res: Loaded<T>, key = ""): T | undefined {
  const last = useRef<{ key: string; data?: T }>({ key });
  if (last.current.key !== key) last.current = { key };
  if (res.data !== undefined) last.current.data = res.data;
  return res.data ?? last.current.data;
}
