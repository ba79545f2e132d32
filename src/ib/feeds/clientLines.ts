import { SERVICE_CLIENT_NAME } from "../../config/clientsFile.js";
import { ibLinesHeld } from "../../metrics/lineMetrics.js";
import type { ConsumerOptions } from "../../stream/consumerOptions.js";
import { IbError } from "../ibErrors.js";
import { LINE_KINDS, LINE_NAMES, lineLimitReached, type LineKind, type LineLimits } from "./lineBudget.js";

/** The accounting name of lines no caller asked for: the configured `active` subscriptions (reserved: no client has it). */
export const SERVICE_LINES = SERVICE_CLIENT_NAME;

/** A consumer's terms plus whose lines it uses (an opaque accounting name; default SERVICE_LINES). */
export type LineConsumerOptions<T> = ConsumerOptions<T> & { client?: string };

/** Who shares IB's lines, and how (see ClientLines). */
export interface ClientLineRules {
  /**
   * The clients sharing IB's lines: their number sets each kind's fair share (its limit / their number);
   * `maxLines` caps a client's market data lines (0 = no cap beyond the fair share).
   */
  clients: readonly { name: string; maxLines: number }[];
  /** Percent of each kind's limit kept for clients under their fair share (at least one line); 0 = no reserve. */
  reservePercent: number;
}

/** No clients named, no reserve: only IB's limits apply (adapters built without rules, e.g. in tests). */
export const NO_CLIENT_LINE_RULES: ClientLineRules = { clients: [], reservePercent: 0 };

/** Why a client was refused a line: its own cap, or the reserve kept for clients under their fair share. */
export class LineQuotaError extends IbError {
  constructor(
    readonly rule: "cap" | "fair-share",
    readonly client: string,
    readonly lineKind: LineKind,
    /** Lines of the kind the client holds. */
    readonly held: number,
    /** Its cap, or its fair share (may be fractional: the limit / the clients). */
    readonly limit: number,
    message: string,
  ) {
    super("limit", message);
    this.name = "LineQuotaError";
  }
}

/** One IB subscription's line and the clients charged for it (each with its number of consumers on it). */
interface FeedCharge {
  kind: LineKind;
  holders: Map<string, number>;
}

/**
 * IB's lines as the clients hold them. A client is charged one line of a kind for each distinct IB
 * subscription its streams consume, however many of its streams share it; joining a subscription another
 * client opened charges the joiner too, and the charge is given back when the client's last consumer of
 * it leaves (or the subscription ends). Three rules, checked before anything is requested at IB:
 *
 * - a client's cap on market data lines (`maxLines`, when > 0), whether or not the line is new at IB;
 * - fair share with a reserve: a subscription that needs a new IB line takes it freely until only the
 *   reserve is left (reservePercent of the kind's limit, at least one line); the reserve goes only to a
 *   client holding fewer lines of the kind than its fair share (limit / number of clients), so one
 *   client cannot lock the others out. Joining a running subscription takes nothing from IB, so only
 *   the cap applies to it. SERVICE_LINES (configured subscriptions) is exempt: the operator chose those;
 * - IB's limit itself (every client's subscriptions together): today's "all N lines are in use".
 */
export class ClientLines {
  private readonly feeds = new Map<string, FeedCharge>();
  /** Distinct IB subscriptions per kind (the lines IB has or will have open for them). */
  private readonly inUse: Record<LineKind, number> = { marketDataLines: 0, depth: 0, tickByTick: 0 };
  private readonly held = new Map<string, Record<LineKind, number>>();
  private readonly caps = new Map<string, number>();
  private readonly sharers: number;

  constructor(
    private readonly limits: LineLimits,
    private readonly rules: ClientLineRules = NO_CLIENT_LINE_RULES,
  ) {
    for (const c of rules.clients) this.caps.set(c.name, c.maxLines);
    this.sharers = Math.max(1, rules.clients.length);
  }

  /** Lines of `kind` kept for clients under their fair share. */
  reserve(kind: LineKind): number {
    return this.rules.reservePercent <= 0 ? 0 : Math.max(1, Math.floor((this.limits[kind] * this.rules.reservePercent) / 100));
  }

  /** A client's fair share of `kind`: the limit / the number of clients (fractional when it does not divide). */
  fairShare(kind: LineKind): number {
    return this.limits[kind] / this.sharers;
  }

