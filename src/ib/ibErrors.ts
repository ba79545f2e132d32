/**
 * IB message codes → what they mean for a request. Every code is classified on its own as advisory (the
 * request goes on: 10090/10091/10167 never end a stream), terminal (the request failed, with a typed
 * kind) or informational (farm status). Sources: ../shared/docs/ib-rules.md and tws-protocol.md §3.
 */

export type IbErrorKind =
  | "not-found" // 200: no security definition
  | "permission" // 354, 10089, 10168: market data subscription needed
  | "pacing" // 162 pacing violation, 100 message rate
  | "limit" // 101 lines, 309 depth, 10190 tick-by-tick, 322 too many open requests
  | "no-data" // 162 "query returned no data", 165
  | "invalid" // 321 validation, 10299 wrong whatToShow, 10092/10189 depth/tick-by-tick not offered for the contract
  | "unavailable" // 502/504, connection lost
  | "timeout" // no answer in time
  | "cancelled" // cancelled by us or by IB
  | "internal"; // anything else (including duplicate ids: our bug)

/**
 * What went wrong when the kind alone does not say it: facts about IB and this login, which the API layer
 * turns into its own reasons (src/grpc/adapterErrors.ts). The adapter chooses no API vocabulary.
 */
export type IbFact =
  | "account-not-managed" // the login does not manage the account asked for
  | "account-not-active" // IB streams account updates for one account at a time
  | "no-trades" // IB keeps no trade prints for the instrument (forex pairs: 162)
  | "history-too-long" // a window needs more IB requests than one call may make
  | "history-quota" // the caller's client would exceed its historical requests per window (details: limit, client)
  | "history-wait-exceeds-deadline" // IB's pacing would hold the call past the caller's deadline (details: waitMs)
  | "not-offered-for-class"; // IB does not send this kind of data for the instrument's class (trade prints of an index, ...)

/** Numbers behind a fact, for the API layer's metadata and retry advice. */
export interface IbErrorDetails {
  /** When trying again may succeed, from now (ms). */
  retryAfterMs?: number;
  /** The quota or limit that was hit. */
  limit?: number;
  /** The accounting name the call carried (history-quota). */
  client?: string;
  /** The estimated wait (ms) that was too long (history-wait-exceeds-deadline). */
  waitMs?: number;
}

export class IbError extends Error {
  constructor(
    readonly kind: IbErrorKind,
    message: string,
    /** The IB message code, when IB sent one. */
    readonly ibCode?: number,
    readonly fact?: IbFact,
    readonly details?: IbErrorDetails,
  ) {
    super(message);
    this.name = "IbError";
  }
}

export type IbCodeClass =
  | { severity: "terminal"; kind: IbErrorKind }
  | { severity: "advisory"; status: "delayed" | "partial" | "competing-session" | "book-reset" | "bust" | "message" }
  | { severity: "info" };

export function classifyIbCode(code: number, message: string): IbCodeClass {
  switch (code) {
    case 100:
      return { severity: "terminal", kind: "pacing" };
    case 101:
    case 309:
    case 10190:
      return { severity: "terminal", kind: "limit" };
    case 162:
      return classify162(message);
    case 165:
    case 300: // cancel of an id IB no longer knows: the cancel raced the end
    case 310:
    case 366:
    case 2174: // date-time without zone: we always send UTC, log only
      return { severity: "info" };
    case 200:
      return { severity: "terminal", kind: "not-found" };
    case 321:
    case 10092: // depth not supported for this security type/exchange
    case 10189: // tick-by-tick refused for the contract
    case 10299:
      return { severity: "terminal", kind: "invalid" };
    case 322:
      return { severity: "terminal", kind: /simultaneous|max/i.test(message) ? "limit" : "internal" };
    case 354:
    case 10089:
    case 10168:
      return { severity: "terminal", kind: "permission" };
    case 502:
    case 504:
      return { severity: "terminal", kind: "unavailable" };
    case 10167:
      return { severity: "advisory", status: "delayed" };
    case 10090:
    case 10091:
      return { severity: "advisory", status: "partial" };
    case 10197:
      return { severity: "advisory", status: "competing-session" };
    case 317:
      return { severity: "advisory", status: "book-reset" };
    case 10225:
      return { severity: "advisory", status: "bust" };
    default:
      // 2100-2199 are warnings (farm status, API notices); 1100-1102, 1300 are connection-level.
      if ((code >= 2100 && code < 2200) || (code >= 1100 && code <= 1300)) return { severity: "info" };
      return { severity: "terminal", kind: "internal" };
  }
}

/** 162 covers pacing, "no data", cancellation and permissions: only the text tells them apart. */
function classify162(message: string): IbCodeClass {
  if (/pacing violation/i.test(message)) return { severity: "terminal", kind: "pacing" };
  if (/returned no data|no data/i.test(message)) return { severity: "terminal", kind: "no-data" };
  // Cancelled by IB (an HMDS farm dropping the query), not by the caller: worth retrying.
  if (/cancel/i.test(message)) return { severity: "terminal", kind: "unavailable" };
  if (/permission/i.test(message)) return { severity: "terminal", kind: "permission" };
  return { severity: "terminal", kind: "internal" };
}
