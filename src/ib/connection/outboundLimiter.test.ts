import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OutboundLimiter } from "./outboundLimiter.js";

// On a fake clock: the spacing is measured exactly and takes no real time.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("outbound limiter", () => {
  it("sends in small bursts at perSecond on average, never more than perSecond + burst in a second, in order", async () => {
    const sent: { n: number; at: number }[] = [];
    const limiter = new OutboundLimiter((tokens) => sent.push({ n: tokens[0] as number, at: performance.now() }), 20, 5);
    for (let n = 0; n < 45; n++) limiter.submit([n]);
    expect(sent).toHaveLength(5); // the burst goes at once, the rest is spaced
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sent.map((s) => s.n)).toEqual(Array.from({ length: 45 }, (_, i) => i));
    for (const s of sent) expect(sent.filter((o) => o.at <= s.at && s.at - o.at < 1_000).length).toBeLessThanOrEqual(25);
    expect(sent.at(-1)!.at - sent[0]!.at).toBeGreaterThanOrEqual(1_500); // 40 spaced messages at 20/s
    expect(vi.getTimerCount()).toBe(0);
  });

  it("drops what is queued when the session is gone, so nothing reaches the next connection", async () => {
    const sent: unknown[] = [];
    const limiter = new OutboundLimiter((tokens) => sent.push(tokens[0]), 5, 5);
    for (let n = 0; n < 12; n++) limiter.submit([n]);
    expect(limiter.queued).toBe(7);
    expect(limiter.backlogMs()).toBeGreaterThan(1_000);
    expect(limiter.clear()).toBe(7);
    // No timer is left that could send later; and time passing sends nothing.
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sent).toEqual([0, 1, 2, 3, 4]);
    expect(limiter.backlogMs()).toBe(0);
  });
});