  /** Lines of `kind` charged to `client`. */
  heldBy(client: string, kind: LineKind): number {
    return this.held.get(client)?.[kind] ?? 0;
  }

  /** Distinct IB subscriptions of `kind` charged to anyone. */
  used(kind: LineKind): number {
    return this.inUse[kind];
  }

  /** Whether `client` is charged for the subscription `key`. */
  holds(client: string, key: string): boolean {
    return (this.feeds.get(key)?.holders.get(client) ?? 0) > 0;
  }

  /**
   * One more consumer of `client` on the subscription `key` (a line of `kind`): charged when it is the
   * client's first there, or refused (LineQuotaError; IbError "limit" at IB's own limit). The returned
   * function gives it back (once; a no-op after the subscription ended).
   */
  charge(client: string, kind: LineKind, key: string): () => void {
    let feed = this.feeds.get(key);
    const consumers = feed?.holders.get(client) ?? 0;
    if (consumers === 0) this.admit(client, kind, feed === undefined);
    if (feed === undefined) {
      feed = { kind, holders: new Map() };
      this.feeds.set(key, feed);
      this.inUse[kind]++;
    }
    feed.holders.set(client, consumers + 1);
    if (consumers === 0) this.adjust(client, kind, 1);
    const charged = feed;
    let released = false;
    return () => {
      if (released || this.feeds.get(key) !== charged) return;
      released = true;
      const left = (charged.holders.get(client) ?? 1) - 1;
      if (left > 0) {
        charged.holders.set(client, left);
        return;
      }
      charged.holders.delete(client);
      this.adjust(client, kind, -1);
      if (charged.holders.size === 0) this.drop(key, charged);
    };
  }

  /** The subscription ended (it failed, or nobody consumes it any more): every charge on it is given back. */
  ended(key: string): void {
    const feed = this.feeds.get(key);
    if (feed === undefined) return;
    for (const client of feed.holders.keys()) this.adjust(client, feed.kind, -1);
    this.drop(key, feed);
  }

  /** Gives every line back (the adapter stops). */
  clear(): void {
    for (const key of [...this.feeds.keys()]) this.ended(key);
  }

  private drop(key: string, feed: FeedCharge): void {
    this.feeds.delete(key);
    this.inUse[feed.kind]--;
  }

  private admit(client: string, kind: LineKind, newAtIb: boolean): void {
    const limit = this.limits[kind];
    if (client === SERVICE_LINES) {
      if (newAtIb && this.inUse[kind] >= limit) throw lineLimitReached(kind, limit);
      return;
    }
    const held = this.heldBy(client, kind);
    const cap = this.caps.get(client) ?? 0;
    if (kind === "marketDataLines" && cap > 0 && held >= cap) {
      throw new LineQuotaError("cap", client, kind, held, cap, `client ${JSON.stringify(client)} holds its quota of ${cap} IB ${LINE_NAMES[kind]}; close one of its subscriptions first`);
    }
    if (!newAtIb) return; // joining a running subscription takes no line from IB
    if (this.inUse[kind] >= limit) throw lineLimitReached(kind, limit);
    const reserve = this.reserve(kind);
    const share = this.fairShare(kind);
    if (this.inUse[kind] >= limit - reserve && held >= share) {
      throw new LineQuotaError(
        "fair-share",
        client,
        kind,
        held,
        share,
        `client ${JSON.stringify(client)} holds ${held} of IB's ${limit} ${LINE_NAMES[kind]}, at least its fair share of ${formatShare(share)}; the last ${reserve} are kept for clients under their share (${this.inUse[kind]} in use)`,
      );
    }
  }

  private adjust(client: string, kind: LineKind, delta: 1 | -1): void {
    let counts = this.held.get(client);
    if (counts === undefined) {
      counts = { marketDataLines: 0, depth: 0, tickByTick: 0 };
      this.held.set(client, counts);
    }
    counts[kind] += delta;
    ibLinesHeld.inc({ client, kind }, delta);
    if (LINE_KINDS.every((k) => counts[k] === 0)) this.held.delete(client);
  }
}

/** 1.5, 33.3, 50: a share as people read it. */
export function formatShare(share: number): string {
  return Number.isInteger(share) ? String(share) : share.toFixed(1);
}
