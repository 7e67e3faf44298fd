// Pure helpers of the artifact browser: what kind of preview a file gets, reading only
// the head of a large file, and CSV parsing.

export interface FileInfo {
  path: string;
  is_dir?: boolean;
  file_size?: number | string;
}

export type PreviewKind = "image" | "json" | "csv" | "tsv" | "text" | "unknown";

const textExt = new Set(
  "txt log md markdown rst yaml yml toml ini cfg conf py r sql sh bash ipynb jsonl ndjson xml html htm css js ts java scala go rs c h cpp tex csv tsv json properties env lock".split(" "),
);
// Files MLflow writes without an extension, shown as text.
const textNames = new Set(["MLmodel", "Dockerfile", "LICENSE", "README", "Makefile", "requirements", "MANIFEST"]);
const imageExt = new Set(["png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "avif"]);

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function extension(path: string): string {
  const b = baseName(path);
  const dot = b.lastIndexOf(".");
  return dot <= 0 ? "" : b.slice(dot + 1).toLowerCase();
}

export function previewKind(path: string): PreviewKind {
  const ext = extension(path);
  if (imageExt.has(ext)) return "image";
  if (ext === "json" || ext === "ipynb") return "json";
  if (ext === "csv") return "csv";
  if (ext === "tsv") return "tsv";
  if (textExt.has(ext) || textNames.has(baseName(path))) return "text";
  return "unknown";
}

/** Bytes for people: 1536 → "1.5 KB". */
export function formatBytes(n: number | string | undefined): string {
  if (n === undefined || n === "") return "";
  let v = Number(n);
  if (!Number.isFinite(v)) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

export interface Head {
  bytes: Uint8Array;
  /** The file is longer than what was read. */
  truncated: boolean;
}

/**
 * The first limit bytes of a file. It asks for a range, and in case the server sends the
 * whole file anyway, stops reading (and cancels the transfer) once it has enough.
 */
export async function readHead(url: string, limit: number, signal?: AbortSignal, knownSize?: number): Promise<Head> {
  const res = await fetch(url, { headers: { Range: `bytes=0-${limit - 1}` }, signal });
  // No byte of an empty file can be asked for: the server says the range is unsatisfiable.
  if (res.status === 416) return { bytes: new Uint8Array(0), truncated: false };
  if (!res.ok) {
    let msg = res.statusText || "HTTP " + res.status;
    try {
      const body = await res.text();
      msg = JSON.parse(body).message ?? msg;
    } catch {
      /* keep the status text */
    }
    throw new Error(`Could not read the file: ${msg}`);
  }
  // With a range answered (206), Content-Range tells the file's length.
  const range = /\/(\d+)\s*$/.exec(res.headers.get("Content-Range") ?? "");
  const reader = res.body?.getReader?.();
  let bytes: Uint8Array;
  let more = false;
  if (reader) {
    const parts: Uint8Array[] = [];
    let n = 0;
    while (n < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      n += value.length;
    }
    if (n >= limit) {
      more = true;
      reader.cancel().catch(() => {});
    }
    bytes = concat(parts, Math.min(n, limit));
  } else {
    bytes = new Uint8Array(await res.arrayBuffer());
    more = bytes.length > limit;
    bytes = bytes.slice(0, limit);
  }
  // Reading stopped at the limit: more follows unless the listing said the file is that long.
  const truncated = range ? Number(range[1]) > bytes.length : more && (knownSize === undefined || knownSize > bytes.length);
  return { bytes, truncated };
}

function concat(parts: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    if (at >= n) break;
    const take = p.subarray(0, n - at);
    out.set(take, at);
    at += take.length;
  }
  return out;
}

/** Whether bytes look like a binary file (a NUL in the first 8 KB, as git decides). */
export function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 8192);
  for (let i = 0; i < n; i++) if (bytes[i] === 0) return true;
  return false;
}

export function decodeText(bytes: Uint8Array): string {
  return new TextDecoder("utf-8").decode(bytes);
}

export interface CSV {
  rows: string[][];
  /** More rows follow than were parsed (maxRows reached, or the text was cut). */
  truncated: boolean;
}

/**
 * RFC 4180 CSV: quoted fields may hold the delimiter, newlines and doubled quotes; lines
 * end in \n or \r\n. At most maxRows rows are returned. When the text is only the head of
 * a file (partial), its last row may be cut short and is dropped.
 */
export function parseCSV(text: string, maxRows = 500, delimiter = ",", partial = false): CSV {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const n = text.length;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // byte order mark
  const endRow = () => {
    row.push(field);
    field = "";
    rows.push(row);
    row = [];
  };
  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === "") {
      quoted = true;
      i++;
    } else if (c === delimiter) {
      row.push(field);
      field = "";
      i++;
    } else if (c === "\n" || c === "\r") {
      endRow();
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      if (rows.length > maxRows) break;
    } else {
      field += c;
      i++;
    }
  }
  let truncated = rows.length > maxRows || i < n;
  if (i >= n && (field !== "" || row.length > 0 || quoted)) {
    // The text ends inside a row: a whole last line without a newline, or a cut one.
    if (partial) truncated = true;
    else endRow();
  }
  if (rows.length > maxRows) rows.length = maxRows;
  return { rows, truncated: truncated || partial };
}

/** JSON pretty-printed when it parses; else the text as it is. */
export function prettyJSON(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
