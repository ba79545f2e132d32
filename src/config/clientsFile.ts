import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { z } from "zod";
import { problemsFromZod, readJsonFile, type ConfigProblem } from "./configError.js";

/** What a client may hold at once, or spend per window. Fair shares of IB's limits apply on top of these. */
export interface ClientQuotas {
  /** Open server streams (grpc.health.v1 Watch streams have their own limits and are not counted). */
  streams: number;
  /** IB market-data lines (reqMktData / reqRealTimeBars) the client's streams may hold; 0 = no cap beyond its fair share. */
  ibLines: number;
  /** IB historical-data requests the client's calls may send per 10 minutes; 0 = no cap beyond its fair share. */
  historyRequests: number;
}

/** The one place quota defaults are written: a client without `quotas`, `default` and `anonymous` get them. */
export const DEFAULT_CLIENT_QUOTAS: Readonly<ClientQuotas> = Object.freeze({ streams: 1000, ibLines: 0, historyRequests: 0 });

/** The client PROVIDER_API_TOKEN authenticates as. */
export const DEFAULT_CLIENT_NAME = "default";
/** Every call counts as this client when no token is configured (authentication off, loopback only). */
export const ANONYMOUS_CLIENT_NAME = "anonymous";
/** The configured `active` subscriptions' IB lines are charged to this name, exempt from caps and fair shares. */
export const SERVICE_CLIENT_NAME = "service";

/** A named client: its token is known only by its SHA-256 digest. */
/**
 * What a client may call, by service: `market-data` (MarketDataService, SymbolService), `account`
 * (AccountService: balances and positions), `store` (StoreService: backfills spend the shared history
 * budget), `runtime` (RuntimeService: the Gateway's identity and the live subscriptions), `trade`
 * (OrderService: placing, changing and cancelling orders; its reads need `account` or `trade`).
 */
export const CLIENT_SCOPES = ["market-data", "account", "store", "runtime", "trade"] as const;
export type ClientScope = (typeof CLIENT_SCOPES)[number];
/**
 * A named client's scopes when its entry names none, and PROVIDER_API_TOKEN's: every scope but `trade`,
 * which a client holds only when it is given by name (a read token can never place orders).
 */
export const DEFAULT_CLIENT_SCOPES: readonly ClientScope[] = CLIENT_SCOPES.filter((s) => s !== "trade");

export interface ClientConfig {
  name: string;
  /** SHA-256 of the token (32 bytes). */
  tokenSha256: Buffer;
  quotas: ClientQuotas;
  /** Every scope unless the file names some. */
  scopes: readonly ClientScope[];
}

const clientSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "expected a name of 1-32 characters: a-z, 0-9, _ and -, starting with a letter or digit"),
  tokenSha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "expected the token's SHA-256 as 64 hex digits (printf %s \"$TOKEN\" | sha256sum), never the token itself"),
  scopes: z.array(z.enum(CLIENT_SCOPES, `expected one of ${CLIENT_SCOPES.join(", ")}`)).min(1, "expected at least one scope (omit the field for all of them)").optional(),
  quotas: z
    .strictObject({
      streams: z.number().int("expected an integer").min(1, "expected at least 1").max(1_000_000).optional(),
      ibLines: z.number().int("expected an integer").min(0, "expected 0 (no cap) or more").max(10_000).optional(),
      historyRequests: z.number().int("expected an integer").min(0, "expected 0 (no cap) or more").max(10_000).optional(),
    })
    .optional(),
});

const clientsFileSchema = z
  .strictObject({ clients: z.array(clientSchema).min(1, "expected at least one client") })
  .superRefine((file, ctx) => {
    const seenNames = new Map<string, number>();
    const seenHashes = new Map<string, number>();
    file.clients.forEach((client, i) => {
      const sameName = seenNames.get(client.name);
      if (sameName !== undefined) ctx.addIssue({ code: "custom", path: ["clients", i, "name"], message: `duplicate client name (also at clients[${sameName}])` });
      seenNames.set(client.name, i);
      const hash = client.tokenSha256.toLowerCase();
      const sameHash = seenHashes.get(hash);
      if (sameHash !== undefined) ctx.addIssue({ code: "custom", path: ["clients", i, "tokenSha256"], message: `the same token as clients[${sameHash}]: give each client its own token` });
      seenHashes.set(hash, i);
    });
  });

export function sha256(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** The client PROVIDER_TRADE_TOKEN authenticates as: every scope, `trade` included. */
export const TRADE_CLIENT_NAME = "trade";

/** PROVIDER_TRADE_TOKEN as a client: named `trade`, every scope, the default quotas. */
export function tradeClient(token: string): ClientConfig {
  return { name: TRADE_CLIENT_NAME, tokenSha256: sha256(token), quotas: { ...DEFAULT_CLIENT_QUOTAS }, scopes: CLIENT_SCOPES };
}

/** PROVIDER_API_TOKEN as a client: named `default`, with the default quotas. */
export function defaultClient(token: string): ClientConfig {
  return { name: DEFAULT_CLIENT_NAME, tokenSha256: sha256(token), quotas: { ...DEFAULT_CLIENT_QUOTAS }, scopes: DEFAULT_CLIENT_SCOPES };
}

/**
 * Reads PROVIDER_CLIENTS_FILE (`file`, absolute). Problems name the file, the JSON path and what was
 * expected; a missing file is a problem too (a typo would otherwise lock every client out, or let none in).
 */
export function readClientsFile(file: string, problems: ConfigProblem[]): ClientConfig[] {
  if (!existsSync(file)) {
    problems.push({ source: "environment variable PROVIDER_CLIENTS_FILE", path: "", message: `file not found: ${file}` });
    return [];
  }
  const read = readJsonFile(file, problems);
  if (read === undefined) return [];
  const { json } = read;
  const parsed = clientsFileSchema.safeParse(json);
  if (!parsed.success) {
    // Never echo a tokenSha256 value back: someone may have pasted the token itself there.
    problems.push(...problemsFromZod(file, json, parsed.error.issues).map((p) => (p.path.endsWith(".tokenSha256") ? { ...p, message: p.message.replace(/ \(got .*\)$/, "") } : p)));
    return [];
  }
  return parsed.data.clients.map((c) => ({
    name: c.name,
    tokenSha256: Buffer.from(c.tokenSha256, "hex"),
    quotas: {
      streams: c.quotas?.streams ?? DEFAULT_CLIENT_QUOTAS.streams,
      ibLines: c.quotas?.ibLines ?? DEFAULT_CLIENT_QUOTAS.ibLines,
      historyRequests: c.quotas?.historyRequests ?? DEFAULT_CLIENT_QUOTAS.historyRequests,
    },
    scopes: c.scopes === undefined ? DEFAULT_CLIENT_SCOPES : [...new Set(c.scopes)],
  }));
}
