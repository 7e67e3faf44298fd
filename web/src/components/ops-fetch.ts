// Reads of a model version's own files through the artifact proxy: the signature in its
// MLmodel file and the serving example mlflow saves next to it.
import { ApiError, artifactURL, seg, v1Get } from "../api";
import { parseMLmodelSignature, parseModelURI, type Endpoint, type Model, type Signature, type Version } from "./ops-data";

async function artifactText(storage: string, path: string, signal?: AbortSignal): Promise<string | undefined> {
  const url = artifactURL(storage, path);
  if (!url) return undefined;
  const r = await fetch(url, { signal });
  if (r.status === 404) return undefined;
  if (!r.ok) throw new ApiError(`Could not read ${path} of the model (${r.status} ${r.statusText})`, r.status, "HTTP_" + r.status);
  return r.text();
}

/** The signature of a version from its MLmodel file; undefined when it has none. */
export async function loadSignature(storage: string, signal?: AbortSignal): Promise<Signature | undefined> {
  const text = await artifactText(storage, "MLmodel", signal);
  return text === undefined ? undefined : parseMLmodelSignature(text);
}

/** serving_input_example.json, the body mlflow saves for /invocations with input_example=. */
export async function loadServingExample(storage: string, signal?: AbortSignal): Promise<unknown> {
  const text = await artifactText(storage, "serving_input_example.json", signal);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The model name and version an endpoint's primary answers with: its live state, else its URI. */
export function primaryRef(e: Endpoint): { name: string; version?: string; alias?: string } | null {
  const t = e.state?.targets.find((x) => x.role === "primary");
  if (t?.model && t.version) return { name: t.model, version: t.version };
  return parseModelURI(e.model_uri);
}

/** The version an endpoint's primary serves (resolving an alias), or undefined. */
export async function resolveVersion(ref: { name: string; version?: string; alias?: string }, signal?: AbortSignal): Promise<Version | undefined> {
  let v = ref.version;
  if (!v && ref.alias) {
    const m = await v1Get<Model>(`models/${seg(ref.name)}`, undefined, signal);
    const n = m.aliases[ref.alias];
    if (n === undefined) return undefined;
    v = String(n);
  }
  if (!v) return undefined;
  return v1Get<Version>(`models/${seg(ref.name)}/versions/${seg(v)}`, undefined, signal);
}
