/**
 * Why an order request is refused before IB sees it: a stable reason (AIP-193 ErrorInfo.reason, UPPER_SNAKE),
 * the request field at fault (a path in OrderRequest terms: "quantity", "bracket.stopLoss.stopPrice"), and a
 * sentence naming the field and the limit, with the client's values echoed short.
 */
export interface OrderRefusal {
  reason: string;
  field: string;
  message: string;
}

export type OrderVerdict = { ok: true } | { ok: false; refusal: OrderRefusal };

export const ACCEPTED: OrderVerdict = Object.freeze({ ok: true });

export function refuse(reason: string, field: string, message: string): OrderVerdict {
  return { ok: false, refusal: { reason, field, message } };
}

const ECHO_MAX = 40;

/** A client's value quoted for a message: JSON-quoted, cut at 40 characters (a message is not a mirror). */
export function echo(value: string): string {
  return JSON.stringify(value.length > ECHO_MAX ? `${value.slice(0, ECHO_MAX)}…` : value);
}
