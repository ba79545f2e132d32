import { AssetClass, OptionRight, type InstrumentSpec as ProtoSpec } from "../../../gen/ibprovider/v1/types.js";
import { formatInstrumentSymbol, MAX_COMBO_LEGS, type ComboLegSpec, type InstrumentSpec } from "../../domain/instrumentSymbol.js";
import { echo, invalidArgument } from "../apiError.js";

/**
 * The structured form of an instrument (gRPC InstrumentSpec) → its symbol text. Only the fields of the class
 * are read; the text is then checked like any symbol (checkInstrument), so both forms obey one syntax.
 * Faults name the field path, e.g. `instrument.legs[1].instrument.strike`.
 */
export function symbolOfSpec(spec: ProtoSpec, path = "instrument"): string {
  return formatInstrumentSymbol(toDomain(spec, path));
}

/**
 * Refuses a spec whose text reads back as another instrument than the fields said: the text alone decides
 * what IB is asked for, so CRYPTO "EURUSD" (a pair), FOREX "BTCUSD" (a coin), CRYPTO "FOO" (a stock),
 * OPTION {symbol "AAPL", trading_class "SPXW"} (an SPX option) or FUTURE {symbol "ES", local_symbol "NQH7"}
 * must not silently become what their text means.
 */
export function checkSpecReadsBack(spec: ProtoSpec, parsed: InstrumentSpec, path = "instrument"): void {
  const asked = toDomain(spec, path);
  if (asked.assetClass !== parsed.assetClass) {
    throw invalidArgument(`${path}.symbol`, `${echo(formatInstrumentSymbol(asked))} is not a ${asked.assetClass} but a ${parsed.assetClass}: check the asset class and symbol`, "INVALID_SYMBOL");
  }
  if (asked.assetClass === "option" && parsed.assetClass === "option" && asked.underlying !== parsed.underlying) {
    throw invalidArgument(`${path}.trading_class`, `trading class ${echo(asked.tradingClass)} is a class of ${parsed.underlying}, not of ${echo(asked.underlying)}`, "INVALID_SYMBOL");
  }
  if (asked.assetClass === "future" && parsed.assetClass === "future" && asked.root !== parsed.root) {
    if (asked.localSymbol !== undefined) throw invalidArgument(`${path}.local_symbol`, `${echo(asked.localSymbol)} is not a month of the root ${echo(asked.root)}`, "INVALID_SYMBOL");
    throw invalidArgument(`${path}.symbol`, `a futures root such as ES (got ${echo(asked.root)}; a month goes in local_symbol or expiry)`, "INVALID_SYMBOL");
  }
  if (asked.assetClass === "combo" && parsed.assetClass === "combo") {
    asked.legs.forEach((_, i) => checkSpecReadsBack(spec.legs[i]!.instrument!, parsed.legs[i]!.leg, `${path}.legs[${i}].instrument`));
  }
}

