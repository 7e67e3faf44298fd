import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/preact";
import { RunsPage, forgetPageTokens } from "./runs";
import { Routed, hashQuery, makeRun, mockFetch, reply, runs, setHash, type Call } from "./tracking-fixtures";
import { parseHash } from "../router";

function page() {
  return render(<Routed page={(r) => <RunsPage experimentId={r.parts[1]} query={r.query} />} />);
}

const searches = (calls: Call[]) => calls.filter((c) => c.route === "runs/search");
const lastSearch = (calls: Call[]) => searches(calls).at(-1)!.body;

/** A server with `total` runs in experiment 1, 100 per page, tokens "T<offset>". */
function server(total: number, extra?: (c: Call) => unknown) {
  return mockFetch((c) => {
    const x = extra?.(c);
    if (x !== undefined) return x;
    if (c.route === "experiments/get") return { experiment: { experiment_id: "1", name: "exp-one", artifact_location: "mlflow-artifacts:/1" } };
    if (c.route === "runs/search") {
      const off = c.body.page_token ? Number(c.body.page_token.slice(1)) : 0;
      const n = Math.min(c.body.max_results, total - off);
      return { runs: runs(n, off), next_page_token: off + n < total ? "T" + (off + n) : undefined };
    }
  });
}

beforeEach(() => {
  forgetPageTokens();
  setHash("#/experiments/1");
});
afterEach(cleanup);

