/**
 * Account streams: account summary (+ periodic refresh), account updates (values, portfolio, time,
 * download end), PnL and PnL single. Values follow the market at the current time.
 */
import { Decimal } from "decimal.js";
import { money, type SimAccounts } from "../account.js";
import * as msg from "../messages/outbound.js";
import type { Field } from "../wire/fields.js";
import { formatZoned } from "./ibDateTime.js";
import type { FeedContext, Subscription } from "./feed.js";

const SUMMARY_TAGS_ALL = "ALL";

/** Expands a reqAccountSummary tag list into (account, tag, value, currency) rows. */
export function accountSummaryRows(accounts: SimAccounts, group: string, tags: string, nowMs: number) {
  const wanted = new Set(tags.split(",").map((t) => t.trim()).filter(Boolean));
  const rows: { account: string; tag: string; value: string; currency: string }[] = [];
  void group; // "All" (or any group name): every account of the login.
  for (const id of accounts.ids()) {
    const v = accounts.value(id, nowMs);
    if (!v) continue;
    for (const r of accounts.summary(v)) {
      if (wanted.has(r.tag) || wanted.has(SUMMARY_TAGS_ALL)) rows.push({ account: id, ...r });
    }
    if (wanted.has("$LEDGER")) for (const r of accounts.ledger(v, "USD")) rows.push({ account: id, ...r });
    if (wanted.has("$LEDGER:USD")) for (const r of accounts.ledger(v, "USD")) rows.push({ account: id, ...r });
    if (wanted.has("$LEDGER:ALL")) {
      for (const cur of ["BASE", "USD"]) for (const r of accounts.ledger(v, cur)) rows.push({ account: id, ...r });
    }
  }
  return rows;
}

/** Everything, then an end message; afterwards everything again every `refreshMs` (IB: every 3 minutes). */
abstract class RefreshingFeed {
  stalledUntil = 0;
  private lastSentMs = 0;

  constructor(
    protected readonly ctx: FeedContext,
    private readonly refreshMs: number,
  ) {}

  start(nowMs: number): void {
    this.sendAll(nowMs, false);
    this.ctx.send(this.endMessage());
    this.lastSentMs = nowMs;
  }

  pump(nowMs: number): void {
    if (nowMs - this.lastSentMs < this.refreshMs) return;
    this.refreshNow(nowMs);
  }

  /** A refresh out of turn: after a fill moved the account (IB sends the changed values at once). */
  refreshNow(nowMs: number): void {
    this.lastSentMs = nowMs;
    this.sendAll(nowMs, true);
  }

  protected abstract sendAll(nowMs: number, refresh: boolean): void;
  protected abstract endMessage(): Field[];
}

/** Full summary + End; a refresh sends only the rows that changed. */
export class AccountSummaryFeed extends RefreshingFeed implements Subscription {
  readonly kind = "accountSummary" as const;
  private last = new Map<string, string>();

  constructor(
    ctx: FeedContext,
    readonly reqId: number,
    private readonly accounts: SimAccounts,
    private readonly group: string,
    private readonly tags: string,
    refreshMs: number,
  ) {
    super(ctx, refreshMs);
  }

  protected endMessage(): Field[] {
    return msg.accountSummaryEnd(this.reqId);
  }

  protected sendAll(nowMs: number, changedOnly: boolean): void {
    for (const r of accountSummaryRows(this.accounts, this.group, this.tags, nowMs)) {
      const key = `${r.account}|${r.tag}|${r.currency}`;
      if (changedOnly && this.last.get(key) === r.value) continue;
      this.last.set(key, r.value);
      this.ctx.send(msg.accountSummary(this.reqId, r.account, r.tag, r.value, r.currency));
    }
  }
}

/** reqAccountUpdates for one account (not keyed by a request id: IB allows one at a time per client). */
export class AccountUpdatesFeed extends RefreshingFeed {
  constructor(
    ctx: FeedContext,
    readonly account: string,
    private readonly accounts: SimAccounts,
    refreshMs: number,
  ) {
    super(ctx, refreshMs);
  }

  protected endMessage(): Field[] {
    return msg.accountDownloadEnd(this.account);
  }