function toDomain(spec: ProtoSpec, path: string): InstrumentSpec {
  const symbol = () => required(spec.symbol, `${path}.symbol`).toUpperCase();
  switch (spec.assetClass) {
    case AssetClass.ASSET_CLASS_STOCK:
      return { assetClass: "stock", symbol: symbol() };
    case AssetClass.ASSET_CLASS_INDEX:
      return { assetClass: "index", symbol: symbol() };
    case AssetClass.ASSET_CLASS_FUND:
      return { assetClass: "fund", symbol: symbol() };
    case AssetClass.ASSET_CLASS_CRYPTO: {
      const m = /^([A-Z]+?)(USDT|USDC|USD)?$/.exec(symbol());
      return { assetClass: "crypto", coin: m?.[1] ?? symbol(), quote: m?.[2] ?? "" };
    }
    case AssetClass.ASSET_CLASS_FOREX: {
      const m = /^([A-Z]{3})[./]?([A-Z]{3})$/.exec(symbol());
      if (m === null) throw invalidArgument(`${path}.symbol`, `a currency pair such as EURUSD (got ${echo(spec.symbol)})`, "INVALID_SYMBOL");
      return { assetClass: "forex", base: m[1]!, quote: m[2]! };
    }
    case AssetClass.ASSET_CLASS_FUTURE: {
      const root = symbol();
      if (spec.localSymbol !== "") return { assetClass: "future", root, localSymbol: spec.localSymbol.toUpperCase() };
      return spec.expiry === "" ? { assetClass: "future", root } : { assetClass: "future", root, expiry: expiry(spec.expiry, `${path}.expiry`, /^\d{6}(\d{2})?$/) };
    }
    case AssetClass.ASSET_CLASS_OPTION: {
      const underlying = symbol();
      return {
        assetClass: "option",
        underlying,
        tradingClass: spec.tradingClass === "" ? underlying : spec.tradingClass.toUpperCase(),
        expiry: expiry(spec.expiry, `${path}.expiry`, /^\d{8}$/),
        right: right(spec.right, `${path}.right`),
        // OCC writes the strike × 1000 in 8 digits: at most 99999.999.
        strike: strike(spec.strike, `${path}.strike`, { wholeDigits: 5, decimals: 3 }),
      };
    }
    case AssetClass.ASSET_CLASS_FUTURE_OPTION: {
      const future = required(spec.localSymbol, `${path}.local_symbol`).toUpperCase();
      const root = /^([A-Z0-9]{1,3})[FGHJKMNQUVXZ]\d{1,2}$/.exec(future)?.[1];
      if (root === undefined) throw invalidArgument(`${path}.local_symbol`, `the underlying future's local symbol, e.g. ESH7 (got ${echo(spec.localSymbol)})`, "INVALID_SYMBOL");
      return { assetClass: "future-option", root, futureLocalSymbol: future, right: right(spec.right, `${path}.right`), strike: strike(spec.strike, `${path}.strike`, { wholeDigits: 7, decimals: 6 }) };
    }
    case AssetClass.ASSET_CLASS_BOND: {
      const id = spec.isin !== "" ? spec.isin : required(spec.cusip, `${path}.cusip`);
      return spec.isin !== "" ? { assetClass: "bond", isin: id.toUpperCase() } : { assetClass: "bond", cusip: id.toUpperCase() };
    }
    case AssetClass.ASSET_CLASS_COMBO: {
      if (spec.legs.length < 2 || spec.legs.length > MAX_COMBO_LEGS) throw invalidArgument(`${path}.legs`, `a combo has 2 to ${MAX_COMBO_LEGS} legs (got ${spec.legs.length})`, "INVALID_SYMBOL");
      const legs = spec.legs.map((l, i): ComboLegSpec => {
        const at = `${path}.legs[${i}]`;
        if (l.instrument === undefined) throw invalidArgument(`${at}.instrument`, "required", "INVALID_SYMBOL");
        if (l.ratio === 0 || Math.abs(l.ratio) > 999) throw invalidArgument(`${at}.ratio`, `a signed ratio of 1 to 999 (got ${l.ratio})`, "INVALID_SYMBOL");
        const leg = toDomain(l.instrument, `${at}.instrument`);
        if (leg.assetClass === "combo") throw invalidArgument(`${at}.instrument.asset_class`, "a leg cannot be a combo", "INVALID_SYMBOL");
        return { ratio: l.ratio, leg };
      });
      return { assetClass: "combo", legs };
    }
    default:
      throw invalidArgument(`${path}.asset_class`, "required: the instrument's asset class", "INVALID_SYMBOL");
  }
}

function required(value: string, field: string): string {
  if (value === "") throw invalidArgument(field, "required for this asset class", "INVALID_SYMBOL");
  return value;
}

function expiry(value: string, field: string, shape: RegExp): string {
  if (!shape.test(value)) throw invalidArgument(field, `expected ${shape.source.includes("(") ? "YYYYMM or YYYYMMDD" : "YYYYMMDD"} (got ${echo(value)})`, "INVALID_SYMBOL");
  return value;
}

function right(value: OptionRight, field: string): "call" | "put" {
  if (value === OptionRight.OPTION_RIGHT_CALL) return "call";
  if (value === OptionRight.OPTION_RIGHT_PUT) return "put";
  throw invalidArgument(field, "required: CALL or PUT", "INVALID_SYMBOL");
}

/** An option's (OCC: 5 digits, 3 decimals) or an option on a future's (the symbol syntax: 7 and 6, e.g. 6E's 1.0825) strike. */
function strike(value: string, field: string, shape: { wholeDigits: number; decimals: number }): string {
  const whole = value.split(".")[0]!.replace(/^0+(?=\d)/, "");
  if (!new RegExp(`^\\d{1,7}(\\.\\d{1,${shape.decimals}})?$`).test(value) || Number(value) <= 0 || whole.length > shape.wholeDigits) {
    throw invalidArgument(field, `a positive decimal below ${"1".padEnd(shape.wholeDigits + 1, "0")} with at most ${shape.decimals} decimals (got ${echo(value)})`, "INVALID_SYMBOL");
  }
  const unpadded = value.replace(/^0+(?=\d)/, "");
  return unpadded.includes(".") ? unpadded.replace(/0+$/, "").replace(/\.$/, "") : unpadded;
}
