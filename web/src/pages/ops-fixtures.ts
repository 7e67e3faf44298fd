// Test helpers of the models, endpoints and batch pages: a fetch stub that answers /api/v1
// routes and records every request.
import { vi } from "vitest";

interface Call {
  method: string;
  path: string;
  body?: any;
}

/** Stubs fetch with a router of (method, path) → [status, body]; unknown routes are 404. */
export function mockFetch(route: (method: string, path: string, body: any) => [number, unknown] | undefined): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const u = new URL(String(input), "http://localhost");
      const method = init?.method ?? "GET";
      const body = init?.body ? JSON.parse(String(init.body)) : undefined;
      calls.push({ method, path: u.pathname + u.search, body });
      const r = route(method, u.pathname + u.search, body);
      if (!r) return new Response(JSON.stringify({ error: { code: "not_found", message: `No API endpoint matches ${method} ${u.pathname}` } }), { status: 404 });
      const [status, out] = r;
      if (status === 204) return new Response(null, { status });
      return new Response(typeof out === "string" ? out : JSON.stringify(out), { status });
    }),
  );
  return calls;
}
