// Small pieces every page uses: loading, errors, empty states, times and numbers.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

export function Loading({ what }: { what?: string }) {
  return <p class="muted" data-testid="loading">Loading{what ? " " + what : ""}…</p>;
}

/** An error from the server, shown where the data would be. */
export function ErrorBox({ error }: { error: Error | undefined }) {
  if (!error) return null;
  return (
    <div class="error" role="alert" data-testid="error">
      {error.message}
    </div>
  );
}

/** What a new user sees instead of an empty table: what this is and what to do. */
export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty" data-testid="empty">
      <h3>{title}</h3>
      {children}
    </div>
  );
}

/** A page's title row, with actions on the right. */
export function PageHeader({ title, sub, children }: { title: ComponentChildren; sub?: ComponentChildren; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      <div>
        <h1>{title}</h1>
        {sub && <div class="muted">{sub}</div>}
      </div>
      <div class="actions">{children}</div>
    </header>
  );
}

export function formatTime(ms: number | string | undefined | null): string {
  if (ms === undefined || ms === null || ms === "") return "";
  const d = typeof ms === "string" && !/^\d+$/.test(ms) ? new Date(ms) : new Date(Number(ms));
  if (isNaN(d.getTime())) return "";
  return d.toISOString().replace("T", " ").slice(0, 19);
}

export function formatDuration(ms: number): string {
  if (!isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A metric value as a person reads it: 4 significant digits, NaN and ±Inf spelled out. */
export function formatNumber(v: number | string | undefined | null): string {
  if (v === undefined || v === null) return "";
  const n = typeof v === "string" ? Number(v) : v;
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Inf";
  if (n === -Infinity) return "-Inf";
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n);
  const a = Math.abs(n);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return n.toExponential(3);
  return String(Number(n.toPrecision(4)));
}

/**
 * A search box that applies its text 250 ms after typing stops, or at once on Enter. value
 * is the applied search (from the URL); it replaces the text unless the user is typing.
 */
export function SearchBox(props: { value: string; onSearch: (v: string) => void; placeholder: string; testid: string }) {
  const { value, onSearch, placeholder, testid } = props;
  const [text, setText] = useState(value);
  const typing = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (typing.current === undefined) setText(value);
  }, [value]);
  useEffect(() => () => clearTimeout(typing.current), []);
  const apply = (v: string, delay: number) => {
    clearTimeout(typing.current);
    typing.current = undefined;
    if (delay === 0) return onSearch(v);
    typing.current = window.setTimeout(() => {
      typing.current = undefined;
      onSearch(v);
    }, delay);
  };
  return (
    <input
      class="search grow"
      type="search"
      placeholder={placeholder}
      value={text}
      data-testid={testid}
      onInput={(e) => {
        setText(e.currentTarget.value);
        apply(e.currentTarget.value, 250);
      }}
      onKeyDown={(e) => e.key === "Enter" && apply(e.currentTarget.value, 0)}
    />
  );
}
