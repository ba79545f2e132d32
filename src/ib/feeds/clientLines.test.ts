import { describe, expect, it } from "vitest";
import { IbError } from "../ibErrors.js";
import { ClientLines, LineQuotaError, SERVICE_LINES } from "./clientLines.js";
import { DEFAULT_LINE_LIMITS } from "./lineBudget.js";

const three = (reservePercent = 10) =>
  new ClientLines(DEFAULT_LINE_LIMITS, {
    clients: [
      { name: "alpha", maxLines: 0 },
      { name: "beta", maxLines: 0 },
      { name: "gamma", maxLines: 5 },
    ],
    reservePercent,
  });

function refusalOf(take: () => unknown): unknown {
  try {
    take();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("ClientLines: IB's lines shared by clients", () => {
  it("keeps 10 % of a kind in reserve (at least one line) and gives it only to clients under limit / clients", () => {
    const lines = three();
    expect([lines.reserve("marketDataLines"), lines.reserve("depth"), lines.fairShare("marketDataLines")]).toEqual([10, 1, 100 / 3]);
    for (let i = 0; i < 90; i++) lines.charge("alpha", "marketDataLines", `tick/${i}`);
    // 90 in use: only the reserve is left, and alpha holds 90 of its share of 33.3.
    const refused = refusalOf(() => lines.charge("alpha", "marketDataLines", "tick/90"));
    expect(refused).toBeInstanceOf(LineQuotaError);
    expect(refused).toMatchObject({ rule: "fair-share", client: "alpha", held: 90, lineKind: "marketDataLines" });
    expect((refused as Error).message).toContain("fair share of 33.3");
    // beta holds nothing: the reserve is its to take.
    for (let i = 0; i < 10; i++) lines.charge("beta", "marketDataLines", `tick/b${i}`);
    expect(lines.used("marketDataLines")).toBe(100);
    // IB's own limit: today's error, for anybody.
    const full = refusalOf(() => lines.charge("gamma", "marketDataLines", "tick/g"));
    expect(full).toBeInstanceOf(IbError);
    expect(full).not.toBeInstanceOf(LineQuotaError);
    expect((full as Error).message).toBe("all 100 IB market data lines are in use; close a subscription or raise the account's limit");
  });

  it("lets a client join a running subscription from the reserve (it takes nothing from IB) but never past its cap", () => {
    const lines = three();
    for (let i = 0; i < 5; i++) lines.charge("gamma", "marketDataLines", `tick/${i}`);
    expect(refusalOf(() => lines.charge("gamma", "marketDataLines", "tick/new"))).toMatchObject({ rule: "cap", limit: 5, held: 5 });
    lines.charge("alpha", "marketDataLines", "tick/shared");
    expect(refusalOf(() => lines.charge("gamma", "marketDataLines", "tick/shared"))).toMatchObject({ rule: "cap" });
    for (let i = 0; i < 84; i++) lines.charge("alpha", "marketDataLines", `tick/a${i}`);
    expect(lines.used("marketDataLines")).toBe(90);
    // beta joins alpha's subscription with only the reserve left: charged, no new line.
    lines.charge("beta", "marketDataLines", "tick/shared");
    expect([lines.heldBy("beta", "marketDataLines"), lines.used("marketDataLines")]).toEqual([1, 90]);
  });

  it("exempts the service (configured subscriptions) from fair shares but counts it in IB's limit", () => {
    const lines = three();
    lines.charge(SERVICE_LINES, "depth", "book/1");
    lines.charge(SERVICE_LINES, "depth", "book/2");
    lines.charge(SERVICE_LINES, "depth", "book/3"); // from the reserve, holding 2 ≥ a share of 1
    expect(lines.heldBy(SERVICE_LINES, "depth")).toBe(3);
    expect((refusalOf(() => lines.charge("alpha", "depth", "book/4")) as Error).message).toContain("all 3 IB market depth subscriptions");
  });

  it("charges a client once per subscription however many consumers, gives it back with the last, and ignores repeated or late releases", () => {
    const lines = three();
    const first = lines.charge("alpha", "depth", "book/1");
    const second = lines.charge("alpha", "depth", "book/1");
    expect([lines.heldBy("alpha", "depth"), lines.used("depth")]).toEqual([1, 1]);
    first();
    first();
    expect(lines.heldBy("alpha", "depth")).toBe(1);
    second();
    expect([lines.heldBy("alpha", "depth"), lines.used("depth")]).toEqual([0, 0]);
    // A subscription that ended gives back every charge; a consumer's release after that is a no-op,
    // even when a new subscription of the same key has been charged meanwhile.
    const late = lines.charge("alpha", "depth", "book/2");
    lines.charge("beta", "depth", "book/2");
    lines.ended("book/2");
    lines.charge("beta", "depth", "book/2");
    late();
    expect([lines.heldBy("alpha", "depth"), lines.heldBy("beta", "depth"), lines.used("depth")]).toEqual([0, 1, 1]);
    lines.clear();
    expect([lines.heldBy("beta", "depth"), lines.used("depth")]).toEqual([0, 0]);
  });

  it("with one client (authentication off: anonymous) or no reserve, a client may use every line", () => {
    const alone = new ClientLines(DEFAULT_LINE_LIMITS, { clients: [{ name: "anonymous", maxLines: 0 }], reservePercent: 10 });
    for (let i = 0; i < 3; i++) alone.charge("anonymous", "depth", `book/${i}`);
    const noReserve = three(0);
    for (let i = 0; i < 3; i++) noReserve.charge("alpha", "depth", `book/${i}`);
    expect([alone.used("depth"), noReserve.heldBy("alpha", "depth")]).toEqual([3, 3]);
  });
});
