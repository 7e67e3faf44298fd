import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/preact";
import { RunPage } from "./run";
import { Routed, makeRun, mockFetch, setHash, type Call } from "./tracking-fixtures";
import type { Run } from "../components/run-types";

const run: Run = makeRun(7, {}, {
  metrics: [
    { key: "rmse", value: 0.25, timestamp: 1_700_000_000_000, step: 9 },
    { key: "loss", value: "NaN", timestamp: 1_700_000_000_000, step: 9 },
  ],
  params: [
    { key: "lr", value: "0.01" },
    { key: "optimizer", value: "adam" },
  ],
  tags: [
    { key: "team", value: "vision" },
    { key: "mlflow.user", value: "carol" },
    { key: "mlflow.source.name", value: "train.py" },
    { key: "mlflow.source.git.commit", value: "0123456789abcdef" },
    { key: "mlflow.runName", value: "run-7" },
  ],
});
run.inputs = {
  dataset_inputs: [
    {
      tags: [{ key: "mlflow.data.context", value: "training" }],
      dataset: { name: "train-set", digest: "d1g3st", source_type: "s3", source: '{"uri": "s3://b/train.parquet"}' },
    },
  ],
};
run.outputs = { model_outputs: [{ model_id: "m-1", step: 9 }] };
const RUN = run.info.run_id;
const ROOT = "/ajax-api/2.0/mlflow-artifacts/artifacts/1/" + RUN + "/artifacts/";

const files: Record<string, { path: string; is_dir?: boolean; file_size?: number }[]> = {
  "": [
    { path: "preds.csv", file_size: 60 },
    { path: "plots", is_dir: true },
    { path: "config.json", file_size: 20 },
  ],
  plots: [{ path: "plots/loss.png", file_size: 1000 }],
};
const contents: Record<string, string> = {
  "preds.csv": 'id,text,score\n1,"hello, world",0.5\n2,"two\nlines",0.7\n3,"say ""hi""",0.9\n',
  "config.json": '{"a":1,"b":[1,2]}',
};

function server(over?: (c: Call) => unknown) {
  return mockFetch((c) => {
    const x = over?.(c);
    if (x !== undefined) return x;
    switch (c.route) {
      case "runs/get":
        return { run };
      case "experiments/get":
        return { experiment: { experiment_id: "1", name: "exp-one" } };
      case "logged-models/search":
        return { models: [{ info: { model_id: "m-1", experiment_id: "1", name: "classifier", model_type: "sklearn", status: "LOGGED_MODEL_READY", artifact_uri: "mlflow-artifacts:/1/models/m-1/artifacts", source_run_id: RUN } }] };
      case "model-versions/search":
        return { model_versions: [{ name: "clf", version: "3", model_id: "m-1", source: "models:/m-1", run_id: RUN }] };
      case "metrics/get-history-bulk-interval":
        return { metrics: [0, 1, 2].map((s) => ({ key: c.query.get("metric_key"), value: s === 1 ? "NaN" : s, timestamp: 1000 + s, step: s, run_id: RUN })) };
      case "artifacts/list":
        return { root_uri: run.info.artifact_uri, files: files[c.query.get("path") ?? ""] };
    }
    if (c.route.startsWith(ROOT)) return new Response(contents[c.route.slice(ROOT.length)]);
  });
}

function page(hash: string) {
  setHash(hash);
  return render(<Routed page={(r) => <RunPage runId={r.parts[r.parts.length - 1]} query={r.query} />} />);
}

beforeEach(() => setHash("#/"));
afterEach(cleanup);

describe("RunPage overview", () => {
  it("shows params, latest metrics, tags, datasets and logged models", async () => {
    const calls = server();
    const { findByTestId, getByTestId } = page(`#/experiments/1/runs/${RUN}`);
    const params = await findByTestId("params-table");
    expect(params.textContent).toContain("optimizer");
    expect(params.textContent).toContain("adam");
    const metrics = getByTestId("metrics-table");
    expect(metrics.textContent).toContain("0.25");
    expect(metrics.textContent).toContain("NaN");
    // Who ran it from where, in the header; system tags hidden until asked for.
    expect(getByTestId("run-meta").textContent).toContain("carol");
    expect(getByTestId("run-meta").textContent).toContain("train.py");
    expect(getByTestId("run-meta").textContent).toContain("@01234567");
    expect(getByTestId("tags-table").textContent).toContain("team");
    expect(getByTestId("tags-table").textContent).not.toContain("mlflow.user");
    fireEvent.click(getByTestId("show-system-tags"));
    expect(getByTestId("tags-table").textContent).toContain("mlflow.source.name");

    const ds = getByTestId("datasets-table").textContent!;
    for (const s of ["train-set", "d1g3st", "training", "s3", "s3://b/train.parquet"]) expect(ds).toContain(s);

    const models = await findByTestId("models-table");
    expect(models.textContent).toContain("classifier");
    expect(models.textContent).toContain("m-1");
    expect(models.textContent).toContain("ready");
    await waitFor(() => expect(models.querySelector("a[href='#/models/clf/versions/3']")?.textContent).toBe("clf v3"));
    expect(calls.find((c) => c.route === "model-versions/search")!.query.get("filter")).toBe(`run_id = '${RUN}'`);
    const search = calls.find((c) => c.route === "logged-models/search")!;
    expect(search.body).toMatchObject({ experiment_ids: ["1"], filter: `source_run_id = '${RUN}'` });
  });

  it("links tabs under the run's experiment, also from #/runs/ID", async () => {
    server();
    const { findByTestId } = page(`#/runs/${RUN}`);
    expect((await findByTestId("tab-metrics")).getAttribute("href")).toBe(`#/experiments/1/runs/${RUN}?tab=metrics`);
    expect((await findByTestId("tab-artifacts")).getAttribute("href")).toBe(`#/experiments/1/runs/${RUN}?tab=artifacts`);
  });
});