  protected sendAll(nowMs: number): void {
    const v = this.accounts.value(this.account, nowMs);
    if (!v) return;
    for (const kv of this.accounts.accountValues(v)) this.ctx.send(msg.accountValue(kv.key, kv.value, kv.currency, this.account));
    for (const p of v.positions) {
      const inst = p.position.instrument;
      const dp = Math.max(2, new Decimal(inst.minTick).decimalPlaces());
      this.ctx.send(
        msg.portfolioValue(
          this.ctx.sv,
          inst,
          p.position.quantity.toFixed(),
          p.marketPrice.toDecimalPlaces(dp + 1).toFixed(),
          money(p.marketValue),
          p.position.avgCost.toFixed(),
          money(p.unrealized),
          "0",
          this.account,
        ),
      );
    }
    this.ctx.send(msg.accountUpdateTime(formatZoned(nowMs, "America/New_York").slice(9, 14)));
  }
}

export class PnlFeed implements Subscription {
  readonly kind = "pnl" as const;
  stalledUntil = 0;
  private lastSentMs = -Infinity;

  constructor(
    private readonly ctx: FeedContext,
    readonly reqId: number,
    private readonly accounts: SimAccounts,
    private readonly account: string,
    private readonly intervalMs: number,
  ) {}

  pump(nowMs: number): void {
    if (nowMs - this.lastSentMs < this.intervalMs) return;
    this.lastSentMs = nowMs;
    const v = this.accounts.value(this.account, nowMs);
    if (!v) return;
    this.ctx.send(msg.pnl(this.ctx.sv, this.reqId, money(v.daily), money(v.unrealized), money(v.realized)));
  }
}

export class PnlSingleFeed implements Subscription {
  readonly kind = "pnlSingle" as const;
  stalledUntil = 0;
  private lastSentMs = -Infinity;

  constructor(
    private readonly ctx: FeedContext,
    readonly reqId: number,
    private readonly accounts: SimAccounts,
    private readonly account: string,
    private readonly conId: number,
    private readonly intervalMs: number,
  ) {}

  pump(nowMs: number): void {
    if (nowMs - this.lastSentMs < this.intervalMs) return;
    this.lastSentMs = nowMs;
    const v = this.accounts.value(this.account, nowMs);
    const p = v?.positions.find((x) => x.position.instrument.conId === this.conId);
    if (!p) {
      this.ctx.send(msg.pnlSingle(this.ctx.sv, this.reqId, "0", undefined, undefined, undefined, undefined));
      return;
    }
    this.ctx.send(msg.pnlSingle(this.ctx.sv, this.reqId, p.position.quantity.toFixed(), money(p.daily), money(p.unrealized), "0", money(p.marketValue)));
  }
}

/** reqAccountUpdatesMulti: account values for one account (or all), End, then a refresh every `refreshMs`. */
export class AccountUpdatesMultiFeed extends RefreshingFeed implements Subscription {
  readonly kind = "accountMulti" as const;

  constructor(
    ctx: FeedContext,
    readonly reqId: number,
    private readonly accounts: SimAccounts,
    private readonly account: string,
    private readonly modelCode: string,
    private readonly ledgerAndNLV: boolean,
    refreshMs: number,
  ) {
    super(ctx, refreshMs);
  }

  protected endMessage(): Field[] {
    return msg.accountUpdateMultiEnd(this.reqId);
  }

  protected sendAll(nowMs: number): void {
    const ids = this.account === "" || this.account.toUpperCase() === "ALL" ? this.accounts.ids() : [this.account];
    for (const id of ids) {
      const v = this.accounts.value(id, nowMs);
      if (!v) continue;
      const rows = this.ledgerAndNLV
        ? [
            { key: "NetLiquidation", value: money(v.netLiquidation), currency: "USD" },
            ...this.accounts.ledger(v, "USD").map((r) => ({ key: r.tag, value: r.value, currency: r.currency })),
          ]
        : this.accounts.accountValues(v);
      for (const r of rows) this.ctx.send(msg.accountUpdateMulti(this.reqId, id, this.modelCode, r.key, r.value, r.currency));
    }
  }
}
