// The runs table's columns and ordering, as pure functions of the URL state. A column is
// named as order_by names it, without backticks: "metrics.rmse", "params.lr",
// "tags.team", "attributes.start_time". That name is also its test id (sort-<name>).
import type { Run } from "./run-types";
import { metricValue } from "./chart-data";

export type Entity = "metrics" | "params" | "tags" | "attributes";

export interface ColumnId {
  entity: Entity;
  key: string;
}

export function parseColumn(id: string): ColumnId | null {
  const dot = id.indexOf(".");
  if (dot < 0) return null;
  const entity = id.slice(0, dot) as Entity;
  const key = id.slice(dot + 1);
  if (!key || !["metrics", "params", "tags", "attributes"].includes(entity)) return null;
  return { entity, key };
}

/**
 * The order_by clause for a column: keys of metrics, params and tags are backtick-quoted
 * so that names with dashes, spaces or dots work ("metrics.`val-loss` DESC").
 */
export function orderByClause(id: string, desc: boolean): string {
  const c = parseColumn(id);
  if (!c) return "";
  const name = c.entity === "attributes" ? `attributes.${c.key}` : `${c.entity}.\`${c.key}\``;
  return name + (desc ? " DESC" : " ASC");
}

/** Reads an order_by clause back into its column and direction (ASC by default, as MLflow). */
export function parseOrder(order: string | null | undefined): { id: string; desc: boolean } | null {
  if (!order) return null;
  const m = /^\s*(metrics|params|tags|attributes|metric|param|tag|attribute|attr)\.(?:`([^`]+)`|"([^"]+)"|(\S+))\s*(asc|desc)?\s*$/i.exec(order);
  if (!m) return null;
  const entity = ({ metric: "metrics", param: "params", tag: "tags", attribute: "attributes", attr: "attributes" } as Record<string, string>)[m[1].toLowerCase()] ?? m[1].toLowerCase();
  return { id: `${entity}.${m[2] ?? m[3] ?? m[4]}`, desc: (m[5] ?? "").toUpperCase() === "DESC" };
}

/** The runs' default order, as MLflow's: newest first. */
export const defaultOrder = "attributes.start_time DESC";

/** Clicking a header: a new column sorts descending, the sorted one flips. */
export function nextOrder(current: string | null | undefined, id: string): string {
  const cur = parseOrder(current || defaultOrder);
  if (cur && cur.id === id) return orderByClause(id, !cur.desc);
  return orderByClause(id, true);
}

// The cols URL parameter: column ids joined by commas, commas inside keys escaped.
export function encodeCols(ids: string[]): string {
  return ids.map((id) => id.replace(/%/g, "%25").replace(/,/g, "%2C")).join(",");
}

export function decodeCols(s: string | null | undefined): string[] | null {
  if (s === null || s === undefined) return null;
  if (s === "") return [];
  return s.split(",").map((p) => p.replace(/%2C/gi, ",").replace(/%25/g, "%"));
}

/** Keys seen on a page of runs, sorted; tags without MLflow's own (mlflow.*). */
export function keysOf(runs: Run[]): { metrics: string[]; params: string[]; tags: string[] } {
  const metrics = new Set<string>();
  const params = new Set<string>();
  const tags = new Set<string>();
  for (const r of runs) {
    for (const m of r.data?.metrics ?? []) metrics.add(m.key);
    for (const p of r.data?.params ?? []) params.add(p.key);
    for (const t of r.data?.tags ?? []) if (!t.key.startsWith("mlflow.")) tags.add(t.key);
  }
  const sort = (s: Set<string>) => [...s].sort((a, b) => a.localeCompare(b));
  return { metrics: sort(metrics), params: sort(params), tags: sort(tags) };
}

/** With no cols in the URL: the first few metrics and params of the page. */
export function defaultColumns(runs: Run[], n = 4): string[] {
  const k = keysOf(runs);
  return [...k.metrics.slice(0, n).map((m) => "metrics." + m), ...k.params.slice(0, n).map((p) => "params." + p)];
}

/** A run's values by column id, built once per row so that rendering is lookups. */
export function rowValues(run: Run): Map<string, string | number> {
  const v = new Map<string, string | number>();
  for (const m of run.data?.metrics ?? []) v.set("metrics." + m.key, metricValue(m.value));
  for (const p of run.data?.params ?? []) v.set("params." + p.key, p.value);
  for (const t of run.data?.tags ?? []) v.set("tags." + t.key, t.value);
  return v;
}

/**
 * The filter for experiments whose name contains text, case-insensitively. MLflow keeps
 * quoted strings verbatim (no escapes), so a quote in the text becomes the one-character
 * wildcard _, which still matches it.
 */
export function nameFilter(text: string): string {
  const t = text.trim();
  if (!t) return "";
  return `name ILIKE '%${t.replace(/'/g, "_")}%'`;
}
