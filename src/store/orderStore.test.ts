import { spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { dec } from "../domain/decimal.js";
import type { Execution } from "../domain/orders/execution.js";
import { bracketBuy, limitBuy } from "../domain/orders/testing/orderRequests.js";
import { until } from "../testing/until.js";
import { MarketStore } from "./marketStore.js";
import { ClientOrderIdReusedError, retryWhileBusy } from "./orderStore.js";
import { orderStoreFiles } from "./testing/orderStoreFiles.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSX = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
const CLAIMER = fileURLToPath(new URL("./testing/claimOrders.ts", import.meta.url));

/** A claimOrders.ts child: ready once its store is open, claiming on go(); claims() are the lines it printed. */
function startClaimer(name: string, count: number, mode?: "hold") {
  const proc = spawn(process.execPath, ["--import", TSX, CLAIMER, files.path, name, String(count), ...(mode === undefined ? [] : [mode])], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  proc.stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
  return {
    proc,
    ready: until(() => out.startsWith("ready\n"), { timeoutMs: 15_000, what: `${name} opened the store` }),
    go: () => proc.stdin.write("go\n"),
    claims: () => out.split("\n").slice(1).filter((line) => line !== "").map((line) => line.split(" ") as [string, string, string]),
    /** How it ended: "0" or the signal that killed it. */
    exited: new Promise<string>((resolve) => proc.on("exit", (code, signal) => resolve(signal ?? String(code)))),
  };
}

const files = orderStoreFiles();
const { open } = files;
const T0 = Date.UTC(2026, 11, 4, 15, 0);

describe("claiming a client order id", () => {
  it("the first claim allocates IB's next valid id and records the order as PendingSubmit; a retry gets the same order back, not a new one", () => {
    const store = open();
    const first = store.claim(limitBuy(), { nextValidId: 100, nowMs: T0 });
    expect(first).toMatchObject({ new: true, legs: [], order: { orderId: 100, status: "PendingSubmit", clientOrderId: "c-1", account: "DU1234567", role: "parent", createdMs: T0 } });
    expect(first.order.filled.toString()).toBe("0");
    expect(first.order.remaining.toString()).toBe("10");
    // The same order written differently (150.250) is a retry.
    const retry = store.claim(limitBuy({ limitPrice: dec("150.250") }), { nextValidId: 101, nowMs: T0 + 1 });
    expect(retry).toMatchObject({ new: false, order: { orderId: 100, createdMs: T0 } });
    expect(store.lastOrderId("DU1234567")).toBe(100);
  });

  it("refuses the same client order id with a different request, saying so with CLIENT_ORDER_ID_REUSED, and allocates nothing", () => {
    const store = open();
    store.claim(limitBuy(), { nextValidId: 100 });
    let error: unknown;
    try {
      store.claim(limitBuy({ quantity: dec("11") }), { nextValidId: 100 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ClientOrderIdReusedError);
    expect((error as ClientOrderIdReusedError).refusal).toMatchObject({ reason: "CLIENT_ORDER_ID_REUSED", field: "clientOrderId", message: expect.stringContaining('"c-1" was used already') });
    expect(store.lastOrderId("DU1234567")).toBe(100);
    // The same id in another account is another order.
    expect(store.claim(limitBuy({ account: "DU7" }), { nextValidId: 100 }).new).toBe(true);
  });

  it("claims a bracket as one: consecutive ids, parent first, legs naming it; a retry returns all three; a leg's id is not a parent's", () => {
    const store = open();
    const claimed = store.claim(bracketBuy(), { nextValidId: 7 });
    expect([claimed.order, ...claimed.legs].map((o) => [o.clientOrderId, o.orderId, o.role, o.parentClientOrderId, o.leg.side, o.leg.type])).toEqual([
      ["b-1", 7, "parent", undefined, "BUY", "LMT"],
      ["b-1.tp", 8, "takeProfit", "b-1", "SELL", "LMT"],
      ["b-1.sl", 9, "stopLoss", "b-1", "SELL", "STP"],
    ]);
    const retry = store.claim(bracketBuy(), { nextValidId: 7 });
    expect([retry.new, retry.order.orderId, ...retry.legs.map((l) => l.orderId)]).toEqual([false, 7, 8, 9]);
    expect(() => store.claim(limitBuy({ clientOrderId: "b-1.tp" }), { nextValidId: 7 })).toThrow(ClientOrderIdReusedError);
    // A new bracket whose leg would take an id in use is refused as a whole: nothing written, no id spent.
    expect(() => store.claim(bracketBuy({ clientOrderId: "b-2", bracket: { takeProfit: { clientOrderId: "b-1.sl", limitPrice: dec("110") } } }), { nextValidId: 7 })).toThrow(/bracket.takeProfit.clientOrderId "b-1.sl"/);
    expect(store.get("DU1234567", "b-2")).toBeUndefined();
    expect(store.lastOrderId("DU1234567")).toBe(9);
  });

  it("survives a restart: after closing and reopening the file the retry finds the order, and new ids continue above the old ones", () => {
    let store = open();
    store.claim(bracketBuy(), { nextValidId: 50 });
    store.close();
    store = open();
    const retry = store.claim(bracketBuy(), { nextValidId: 1 });
    expect([retry.new, retry.order.orderId]).toEqual([false, 50]);
    // IB's nextValidId after a Gateway restart can be lower than what we used: never reuse one.
    expect(store.claim(limitBuy({ clientOrderId: "next" }), { nextValidId: 1 }).order.orderId).toBe(53);
  });

  it("two instances on one file (a second service, the same process reopening) see each other's claims", () => {
    const a = open();
    const b = open();
    expect(a.claim(limitBuy(), { nextValidId: 10 }).new).toBe(true);
    expect(b.claim(limitBuy(), { nextValidId: 10 })).toMatchObject({ new: false, order: { orderId: 10 } });
    expect(b.claim(limitBuy({ clientOrderId: "c-2" }), { nextValidId: 10 }).order.orderId).toBe(11);
  });

  it("a claim that returned is on disk: after the claiming process is killed (-9, no clean close), the retry finds it", async () => {
    open();
    const child = startClaimer("killed", 3, "hold");
    await child.ready;
    child.go();
    await until(() => child.claims().length === 4, { timeoutMs: 15_000, what: "the child printed its four claims" });
    child.proc.kill("SIGKILL");
    expect(await child.exited).toBe("SIGKILL");
    const store = open();
    for (const [id, , orderId] of child.claims()) {
      // The child's request (claimOrders.ts): 1 AAPL at market for DU1.
      const retry = store.claim(limitBuy({ clientOrderId: id, account: "DU1", type: "MKT", limitPrice: undefined, quantity: dec("1") }), { nextValidId: 1 });
      expect([retry.new, retry.order.orderId]).toEqual([false, Number(orderId)]);
    }
    expect(store.lastOrderId("DU1")).toBe(103);
  });

  it("concurrent claims from four processes on one file: exactly one wins a shared id, and no IB order id is handed out twice", async () => {
    open(); // migrated once before the processes start
    const children = ["p1", "p2", "p3", "p4"].map((name) => startClaimer(name, 25));
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.go();
    expect(await Promise.all(children.map((c) => c.exited))).toEqual(["0", "0", "0", "0"]);
    const claims = children.flatMap((c) => c.claims());
    expect(claims).toHaveLength(4 * 26);
    const shared = claims.filter(([id]) => id === "shared");
    expect(shared.filter(([, isNew]) => isNew === "true")).toHaveLength(1);
    expect(new Set(shared.map(([, , orderId]) => orderId)).size).toBe(1);
    const won = claims.filter(([, isNew]) => isNew === "true").map(([, , orderId]) => Number(orderId));
    expect(won).toHaveLength(1 + 4 * 25);
    expect(new Set(won).size).toBe(won.length);
    expect(Math.min(...won)).toBe(100);
    expect(Math.max(...won)).toBe(100 + won.length - 1);
  });

  it("a write waits out another connection's short transaction (the event writer's batch) instead of failing", async () => {
    const store = open();
    store.claim(limitBuy(), { nextValidId: 1 });
    // Another thread holds the write lock for 40 ms, as the event writer's worker does for a batch.
    const holder = new Worker(
      `const { parentPort, workerData } = require("node:worker_threads");
       const db = new (require(workerData.sqlite))(workerData.path);
       db.prepare("BEGIN IMMEDIATE").run();
       parentPort.postMessage("locked");
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 40);
       db.prepare("COMMIT").run();
       db.close();`,
      { eval: true, workerData: { sqlite: createRequire(import.meta.url).resolve("better-sqlite3"), path: files.path } },
    );
    const exited = once(holder, "exit");
    await once(holder, "message");
    expect(store.updateState("DU1234567", "c-1", { status: "Submitted" })?.status).toBe("Submitted");
    await exited;
  });

  it("a claim that finds the file locked beyond the busy timeout (the operator's CLI) is tried again without holding the event loop, and lands once the lock is gone", async () => {
    const store = open({ busyTimeoutMs: 0 });
    const other = new Database(files.path);
    other.prepare("BEGIN IMMEDIATE").run();
    expect(() => store.claim(limitBuy(), { nextValidId: 1 })).toThrow(expect.objectContaining({ code: "SQLITE_BUSY" }));
    const claimed = retryWhileBusy(() => store.claim(limitBuy(), { nextValidId: 1 }));
    let turns = 0;
    const ticking = setInterval(() => turns++, 1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    other.prepare("COMMIT").run();
    other.close();
    expect((await claimed).new).toBe(true);
    clearInterval(ticking);
    expect(turns).toBeGreaterThan(5);
    // Given up after the timeout: the caller answers UNAVAILABLE and sends nothing.
    const holder = new Database(files.path);
    holder.prepare("BEGIN IMMEDIATE").run();
    await expect(retryWhileBusy(() => store.claim(limitBuy({ clientOrderId: "c-2" }), { nextValidId: 1 }), 50)).rejects.toMatchObject({ code: "SQLITE_BUSY" });
    holder.prepare("ROLLBACK").run();
    holder.close();
  });

  it("commits with synchronous=FULL on its own connection, beside the market-data store's connection on the same file", async () => {
    const market = MarketStore.open(files.path);
    const store = open();
    expect(store.claim(limitBuy(), { nextValidId: 1 }).new).toBe(true);
    const raw = new Database(files.path, { readonly: true });
    expect((raw.prepare("SELECT count(*) AS n FROM orders").get() as { n: number }).n).toBe(1);
    raw.close();
    expect(market.stats().schemaVersion).toBeGreaterThanOrEqual(3);
    market.close();
    expect((store as unknown as { db: Database.Database }).db.pragma("synchronous", { simple: true })).toBe(2);
  });
});

describe("allocating IB order ids", () => {
  it("returns max(nextValidId, the last id + 1), recorded before it is returned, across a reopen", () => {
    let store = open();
    expect(store.allocateOrderId("gw:7", 10)).toBe(10);
    expect(store.allocateOrderId("gw:7", 10)).toBe(11);
    expect(store.allocateOrderId("gw:7", 500)).toBe(500);
    store.close();
    store = open();
    expect(store.lastOrderId("gw:7")).toBe(500);
    expect(store.allocateOrderId("gw:7", 3)).toBe(501);
    expect(store.allocateOrderId("gw:8", 3)).toBe(3);
  });

  it("gives accounts that share a connection's id space ids that never collide", () => {
    const store = open();
    const a = store.claim(limitBuy({ account: "DU1" }), { nextValidId: 1, idSpace: "gw" });
    const b = store.claim(limitBuy({ account: "DU2" }), { nextValidId: 1, idSpace: "gw" });
    expect([a.order.orderId, b.order.orderId]).toEqual([1, 2]);
    expect(store.getByOrderId("gw", 2)?.account).toBe("DU2");
  });

  it("refuses a nextValidId that is not a non-negative integer", () => {
    expect(() => open().allocateOrderId("x", 1.5)).toThrow(RangeError);
  });
});

describe("an order's state", () => {
  it("records IB's updates (fields left out unchanged) and finds the order by IB's order id and perm id", () => {
    const store = open();
    store.claim(limitBuy(), { nextValidId: 100, nowMs: T0 });
    const updated = store.updateState("DU1234567", "c-1", { status: "Submitted", permId: 987654 }, T0 + 5);
    expect(updated).toMatchObject({ status: "Submitted", permId: 987654, updatedMs: T0 + 5, createdMs: T0 });
    store.updateState("DU1234567", "c-1", { filled: dec("4"), remaining: dec("6"), avgFillPrice: dec("150.2") }, T0 + 6);
    store.updateState("DU1234567", "c-1", { lastError: { code: 399, text: "Order message: warning" } }, T0 + 7);
    const order = store.getByPermId(987654)!;
    expect([order.status, order.filled.toString(), order.remaining.toString(), order.avgFillPrice?.toString(), order.lastError]).toEqual(["Submitted", "4", "6", "150.2", { code: 399, text: "Order message: warning" }]);
    expect(store.getByOrderId("DU1234567", 100)?.clientOrderId).toBe("c-1");
    expect(store.updateState("DU1234567", "nope", { status: "Filled" })).toBeUndefined();
  });

  it("lists open orders (Unknown and Inactive included, done ones not) and recent ones newest first", () => {
    const store = open();
    for (const [i, id] of ["a", "b", "c", "d"].entries()) store.claim(limitBuy({ clientOrderId: id }), { nextValidId: 1, nowMs: T0 + i });
    store.claim(limitBuy({ clientOrderId: "other", account: "DU9" }), { nextValidId: 1, nowMs: T0 });
    store.updateState("DU1234567", "a", { status: "Filled" }, T0 + 10);
    store.updateState("DU1234567", "b", { status: "Unknown" }, T0 + 11);
    store.updateState("DU1234567", "c", { status: "Inactive" }, T0 + 12);
    expect(store.listOpen("DU1234567").map((o) => [o.clientOrderId, o.status])).toEqual([["b", "Unknown"], ["c", "Inactive"], ["d", "PendingSubmit"]]);
    // Every account's, by IB order id (DU9's order has id 1 in its own id space).
    expect(store.listOpen().map((o) => o.clientOrderId)).toEqual(["other", "b", "c", "d"]);
    expect(store.listRecent(T0 + 10, { account: "DU1234567" }).map((o) => o.clientOrderId)).toEqual(["c", "b", "a"]);
    expect(store.listRecent(T0, { limit: 2 }).map((o) => o.clientOrderId)).toEqual(["c", "b"]);
  });

  it("keeps the kill switch across a restart", () => {
    let store = open();
    expect(store.killSwitch()).toEqual({ engaged: false, reason: "", changedMs: undefined });
    store.setKillSwitch(true, "CancelAllOrders by ops", T0);
    store.close();
    store = open();
    expect(store.killSwitch()).toEqual({ engaged: true, reason: "CancelAllOrders by ops", changedMs: T0 });
  });
});

describe("executions", () => {
  const fill = (execId: string, timeMs: number, clientOrderId = "c-1"): Execution => ({ execId, account: "DU1234567", orderId: 100, clientOrderId, conId: 265598, timeMs, side: "BUY", price: dec("150.25"), quantity: dec("4") });

  it("are upserted by execId with the commission joined whichever came first, and a repeat of either keeps the other", () => {
    const store = open();
    store.recordExecution(fill("e1", T0));
    expect(store.getExecution("e1")?.commission).toBeUndefined();
    store.recordCommission({ execId: "e1", commission: dec("1.0000"), currency: "USD" });
    store.recordCommission({ execId: "e2", commission: dec("0.35"), currency: "USD", realizedPnl: dec("-12.5") });
    expect(store.getExecution("e2")).toBeUndefined();
    store.recordExecution(fill("e2", T0 + 1));
    store.recordExecution(fill("e1", T0));
    const [e1, e2] = store.listExecutions(0);
    expect([e1?.execution.execId, e1?.commission?.commission.toString(), e1?.commission?.realizedPnl]).toEqual(["e1", "1", undefined]);
    expect([e2?.execution.price.toString(), e2?.commission?.realizedPnl?.toString(), e2?.commission?.currency]).toEqual(["150.25", "-12.5", "USD"]);
  });

  it("are listed from a time, by account and by order, oldest first, leaving out commissions still waiting for their execution", () => {
    const store = open();
    store.recordExecution(fill("e1", T0, "a"));
    store.recordExecution(fill("e2", T0 + 1_000, "b"));
    store.recordExecution({ ...fill("e3", T0 + 2_000, "a"), account: "DU9" });
    store.recordCommission({ execId: "e4", commission: dec("1"), currency: "USD" });
    expect(store.listExecutions(0).map((e) => e.execution.execId)).toEqual(["e1", "e2", "e3"]);
    expect(store.listExecutions(T0 + 1).map((e) => e.execution.execId)).toEqual(["e2", "e3"]);
    expect(store.listExecutions(0, { account: "DU1234567" }).map((e) => e.execution.execId)).toEqual(["e1", "e2"]);
    expect(store.listExecutions(0, { clientOrderId: "a" }).map((e) => e.execution.execId)).toEqual(["e1", "e3"]);
    expect(store.listExecutions(0, { limit: 1 })).toHaveLength(1);
  });
});
