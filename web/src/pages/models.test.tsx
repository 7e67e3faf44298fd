import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/preact";
import { ModelPage, ModelsPage } from "./models";
import { modelFilter, parseMLmodelSignature, parseModelURI } from "../components/ops-data";
import { mockFetch } from "./ops-fixtures";


const NAME = "fraud model"; // a space: paths must escape it
const P = "/api/v1/models/fraud%20model";

function model(over: Partial<Record<string, unknown>> = {}) {
  return {
    name: NAME,
    description: "claims fraud",
    latest_version: 3,
    aliases: { champion: 2, challenger: 1 },
    requires_approval: true,
    protected_aliases: ["champion"],
    tags: {},
    user: "ana",
    created_at: "2026-11-01T10:00:00.000Z",
    updated_at: "2026-11-20T10:00:00.000Z",
    ...over,
  };
}

function version(n: number, approval: string, aliases: string[] = []) {
  return {
    name: NAME,
    version: n,
    stage: "None",
    approval,
    aliases,
    description: "",
    source: `models:/m-${n}`,
    storage_location: `mlflow-artifacts:/3/models/m-${n}/artifacts`,
    run_id: `run${n}abcdef0123456789`,
    model_id: `m-${n}`,
    status: "READY",
    tags: { team: "risk" },
    user: "ana",
    created_at: "2026-11-20T10:00:00.000Z",
    updated_at: "2026-11-20T10:00:00.000Z",
  };
}

const versions = { versions: [version(3, "pending"), version(2, "approved", ["champion"]), version(1, "approved", ["challenger"])] };

