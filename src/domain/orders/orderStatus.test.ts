import { expect, it } from "vitest";
import { IB_ORDER_STATUSES, isDoneStatus, isOrderStatus, orderStatusFromIb, UnrecognizedOrderStatusError } from "./orderStatus.js";

it("maps every status string IB documents to itself", () => {
  for (const text of IB_ORDER_STATUSES) expect(orderStatusFromIb(text)).toBe(text);
});

it("refuses a string IB does not document, a near miss included, naming it and the known ones", () => {
  for (const text of ["filled", "Filled ", "PartiallyFilled", "", "Unknown"]) {
    expect(() => orderStatusFromIb(text)).toThrow(UnrecognizedOrderStatusError);
  }
  expect(() => orderStatusFromIb("PartiallyFilled")).toThrow(/"PartiallyFilled", which is none of PendingSubmit, .*Inactive/);
});

it("counts only Filled, Cancelled and ApiCancelled as done: Inactive may come back, Unknown awaits reconciliation", () => {
  expect(IB_ORDER_STATUSES.filter(isDoneStatus)).toEqual(["ApiCancelled", "Cancelled", "Filled"]);
  expect(isDoneStatus("Unknown")).toBe(false);
  expect(isOrderStatus("Unknown")).toBe(true);
  expect(isOrderStatus("Claimed")).toBe(false);
});
