import { expect, it } from "vitest";
import { dec } from "../decimal.js";
import { OrderStatusDeduplicator, type OrderStatusMessage } from "./orderStatusDeduplicator.js";

const status = (overrides: Partial<OrderStatusMessage> = {}): OrderStatusMessage => ({ orderId: 1, status: "Submitted", filled: dec("0"), remaining: dec("10"), ...overrides });

it("drops a repeat of the last status of the same order, equal by value (100 = 100.0)", () => {
  const dedup = new OrderStatusDeduplicator();
  expect(dedup.isNew(status({ filled: dec("5"), remaining: dec("5"), avgFillPrice: dec("100"), lastFillPrice: dec("100") }))).toBe(true);
  expect(dedup.isNew(status({ filled: dec("5.0"), remaining: dec("5"), avgFillPrice: dec("100.00"), lastFillPrice: dec("100") }))).toBe(false);
});

it("keeps a message that differs in any compared field, or is for another order", () => {
  const dedup = new OrderStatusDeduplicator();
  expect(dedup.isNew(status())).toBe(true);
  for (const changed of [status({ status: "PreSubmitted" }), status({ filled: dec("1"), remaining: dec("9") }), status({ avgFillPrice: dec("1") }), status({ lastFillPrice: dec("2") }), status({ whyHeld: "locate" }), status({ orderId: 2 })]) {
    expect(dedup.isNew(changed)).toBe(true);
  }
});

it("compares with the last message only: A, B, A keeps the second A", () => {
  const dedup = new OrderStatusDeduplicator();
  expect([status(), status({ status: "PreSubmitted" }), status()].map((m) => dedup.isNew(m))).toEqual([true, true, true]);
});

it("after forget (a finished order) or beyond its bound, the order's next status is new again", () => {
  const dedup = new OrderStatusDeduplicator(1);
  dedup.isNew(status());
  dedup.forget(1);
  expect(dedup.isNew(status())).toBe(true);
  dedup.isNew(status({ orderId: 2 }));
  expect(dedup.isNew(status())).toBe(true);
});
