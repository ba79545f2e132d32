import { createHash } from "node:crypto";
import type { RecordedFeedKind } from "../store/storeSettings.js";

/**
 * Subjects on the bus: `<prefix>.<account>.<kind>.<market>.<symbol>[.<param>]`, e.g.
 * `ibp.a3f9c2e81b07.tick.spot.BTCUSDT`, `ibp.a3f9c2e81b07.book.stock.AAPL.10`,
 * `ibp.a3f9c2e81b07.candle.futures.ESH7.m1`; the account feed is `ibp.<account>.account`.
 */

/** The subject's kind token: the feed key's first segment (tick, trade, book, candle, account). */
/**
 * The kinds of feed published on the bus: every recorded kind but the order events (orders are served by the
 * provider alone: an edge does not serve OrderService, callableMethods.ts).
 */
export type BusFeedKind = Exclude<RecordedFeedKind, "orders">;

/** Whether a recorded feed of this kind goes to the bus. */
export function isBusFeedKind(kind: string): kind is BusFeedKind {
  return Object.hasOwn(KIND_TOKENS, kind);
}

export const KIND_TOKENS: Readonly<Record<BusFeedKind, string>> = Object.freeze({ tick: "tick", trade: "trade", orderBook: "book", candle: "candle", account: "account" });

/**
 * A subject token for any text, reversibly (tokenText). NATS tokens cannot hold `.`, whitespace, `*` or
 * `>`, and must not be empty: every character but letters, digits and `_ - : , + = @` is written `%XX`
 * per UTF-8 byte (so `%` itself too), and the empty text is a lone `%`. `BRK.B` → `BRK%2EB`,
 * `ESH7 C5000` → `ESH7%20C5000`, `COMBO:A,-B` stays as it is.
 */
export function subjectToken(text: string): string {
  if (text === "") return "%";
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += SAFE.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

const SAFE = /^[A-Za-z0-9_\-:,+=@]$/;

/** The text a subjectToken stands for. */
export function tokenText(token: string): string {
  if (token === "%") return "";
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === "%") {
      bytes.push(Number.parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return Buffer.from(bytes).toString("utf8");
}

/**
 * The account as subjects and headers name it: a short digest, never the account id (anyone on the bus
 * sees subjects). Pseudonymous, not secret — IB account ids are few enough to be tried one by one — so
 * who may read the bus is NATS's permissions' business; the digest only keeps ids out of subjects, logs
 * and dashboards of the bus. Stable: an edge derives the same token from the same account.
 */
export function accountToken(accountId: string): string {
  return `a${createHash("sha256").update(`ib-provider account ${accountId}`).digest("hex").slice(0, 12)}`;
}

/** What a feed's subject is made of. */
export interface FeedAddress {
  /** The feed key (`tick/<conId>`, `candle/<conId>/<interval>`, `book/<conId>/<rows>`, `account/<id>`). */
  key: string;
  kind: BusFeedKind;
  /** The market type (spot, stock, futures, …); unused for the account. */
  market: string;
  symbol: string;
}

/** A feed's subject: its parameter (candle interval, book rows) is what its key holds after the instrument. */
export function feedSubject(prefix: string, account: string, feed: FeedAddress): string {
  const head = `${prefix}.${account}.${KIND_TOKENS[feed.kind]}`;
  if (feed.kind === "account") return head;
  const param = feed.key.split("/").slice(2).join("/");
  return `${head}.${subjectToken(feed.market)}.${subjectToken(feed.symbol)}${param === "" ? "" : `.${subjectToken(param)}`}`;
}

/** The feed key as the bus shows it: an account feed's key names the account token, not the account. */
export function publicFeedKey(key: string, kind: BusFeedKind, account: string): string {
  return kind === "account" ? `account/${account}` : key;
}

/** The JetStream stream of a kind, and the subjects it captures (every account's). */
export function streamOf(prefix: string, kind: BusFeedKind): { name: string; subject: string } {
  const token = KIND_TOKENS[kind];
  return { name: `${prefix}_${token}`.toUpperCase(), subject: kind === "account" ? `${prefix}.*.${token}` : `${prefix}.*.${token}.>` };
}