describe("RunsPage", () => {
  it("asks runs/search for one page of 100, newest first, and shows the rows with metric and param columns", async () => {
    const calls = server(250);
    const { findByTestId, getByTestId } = page();
    const table = await findByTestId("runs-table");
    expect(table.querySelectorAll("tbody tr")).toHaveLength(100);
    expect(lastSearch(calls)).toMatchObject({ experiment_ids: ["1"], max_results: 100, order_by: ["attributes.start_time DESC"] });
    expect(lastSearch(calls).page_token).toBeUndefined();
    // One request for the page: no request per row.
    expect(calls.filter((c) => c.route !== "runs/search" && c.route !== "experiments/get")).toHaveLength(0);
    expect(getByTestId("sort-metrics.rmse")).toBeTruthy();
    expect(getByTestId("sort-params.lr")).toBeTruthy();
    expect(getByTestId("run-count").textContent).toContain("runs 1–100");
    const link = table.querySelector("a[href*='/runs/']") as HTMLAnchorElement;
    expect(link.getAttribute("href")).toBe("#/experiments/1/runs/" + makeRun(0).info.run_id);
  });

  it("sorts on the server by the clicked column and keeps the order in the URL", async () => {
    const calls = server(250);
    const { findByTestId } = page();
    fireEvent.click(await findByTestId("sort-metrics.rmse"));
    await waitFor(() => expect(lastSearch(calls).order_by).toEqual(["metrics.`rmse` DESC"]));
    expect(hashQuery().get("order")).toBe("metrics.`rmse` DESC");
    fireEvent.click(await findByTestId("sort-metrics.rmse"));
    await waitFor(() => expect(lastSearch(calls).order_by).toEqual(["metrics.`rmse` ASC"]));
    fireEvent.click(await findByTestId("sort-attributes.start_time"));
    await waitFor(() => expect(lastSearch(calls).order_by).toEqual(["attributes.start_time DESC"]));
  });

  it("applies the filter on Enter, and shows a bad filter's error inline, leaving the table as it was", async () => {
    const message = "Invalid filter at column 14: unknown comparison operator '<<<'";
    const calls = server(3, (c) => (c.route === "runs/search" && c.body.filter?.includes("<<<") ? reply(400, { error_code: "INVALID_PARAMETER_VALUE", message }) : undefined));
    const { findByTestId, getByTestId, queryByTestId } = page();
    await findByTestId("runs-table");
    const input = getByTestId("runs-filter") as HTMLInputElement;

    fireEvent.input(input, { target: { value: "metrics.rmse < 1" } });
    expect(searches(calls)).toHaveLength(1); // typing alone does not search
    fireEvent.keyDown(input, { key: "Enter" });
    await waitFor(() => expect(lastSearch(calls).filter).toBe("metrics.rmse < 1"));
    expect(hashQuery().get("filter")).toBe("metrics.rmse < 1");
    await waitFor(() => expect(getByTestId("runs-table").querySelectorAll("tbody tr")).toHaveLength(3));

    fireEvent.input(input, { target: { value: "metrics.rmse <<< x" } });
    fireEvent.keyDown(input, { key: "Enter" });
    const err = await findByTestId("filter-error");
    expect(err.textContent).toBe(message);
    expect(input.className).toContain("invalid");
    expect(getByTestId("runs-table").querySelectorAll("tbody tr")).toHaveLength(3);
    expect(queryByTestId("error")).toBeNull(); // not shown as a page error

    // A good filter again clears the error.
    fireEvent.input(input, { target: { value: "" } });
    fireEvent.keyDown(input, { key: "Enter" });
    await waitFor(() => expect(queryByTestId("filter-error")).toBeNull());
    expect(input.className).not.toContain("invalid");
  });

  it("pages with the server's tokens and goes back through the ones it kept", async () => {
    const calls = server(250);
    const { findByTestId, getByTestId } = page();
    await findByTestId("runs-table");
    expect((getByTestId("prev-page") as HTMLButtonElement).disabled).toBe(true);

    fireEvent.click(getByTestId("next-page"));
    await waitFor(() => expect(lastSearch(calls).page_token).toBe("T100"));
    await waitFor(() => expect(getByTestId("run-count").textContent).toContain("runs 101–200"));
    expect(hashQuery().get("page")).toBe("T100");

    fireEvent.click(getByTestId("next-page"));
    await waitFor(() => expect(lastSearch(calls).page_token).toBe("T200"));
    await waitFor(() => expect(getByTestId("run-count").textContent).toContain("runs 201–250"));
    await waitFor(() => expect((getByTestId("next-page") as HTMLButtonElement).disabled).toBe(true));

    fireEvent.click(getByTestId("prev-page"));
    await waitFor(() => expect(lastSearch(calls).page_token).toBe("T100"));
    await waitFor(() => expect(getByTestId("run-count").textContent).toContain("runs 101–200"));
    fireEvent.click(getByTestId("prev-page"));
    await waitFor(() => expect(lastSearch(calls).page_token).toBeUndefined());
    await waitFor(() => expect(getByTestId("run-count").textContent).toContain("runs 1–100"));
    expect(searches(calls).length).toBe(5);
  });

  it("pages on from a page opened by link without claiming offsets", async () => {
    setHash("#/experiments/1?page=T200");
    const calls = server(450);
    const { findByTestId, getByTestId } = page();
    await findByTestId("runs-table");
    expect(lastSearch(calls).page_token).toBe("T200");
    expect(getByTestId("run-count").textContent).toContain("100 runs on this page");
    fireEvent.click(getByTestId("next-page"));
    await waitFor(() => expect(lastSearch(calls).page_token).toBe("T300"));
    fireEvent.click(getByTestId("prev-page"));
    await waitFor(() => expect(lastSearch(calls).page_token).toBe("T200"));
    fireEvent.click(getByTestId("prev-page"));
    await waitFor(() => expect(lastSearch(calls).page_token).toBeUndefined());
    await waitFor(() => expect(getByTestId("run-count").textContent).toContain("runs 1–100"));
  });

  it("starts again at the first page when the order changes", async () => {
    const calls = server(250);
    const { findByTestId, getByTestId } = page();
    await findByTestId("runs-table");
    fireEvent.click(getByTestId("next-page"));
    await waitFor(() => expect(lastSearch(calls).page_token).toBe("T100"));
    fireEvent.click(getByTestId("sort-params.lr"));
    await waitFor(() => expect(lastSearch(calls)).toMatchObject({ order_by: ["params.`lr` DESC"] }));
    expect(lastSearch(calls).page_token).toBeUndefined();
    expect(hashQuery().has("page")).toBe(false);
  });

  it("compares the selected runs, enabled from two", async () => {
    server(5);
    const { findByTestId, getByTestId } = page();
    await findByTestId("runs-table");
    const a = makeRun(1).info.run_id;
    const b = makeRun(3).info.run_id;
    const button = getByTestId("compare-button") as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    fireEvent.click(getByTestId("select-run-" + a));
    expect(button.disabled).toBe(true);
    fireEvent.click(getByTestId("select-run-" + b));
    expect(button.disabled).toBe(false);
    fireEvent.click(button);
    const r = parseHash(location.hash);
    expect(r.parts).toEqual(["compare"]);
    expect(r.query.get("runs")).toBe(`${a},${b}`);
  });

  it("selects every run of the page at once", async () => {
    server(5);
    const { findByTestId, getByTestId } = page();
    await findByTestId("runs-table");
    fireEvent.click(getByTestId("select-all"));
    for (let i = 0; i < 5; i++) expect((getByTestId("select-run-" + makeRun(i).info.run_id) as HTMLInputElement).checked).toBe(true);
    fireEvent.click(getByTestId("compare-button"));
    expect(parseHash(location.hash).query.get("runs")!.split(",")).toHaveLength(5);
  });

  it("chooses columns from the keys of the page and keeps them in the URL", async () => {
    server(5);
    const { findByTestId, getByTestId, queryByTestId } = page();
    await findByTestId("runs-table");
    expect(queryByTestId("sort-tags.team")).toBeNull();
    fireEvent.click(getByTestId("columns-button"));
    fireEvent.click(getByTestId("column-tags.team"));
    await waitFor(() => expect(getByTestId("sort-tags.team")).toBeTruthy());
    expect(hashQuery().get("cols")!.split(",")).toContain("tags.team");
    fireEvent.click(getByTestId("column-metrics.rmse"));
    await waitFor(() => expect(queryByTestId("sort-metrics.rmse")).toBeNull());
    // MLflow's own tags are not offered as columns.
    expect(queryByTestId("column-tags.mlflow.runName")).toBeNull();
  });

  it("shows how to log a run into an empty experiment", async () => {
    server(0);
    const { findByTestId } = page();
    const empty = await findByTestId("empty");
    expect(empty.textContent).toContain('mlflow.set_experiment("exp-one")');
  });
});