beforeEach(() => {
  history.replaceState(null, "", "/");
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("model helpers", () => {
  it("searches names case-insensitively and passes filters through", () => {
    expect(modelFilter("")).toBe("");
    expect(modelFilter(" fraud ")).toBe("name ILIKE '%fraud%'");
    // MLflow keeps quoted values verbatim: a quote becomes a one-character wildcard.
    expect(modelFilter("o'brien")).toBe("name ILIKE '%o_brien%'");
    expect(modelFilter("tags.team = 'risk'")).toBe("tags.team = 'risk'");
    expect(modelFilter("name LIKE 'fraud-%'")).toBe("name LIKE 'fraud-%'");
  });

  it("parses model URIs", () => {
    expect(parseModelURI("models:/fraud@champion")).toEqual({ name: "fraud", alias: "champion" });
    expect(parseModelURI("models:/fraud/3")).toEqual({ name: "fraud", version: "3" });
    expect(parseModelURI("runs:/abc/model")).toBeNull();
    expect(parseModelURI("models:/m-123")).toBeNull();
  });

  it("reads a signature that PyYAML folded over several lines", () => {
    const text = `artifact_path: x
flavors:
  python_function:
    loader_module: mlflow.xgboost
signature:
  inputs: '[{"type": "double", "name": "f0", "required": true}, {"type": "string",
    "name": "it''s", "required": false}, {"type": "long", "name": "n"}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
utc_time_created: '2026-11-27 02:42:24.599501'
`;
    const sig = parseMLmodelSignature(text)!;
    expect(sig.inputs!.map((c) => [c.name, c.type, c.required])).toEqual([
      ["f0", "double", true],
      ["it's", "string", false],
      ["n", "long", true],
    ]);
    expect(sig.outputs![0]).toMatchObject({ type: "tensor", dtype: "int64", shape: [-1], required: undefined });
    expect(sig.params).toBeUndefined();
    expect(parseMLmodelSignature("flavors:\n  x: 1\n")).toBeUndefined();
  });
});

describe("ModelsPage", () => {
  it("lists models with their latest version and aliases", async () => {
    const calls = mockFetch((m, p) => (m === "GET" && p.startsWith("/api/v1/models?") ? [200, { models: [model()] }] : undefined));
    const r = render(<ModelsPage query={new URLSearchParams("q=fraud")} />);
    await waitFor(() => r.getByTestId("models-table"));
    expect(r.getByTestId("page-models")).toBeTruthy();
    const q = new URLSearchParams(calls[0].path.split("?")[1]);
    expect(q.get("filter")).toBe("name ILIKE '%fraud%'");
    expect(r.getByText(NAME).getAttribute("href")).toBe("#/models/fraud%20model");
    expect(r.getByText("3").getAttribute("href")).toBe("#/models/fraud%20model/versions/3");
    expect(r.getByTestId("alias-champion").textContent).toContain("v2");
  });

  it("shows how to register a model when there is none", async () => {
    mockFetch(() => [200, { models: [] }]);
    const r = render(<ModelsPage query={new URLSearchParams()} />);
    await waitFor(() => r.getByTestId("empty"));
    expect(r.getByTestId("register-snippet").textContent).toContain("registered_model_name=");
    expect(r.getByTestId("register-snippet").textContent).toContain("mlflow.register_model");
  });

  it("shows the server's error", async () => {
    mockFetch(() => [400, { error: { code: "invalid", message: "Invalid filter: unknown attribute 'nmae'" } }]);
    const r = render(<ModelsPage query={new URLSearchParams("q=nmae = 'x'")} />);
    await waitFor(() => r.getByTestId("error"));
    expect(r.getByTestId("error").textContent).toBe("Invalid filter: unknown attribute 'nmae'");
  });
});

describe("ModelPage", () => {
  function registry(over: { approve?: [number, unknown] } = {}) {
    let approved = false;
    const calls = mockFetch((m, p) => {
      if (m === "GET" && p === P) return [200, model()];
      if (m === "GET" && p.startsWith(P + "/versions?")) {
        return [200, approved ? { versions: [version(3, "approved"), ...versions.versions.slice(1)] } : versions];
      }
      if (m === "POST" && p === P + "/versions/3/approve") {
        if (over.approve) return over.approve;
        approved = true;
        return [200, version(3, "approved")];
      }
      if (m === "PUT" && p === P + "/aliases/champion") return [200, version(1, "approved", ["champion", "challenger"])];
      if (m === "DELETE" && p === P + "/aliases/challenger") return [204, null];
      return undefined;
    });
    return calls;
  }

  it("shows versions with aliases, approval, run and logged model", async () => {
    registry();
    const r = render(<ModelPage name={NAME} />);
    await waitFor(() => r.getByTestId("versions-table"));
    expect(r.getByTestId("page-model")).toBeTruthy();
    const row3 = r.getByTestId("version-3");
    expect(row3.textContent).toContain("pending");
    expect(row3.querySelector('a[href="#/runs/run3abcdef0123456789"]')).toBeTruthy();
    expect(row3.textContent).toContain("m-3");
    expect(r.getByTestId("version-2").querySelector('[data-testid="alias-champion"]')).toBeTruthy();
    expect(r.getByTestId("approval-policy").textContent).toContain("@champion");
  });

  it("approves with the reason, then reloads", async () => {
    const calls = registry();
    const r = render(<ModelPage name={NAME} />);
    await waitFor(() => r.getByTestId("approve-3"));
    fireEvent.click(r.getByTestId("approve-3"));
    fireEvent.input(r.getByTestId("decision-reason"), { target: { value: "backtest AUC 0.93" } });
    fireEvent.click(r.getByTestId("decision-submit"));
    await waitFor(() => r.getByTestId("flash"));
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.path).toBe(P + "/versions/3/approve");
    expect(post.body).toEqual({ reason: "backtest AUC 0.93" });
    await waitFor(() => expect(r.getByTestId("approval-3").textContent).toBe("approved"));
    expect(r.queryByTestId("decision-reason")).toBeNull();
  });

  it("keeps the form open with the server's message when the decision is refused", async () => {
    const msg = "ana registered version 3 and cannot approve it: policy requires another approver";
    const calls = registry({ approve: [403, { error: { code: "permission_denied", message: msg } }] });
    const r = render(<ModelPage name={NAME} />);
    await waitFor(() => r.getByTestId("approve-3"));
    fireEvent.click(r.getByTestId("approve-3"));
    fireEvent.input(r.getByTestId("decision-reason"), { target: { value: "looks fine" } });
    fireEvent.click(r.getByTestId("decision-submit"));
    await waitFor(() => r.getByTestId("error"));
    expect(r.getByTestId("error").textContent).toBe(msg);
    expect(r.getByTestId("decision-reason")).toBeTruthy();
    expect(r.queryByTestId("flash")).toBeNull();
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(1);
  });

  it("rejects through the reject route", async () => {
    const calls = registry();
    const r = render(<ModelPage name={NAME} />);
    await waitFor(() => r.getByTestId("reject-3"));
    fireEvent.click(r.getByTestId("reject-3"));
    fireEvent.input(r.getByTestId("decision-reason"), { target: { value: "drift on segment B" } });
    fireEvent.click(r.getByTestId("decision-submit"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.path).toBe(P + "/versions/3/reject");
    expect(post.body).toEqual({ reason: "drift on segment B" });
  });

  it("moves an alias with PUT and the version", async () => {
    const calls = registry();
    const r = render(<ModelPage name={NAME} />);
    await waitFor(() => r.getByTestId("alias-submit"));
    fireEvent.input(r.getByTestId("alias-name"), { target: { value: "champion" } });
    fireEvent.change(r.getByTestId("alias-version"), { target: { value: "1" } });
    fireEvent.click(r.getByTestId("alias-submit"));
    await waitFor(() => r.getByTestId("flash"));
    const put = calls.find((c) => c.method === "PUT")!;
    expect(put.path).toBe(P + "/aliases/champion");
    expect(put.body).toEqual({ version: 1 });
    // reloaded after the change
    await waitFor(() => expect(calls.filter((c) => c.method === "GET" && c.path === P).length).toBe(2));
  });

  it("shows why an alias cannot move", async () => {
    const msg = "Alias 'champion' of registered model 'fraud model' is protected: it may only point at an approved version, and version 3 is pending.";
    mockFetch((m, p) => {
      if (m === "GET" && p === P) return [200, model()];
      if (m === "GET" && p.startsWith(P + "/versions?")) return [200, versions];
      if (m === "PUT") return [409, { error: { code: "conflict", message: msg } }];
      return undefined;
    });
    const r = render(<ModelPage name={NAME} />);
    await waitFor(() => r.getByTestId("alias-submit"));
    fireEvent.input(r.getByTestId("alias-name"), { target: { value: "@champion" } });
    fireEvent.change(r.getByTestId("alias-version"), { target: { value: "3" } });
    fireEvent.click(r.getByTestId("alias-submit"));
    await waitFor(() => r.getByTestId("error"));
    expect(r.getByTestId("error").textContent).toBe(msg);
  });

  it("deletes an alias after a confirmation", async () => {
    const calls = registry();
    const r = render(<ModelPage name={NAME} />);
    await waitFor(() => r.getByTestId("delete-alias-challenger"));
    fireEvent.click(r.getByTestId("delete-alias-challenger"));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    fireEvent.click(r.getByTestId("confirm-delete-alias"));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE")).toBe(true));
    expect(calls.find((c) => c.method === "DELETE")!.path).toBe(P + "/aliases/challenger");
  });

  it("explains an unknown model", async () => {
    mockFetch(() => [404, { error: { code: "not_found", message: "Registered Model with name=fraud model not found" } }]);
    const r = render(<ModelPage name={NAME} />);
    await waitFor(() => r.getByTestId("error"));
    expect(r.getByTestId("error").textContent).toContain("not found");
  });
});

describe("version page", () => {
  it("shows fields, approval history, tags and the signature", async () => {
    const mlmodel = `signature:\n  inputs: '[{"type": "double", "name": "amount", "required": true}]'\n  outputs: null\n`;
    mockFetch((_m, p) => {
      if (p === P + "/versions/2") return [200, version(2, "approved", ["champion"])];
      if (p === P + "/versions/2/approvals")
        return [200, { approvals: [{ from: "pending", to: "approved", actor: "bo", reason: "backtest AUC 0.90", time: "2026-11-21T10:00:00.000Z" }] }];
      if (p === P) return [200, model()];
      if (p === "/api/v1/endpoints") return [200, { endpoints: [] }];
      if (p === "/ajax-api/2.0/mlflow-artifacts/artifacts/3/models/m-2/artifacts/MLmodel") return [200, mlmodel];
      return undefined;
    });
    const r = render(<ModelPage name={NAME} version="2" />);
    await waitFor(() => r.getByTestId("approvals-table"));
    expect(r.getByTestId("page-version")).toBeTruthy();
    expect(r.getByTestId("alias-champion")).toBeTruthy();
    expect(r.getByTestId("approvals-table").textContent).toContain("backtest AUC 0.90");
    expect(r.getByTestId("approvals-table").textContent).toContain("bo");
    expect(r.getByTestId("version-tags").textContent).toContain("risk");
    expect(r.getByTestId("version-fields").querySelector('a[href="#/runs/run2abcdef0123456789"]')).toBeTruthy();
    await waitFor(() => r.getByTestId("signature-inputs"));
    expect(r.getByTestId("signature-inputs").textContent).toContain("amount");
    expect(r.getByTestId("approve-2")).toBeTruthy();
  });
});
