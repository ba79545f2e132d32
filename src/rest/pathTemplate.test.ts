import { describe, expect, it } from "vitest";
import { parsePathTemplate, PathDecodingError, PathTemplateError } from "./pathTemplate.js";

describe("google.api.http path templates", () => {
  it("binds single-segment variables, percent-decoded", () => {
    const t = parsePathTemplate("/api/candles/{connector_type}/{market_type}/{symbol}/{interval}");
    expect(Object.fromEntries(t.match("/api/candles/ib/spot/BTC%2FUSD/h1")!)).toEqual({ connector_type: "ib", market_type: "spot", symbol: "BTC/USD", interval: "h1" });
    expect(t.match("/api/candles/ib/spot/BTCUSDT/h1/stream")).toBeUndefined();
    expect(t.match("/api/candles/ib/spot/BTCUSDT")).toBeUndefined();
    expect(t.variables).toEqual(["connector_type", "market_type", "symbol", "interval"]);
    expect(t.literalCount).toBe(2);
  });

  it("binds a variable with a sub-pattern and a multi-segment ** keeping its slashes", () => {
    const t = parsePathTemplate("/v1/{name=shelves/*/books/**}");
    expect(t.match("/v1/shelves/s1/books/a/b%2Fc")?.get("name")).toBe("shelves/s1/books/a/b/c");
    expect(t.match("/v1/shelves/s1/other/a")).toBeUndefined();
    expect(t.openApiPath).toBe("/v1/{name}");
  });

  it("matches a custom verb and bare wildcards", () => {
    const t = parsePathTemplate("/v1/{parent.id}/*:cancel");
    expect(t.match("/v1/42/anything:cancel")?.get("parent.id")).toBe("42");
    expect(t.match("/v1/42/anything")).toBeUndefined();
  });

  it("accepts a trailing slash", () => {
    expect(parsePathTemplate("/api/accounts").match("/api/accounts/")).toBeDefined();
  });

  it("rejects malformed templates with the template named", () => {
    for (const bad of ["api/x", "/api/{x", "/api//x", "/api/{1x}", "/api/{x}/{x}"]) {
      expect(() => parsePathTemplate(bad), bad).toThrow(PathTemplateError);
    }
  });

  it("reports a malformed percent-encoding instead of throwing URIError", () => {
    expect(() => parsePathTemplate("/a/{b}").match("/a/%E0%A4%A")).toThrow(PathDecodingError);
  });
});
