import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CLIENT_QUOTAS } from "./clientsFile.js";
import { loadConfig } from "./loadConfig.js";
import { configErrorOf, dirWithFile } from "../testing/configFiles.js";

// Issue 13, item 3 (phase 1): PROVIDER_CLIENTS_FILE names the clients, their token digests and quotas.
const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");

/** A directory with clients.json (no provider file: the default one may be absent). */
const withClients = (content: unknown) => dirWithFile("clients.json", content);
const errorOf = configErrorOf;

const load = (dir: string, env: Record<string, string> = {}) => loadConfig({ env: { PROVIDER_CLIENTS_FILE: "clients.json", ...env }, cwd: dir });

describe("the clients file", () => {
  it("reads named clients with their digests and quotas, defaults filled in, beside PROVIDER_API_TOKEN's `default`", () => {
    const dir = withClients({ clients: [{ name: "alpha", tokenSha256: sha256("a"), quotas: { streams: 50 } }, { name: "beta-2", tokenSha256: sha256("b") }] });
    const config = load(dir, { PROVIDER_API_TOKEN: "t" });
    expect(config.clients.map((c) => [c.name, c.tokenSha256.toString("hex"), c.quotas.streams])).toEqual([
      ["alpha", sha256("a"), 50],
      ["beta-2", sha256("b"), DEFAULT_CLIENT_QUOTAS.streams],
      ["default", sha256("t"), DEFAULT_CLIENT_QUOTAS.streams],
    ]);
  });

  it("turns authentication on by itself (no PROVIDER_API_TOKEN needed to listen beyond loopback)", () => {
    const dir = withClients({ clients: [{ name: "alpha", tokenSha256: sha256("a") }] });
    expect(load(dir, { GRPC_HOST: "0.0.0.0" }).clients.map((c) => c.name)).toEqual(["alpha"]);
  });

  it("has no clients without a token or a file: authentication stays off", () => {
    expect(loadConfig({ env: {}, cwd: mkdtempSync(join(tmpdir(), "ibp-clients-")) }).clients).toEqual([]);
  });

  it("stops on a bad file, naming the file, the JSON path and what was expected, and never echoing a token", () => {
    const dir = withClients({
      clients: [
        { name: "Alpha", tokenSha256: sha256("a") },
        { name: "beta", tokenSha256: "the-plain-token-pasted-here" },
        { name: "gamma", tokenSha256: sha256("c"), quotas: { streams: 0 } },
        { name: "gamma", tokenSha256: sha256("a") },
      ],
    });
    const err = errorOf(() => load(dir));
    const file = join(dir, "clients.json");
    expect(err.message).toContain(`${file} at clients[0].name: expected a name of 1-32 characters`);
    expect(err.message).toContain(`${file} at clients[1].tokenSha256: expected the token's SHA-256 as 64 hex digits`);
    expect(err.message).toContain(`${file} at clients[2].quotas.streams: expected at least 1`);
    expect(err.message).not.toContain("the-plain-token-pasted-here");
  });

  it("refuses duplicate names and a token shared by two clients", () => {
    const dir = withClients({ clients: [{ name: "gamma", tokenSha256: sha256("a") }, { name: "gamma", tokenSha256: sha256("a") }] });
    const err = errorOf(() => load(dir));
    expect(err.message).toContain("clients[1].name: duplicate client name (also at clients[0])");
    expect(err.message).toContain("clients[1].tokenSha256: the same token as clients[0]");
  });

  it("reads scopes (every scope when omitted) and names an unknown one", () => {
    const ok = load(withClients({ clients: [{ name: "viewer", tokenSha256: sha256("v"), scopes: ["market-data"] }, { name: "ops", tokenSha256: sha256("o") }] }));
    expect(ok.clients.map((c) => [c.name, c.scopes])).toEqual([
      ["viewer", ["market-data"]],
      ["ops", ["market-data", "account", "store", "runtime"]],
    ]);
    const err = errorOf(() => load(withClients({ clients: [{ name: "viewer", tokenSha256: sha256("v"), scopes: ["orders"] }] })));
    expect(err.message).toContain("clients[0].scopes[0]: expected one of market-data, account, store, runtime");
  });

  it("refuses an unknown key and a name reserved for PROVIDER_API_TOKEN's client", () => {
    const dir = withClients({ clients: [{ name: "default", tokenSha256: sha256("a"), quota: {} }] });
    expect(errorOf(() => load(dir)).message).toContain(`${join(dir, "clients.json")} at clients[0]: Unrecognized key`);
    const reserved = withClients({ clients: [{ name: "default", tokenSha256: sha256("a") }] });
    expect(errorOf(() => load(reserved, { PROVIDER_API_TOKEN: "t" })).message).toContain('client name "default" is reserved');
    // "anonymous" names unauthenticated calls (health, reflection) even without PROVIDER_API_TOKEN.
    const anonymous = withClients({ clients: [{ name: "anonymous", tokenSha256: sha256("a") }] });
    expect(errorOf(() => load(anonymous)).message).toContain('client name "anonymous" is reserved');
  });

  it("refuses the name the configured subscriptions' IB lines are charged to (a client named so would hold lines with no cap and no fair share)", () => {
    const service = withClients({ clients: [{ name: "service", tokenSha256: sha256("a"), quotas: { ibLines: 2 } }] });
    expect(errorOf(() => load(service)).message).toContain('client name "service" is reserved');
  });

  it("names a missing file and a file that is not JSON", () => {
    const dir = withClients("{ not json");
    expect(errorOf(() => loadConfig({ env: { PROVIDER_CLIENTS_FILE: "clinets.json" }, cwd: dir })).message).toContain(
      `environment variable PROVIDER_CLIENTS_FILE: file not found: ${join(dir, "clinets.json")}`,
    );
    expect(errorOf(() => load(dir)).message).toContain(`${join(dir, "clients.json")}: not valid JSON`);
    // A token pasted unquoted where its digest belongs is not quoted back (V8's message quotes the text).
    const pasted = withClients('{"clients": [{"name": "alpha", "tokenSha256": my-secret-token}]}');
    const message = errorOf(() => load(pasted)).message;
    expect(message).toContain("not valid JSON");
    expect(message).not.toContain("secret");
  });
});
