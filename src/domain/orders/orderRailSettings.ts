/** The safety rails' settings (issue 17 item 3), and how they are read from the environment's strings. */
import { Dec, type Decimal } from "../decimal.js";
import { ORDER_TYPES, type OrderType } from "./orderRequest.js";

/** A limit per symbol, with a default for the symbols not listed (absent: no limit for them). */
export interface PerSymbolLimit {
  /** Keys upper case (symbols are compared case-insensitively). */
  bySymbol: ReadonlyMap<string, Decimal>;
  default?: Decimal;
}

export interface OrderRailSettings {
  /** ORDERS_ENABLED: off, every order is refused. */
  enabled: boolean;
  /** ORDERS_ALLOW_LIVE: off, orders for a live (non-paper) account are refused. */
  allowLive: boolean;
  /** Engaged by CancelAllOrders: refuses new orders until released (state, not configuration). */
  killSwitchEngaged: boolean;
  /** ORDERS_ALLOWED_TYPES. */
  allowedOrderTypes: ReadonlySet<OrderType>;
  /** ORDERS_ALLOWED_SYMBOLS, upper case; empty: any symbol. */
  allowedSymbols: ReadonlySet<string>;
  /** ORDERS_MAX_QUANTITY: per order, in the instrument's units. */
  maxQuantity: PerSymbolLimit;
  /** ORDERS_MAX_NOTIONAL: per order, quantity × price × multiplier, in the order's currency. */
  maxNotional: PerSymbolLimit;
}

/** Rails on: orders disabled, live accounts refused, every type allowed, any symbol, no size limit. */
export const DEFAULT_ORDER_RAIL_SETTINGS: Readonly<OrderRailSettings> = Object.freeze({
  enabled: false,
  allowLive: false,
  killSwitchEngaged: false,
  allowedOrderTypes: new Set(ORDER_TYPES),
  allowedSymbols: new Set<string>(),
  maxQuantity: { bySymbol: new Map() },
  maxNotional: { bySymbol: new Map() },
});

export interface OrderRailSettingsError {
  /** The environment variable at fault. */
  variable: string;
  message: string;
}

export type OrderRailSettingsResult = { ok: true; settings: OrderRailSettings } | { ok: false; errors: OrderRailSettingsError[] };

/** The variables read; unset or empty ones keep DEFAULT_ORDER_RAIL_SETTINGS' value. */
export const ORDER_RAIL_VARIABLES = ["ORDERS_ENABLED", "ORDERS_ALLOW_LIVE", "ORDERS_ALLOWED_TYPES", "ORDERS_ALLOWED_SYMBOLS", "ORDERS_MAX_QUANTITY", "ORDERS_MAX_NOTIONAL"] as const;

/**
 * Reads ORDERS_ENABLED and ORDERS_ALLOW_LIVE (on/off/true/false/1/0, as the other switches),
 * ORDERS_ALLOWED_TYPES ("MKT,LMT"; STP LMT as written by IB, with its space), ORDERS_ALLOWED_SYMBOLS
 * ("AAPL,MSFT") and ORDERS_MAX_QUANTITY / ORDERS_MAX_NOTIONAL ("AAPL=100,*=10": * is every other symbol).
 * Every error is reported, each naming its variable; nothing half-read is returned.
 */
export function parseOrderRailSettings(env: Readonly<Record<string, string | undefined>>): OrderRailSettingsResult {
  const errors: OrderRailSettingsError[] = [];
  const read = <T>(variable: string, parse: (text: string) => T | string, fallback: T): T => {
    const text = env[variable]?.trim() ?? "";
    if (text === "") return fallback;
    const parsed = parse(text);
    if (typeof parsed === "string") {
      errors.push({ variable, message: `${variable}: ${parsed}` });
      return fallback;
    }
    return parsed;
  };
  const d = DEFAULT_ORDER_RAIL_SETTINGS;
  const settings: OrderRailSettings = {
    enabled: read("ORDERS_ENABLED", parseSwitch, d.enabled),
    allowLive: read("ORDERS_ALLOW_LIVE", parseSwitch, d.allowLive),
    killSwitchEngaged: false,
    allowedOrderTypes: read("ORDERS_ALLOWED_TYPES", parseOrderTypes, d.allowedOrderTypes),
    allowedSymbols: read("ORDERS_ALLOWED_SYMBOLS", parseSymbols, d.allowedSymbols),
    maxQuantity: read("ORDERS_MAX_QUANTITY", parseLimits, d.maxQuantity),
    maxNotional: read("ORDERS_MAX_NOTIONAL", parseLimits, d.maxNotional),
  };
  return errors.length === 0 ? { ok: true, settings } : { ok: false, errors };
}

/** The limit for `symbol`: its own, else the default, else none. */
export function limitFor(limit: PerSymbolLimit, symbol: string): Decimal | undefined {
  return limit.bySymbol.get(symbol.toUpperCase()) ?? limit.default;
}

const SWITCHES: Readonly<Record<string, boolean>> = { on: true, true: true, "1": true, off: false, false: false, "0": false };

function parseSwitch(text: string): boolean | string {
  return SWITCHES[text.toLowerCase()] ?? `${quote(text)} is not one of on, off, true, false, 1, 0`;
}

function items(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function parseOrderTypes(text: string): ReadonlySet<OrderType> | string {
  const types = new Set<OrderType>();
  for (const item of items(text)) {
    // "STP LMT" as IB writes it; STP_LMT and STPLMT are accepted (an env file's values often avoid spaces).
    const type = ORDER_TYPES.find((t) => t === item.toUpperCase().replace(/[_\s]+/g, " ") || t.replace(" ", "") === item.toUpperCase());
    if (type === undefined) return `${quote(item)} is not an order type (${ORDER_TYPES.join(", ")})`;
    types.add(type);
  }
  return types.size === 0 ? "lists no order type (leave it unset for all, or set ORDERS_ENABLED=false)" : types;
}

function parseSymbols(text: string): ReadonlySet<string> | string {
  const symbols = new Set<string>();
  for (const item of items(text)) {
    if (/[=*]/.test(item)) return `${quote(item)} is not a symbol (a list such as AAPL,MSFT; unset for any)`;
    symbols.add(item.toUpperCase());
  }
  return symbols;
}

function parseLimits(text: string): PerSymbolLimit | string {
  const bySymbol = new Map<string, Decimal>();
  let fallback: Decimal | undefined;
  for (const item of items(text)) {
    const eq = item.indexOf("=");
    const symbol = eq < 0 ? "" : item.slice(0, eq).trim().toUpperCase();
    const valueText = eq < 0 ? "" : item.slice(eq + 1).trim();
    if (symbol === "" || valueText === "") return `${quote(item)} is not SYMBOL=LIMIT (e.g. AAPL=100,*=10; * for every other symbol)`;
    const value = positiveDecimal(valueText);
    if (value === undefined) return `${quote(item)}: the limit must be a number above 0`;
    if (symbol === "*" ? fallback !== undefined : bySymbol.has(symbol)) return `${quote(symbol)} is given twice`;
    if (symbol === "*") fallback = value;
    else bySymbol.set(symbol, value);
  }
  const limit: PerSymbolLimit = { bySymbol };
  if (fallback !== undefined) limit.default = fallback;
  return limit;
}

function positiveDecimal(text: string): Decimal | undefined {
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
  const d = new Dec(text);
  return d.gt(0) ? d : undefined;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
