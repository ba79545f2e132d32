import SwaggerParser from "@apidevtools/swagger-parser";
import { createFileRegistry } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { loadDescriptorSet } from "../grpc/descriptorImage.js";
import { rpcRoutes } from "./httpRules.js";
import { openApiDocument } from "./openApi.js";

interface Parameter {
  name: string;
  in: string;
  example?: unknown;
  schema: { type?: string; format?: string; enum?: unknown[]; minimum?: number; maximum?: number };
}
type Doc = { paths: Record<string, Record<string, { operationId: string; parameters?: Parameter[] }>> };

const doc = openApiDocument(rpcRoutes(createFileRegistry(loadDescriptorSet())), { title: "ib-provider", version: "test", description: "" }) as unknown as Doc;
const parameters = Object.values(doc.paths).flatMap((ops) => Object.values(ops).flatMap((op) => (op.parameters ?? []).map((p) => ({ op: op.operationId, ...p }))));
const named = (name: string) => parameters.filter((p) => p.name === name);

describe("the OpenAPI document of the service", () => {
  it("is valid OpenAPI 3 (swagger-parser)", async () => {
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it.each([
    ["connector_type", ["ib"], "ib"],
    ["market_type", ["spot", "futures", "margin"], "spot"],
    ["interval", ["min1", "min5", "min15", "min30", "h1", "h2", "h4", "day", "week", "month"], "h1"],
  ])("every %s path parameter lists the values the service accepts, with an example", (name, values, example) => {
    expect(named(name).length).toBeGreaterThan(0);
    for (const p of named(name)) {
      expect(p, p.op).toMatchObject({ in: "path", example, schema: { type: "string", enum: values } });
    }
  });

  it("says which interval aliases are accepted besides the listed names", () => {
    for (const p of named("interval")) expect((p as { description?: string }).description).toMatch(/Also accepted: M1, .*1h/);
  });

  it("every symbol parameter has an example", () => {
    expect(named("symbol").length).toBeGreaterThan(0);
    for (const p of named("symbol")) expect(p.example, p.op).toBe("BTCUSDT");
  });

  it("shows days as the JSON integer the service accepts (0-36500), not a 64-bit integer", () => {
    const [days] = named("days");
    expect(days).toMatchObject({ in: "query", example: 7, schema: { type: "integer", format: "int32", minimum: 0, maximum: 36_500 } });
  });

  it("POST /api/store/backfill takes the whole BackfillRequest as its JSON body and streams BackfillResponse", () => {
    const op = (doc.paths["/api/store/backfill"] as Record<string, { operationId: string; requestBody?: unknown; responses: Record<string, unknown> }>).post!;
    expect(op.operationId).toBe("StoreService_Backfill");
    expect(JSON.stringify(op.requestBody)).toContain("#/components/schemas/ibprovider.v1.BackfillRequest");
    expect(JSON.stringify(op.responses["200"])).toContain("#/components/schemas/ibprovider.v1.BackfillResponse");
  });

  it("every example is one of its parameter's values", () => {
    for (const p of parameters.filter((q) => q.example !== undefined && q.schema.enum !== undefined)) expect(p.schema.enum, `${p.op} ${p.name}`).toContain(p.example);
  });
});
