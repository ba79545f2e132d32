import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApp } from "../app.js";
import { readAll } from "./testing/httpGet.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";

// Without PROVIDER_API_TOKEN the bridge is loopback-only; a page reaching it through a DNS name of its
// own that resolves to 127.0.0.1 (DNS rebinding) must not read the account.
let testApp: TestApp;
let app: RunningApp;

beforeAll(async () => {
  testApp = await startTestApp();
  app = testApp.app;
});

afterAll(async () => {
  await testApp?.stop();
});

function get(path: string, host: string): Promise<{ status: number; body: string }> {
  return readAll((onResponse) => request({ host: "127.0.0.1", port: app.rest.port, path, headers: { host }, timeout: 5_000 }, onResponse));
}

describe("the REST bridge without a token", () => {
  it("answers requests addressed to a loopback name", async () => {
    for (const host of [`127.0.0.1:${app.rest.port}`, `localhost:${app.rest.port}`, "[::1]"]) {
      expect((await get("/api/exchanges/runtime-proof", host)).status, host).toBe(200);
    }
  });

  it("refuses any other Host with 421, naming it (DNS rebinding)", async () => {
    const res = await get("/api/accounts", "attacker.example");
    expect(res.status).toBe(421);
    expect(JSON.parse(res.body)).toMatchObject({ code: 7, message: expect.stringContaining("attacker.example") });
    expect(res.body).not.toContain("DU");
  });
});
