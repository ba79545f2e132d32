import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { DEFAULT_ORDER_RAIL_SETTINGS } from "../../domain/orders/orderRailSettings.js";
import { OrderDesk } from "../../ib/orders/orderDesk.js";
import { createLogger } from "../../log/logger.js";
import { OrderStore } from "../../store/orderStore.js";
import type { CallContext } from "../callContext.js";
import { OrderService, type OrderSource } from "./orderService.js";

// Who engaged the kill switch, kept apart from the note they gave: TradingBlock.by_client and .note, across a
// restart (the store's file), and the release's client recorded the same way.
const log = createLogger("silent");
const ACCOUNT = "DU1234567";

/** The Gateway seam, connected, never answering: the kill switch needs only IB's global cancel sent. */
function deskOn(store: OrderStore, globalCancels: string[]): OrderDesk {
  const gateway = Object.assign(new EventEmitter(), { adopt() {}, cancelAll: () => globalCancels.push("cancelAll"), snapshot: () => new Promise(() => undefined), abandonSnapshot() {} });
  const connection = Object.assign(new EventEmitter(), { isReady: true, status: { host: "gw", port: 4002, clientId: 1, activeAccount: ACCOUNT } });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- fakes of the seam's two objects
  return new OrderDesk({ gateway: gateway as any, connection: connection as any, store, rails: { ...DEFAULT_ORDER_RAIL_SETTINGS, enabled: true }, log });
}
const ctx = (client: string) => ({ client }) as CallContext;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kill-switch-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it("the kill switch's block names the client that engaged it and only the note it gave, after a restart too", async () => {
  const path = join(dir, "store.db");
  const sent: string[] = [];
  let store = OrderStore.open(path);
  let service = new OrderService(deskOn(store, sent), {} as OrderSource, log);
  const killed = await service.cancelAllOrders({ note: "strategy runaway" }, ctx("ops-bot"));
  expect(sent).toEqual(["cancelAll"]);
  expect(killed.tradingStatus?.blocks).toEqual([expect.objectContaining({ reason: "KILL_SWITCH_ENGAGED", byClient: "ops-bot", note: "strategy runaway", message: expect.stringContaining("by ops-bot") })]);
  store.close();

  store = OrderStore.open(path);
  service = new OrderService(deskOn(store, sent), {} as OrderSource, log);
  const status = (await service.getTradingStatus()).tradingStatus!;
  expect(status.blocks.map((b) => [b.reason, b.byClient, b.note])).toEqual([["KILL_SWITCH_ENGAGED", "ops-bot", "strategy runaway"]]);
  // Without a note: the note is empty, the client still named.
  await service.cancelAllOrders({ note: "" }, ctx("desk-2"));
  expect((await service.getTradingStatus()).tradingStatus!.blocks.map((b) => [b.byClient, b.note])).toEqual([["desk-2", ""]]);

  const enabled = await service.enableOrders({ note: "all clear" }, ctx("ops-lead"));
  expect(enabled.tradingStatus).toMatchObject({ ordersEnabled: true, blocks: [] });
  expect(store.killSwitch()).toMatchObject({ engaged: false, reason: "all clear", byClient: "ops-lead" });
  store.close();
});
