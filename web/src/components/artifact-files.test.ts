import { afterEach, describe, expect, it, vi } from "vitest";
import { formatBytes, looksBinary, parseCSV, previewKind, readHead } from "./artifact-files";

describe("parseCSV", () => {
  it("keeps quoted delimiters, newlines and doubled quotes inside one field", () => {
    const text = 'a,b,c\n1,"x, y",2\n3,"two\nlines",4\r\n5,"say ""hi""",""\n';
    expect(parseCSV(text).rows).toEqual([
      ["a", "b", "c"],
      ["1", "x, y", "2"],
      ["3", "two\nlines", "4"],
      ["5", 'say "hi"', ""],
    ]);
  });
  it("reads a last line without a newline, CRLF endings and a byte order mark", () => {
    expect(parseCSV("\ufeffa,b\r\n1,2").rows).toEqual([
      ["a", "b"],
      ["1", "2"],
    ]);
    expect(parseCSV("a,,\n").rows).toEqual([["a", "", ""]]);
  });
  it("stops at maxRows and says there is more", () => {
    const text = Array.from({ length: 1000 }, (_, i) => `${i},"v${i}"`).join("\n") + "\n";
    const csv = parseCSV(text, 500);
    expect(csv.rows).toHaveLength(500);
    expect(csv.rows[499]).toEqual(["499", "v499"]);
    expect(csv.truncated).toBe(true);
    expect(parseCSV("a\nb\n", 500).truncated).toBe(false);
  });
  it("drops the cut last row of a file's head", () => {
    const csv = parseCSV('a,b\n1,"unfinished\nquote', 500, ",", true);
    expect(csv.rows).toEqual([["a", "b"]]);
    expect(csv.truncated).toBe(true);
  });
  it("reads tab-separated files", () => {
    expect(parseCSV("a\tb\n1\t2,3\n", 10, "\t").rows).toEqual([
      ["a", "b"],
      ["1", "2,3"],
    ]);
  });
});

describe("previewKind", () => {
  it("tells previews by name", () => {
    expect(previewKind("model/MLmodel")).toBe("text");
    expect(previewKind("model/conda.yaml")).toBe("text");
    expect(previewKind("x/metrics.JSON")).toBe("json");
    expect(previewKind("preds.csv")).toBe("csv");
    expect(previewKind("plots/roc.svg")).toBe("image");
    expect(previewKind("plots/a.JPG")).toBe("image");
    expect(previewKind("model.pkl")).toBe("unknown");
    expect(previewKind(".hidden")).toBe("unknown");
  });
  it("spots binary content", () => {
    expect(looksBinary(new Uint8Array([65, 0, 66]))).toBe(true);
    expect(looksBinary(new TextEncoder().encode("plain text"))).toBe(false);
  });
  it("writes sizes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.0 MB");
  });
});

describe("readHead", () => {
  it("reads an empty file (416 to any range) as empty", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response(null, { status: 416, headers: { "Content-Range": "bytes */0" } })));
    expect(await readHead("/empty", 1000)).toEqual({ bytes: new Uint8Array(0), truncated: false });
    vi.unstubAllGlobals();
  });
  afterEach(() => vi.unstubAllGlobals());
  it("asks for a range and reads no more than the limit when the server sends it all", async () => {
    const big = "x".repeat(5000);
    const fetch = vi.fn(async () => new Response(big));
    vi.stubGlobal("fetch", fetch);
    const head = await readHead("/f", 1000);
    expect(head.bytes.length).toBe(1000);
    expect(head.truncated).toBe(true);
    expect(new Headers((fetch.mock.calls[0] as any)[1].headers).get("Range")).toBe("bytes=0-999");
  });
  it("trusts Content-Range for the file's length", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response("abc", { status: 206, headers: { "Content-Range": "bytes 0-2/3" } })));
    expect((await readHead("/f", 3)).truncated).toBe(false);
  });
  it("reads a short file whole", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response("short")));
    const head = await readHead("/f", 1000, undefined, 5);
    expect(new TextDecoder().decode(head.bytes)).toBe("short");
    expect(head.truncated).toBe(false);
  });
  it("reports the server's error", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({ error_code: "RESOURCE_DOES_NOT_EXIST", message: "no such file" }), { status: 404 })));
    await expect(readHead("/f", 10)).rejects.toThrow("no such file");
  });
});
