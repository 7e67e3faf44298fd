// Test helpers of the tracking pages: a fetch that answers by route and records every
// request, runs to answer with, and a page that follows the URL as the app does.
import { vi } from "vitest";
import type { JSX } from "preact";
import { useRoute, type Route } from "../router";
import type { Run } from "../components/run-types";

export interface Call {
  method: string;
  /** The path after /ajax-api/2.0/mlflow/ (or the whole path for other URLs). */
  route: string;
  url: string;
  query: URLSearchParams;
  body: any;
  headers: Record<string, string>;
}

/** An answer with a status other than 200. */
export function reply(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/**
 * Replaces fetch: handler gets each request and returns a JSON body (200), a Response,
 * or undefined (404). Returns the list of requests made.
 */
export function mockFetch(handler: (c: Call) => unknown): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: string, init?: RequestInit) => {
      const u = new URL(input, "http://localhost");
      const prefix = "/ajax-api/2.0/mlflow/";
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((v, k) => (headers[k.toLowerCase()] = v));
      const c: Call = {
        method: init?.method ?? "GET",
        route: u.pathname.startsWith(prefix) ? u.pathname.slice(prefix.length) : u.pathname,
        url: input,
        query: u.searchParams,
        body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
        headers,
      };
      calls.push(c);
      const out = await handler(c);
      if (out instanceof Response) return out;
      if (out === undefined) return reply(404, { error_code: "ENDPOINT_NOT_FOUND", message: "no route " + c.route });
      return reply(200, out);
    }),
  );
  return calls;
}

export function makeRun(i: number, over: Partial<Run["info"]> = {}, data: Run["data"] = {}): Run {
  const id = "r" + String(i).padStart(31, "0");
  return {
    info: {
      run_id: id,
      run_name: "run-" + i,
      experiment_id: "1",
      user_id: "alice",
      status: "FINISHED",
      start_time: 1_700_000_000_000 + i * 1000,
      end_time: 1_700_000_060_000 + i * 1000,
      artifact_uri: `mlflow-artifacts:/1/${id}/artifacts`,
      lifecycle_stage: "active",
      ...over,
    },
    data: {
      metrics: [
        { key: "rmse", value: i / 10, timestamp: 1, step: 3 },
        { key: "acc", value: 1 - i / 100, timestamp: 1, step: 3 },
      ],
      params: [
        { key: "lr", value: String(0.1 * (i % 3)) },
        { key: "model", value: i % 2 ? "rf" : "xgb" },
      ],
      tags: [
        { key: "team", value: "vision" },
        { key: "mlflow.runName", value: "run-" + i },
      ],
      ...data,
    },
  };
}

export function runs(n: number, from = 0): Run[] {
  return Array.from({ length: n }, (_, i) => makeRun(from + i));
}

/** Renders the page for the current location.hash, and again on every navigation. */
export function Routed({ page }: { page: (r: Route) => JSX.Element }) {
  return page(useRoute());
}

export function setHash(h: string) {
  history.replaceState(null, "", h);
}

/** The current hash's query. */
export function hashQuery(): URLSearchParams {
  const h = location.hash;
  const q = h.indexOf("?");
  return new URLSearchParams(q < 0 ? "" : h.slice(q + 1));
}
