import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/preact";
import { ExperimentsPage } from "./experiments";
import { Routed, hashQuery, mockFetch, setHash, type Call } from "./tracking-fixtures";

function page() {
  return render(<Routed page={(r) => <ExperimentsPage query={r.query} />} />);
}

const exp = (id: number, name = "exp-" + id) => ({
  experiment_id: String(id),
  name,
  lifecycle_stage: "active",
  creation_time: 1_700_000_000_000,
  last_update_time: 1_700_000_100_000,
  tags: [
    { key: "team", value: "vision" },
    { key: "mlflow.note.content", value: "hidden" },
  ],
});

const searches = (calls: Call[]) => calls.filter((c) => c.route === "experiments/search");

beforeEach(() => setHash("#/experiments"));
afterEach(cleanup);

describe("ExperimentsPage", () => {
  it("lists experiments with links, times and the tags people set", async () => {
    mockFetch((c) => (c.route === "experiments/search" ? { experiments: [exp(2, "house prices"), exp(0, "Default")] } : undefined));
    const { findByTestId } = page();
    const table = await findByTestId("experiments-table");
    const rows = table.querySelectorAll("tbody tr");
    expect(rows).toHaveLength(2);
    expect(rows[0].querySelector("a")!.getAttribute("href")).toBe("#/experiments/2");
    expect(rows[0].textContent).toContain("house prices");
    expect(rows[0].textContent).toContain("2023-11-14 22:13:20");
    expect(rows[0].textContent).toContain("team");
    expect(rows[0].textContent).not.toContain("mlflow.note.content");
  });

  it("searches by name with ILIKE, from the URL", async () => {
    const calls = mockFetch((c) => (c.route === "experiments/search" ? { experiments: [exp(3, "Prices")] } : undefined));
    const { findByTestId } = page();
    const input = (await findByTestId("experiment-search")) as HTMLInputElement;
    fireEvent.input(input, { target: { value: "pric'e" } });
    fireEvent.keyDown(input, { key: "Enter" });
    await waitFor(() => expect(searches(calls).at(-1)!.query.get("filter")).toBe("name ILIKE '%pric_e%'"));
    expect(hashQuery().get("q")).toBe("pric'e");
    expect(searches(calls).at(-1)!.query.get("max_results")).toBe("100");
  });

  it("pages with next_page_token and back", async () => {
    const calls = mockFetch((c) => {
      if (c.route !== "experiments/search") return undefined;
      const tok = c.query.get("page_token");
      return tok === "P2" ? { experiments: [exp(1)] } : { experiments: [exp(5), exp(4)], next_page_token: "P2" };
    });
    const { findByTestId, getByTestId } = page();
    await findByTestId("experiments-table");
    fireEvent.click(getByTestId("next-page"));
    await waitFor(() => expect(searches(calls).at(-1)!.query.get("page_token")).toBe("P2"));
    await waitFor(() => expect(getByTestId("experiments-table").querySelectorAll("tbody tr")).toHaveLength(1));
    fireEvent.click(getByTestId("prev-page"));
    await waitFor(() => expect(searches(calls).at(-1)!.query.has("page_token")).toBe(false));
  });

  it("tells a new user how to log a first run when only the empty Default experiment exists", async () => {
    const calls = mockFetch((c) => {
      if (c.route === "experiments/search") return { experiments: [exp(0, "Default")] };
      if (c.route === "runs/search") return {};
    });
    const { findByTestId } = page();
    const empty = await findByTestId("empty");
    expect(empty.textContent).toContain("pip install mlflow");
    expect(empty.textContent).toContain("export MLFLOW_TRACKING_URI=" + location.origin);
    expect(empty.textContent).toContain("mlflow.set_experiment");
    expect(empty.textContent).toContain("mlflow.log_metric");
    expect(calls.find((c) => c.route === "runs/search")!.body.experiment_ids).toEqual(["0"]);
  });

  it("does not call the server empty when Default has runs", async () => {
    mockFetch((c) => {
      if (c.route === "experiments/search") return { experiments: [exp(0, "Default")] };
      if (c.route === "runs/search") return { runs: [{ info: { run_id: "x" } }] };
    });
    const { findByTestId, queryByTestId } = page();
    await findByTestId("experiments-table");
    await new Promise((r) => setTimeout(r, 20));
    expect(queryByTestId("empty")).toBeNull();
  });

  it("asks for deleted experiments too when the toggle is on", async () => {
    const calls = mockFetch((c) => (c.route === "experiments/search" ? { experiments: [exp(1)] } : undefined));
    const { findByTestId } = page();
    fireEvent.click(await findByTestId("show-deleted"));
    await waitFor(() => expect(searches(calls).at(-1)!.query.get("view_type")).toBe("ALL"));
  });
});
