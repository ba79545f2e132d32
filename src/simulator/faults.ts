/**
 * Fault injection (`sim.faults`, CLI flags): what a real Gateway does to its clients when it or IB's side
 * fails. Gateway-wide faults act on every session; the session-level effects are at the bottom.
 */
import { ERR, type IbError } from "./errors.js";
import { DepthFeed } from "./feeds/depth.js";
import type { GatewayCore } from "./gateway.js";
import type { Session } from "./session.js";

export interface Faults {
  /** Closes every client connection (the server keeps listening). */
  dropAll(): void;
  /** Gateway restart: close everything, refuse connections for `downMs`, then listen again on the same port. */
  restart(downMs: number): Promise<void>;
  /** 1100 to every client; streams stop. */
  connectivityLost(): void;
  /** 1101 (dataLost: subscriptions are gone, clients must re-request) or 1102 (streams resume). */
  connectivityRestored(dataLost: boolean): void;
  /** 1100, then after `lostMs` 1101/1102. */
  connectivityFlap(lostMs: number, dataLost: boolean): Promise<void>;
  /** Stops sending data for `ms` (one subscription of one client, one client, or everything) while keeping sockets. */
  stall(ms: number, target?: { clientId?: number; reqId?: number }): boolean;
  /** Error 317 on every depth subscription, followed by a fresh book. */
  depthReset(): void;
  /** Error 10197 on every L1 subscription; their streams pause for `ms`. */
  competingSession(ms?: number): void;
}

/** What fault injection controls of the Gateway. */
export interface FaultTarget extends Pick<GatewayCore, "log"> {
  connected: boolean;
  readonly isClosed: boolean;
  readonly port: number;
  readonly sessions: ReadonlySet<Session>;
  dropAll(): void;
  stopListening(): Promise<void>;
  listen(port: number): Promise<void>;
  /** A sleep that closing the Gateway ends early (the continuation then sees isClosed). */
  sleep(ms: number): Promise<void>;
}

export function createFaults(gw: FaultTarget): Faults {
  const broadcast = (e: IbError) => {
    for (const s of gw.sessions) if (s.isReady) s.info(e);
  };
  const faults: Faults = {
    dropAll: () => gw.dropAll(),
    restart: async (downMs: number) => {
      gw.log("warn", { downMs }, "fault: gateway restart");
      gw.dropAll();
      await gw.stopListening();
      await gw.sleep(downMs);
      if (!gw.isClosed) await gw.listen(gw.port);
    },
    connectivityLost: () => {
      gw.log("warn", {}, "fault: connectivity lost");
      gw.connected = false;
      broadcast(ERR.CONNECTIVITY_LOST);
    },
    connectivityRestored: (dataLost: boolean) => {
      gw.log("warn", { dataLost }, "fault: connectivity restored");
      gw.connected = true;
      if (dataLost) for (const s of gw.sessions) dropMarketDataSubscriptions(s);
      broadcast(dataLost ? ERR.RESTORED_DATA_LOST : ERR.RESTORED_DATA_KEPT);
    },
    connectivityFlap: async (lostMs: number, dataLost: boolean) => {
      faults.connectivityLost();
      await gw.sleep(lostMs);
      if (!gw.isClosed) faults.connectivityRestored(dataLost);
    },
    stall: (ms: number, target?: { clientId?: number; reqId?: number }) => {
      const until = Date.now() + ms;
      let hit = false;
      for (const s of gw.sessions) {
        if (target?.clientId !== undefined && s.clientId !== target.clientId) continue;
        hit = stall(s, until, target?.reqId) || hit;
      }
      return hit;
    },
    depthReset: () => {
      for (const s of gw.sessions) if (s.isReady) resetDepth(s);
    },
    competingSession: (ms = 5000) => {
      const until = Date.now() + ms;
      for (const s of gw.sessions) if (s.isReady) pauseForCompetingSession(s, until);
    },
  };
  return faults;
}

// --- per session ----------------------------------------------------------------------------------------

/** 1101: every market data stream is gone; the client must re-request. */
function dropMarketDataSubscriptions(session: Session): void {
  for (const [id, s] of session.subs) {
    if (s.kind === "mktData" || s.kind === "depth" || s.kind === "tickByTick" || s.kind === "history" || s.kind === "realTimeBars") {
      s.close?.();
      session.subs.delete(id);
    }
  }
}

/** 317 for each depth subscription, then a fresh book. */
function resetDepth(session: Session): void {
  const now = session.now();
  for (const s of session.subs.values()) {
    if (s instanceof DepthFeed) {
      session.error(s.reqId, ERR.DEPTH_RESET);
      s.reset();
      s.pump(now);
    }
  }
}

/** 10197 for each L1 subscription and a pause of its stream. */
function pauseForCompetingSession(session: Session, untilWall: number): void {
  for (const s of session.subs.values()) {
    if (s.kind === "mktData") {
      session.error(s.reqId, ERR.COMPETING_SESSION);
      s.stalledUntil = Math.max(s.stalledUntil, untilWall);
    }
  }
}

/** Stalls one subscription (reqId) or the whole session. Returns false when the reqId is unknown. */
function stall(session: Session, untilWall: number, reqId?: number): boolean {
  if (reqId === undefined) {
    session.stalledUntil = untilWall;
    return true;
  }
  const s = session.subs.get(reqId);
  if (!s) return false;
  s.stalledUntil = untilWall;
  return true;
}
