import { describe, expect, it } from "vitest";
import { render } from "@testing-library/preact";
import { pageFor } from "./app";
import { parseHash, href } from "./router";
import { formatNumber } from "./components/common";
import { artifactURL } from "./api";

describe("router", () => {
  it("decodes segments and the query", () => {
    const r = parseHash("#/models/my%20model/versions/3?tab=x");
    expect(r.parts).toEqual(["models", "my model", "versions", "3"]);
    expect(r.query.get("tab")).toBe("x");
  });
  it("round-trips names with reserved characters", () => {
    const h = href(["models", "a/b #?%"], { filter: "metrics.rmse < 1", empty: "" });
    const r = parseHash(h);
    expect(r.parts).toEqual(["models", "a/b #?%"]);
    expect(r.query.get("filter")).toBe("metrics.rmse < 1");
    expect(r.query.has("empty")).toBe(false);
  });
  it("answers an unknown page with a way back", () => {
    const { getByText } = render(pageFor(parseHash("#/nowhere")));
    expect(getByText("No such page")).toBeTruthy();
  });
});

describe("formatNumber", () => {
  it("spells out the special values", () => {
    expect(formatNumber(NaN)).toBe("NaN");
    expect(formatNumber(-Infinity)).toBe("-Inf");
    expect(formatNumber(0.123456)).toBe("0.1235");
    expect(formatNumber(42)).toBe("42");
    expect(formatNumber(1.5e-7)).toBe("1.500e-7");
  });
});

describe("artifactURL", () => {
  it("maps a proxied root to the download route", () => {
    expect(artifactURL("mlflow-artifacts:/1/abc/artifacts", "model/MLmodel")).toBe(
      "/ajax-api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model/MLmodel",
    );
    expect(artifactURL("mlflow-artifacts://host:5000/1/r/artifacts", "a b.txt")).toBe(
      "/ajax-api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/a%20b.txt",
    );
  });
  it("has no address for roots the server does not proxy", () => {
    expect(artifactURL("s3://bucket/1/r/artifacts", "x")).toBeNull();
  });
});
