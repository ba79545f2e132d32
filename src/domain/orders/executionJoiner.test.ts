import { describe, expect, it } from "vitest";
import { dec } from "../decimal.js";
import type { CommissionReport, Execution } from "./execution.js";
import { ExecutionJoiner } from "./executionJoiner.js";

const execution = (execId: string): Execution => ({ execId, account: "DU1", orderId: 7, clientOrderId: "c-1", conId: 265598, timeMs: 1_000, side: "BUY", price: dec("150.25"), quantity: dec("5") });
const commission = (execId: string, amount = "1.05"): CommissionReport => ({ execId, commission: dec(amount), currency: "USD" });

describe("joining executions and commission reports by execId", () => {
  it("joins an execution with the report that follows it", () => {
    const joiner = new ExecutionJoiner();
    expect(joiner.addExecution(execution("e1"))).toBeUndefined();
    expect(joiner.waitingExecutions().map((e) => e.execId)).toEqual(["e1"]);
    const joined = joiner.addCommission(commission("e1"));
    expect(joined?.execution.execId).toBe("e1");
    expect(joined?.commission.commission.toString()).toBe("1.05");
    expect(joiner.waitingExecutions()).toEqual([]);
  });

  it("joins a report that came before its execution (a reconnect's reqExecutions)", () => {
    const joiner = new ExecutionJoiner();
    expect(joiner.addCommission(commission("e2"))).toBeUndefined();
    expect(joiner.waitingCommissions).toBe(1);
    expect(joiner.addExecution(execution("e2"))?.commission.execId).toBe("e2");
    expect(joiner.waitingCommissions).toBe(0);
  });

  it("keeps pairs apart: each report joins its own execution whatever the interleaving", () => {
    const joiner = new ExecutionJoiner();
    joiner.addExecution(execution("a"));
    joiner.addCommission(commission("b", "2"));
    expect(joiner.addExecution(execution("b"))?.commission.commission.toString()).toBe("2");
    expect(joiner.addCommission(commission("a", "1"))?.execution.execId).toBe("a");
  });

  it("does not join a pair twice when IB sends either half again", () => {
    const joiner = new ExecutionJoiner();
    joiner.addExecution(execution("e3"));
    expect(joiner.addCommission(commission("e3"))).toBeDefined();
    expect(joiner.addExecution(execution("e3"))).toBeUndefined();
    expect(joiner.addCommission(commission("e3"))).toBeUndefined();
    expect(joiner.waitingExecutions()).toEqual([]);
  });

  it("bounds the halves waiting, dropping the oldest and counting it", () => {
    const joiner = new ExecutionJoiner(2);
    for (const id of ["x", "y", "z"]) joiner.addExecution(execution(id));
    expect(joiner.waitingExecutions().map((e) => e.execId)).toEqual(["y", "z"]);
    expect(joiner.dropped).toBe(1);
  });
});
