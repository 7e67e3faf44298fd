// A run's artifacts (and its logged models' files): a tree listed one folder at a time
// as it is opened, and a preview of the chosen file with a download link.
import { useEffect, useRef, useState } from "preact/hooks";
import { artifactURL } from "../api";
import { useLoad } from "../hooks";
import { ErrorBox, Loading } from "./common";
import { baseName, decodeText, formatBytes, looksBinary, parseCSV, prettyJSON, previewKind, readHead, type FileInfo } from "./artifact-files";

/** Where artifacts live: the run's root, or a logged model's. */
export interface ArtifactRoot {
  id: string;
  label: string;
  /** The artifact URI (mlflow-artifacts:/… when this server holds the files). */
  uri: string;
  /** Lists one folder ("" for the root). */
  list: (path: string, signal: AbortSignal) => Promise<{ files?: FileInfo[]; root_uri?: string }>;
}

/** Text previews read at most this much of a file. */
export const previewLimit = 1 << 20;
/** Images are shown whole, up to this size. */
const imageLimit = 20 << 20;

type Folder = FileInfo[] | Error | "loading";

export function ArtifactBrowser({ root, path, onSelect }: { root: ArtifactRoot; path: string; onSelect: (path: string) => void }) {
  const [folders, setFolders] = useState<Map<string, Folder>>(new Map());
  const [open, setOpen] = useState<Set<string>>(new Set([""]));
  const [rootURI, setRootURI] = useState(root.uri);
  // Answers for a root no longer shown are dropped.
  const generation = useRef(0);

  const load = (dir: string) => {
    setFolders((f) => new Map(f).set(dir, "loading"));
    const gen = generation.current;
    root.list(dir, new AbortController().signal).then(
      (a) => {
        if (gen !== generation.current) return;
        if (dir === "" && a.root_uri) setRootURI(a.root_uri);
        const files = [...(a.files ?? [])].sort((x, y) => Number(!!y.is_dir) - Number(!!x.is_dir) || x.path.localeCompare(y.path));
        setFolders((f) => new Map(f).set(dir, files));
      },
      (e) => gen === generation.current && setFolders((f) => new Map(f).set(dir, e)),
    );
  };

  // A new root: start again, with the folders above the chosen path open.
  useEffect(() => {
    generation.current++;
    setFolders(new Map());
    setRootURI(root.uri);
    const dirs = [""];
    const parts = path.split("/").filter(Boolean);
    for (let i = 1; i < parts.length; i++) dirs.push(parts.slice(0, i).join("/"));
    setOpen(new Set(dirs));
    dirs.forEach(load);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [root.id]);

  const toggle = (dir: string) => {
    const next = new Set(open);
    if (next.has(dir)) next.delete(dir);
    else {
      next.add(dir);
      if (!folders.has(dir) || folders.get(dir) instanceof Error) load(dir);
    }
    setOpen(next);
  };

  const top = folders.get("");
  const selected = findFile(folders, path);
  return (
    <div class="artifacts">
      <div class="artifact-tree" data-testid="artifact-tree" role="tree">
        {top === undefined || top === "loading" ? (
          <Loading what="artifacts" />
        ) : top instanceof Error ? (
          <ErrorBox error={top} />
        ) : top.length === 0 ? (
          <p class="muted" style="padding:4px 8px">
            {artifactURL(rootURI, "") === null ? (
              <>
                The artifacts are stored at <code>{rootURI}</code>, which this server does not serve; the mlflow client reads them from there.
              </>
            ) : (
              "No artifacts were logged."
            )}
          </p>
        ) : (
          <Tree files={top} folders={folders} open={open} selected={path} onToggle={toggle} onSelect={onSelect} />
        )}
      </div>
      <div class="artifact-preview" data-testid="artifact-preview">
        {selected && !selected.is_dir ? (
          <Preview key={root.id + "/" + selected.path} uri={rootURI} file={selected} />
        ) : (
          <p class="muted">{path && !selected ? "Loading…" : "Choose a file to see it here."}</p>
        )}
      </div>
    </div>
  );
}

function findFile(folders: Map<string, Folder>, path: string): FileInfo | undefined {
  if (!path) return undefined;
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  const list = folders.get(dir);
  return Array.isArray(list) ? list.find((f) => f.path === path) : undefined;
}

function Tree(props: {
  files: FileInfo[];
  folders: Map<string, Folder>;
  open: Set<string>;
  selected: string;
  onToggle: (dir: string) => void;
  onSelect: (path: string) => void;
}) {
  const { files, folders, open, selected, onToggle, onSelect } = props;
  return (
    <ul role="group">
      {files.map((f) => {
        const sub = folders.get(f.path);
        const isOpen = open.has(f.path);
        return (
          <li key={f.path} role="treeitem" aria-expanded={f.is_dir ? isOpen : undefined}>
            <button
              class={f.path === selected ? "active" : ""}
              data-testid={"artifact-" + f.path}
              title={f.path}
              onClick={() => (f.is_dir ? onToggle(f.path) : onSelect(f.path))}
            >
              <span class="icon">{f.is_dir ? (isOpen ? "▾" : "▸") : ""}</span>
              <span>{baseName(f.path)}</span>
              {!f.is_dir && <span class="size">{formatBytes(f.file_size)}</span>}
            </button>
            {f.is_dir && isOpen && (
              sub === undefined || sub === "loading" ? (
                <p class="muted" style="margin:0 0 0 20px">…</p>
              ) : sub instanceof Error ? (
                <ErrorBox error={sub} />
              ) : sub.length === 0 ? (
                <p class="muted" style="margin:0 0 0 20px">empty</p>
              ) : (
                <Tree {...props} files={sub} />
              )
            )}
          </li>
        );
      })}
    </ul>
  );
}

interface Shown {
  kind: "text" | "json" | "csv" | "binary";
  text?: string;
  rows?: string[][];
  truncated: boolean;
}

/** The file's content by its kind, read only as far as the preview needs. */
export function Preview({ uri, file }: { uri: string; file: FileInfo }) {
  const url = artifactURL(uri, file.path);
  const kind = previewKind(file.path);
  const size = file.file_size === undefined ? undefined : Number(file.file_size);
  const res = useLoad(async (signal): Promise<Shown | null> => {
    if (!url || kind === "image") return null;
    const head = await readHead(url, kind === "unknown" ? 64 << 10 : previewLimit, signal, size);
    if (kind === "unknown" && looksBinary(head.bytes)) return { kind: "binary", truncated: head.truncated };
    const text = decodeText(head.bytes);
    if (kind === "json") return head.truncated ? { kind: "text", text, truncated: true } : { kind: "json", text: prettyJSON(text), truncated: false };
    if (kind === "csv" || kind === "tsv") {
      const csv = parseCSV(text, 501, kind === "tsv" ? "\t" : ",", head.truncated);
      return { kind: "csv", rows: csv.rows, truncated: csv.truncated };
    }
    return { kind: "text", text, truncated: head.truncated };
  }, [url, kind]);

  return (
    <div>
      <div class="section-head">
        <h3 class="mono">{file.path}</h3>
        <span class="row">
          <span class="muted">{formatBytes(size)}</span>
          {url && (
            <a href={url} download={baseName(file.path)} data-testid="artifact-download">
              Download
            </a>
          )}
        </span>
      </div>
      {!url ? (
        <p class="muted">
          This file is stored at <code>{uri}</code>, which is not served by this server. Fetch it with{" "}
          <code>mlflow artifacts download</code> from a machine that can reach that store.
        </p>
      ) : kind === "image" ? (
        size !== undefined && size > imageLimit ? (
          <p class="muted">This image is {formatBytes(size)}; download it to view it.</p>
        ) : (
          <img src={url} alt={file.path} />
        )
      ) : (
        <>
          <ErrorBox error={res.error} />
          {res.loading && <Loading />}
          {res.data && <Content shown={res.data} />}
        </>
      )}
    </div>
  );
}

function Content({ shown }: { shown: Shown }) {
  if (shown.kind === "binary") return <p class="muted">A binary file: no preview. Use Download.</p>;
  const note = shown.truncated && (
    <p class="muted">{shown.kind === "csv" ? "Showing the first rows only." : `Showing the first ${formatBytes(previewLimit)} only.`}</p>
  );
  if (shown.kind === "csv") {
    const [head, ...body] = shown.rows ?? [];
    return (
      <>
        {note}
        <div class="table-wrap">
          <table data-testid="csv-table">
            <thead>
              <tr>
                {(head ?? []).map((h, i) => (
                  <th key={i}>{h}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {body.map((r, i) => (
                <tr key={i}>
                  {r.map((c, j) => (
                    <td key={j} class="wrap">
                      {c}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </>
    );
  }
  return (
    <>
      {note}
      <pre data-testid="artifact-text">{shown.text}</pre>
    </>
  );
}
