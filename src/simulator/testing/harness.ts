/**
 * Test harness: an unmodified @stoqey/ib client against the simulator on an ephemeral loopback port.
 * Decoder errors ("unprocessed data", "Underrun", code 505) are collected so tests can fail on them.
 */
import { EventName, IBApi } from "@stoqey/ib";
import { afterEach, expect } from "vitest";
import { pumpTurns } from "../../testing/pumpTurns.js";
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from "../index.js";

export interface IbError {
  code: number;
  reqId: number;
  message: string;
}

export interface TestClient {
  ib: IBApi;
  errors: IbError[];
  infos: { code: number; message: string }[];
  decodeErrors: string[];
  /** Resolves with the first error for reqId (or rejects after timeout). */
  errorFor(reqId: number, timeoutMs?: number): Promise<IbError>;
  infoCode(code: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

const DECODE_ERROR = /unprocessed data|underrun|no parser implementation/i;

export async function connectClient(port: number, clientId = 0, timeoutMs = 5000): Promise<TestClient> {
  const ib = new IBApi({ host: "127.0.0.1", port, clientId, maxReqPerSec: 1000 });
  const client: TestClient = {
    ib,
    errors: [],
    infos: [],
    decodeErrors: [],
    errorFor: (reqId, t = 3000) =>
      new Promise((resolve, reject) => {
        const hit = client.errors.find((e) => e.reqId === reqId);
        if (hit) return resolve(hit);
        const timer = setTimeout(() => {
          ib.off(EventName.error, on);
          reject(new Error(`no error for reqId ${reqId} within ${t} ms`));
        }, t);
        const on = (_e: Error, code: number, id: number) => {
          if (id !== reqId) return;
          clearTimeout(timer);
          ib.off(EventName.error, on);
          resolve(client.errors.find((e) => e.reqId === reqId)!);
          void code;
        };
        ib.on(EventName.error, on);
      }),
    infoCode: (code, t = 3000) =>
      new Promise((resolve, reject) => {
        if (client.infos.some((i) => i.code === code)) return resolve();
        const timer = setTimeout(() => {
          ib.off(EventName.info, on);
          reject(new Error(`no info ${code} within ${t} ms`));
        }, t);
        const on = (_m: string, c: number) => {
          if (c !== code) return;
          clearTimeout(timer);
          ib.off(EventName.info, on);
          resolve();
        };
        ib.on(EventName.info, on);
      }),
    close: () => {
      try {
        ib.disconnect();
      } catch {
        /* already closed */
      }
    },
  };
  ib.on(EventName.error, (err: Error, code: number, reqId: number) => {
    const message = err?.message ?? String(err);
    client.errors.push({ code, reqId, message });
    if (code === 505 || DECODE_ERROR.test(message)) client.decodeErrors.push(message);
  });
  ib.on(EventName.info, (message: string, code: number) => {
    client.infos.push({ code, message });
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("nextValidId not received")), timeoutMs);
    ib.once(EventName.nextValidId, () => {
      clearTimeout(timer);
      resolve();
    });
    ib.connect(clientId);
  });
  return client;
}

/** Real time passing, for what is measured in it (IB's one-second message-rate window). */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A request the Gateway answers in order after everything it sent before: once the answer is back, all
 * of that has arrived and been decoded.
 */
export function roundTrip(c: TestClient, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.ib.off(EventName.currentTime, on);
      reject(new Error(`no currentTime within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = () => {
      clearTimeout(timer);
      c.ib.off(EventName.currentTime, on);
      resolve();
    };
    c.ib.on(EventName.currentTime, on);
    c.ib.reqCurrentTime();
  });
}

/**
 * Gives every stream `turns` chances to send (turns of the Gateway's pump), then a round trip so that
 * whatever was sent meanwhile has arrived: after it, a stream that must be silent had every chance not
 * to be. Replaces "sleep, then see that nothing more came".
 */
export async function afterPumpTurns(sim: SimulatorHandle, c: TestClient, turns = 10): Promise<void> {
  await pumpTurns(sim, turns);
  await roundTrip(c);
}

/** Starts a simulator and tracks clients so a test can close everything in afterEach. */
export class Fixture {
  sim!: SimulatorHandle;
  clients: TestClient[] = [];
  async start(o: SimulatorOptions = {}): Promise<SimulatorHandle> {
    this.sim = await startSimulator({ port: 0, tickIntervalMs: 20, ...o });
    return this.sim;
  }
  async client(clientId = 0): Promise<TestClient> {
    const c = await connectClient(this.sim.port, clientId);
    this.clients.push(c);
    return c;
  }
  decodeErrors(): string[] {
    return this.clients.flatMap((c) => c.decodeErrors);
  }
  async stop(): Promise<void> {
    for (const c of this.clients) c.close();
    this.clients = [];
    await this.sim?.close();
  }
}

/** A Fixture stopped after each test, which then also fails if a client could not decode a message. */
export function useFixture(): Fixture {
  const fx = new Fixture();
  afterEach(async () => {
    expect(fx.decodeErrors()).toEqual([]);
    await fx.stop();
  });
  return fx;
}

export const AAPL = { symbol: "AAPL", secType: "STK", exchange: "SMART", currency: "USD" } as const;
export const MSFT = { symbol: "MSFT", secType: "STK", exchange: "SMART", currency: "USD" } as const;
export const SPY = { symbol: "SPY", secType: "STK", exchange: "SMART", currency: "USD" } as const;
export const BTC = { symbol: "BTC", secType: "CRYPTO", exchange: "PAXOS", currency: "USD" } as const;
export const ETH = { symbol: "ETH", secType: "CRYPTO", exchange: "PAXOS", currency: "USD" } as const;
export const EURUSD = { symbol: "EUR", secType: "CASH", exchange: "IDEALPRO", currency: "USD" } as const;
export const ES = { symbol: "ES", secType: "FUT", exchange: "CME", currency: "USD" } as const;

/** Wed 2026-11-18 10:00 New York: every instrument of the universe is trading. */
export const SESSION_TIME_MS = Date.UTC(2026, 10, 18, 15, 0, 0);

/** A clock that starts at `startMs` and runs `speed` times faster than wall time. */
export function runningClock(startMs = SESSION_TIME_MS, speed = 1): () => number {
  const wall0 = Date.now();
  return () => startMs + Math.floor((Date.now() - wall0) * speed);
}