describe("RunPage metrics", () => {
  it("charts each metric from get-history-bulk-interval, sampled by the server", async () => {
    const calls = server();
    const { findAllByTestId } = page(`#/experiments/1/runs/${RUN}?tab=metrics`);
    const charts = await findAllByTestId("metric-chart");
    expect(charts).toHaveLength(2);
    const hist = calls.filter((c) => c.route === "metrics/get-history-bulk-interval");
    expect(hist.map((c) => c.query.get("metric_key")).sort()).toEqual(["loss", "rmse"]);
    for (const c of hist) {
      expect(c.query.getAll("run_ids")).toEqual([RUN]);
      expect(c.query.get("max_results")).toBe("1000");
    }
    // No canvas here: the chart says what it holds.
    await waitFor(() => expect(charts[0].textContent).toContain("1 series, 3 points"));
  });
});

describe("RunPage artifacts", () => {
  it("lists folders as they are opened", async () => {
    const calls = server();
    const { findByTestId } = page(`#/experiments/1/runs/${RUN}?tab=artifacts`);
    const tree = await findByTestId("artifact-tree");
    await waitFor(() => expect(tree.textContent).toContain("preds.csv"));
    expect(calls.find((c) => c.route === "artifacts/list")!.query.get("run_id")).toBe(RUN);
    expect(tree.textContent).not.toContain("loss.png");
    fireEvent.click(await findByTestId("artifact-plots"));
    await waitFor(() => expect(tree.textContent).toContain("loss.png"));
    expect(calls.filter((c) => c.route === "artifacts/list").at(-1)!.query.get("path")).toBe("plots");
  });

  it("previews a CSV as a table, quoted commas, newlines and quotes included", async () => {
    const calls = server();
    const { findByTestId } = page(`#/experiments/1/runs/${RUN}?tab=artifacts&path=preds.csv`);
    const table = await findByTestId("csv-table");
    const cells = [...table.querySelectorAll("tbody tr")].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent));
    expect(cells).toEqual([
      ["1", "hello, world", "0.5"],
      ["2", "two\nlines", "0.7"],
      ["3", 'say "hi"', "0.9"],
    ]);
    expect([...table.querySelectorAll("th")].map((th) => th.textContent)).toEqual(["id", "text", "score"]);
    const get = calls.find((c) => c.route === ROOT + "preds.csv")!;
    expect(get.headers["range"]).toBe("bytes=0-1048575");
    expect((await findByTestId("artifact-download")).getAttribute("href")).toBe(ROOT + "preds.csv");
  });

  it("pretty-prints JSON and shows images as images", async () => {
    server();
    const { findByTestId, getByTestId } = page(`#/experiments/1/runs/${RUN}?tab=artifacts`);
    fireEvent.click(await findByTestId("artifact-config.json"));
    await waitFor(() => expect(getByTestId("artifact-text").textContent).toBe('{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ]\n}'));
    fireEvent.click(getByTestId("artifact-plots"));
    fireEvent.click(await findByTestId("artifact-plots/loss.png"));
    await waitFor(() => expect(getByTestId("artifact-preview").querySelector("img")!.getAttribute("src")).toBe(ROOT + "plots/loss.png"));
  });

  it("says so when the run's artifacts are not served by this server", async () => {
    const s3run = { ...run, info: { ...run.info, artifact_uri: "s3://bucket/1/x/artifacts" } };
    server((c) => {
      if (c.route === "runs/get") return { run: s3run };
      if (c.route === "artifacts/list") return { root_uri: "s3://bucket/1/x/artifacts" };
    });
    const { findByTestId } = page(`#/experiments/1/runs/${RUN}?tab=artifacts`);
    const tree = await findByTestId("artifact-tree");
    await waitFor(() => expect(tree.textContent).toContain("does not serve"));
    expect(tree.textContent).toContain("s3://bucket/1/x/artifacts");
  });

  it("browses a logged model's files", async () => {
    const calls = server((c) => (c.route === "logged-models/m-1/artifacts/directories" ? { root_uri: "mlflow-artifacts:/1/models/m-1/artifacts", files: [{ path: "MLmodel", file_size: 10 }] } : undefined));
    const { findByTestId } = page(`#/experiments/1/runs/${RUN}?tab=artifacts&root=m-1`);
    const tree = await findByTestId("artifact-tree");
    await waitFor(() => expect(tree.textContent).toContain("MLmodel"));
    expect(calls.some((c) => c.route === "logged-models/m-1/artifacts/directories")).toBe(true);
  });
});
