/**
 * What an @stoqey/ib client hears about orders, collected for tests, with waits on it (no sleeping):
 * openOrder, orderStatus, execDetails, commissionReport, completedOrder and the ends.
 */
import { EventName, type CommissionReport, type Contract, type Execution, type Order, type OrderState } from "@stoqey/ib";
import { until } from "../../testing/until.js";
import type { TestClient } from "./harness.js";

export interface StatusEvent {
  orderId: number;
  status: string;
  filled: number;
  remaining: number;
  avgFillPrice: number;
  permId: number | undefined;
  parentId: number | undefined;
  lastFillPrice: number | undefined;
  clientId: number | undefined;
}

export class OrderEvents {
  readonly open: { orderId: number; contract: Contract; order: Order; state: OrderState }[] = [];
  readonly statuses: StatusEvent[] = [];
  readonly executions: { reqId: number; contract: Contract; execution: Execution }[] = [];
  readonly commissions: CommissionReport[] = [];
  readonly completed: { contract: Contract; order: Order; state: OrderState }[] = [];
  openEnds = 0;
  completedEnds = 0;
  readonly execEnds: number[] = [];

  constructor(readonly client: TestClient) {
    const ib = client.ib;
    ib.on(EventName.openOrder, (orderId: number, contract: Contract, order: Order, state: OrderState) => this.open.push({ orderId, contract, order, state }));
    ib.on(
      EventName.orderStatus,
      (orderId: number, status: string, filled: number, remaining: number, avgFillPrice: number, permId?: number, parentId?: number, lastFillPrice?: number, clientId?: number) =>
        this.statuses.push({ orderId, status, filled, remaining, avgFillPrice, permId, parentId, lastFillPrice, clientId }),
    );
    ib.on(EventName.execDetails, (reqId: number, contract: Contract, execution: Execution) => this.executions.push({ reqId, contract, execution }));
    ib.on(EventName.commissionReport, (r: CommissionReport) => this.commissions.push(r));
    ib.on(EventName.completedOrder, (contract: Contract, order: Order, state: OrderState) => this.completed.push({ contract, order, state }));
    ib.on(EventName.openOrderEnd, () => this.openEnds++);
    ib.on(EventName.completedOrdersEnd, () => this.completedEnds++);
    ib.on(EventName.execDetailsEnd, (reqId: number) => this.execEnds.push(reqId));
  }

  statusesOf(orderId: number): string[] {
    return this.statuses.filter((s) => s.orderId === orderId).map((s) => s.status);
  }

  lastStatus(orderId: number): StatusEvent | undefined {
    return this.statuses.filter((s) => s.orderId === orderId).at(-1);
  }

  executionsOf(orderId: number) {
    return this.executions.filter((e) => e.execution.orderId === orderId);
  }

  async status(orderId: number, status: string, timeoutMs = 5000): Promise<StatusEvent> {
    await until(() => this.lastStatus(orderId)?.status === status, { what: `order ${orderId} ${status} (has ${this.statusesOf(orderId).join(",")})`, timeoutMs });
    return this.lastStatus(orderId)!;
  }

  async errorCode(orderId: number, timeoutMs = 5000): Promise<number> {
    const e = await this.client.errorFor(orderId, timeoutMs);
    return e.code;
  }
}
