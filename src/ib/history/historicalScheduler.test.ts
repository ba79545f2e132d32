import { describe, expect, it } from "vitest";
import { HistoricalScheduler, type SchedulerClock } from "./historicalScheduler.js";
import { DEFAULT_HISTORICAL_PACING, pacingCost, pacingKeyFor, type HistoricalPacingRules, type PacingKey } from "./pacingRules.js";
import { IbError } from "../ibErrors.js";

/** Deterministic clock: timers fire only when the test advances time. */
class FakeClock implements SchedulerClock {
  private t = 1_700_000_000_000;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return () => this.timers.delete(id);
  }

  /** Fires the earliest timer (moving time to it); false when none is pending. */
  step(): boolean {
    let best: [number, { at: number; fn: () => void }] | undefined;
    for (const entry of this.timers) if (best === undefined || entry[1].at < best[1].at) best = entry;
    if (best === undefined) return false;
    this.timers.delete(best[0]);
    this.t = Math.max(this.t, best[1].at);
    best[1].fn();
    return true;
  }

  get pending(): number {
    return this.timers.size;
  }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs the fake clock until `done` settles (microtasks flushed between timers). */
async function drive(clock: FakeClock, done: Promise<unknown>): Promise<void> {
  let finished = false;
  void done.then(
    () => (finished = true),
    () => (finished = true),
  );
  for (let i = 0; i < 1_000_000; i++) {
    await flush();
    if (finished) return;
    if (!clock.step()) {
      await flush();
      if (finished) return;
      throw new Error("stalled: nothing pending but not finished");
    }
  }
  throw new Error("too many steps");
}

interface SendRecord {
  t: number;
  end: number;
  key: PacingKey;
  cost: number;
}

/** Independent check of every IB pacing rule over a send log (exact windows, no safety margin). */
function violations(log: readonly SendRecord[], rules: HistoricalPacingRules): string[] {
  const out: string[] = [];
  const sorted = [...log].sort((a, b) => a.t - b.t);
  sorted.forEach((s, i) => {
    const before = sorted.slice(0, i);
    const sameIdentity = before.filter((p) => p.key.identityKey === s.key.identityKey);
    const last = sameIdentity[sameIdentity.length - 1];
    if (last !== undefined && s.t - last.t < rules.identicalWindowMs) out.push(`identical within ${s.t - last.t} ms at #${i}`);
    const same = sorted
      .slice(0, i + 1)
      .filter((p) => p.key.contractKey === s.key.contractKey && p.key.whatToShow === s.key.whatToShow && s.t - p.t < rules.sameContractWindowMs);
    if (same.length > rules.sameContractMax) out.push(`${same.length} same-contract sends within ${rules.sameContractWindowMs} ms at #${i}`);
    const global = sorted.slice(0, i + 1).filter((p) => s.t - p.t < rules.globalWindowMs);
    const cost = global.reduce((a, p) => a + p.cost, 0);
    if (cost > rules.globalMax) out.push(`global cost ${cost} at #${i}`);
    const open = sorted.slice(0, i + 1).filter((p) => p.end > s.t).length;
    if (open > rules.maxInFlight) out.push(`${open} open at #${i}`);
  });
  return out;
}

function key(contract: string, n: number | string, whatToShow = "TRADES"): PacingKey {
  return pacingKeyFor({ contractKey: contract, barSize: "1 min", durationStr: "86400 S", endDateTime: `end-${n}`, whatToShow, useRTH: false });
}

function latency(clock: FakeClock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(resolve, ms));
}

