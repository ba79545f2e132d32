/**
 * IB's messages (code 4) about an order → what they mean for it. Sources: IB's TWS API message codes
 * (ib-rules.md), ib_async's wrapper (which codes end an order's working life) and what the Gateway sends
 * with them. A code not listed changes nothing by itself: the order's next orderStatus says what became
 * of it (a fate is never guessed from an unknown code); the message is kept as the order's last.
 */
export type OrderCodeEffect =
  /** The order is not working: IB refused it (it may still send orderStatus Inactive or Cancelled). */
  | "rejected"
  /** IB confirms the order was cancelled (202). */
  | "cancelled"
  /** A cancel or a modification was refused: the order goes on as it was. */
  | "change-refused"
  /** Advice about a working order (held for a locate, TIF adjusted, outside-RTH ignored). */
  | "advisory";

const EFFECTS: ReadonlyMap<number, OrderCodeEffect> = new Map<number, OrderCodeEffect>([
  [103, "rejected"], // duplicate order id
  [106, "rejected"], // can't transmit order id
  [107, "rejected"], // cannot transmit incomplete order
  [109, "rejected"], // price out of the percentage range
  [110, "rejected"], // price does not conform to the minimum price variation
  [111, "rejected"], // TIF and order type incompatible
  [200, "rejected"], // no security definition
  [201, "rejected"], // order rejected - reason: …
  [203, "rejected"], // security not available or allowed for this account
  [202, "cancelled"],
  [104, "change-refused"], // can't modify a filled order
  [105, "change-refused"], // modification does not match the original order
  [135, "change-refused"], // can't find order with that id
  [161, "change-refused"], // cancel attempted when the order is not cancellable
  [10147, "change-refused"], // the order to cancel is not found
  [10148, "change-refused"], // the order to cancel cannot be cancelled in its state
  [399, "advisory"], // order message: a warning, the order goes on
  [404, "advisory"], // held while shares are located
  [10349, "advisory"], // TIF set to DAY by the order preset
]);

/** The effect of IB message `code` on the order it is addressed to (undefined: none by itself). */
export function orderCodeEffect(code: number): OrderCodeEffect | undefined {
  const known = EFFECTS.get(code);
  if (known !== undefined) return known;
  // 2100–2199: warnings (2109: outside-RTH attribute ignored).
  return code >= 2100 && code < 2200 ? "advisory" : undefined;
}
