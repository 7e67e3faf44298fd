// Thin clients of the two APIs the UI reads: MLflow's tracking and registry API (the same
// one the mlflow client uses) and Plinth's own /api/v1. Errors carry the server's message,
// which the pages show as it is: the server's messages already say what went wrong.

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | boolean | undefined | string[]>;

function queryString(q?: Query): string {
  if (!q) return "";
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) v.forEach((x) => p.append(k, x));
    else p.append(k, String(v));
  }
  const s = p.toString();
  return s ? "?" + s : "";
}

async function send<T>(url: string, init: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: any = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      if (!res.ok) throw new ApiError(text.slice(0, 500) || res.statusText, res.status, "HTTP_" + res.status);
      throw new ApiError(`The server sent something that is not JSON from ${url}`, res.status, "BAD_RESPONSE");
    }
  }
  if (!res.ok) {
    // MLflow: {"error_code", "message"}; /api/v1: {"error": {"code", "message"}}.
    const e = body?.error ?? body ?? {};
    throw new ApiError(e.message ?? res.statusText, res.status, e.error_code ?? e.code ?? "HTTP_" + res.status);
  }
  return body as T;
}

/** GET an MLflow API route, e.g. mlflowGet("experiments/get", {experiment_id: "1"}). */
export function mlflowGet<T = any>(route: string, q?: Query, signal?: AbortSignal): Promise<T> {
  return send<T>(`/ajax-api/2.0/mlflow/${route}${queryString(q)}`, { signal });
}

/** POST (or PATCH/DELETE) a JSON body to an MLflow API route. */
export function mlflowPost<T = any>(route: string, body: unknown, signal?: AbortSignal, method = "POST"): Promise<T> {
  return send<T>(`/ajax-api/2.0/mlflow/${route}`, {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
}

/** GET a Plinth /api/v1 route, e.g. v1Get("endpoints"). */
export function v1Get<T = any>(route: string, q?: Query, signal?: AbortSignal): Promise<T> {
  return send<T>(`/api/v1/${route}${queryString(q)}`, { signal });
}

/** Send a JSON body to a Plinth /api/v1 route. */
export function v1Send<T = any>(method: string, route: string, body?: unknown): Promise<T> {
  return send<T>(`/api/v1/${route}`, {
    method,
    headers: body === undefined ? undefined : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/**
 * The address of a file under a run's artifact root, for download links and previews, or
 * null when the root is not served by Plinth's artifact proxy (a run logged straight to
 * s3:// or a local folder by a client configured that way).
 */
export function artifactURL(artifactUri: string, path: string): string | null {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(artifactUri);
  if (!m) return null;
  const parts = [...m[1].split("/"), ...path.split("/")].filter((p) => p !== "");
  return "/ajax-api/2.0/mlflow-artifacts/artifacts/" + parts.map(encodeURIComponent).join("/");
}

/** Path segment escaping for /api/v1 names (model names may hold spaces and more). */
export const seg = encodeURIComponent;
