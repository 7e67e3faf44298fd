// Hash routing: every page has a URL such as /#/experiments/1?filter=... that can be pasted
// in a chat. The hash keeps the UI's paths apart from the server's API routes, so the
// server needs no fallback for client-side paths (MLflow's own UI does the same).
import { useEffect, useState } from "preact/hooks";

export interface Route {
  /** Path segments after "#/", decoded: "#/models/my%20model" gives ["models", "my model"]. */
  parts: string[];
  /** The query after the path: "#/experiments/1?filter=x" gives filter=x. */
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const h = hash.replace(/^#\/?/, "");
  const q = h.indexOf("?");
  const path = q < 0 ? h : h.slice(0, q);
  const parts = path
    .split("/")
    .filter((p) => p !== "")
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  return { parts, query: new URLSearchParams(q < 0 ? "" : h.slice(q + 1)) };
}

/** The href of a page: href(["models", name], {tab: "versions"}) → "#/models/NAME?tab=versions". */
export function href(parts: (string | number)[], query?: Record<string, string | undefined>): string {
  let s = "#/" + parts.map((p) => encodeURIComponent(String(p))).join("/");
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") q.set(k, v);
    const qs = q.toString();
    if (qs) s += "?" + qs;
  }
  return s;
}

/** Go to a page. replace keeps the browser history from filling with every keystroke. */
export function navigate(to: string, replace = false) {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

/** The current route, updated on every hash change. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}