describe("HistoricalScheduler", () => {
  it("completes 300 requests for 10 contracts without ever breaking a pacing rule", async () => {
    const clock = new FakeClock();
    const scheduler = new HistoricalScheduler({ clock });
    const log: SendRecord[] = [];
    const jobs: Promise<number>[] = [];
    for (let i = 0; i < 300; i++) {
      const contract = `C${i % 10}@SMART`;
      const whatToShow = i % 7 === 0 ? "BID_ASK" : "TRADES";
      // A few exact duplicates to exercise the identical rule.
      const k = key(contract, i % 25 === 0 ? "dup" : i, whatToShow);
      const cost = pacingCost(whatToShow);
      jobs.push(
        scheduler.schedule({
          key: k,
          cost,
          run: async () => {
            const rec: SendRecord = { t: clock.now(), end: Infinity, key: k, cost };
            log.push(rec);
            await latency(clock, 500 + ((i * 7919) % 4000));
            rec.end = clock.now();
            return i;
          },
        }),
      );
    }
    const all = Promise.all(jobs);
    await drive(clock, all);
    expect(await all).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(log).toHaveLength(300);
    expect(violations(log, DEFAULT_HISTORICAL_PACING)).toEqual([]);
    const s = scheduler.stats();
    expect(s.queued).toBe(0);
    expect(s.inFlight).toBe(0);
    // 300 requests (some costing 2) at 60 per 10 minutes need well over 40 minutes: the limiter really waited.
    const span = log[log.length - 1]!.t - log[0]!.t;
    expect(span).toBeGreaterThan(40 * 60_000);
    expect(clock.pending).toBe(0);
  });

  it("has a checker that does catch violations (sanity check of the test itself)", async () => {
    const clock = new FakeClock();
    const loose = new HistoricalScheduler({ clock, rules: { identicalWindowMs: 0, sameContractMax: 100, globalMax: 1000 } });
    const log: SendRecord[] = [];
    const jobs = Array.from({ length: 70 }, (_, i) => {
      const k = key("A", i % 2 === 0 ? "dup" : i);
      return loose.schedule({ key: k, run: async () => void log.push({ t: clock.now(), end: clock.now(), key: k, cost: 1 }) });
    });
    await drive(clock, Promise.all(jobs));
    const found = violations(log, DEFAULT_HISTORICAL_PACING).join("\n");
    expect(found).toMatch(/identical/);
    expect(found).toMatch(/same-contract/);
    expect(found).toMatch(/global cost/);
  });

  it("spaces identical requests at least 15 s apart", async () => {
    const clock = new FakeClock();
    const scheduler = new HistoricalScheduler({ clock });
    const times: number[] = [];
    const k = key("BTC@PAXOS", "same");
    const jobs = [0, 1, 2].map(() => scheduler.schedule({ key: k, run: async () => void times.push(clock.now()) }));
    await drive(clock, Promise.all(jobs));
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(15_000);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(15_000);
  });

  it("never sends more than maxSendsPerSecond, so a burst does not queue up in the client library", async () => {
    const clock = new FakeClock();
    const scheduler = new HistoricalScheduler({ clock, rules: { maxSendsPerSecond: 20 } });
    const times: number[] = [];
    const jobs = Array.from({ length: 55 }, (_, i) => scheduler.schedule({ key: key(`C${i}@X`, i), run: async () => void times.push(clock.now()) }));
    await drive(clock, Promise.all(jobs));
    expect(times).toHaveLength(55);
    for (const t of times) expect(times.filter((u) => u <= t && t - u < 1_000).length).toBeLessThanOrEqual(20);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(2_000);
  });

  it("holds the 6th request for one contract until the 2 s window has passed", async () => {
    const clock = new FakeClock();
    const scheduler = new HistoricalScheduler({ clock, rules: { safetyMarginMs: 0 } });
    const times: number[] = [];
    const jobs = Array.from({ length: 7 }, (_, i) => scheduler.schedule({ key: key("AAPL@SMART", i), run: async () => void times.push(clock.now()) }));
    await drive(clock, Promise.all(jobs));
    const t0 = times[0]!;
    expect(times.map((t) => t - t0)).toEqual([0, 0, 0, 0, 0, 2000, 2000]);
  });

  it("removes a request aborted while queued and rejects it as cancelled", async () => {
    const clock = new FakeClock();
    const scheduler = new HistoricalScheduler({ clock });
    const k = key("BTC@PAXOS", "same");
    const ran: string[] = [];
    const first = scheduler.schedule({ key: k, run: async () => void ran.push("first") });
    const controller = new AbortController();
    const second = scheduler.schedule({ key: k, run: async () => void ran.push("second"), signal: controller.signal });
    await flush();
    expect(scheduler.stats().queued).toBe(1);
    controller.abort();
    await expect(second).rejects.toMatchObject({ name: "IbError", kind: "cancelled" });
    await first;
    expect(scheduler.stats().queued).toBe(0);
    // Nothing left to wait for: no timer kept alive for the removed request.
    while (clock.step()) await flush();
    expect(ran).toEqual(["first"]);
  });

  it("rejects an already aborted request without running it", async () => {
    const scheduler = new HistoricalScheduler({ clock: new FakeClock() });
    let ran = false;
    const p = scheduler.schedule({ key: key("X", 1), run: async () => void (ran = true), signal: AbortSignal.abort() });
    await expect(p).rejects.toBeInstanceOf(IbError);
    expect(ran).toBe(false);
  });

  it("does not let a contract held by its own rule block other contracts behind it", async () => {
    const clock = new FakeClock();
    const scheduler = new HistoricalScheduler({ clock });
    const sent: string[] = [];
    const t0 = clock.now();
    const at: Record<string, number> = {};
    const job = (name: string, k: PacingKey) =>
      scheduler.schedule({
        key: k,
        run: async () => {
          sent.push(name);
          at[name] = clock.now() - t0;
        },
      });
    const jobs = [
      job("a1", key("A", "dup")),
      job("a2", key("A", "dup")), // identical to a1: held 15 s
      ...Array.from({ length: 6 }, (_, i) => job(`b${i}`, key("B", i))), // 6th held by the 2 s rule
      job("c0", key("C", 0)),
    ];
    await drive(clock, Promise.all(jobs));
    expect(at["c0"]).toBe(0);
    expect(at["b4"]).toBe(0);
    expect(at["b5"]).toBeGreaterThanOrEqual(2000);
    expect(at["a2"]).toBeGreaterThanOrEqual(15_000);
    expect(sent.indexOf("c0")).toBeLessThan(sent.indexOf("b5"));
  });

  it("keeps FIFO order for the shared 10-minute budget", async () => {
    const clock = new FakeClock();
    const scheduler = new HistoricalScheduler({ clock, rules: { globalMax: 3, safetyMarginMs: 0 } });
    const sent: string[] = [];
    const job = (name: string, contract: string, cost: 1 | 2) =>
      scheduler.schedule({ key: key(contract, name), cost, run: async () => void sent.push(name) });
    // x uses 2 of 3; y (cost 2) does not fit; z (cost 1) would fit but must not overtake y.
    const jobs = [job("x", "X", 2), job("y", "Y", 2), job("z", "Z", 1)];
    await flush();
    expect(sent).toEqual(["x"]);
    await drive(clock, Promise.all(jobs));
    expect(sent).toEqual(["x", "y", "z"]);
  });

  it("retries a pacing rejection once after the back-off, counting the resend", async () => {
    const clock = new FakeClock();
    const retries: number[] = [];
    const scheduler = new HistoricalScheduler({ clock, onPacingRetry: (_k, attempt) => retries.push(attempt) });
    const times: number[] = [];
    const k = key("ES@CME", 1);
    const p = scheduler.schedule({
      key: k,
      run: async () => {
        times.push(clock.now());
        if (times.length === 1) throw new IbError("pacing", "Historical data request pacing violation", 162);
        return "bars";
      },
    });
    await drive(clock, p);
    await expect(p).resolves.toBe("bars");
    expect(times).toHaveLength(2);
    // Back-off is 10 s, but the resend is identical to the first send, so rule 1 holds it to 15 s.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(15_000);
    expect(retries).toEqual([1]);
    expect(scheduler.stats().sentInWindow).toBe(2);
  });

  it("surfaces a second pacing rejection and other errors as they are", async () => {
    const clock = new FakeClock();
    const scheduler = new HistoricalScheduler({ clock, rules: { pacingBackoffMs: 1000 } });
    let calls = 0;
    const pacing = scheduler.schedule({
      key: key("ES@CME", 1),
      run: async () => {
        calls++;
        throw new IbError("pacing", "pacing violation", 162);
      },
    });
    const noData = scheduler.schedule({
      key: key("NQ@CME", 1),
      run: async () => {
        throw new IbError("no-data", "HMDS query returned no data", 162);
      },
    });
    await expect(noData).rejects.toMatchObject({ kind: "no-data" });
    await drive(clock, pacing);
    await expect(pacing).rejects.toMatchObject({ kind: "pacing" });
    expect(calls).toBe(2);
  });

  it("cancels a request aborted during its pacing back-off", async () => {
    const clock = new FakeClock();
    const scheduler = new HistoricalScheduler({ clock });
    const controller = new AbortController();
    let calls = 0;
    const p = scheduler.schedule({
      key: key("ES@CME", 1),
      signal: controller.signal,
      run: async () => {
        calls++;
        throw new IbError("pacing", "pacing violation", 162);
      },
    });
    await flush();
    expect(scheduler.stats()).toMatchObject({ queued: 1, inFlight: 0 });
    controller.abort();
    await expect(p).rejects.toMatchObject({ kind: "cancelled" });
    expect(calls).toBe(1);
  });

  it("caps the number of open requests", async () => {
    const clock = new FakeClock();
    const scheduler = new HistoricalScheduler({ clock, rules: { maxInFlight: 3 } });
    let open = 0;
    let maxOpen = 0;
    const releases: (() => void)[] = [];
    const jobs = Array.from({ length: 8 }, (_, i) =>
      scheduler.schedule({
        key: key(`C${i}`, i),
        run: () =>
          new Promise<void>((resolve) => {
            open++;
            maxOpen = Math.max(maxOpen, open);
            releases.push(() => {
              open--;
              resolve();
            });
          }),
      }),
    );
    await flush();
    expect(scheduler.stats()).toMatchObject({ inFlight: 3, queued: 5 });
    while (releases.length > 0) {
      releases.shift()!();
      await flush();
    }
    await Promise.all(jobs);
    expect(maxOpen).toBe(3);
    expect(scheduler.stats()).toMatchObject({ inFlight: 0, queued: 0, sentInWindow: 8 });
  });

  it("frees the open slot when run() throws synchronously", async () => {
    const scheduler = new HistoricalScheduler({ clock: new FakeClock(), rules: { maxInFlight: 1 } });
    const bad = scheduler.schedule<never>({
      key: key("A", 1),
      run: () => {
        throw new Error("boom");
      },
    });
    const good = scheduler.schedule({ key: key("B", 1), run: async () => "ok" });
    await expect(bad).rejects.toThrow("boom");
    await expect(good).resolves.toBe("ok");
  });

  it("cancelQueued rejects everything waiting", async () => {
    const clock = new FakeClock();
    const scheduler = new HistoricalScheduler({ clock });
    const k = key("A", "dup");
    const first = scheduler.schedule({ key: k, run: async () => 1 });
    const second = scheduler.schedule({ key: k, run: async () => 2 });
    scheduler.cancelQueued("shutting down");
    await expect(first).resolves.toBe(1);
    await expect(second).rejects.toMatchObject({ kind: "cancelled", message: "shutting down" });
    expect(clock.pending).toBe(0);
  });

  describe("user calls and the service's own requests", () => {
    it("sends a user call before internal requests queued earlier, and keeps the user reserve free of internal ones", async () => {
      const clock = new FakeClock();
      const scheduler = new HistoricalScheduler({ clock, rules: { globalMax: 6, userReserve: 2, safetyMarginMs: 0 } });
      const sent: string[] = [];
      const job = (name: string, priority: "user" | "internal") => scheduler.schedule({ key: key(name, name), priority, run: async () => void sent.push(name) });
      // Six internal requests: only four fit (the last two units are the users'); a user call after them goes first.
      const internal = ["i1", "i2", "i3", "i4", "i5", "i6"].map((n) => job(n, "internal"));
      await flush();
      expect(sent).toEqual(["i1", "i2", "i3", "i4"]);
      const user = [job("u1", "user"), job("u2", "user")];
      await drive(clock, Promise.all(user));
      expect(sent).toEqual(["i1", "i2", "i3", "i4", "u1", "u2"]);
      expect(clock.now() - 1_700_000_000_000).toBe(0); // answered at once, not a window later
      await drive(clock, Promise.all(internal));
      expect(sent.slice(6)).toEqual(["i5", "i6"]);
      expect(scheduler.stats().sentTotal).toEqual({ user: 2, internal: 6 });
    });

    it("does not let a client that keeps IB's window full hold an internal request forever: after internalMaxWaitMs it queues with the user calls", async () => {
      const clock = new FakeClock();
      const t0 = clock.now();
      const rules = { globalMax: 6, userReserve: 2, globalWindowMs: 60_000, safetyMarginMs: 0, sameContractWindowMs: 0, identicalWindowMs: 0, internalMaxWaitMs: 30_000 };
      const scheduler = new HistoricalScheduler({ clock, rules });
      let internalAt: number | undefined;
      // A user call every 10 s for 5 minutes: from 40 s on the window holds ≥ 4 units, all the internal share.
      const users: Promise<unknown>[] = [];
      for (let i = 0; i < 30; i++) clock.setTimer(() => void users.push(scheduler.schedule({ key: key(`U${i}`, i), run: async () => i })), i * 10_000);
      const internal = new Promise((resolve) =>
        clock.setTimer(() => resolve(scheduler.schedule({ key: key("I", 1), priority: "internal", run: async () => void (internalAt = clock.now()) })), 45_000),
      );
      await drive(clock, internal.then((p) => p));
      expect(internalAt! - (t0 + 45_000)).toBeLessThanOrEqual(60_000); // without ageing: after the users stop, ≈ 5 minutes later
      await drive(clock, new Promise((resolve) => clock.setTimer(() => resolve(undefined), 300_000)));
      await drive(clock, Promise.all(users));
      expect(users).toHaveLength(30);
      expect(scheduler.stats().sentTotal).toEqual({ user: 30, internal: 1 });
    });

    it("holds internal requests after a reconnect until the connection settles, doubling for each further reconnect", async () => {
      const clock = new FakeClock();
      const scheduler = new HistoricalScheduler({ clock, rules: { settleAfterReconnectMs: 1_000, settleMaxMs: 5_000, globalWindowMs: 60_000 } });
      const t0 = clock.now();
      expect(scheduler.connectionRestored()).toBe(t0 + 1_000);
      expect(scheduler.connectionRestored()).toBe(t0 + 2_000);
      expect(scheduler.connectionRestored()).toBe(t0 + 4_000);
      expect(scheduler.connectionRestored()).toBe(t0 + 5_000); // capped
      const waits: unknown[] = [];
      const sentAt: Record<string, number> = {};
      const internal = scheduler.schedule({ key: key("A", 1), priority: "internal", onWait: (w) => waits.push(w), run: async () => void (sentAt.internal = clock.now()) });
      const user = scheduler.schedule({ key: key("B", 1), run: async () => void (sentAt.user = clock.now()) });
      await drive(clock, Promise.all([internal, user]));
      expect(sentAt).toEqual({ user: t0, internal: t0 + 5_000 });
      expect(waits).toEqual([{ reason: "settling", untilMs: t0 + 5_000 }, undefined]);
      // A reconnect a window later counts as the first again.
      clock.setTimer(() => undefined, 60_000);
      clock.step();
      expect(scheduler.connectionRestored()).toBe(clock.now() + 1_000);
    });

    it("tells an internal request waiting for the budget until about when", async () => {
      const clock = new FakeClock();
      const scheduler = new HistoricalScheduler({ clock, rules: { globalMax: 4, userReserve: 1, globalWindowMs: 60_000, safetyMarginMs: 0 } });
      const t0 = clock.now();
      const first = [1, 2, 3].map((n) => scheduler.schedule({ key: key("A", n), priority: "internal", run: async () => n }));
      const waits: unknown[] = [];
      const late = scheduler.schedule({ key: key("B", 1), priority: "internal", onWait: (w) => waits.push(w), run: async () => "late" });
      await flush();
      expect(scheduler.stats()).toMatchObject({ queued: 1, queuedInternal: 1, sentInWindow: 3 });
      expect(waits).toEqual([{ reason: "budget", untilMs: t0 + 60_000 }]);
      await drive(clock, Promise.all([...first, late]));
      expect(waits).toEqual([{ reason: "budget", untilMs: t0 + 60_000 }, undefined]);
    });

    it("with IB's numbers: 11 candle feeds through 10 Gateway restarts 8 s apart stay within their share, and all resubscribe within the longest settle", async () => {
      const clock = new FakeClock();
      const scheduler = new HistoricalScheduler({ clock });
      const { globalMax, userReserve, settleMaxMs } = scheduler.rules;
      let sent = 0;
      let session: AbortController | undefined;
      let requests: Promise<unknown>[] = [];
      const resubscribe = () => {
        session = new AbortController();
        scheduler.connectionRestored();
        // Each feed's real-time bars; a feed closed by the next drop withdraws its request.
        requests = Array.from({ length: 11 }, (_, i) =>
          scheduler.schedule({ key: key(`F${i}`, `rt-${clock.now()}`), priority: "internal", signal: session!.signal, run: async () => void sent++ }).catch(() => "withdrawn"),
        );
      };
      for (let drop = 1; drop <= 10; drop++) {
        resubscribe();
        const next = new Promise<void>((resolve) => clock.setTimer(resolve, 8_000));
        await drive(clock, next);
        session!.abort();
      }
      const lastReconnect = clock.now();
      resubscribe();
      await drive(clock, Promise.all(requests));
      console.info(`11 feeds, 10 restarts 8 s apart: ${sent} real-time bar requests sent, resubscribed ${clock.now() - lastReconnect} ms after the last`);
      expect(sent).toBeLessThanOrEqual(globalMax - userReserve);
      expect(clock.now() - lastReconnect).toBeLessThanOrEqual(settleMaxMs + 1_000);
    });
  });

  describe("clients sharing IB's budget", () => {
    /** Windows small enough to count by hand; rules 1 and 2 off unless a test wants them. */
    const small = { globalMax: 10, globalWindowMs: 60_000, safetyMarginMs: 0, identicalWindowMs: 0, sameContractWindowMs: 0, maxSendsPerSecond: 1_000, clientReserve: 3 };

    it("sends another client's single request next, however many requests the first client has queued", async () => {
      const clock = new FakeClock();
      const t0 = clock.now();
      const scheduler = new HistoricalScheduler({ clock, rules: small });
      const sent: string[] = [];
      const a = Array.from({ length: 500 }, (_, i) => scheduler.schedule({ key: key("A", i), client: "a", run: async () => void sent.push(`a${i}`) }));
      await flush();
      expect(sent).toHaveLength(10); // alone, a may fill the window
      let bAt: number | undefined;
      const b = scheduler.schedule({ key: key("B", 1), client: "b", run: async () => void ((bAt = clock.now()), sent.push("b")) });
      await drive(clock, b);
      // b goes with the first units that free: a's 490 queued requests do not go first (FIFO made b wait 49
      // windows). a's 10 sends all leave the window at once, so a and b have both sent 0 then: a tie, the
      // older (a's) first: one turn.
      expect(sent.indexOf("b")).toBeLessThanOrEqual(11);
      expect(bAt! - t0).toBe(60_000);
      for (const p of a) p.catch(() => undefined);
      scheduler.cancelQueued();
    });

    it("with IB's numbers: a second client's call among a first client's 500 queued requests goes with the next unit that frees", async () => {
      const clock = new FakeClock();
      const t0 = clock.now();
      const scheduler = new HistoricalScheduler({ clock });
      const sent: string[] = [];
      const a = Array.from({ length: 500 }, (_, i) => scheduler.schedule({ key: key(`A${i % 10}`, i), client: "a", run: async () => void sent.push("a") }).catch(() => "cancelled"));
      // b asks 30 s later: a has filled IB's window (60) in a burst and has 440 more queued.
      const b = new Promise<number>((resolve) =>
        clock.setTimer(() => void scheduler.schedule({ key: key("B", 1), client: "b", run: async () => void sent.push("b") }).then(() => resolve(clock.now() - t0)), 30_000),
      );
      await drive(clock, b);
      const waitedMs = (await b) - 30_000;
      console.info(`IB's numbers: client b's one request behind client a's 500 was sent ${Math.round(waitedMs / 1000)} s after it was queued, as request #${sent.indexOf("b") + 1} (FIFO: #501, ~70 minutes)`);
      expect(sent.indexOf("b")).toBe(60); // the first unit that frees
      expect(waitedMs).toBeLessThanOrEqual(600_000 + 1_000 - 30_000 + 1_000);
      scheduler.cancelQueued();
      await Promise.all(a);
    });

    it("alternates between two clients' backlogs by what each has sent in the window, the older first on a tie", async () => {
      const clock = new FakeClock();
      const scheduler = new HistoricalScheduler({ clock, rules: { ...small, globalMax: 100, maxInFlight: 1 } });
      const sent: string[] = [];
      // One open request at a time, so that both queue: a queues 6 (its first goes at once), then b 3.
      const jobs = [
        ...Array.from({ length: 6 }, (_, i) => scheduler.schedule({ key: key("A", i), client: "a", run: () => latency(clock, 100).then(() => void sent.push("a")) })),
        ...Array.from({ length: 3 }, (_, i) => scheduler.schedule({ key: key("B", i), client: "b", run: () => latency(clock, 100).then(() => void sent.push("b")) })),
      ];
      await drive(clock, Promise.all(jobs));
      // b's first (a has sent 1), then one each (a's first on a tie: older), then a's rest.
      expect(sent.join("")).toBe("ababab" + "aaa");
    });

    it("keeps globalMax - clientReserve units for others while another client has a request queued, and lets a client alone use the whole window", async () => {
      const clock = new FakeClock();
      const t0 = clock.now();
      const scheduler = new HistoricalScheduler({ clock, rules: { ...small, identicalWindowMs: 15_000 } });
      const sentAt: Record<string, number> = {};
      const job = (name: string, client: string, k: PacingKey) => scheduler.schedule({ key: k, client, run: async () => void (sentAt[name] = clock.now() - t0) });
      const b1 = job("b1", "b", key("B", "dup"));
      await flush();
      // b's next request is identical to b1: held 15 s by rule 1, but queued.
      const b2 = job("b2", "b", key("B", "dup"));
      const a = Array.from({ length: 20 }, (_, i) => job(`a${i}`, "a", key("A", i)));
      await flush();
      // a may hold 10 - 3 = 7 while b waits; b1 holds 1; 2 units stay free for b2.
      expect(Object.keys(sentAt).filter((n) => n.startsWith("a"))).toHaveLength(7);
      await drive(clock, b2);
      expect(sentAt.b2).toBe(15_000); // not a window later
      await drive(clock, Promise.all([b1, ...a]));
      // Once b has nothing queued, a alone fills the whole window: a's 20 go in 60 s windows of 10 minus b's 2.
      expect(sentAt.a19).toBe(120_000);
    });

    it("refuses at once a call that does not fit the client's quota, saying when it will, and never lets the client's sends exceed it", async () => {
      const clock = new FakeClock();
      const t0 = clock.now();
      const scheduler = new HistoricalScheduler({ clock, rules: small, quotaOf: (c) => (c === "a" ? 4 : 0) });
      const sentAt: number[] = [];
      scheduler.admit({ client: "a", cost: 3, requests: 3 });
      const first = [1, 2, 3].map((i) => scheduler.schedule({ key: key("A", i), client: "a", run: async () => void sentAt.push(clock.now() - t0) }));
      await flush();
      clock.setTimer(() => undefined, 10_000);
      clock.step();
      // 3 sent, 1 left: a call of 2 is refused until the first send leaves the window.
      let refused: unknown;
      try {
        scheduler.admit({ client: "a", cost: 2, requests: 2 });
      } catch (err) {
        refused = err;
      }
      expect(refused).toMatchObject({ name: "IbError", kind: "limit", fact: "history-quota", details: { limit: 4, client: "a", retryAfterMs: 50_000 } });
      expect(() => scheduler.admit({ client: "a", cost: 5, requests: 5 })).toThrow(/more than client "a"'s quota of 4/);
      expect(() => scheduler.admit({ client: "a", cost: 1, requests: 1 })).not.toThrow();
      expect(() => scheduler.admit({ client: "a", cost: 0, requests: 0 })).not.toThrow(); // a window IB need not be asked for
      expect(() => scheduler.admit({ client: "b", cost: 9, requests: 9 })).not.toThrow(); // b has no quota
      // Requests scheduled without admit (or resent) still wait for the quota instead of exceeding it.
      const more = [4, 5].map((i) => scheduler.schedule({ key: key("A", i), client: "a", run: async () => void sentAt.push(clock.now() - t0) }));
      await drive(clock, Promise.all([...first, ...more]));
      expect(sentAt).toEqual([0, 0, 0, 10_000, 60_000]);
    });

    it("refuses a call whose last request would, by estimate, go after its deadline, and admits one whose deadline is long enough", async () => {
      const clock = new FakeClock();
      const t0 = clock.now();
      const scheduler = new HistoricalScheduler({ clock, rules: small });
      const fill = Array.from({ length: 10 }, (_, i) => scheduler.schedule({ key: key("A", i), client: "a", run: async () => i }));
      await Promise.all(fill);
      let refused: unknown;
      try {
        scheduler.admit({ client: "b", cost: 2, requests: 2, deadlineMs: t0 + 5_000 });
      } catch (err) {
        refused = err;
      }
      // The window is full until t0 + 60 s; with 5 s allowed, a retry after 55 s would fit.
      expect(refused).toMatchObject({ fact: "history-wait-exceeds-deadline", details: { waitMs: 60_000, retryAfterMs: 55_000 } });
      expect(() => scheduler.admit({ client: "b", cost: 2, requests: 2, deadlineMs: t0 + 61_000 })).not.toThrow();
      expect(() => scheduler.admit({ client: "b", cost: 2, requests: 2 })).not.toThrow(); // no deadline: waits
    });

    it("counts requests sent to IB by kind and outcome, and estimates the wait of the last queued user request", async () => {
      const clock = new FakeClock();
      const scheduler = new HistoricalScheduler({ clock, rules: { ...small, globalMax: 3, pacingBackoffMs: 1_000 } });
      let paced = 0;
      const controller = new AbortController();
      const jobs = [
        scheduler.schedule({ key: key("A", 1), kind: "bars", run: async () => 1 }),
        scheduler.schedule({
          key: key("B", 1),
          kind: "ticks",
          run: async () => {
            if (paced++ === 0) throw new IbError("pacing", "pacing violation", 162);
            throw new IbError("no-data", "no data", 162);
          },
        }),
        scheduler.schedule({ key: key("C", 1), kind: "realtime_bars", signal: controller.signal, run: () => new Promise((_, reject) => controller.signal.addEventListener("abort", () => reject(new IbError("cancelled", "cancelled")))) }),
        scheduler.schedule({ key: key("D", 1), kind: "bars", run: async () => 4 }),
      ].map((p) => p.catch(() => "failed"));
      await flush();
      expect(scheduler.stats().userWaitMs).toBe(60_000); // D waits a window (3 units used)
      controller.abort();
      await drive(clock, Promise.all(jobs));
      const { requests, userWaitMs } = scheduler.stats();
      expect(requests.bars).toEqual({ ok: 2, error: 0, cancelled: 0, pacing_retry: 0 });
      expect(requests.ticks).toEqual({ ok: 0, error: 1, cancelled: 0, pacing_retry: 1 });
      expect(requests.realtime_bars).toEqual({ ok: 0, error: 0, cancelled: 1, pacing_retry: 0 });
      expect(userWaitMs).toBe(0);
    });
  });
});
