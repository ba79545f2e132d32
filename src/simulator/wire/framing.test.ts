import { describe, expect, it } from "vitest";
import { encodeFrame, FrameReader, parseGreeting } from "./framing.js";

const greeting = (text: string) => {
  const body = Buffer.from(text, "latin1");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([Buffer.from("API\0", "latin1"), len, body]);
};

describe("greeting parser", () => {
  it("parses a version range", () => {
    const r = parseGreeting(greeting("v100..193"));
    expect(r).toEqual({ kind: "ok", greeting: { minVersion: 100, maxVersion: 193, connectOptions: "" }, consumed: 17 });
  });
  it("accepts a +PACEAPI connect-options suffix and a single version", () => {
    const r = parseGreeting(greeting("v100..187 +PACEAPI"));
    expect(r.kind === "ok" && r.greeting).toEqual({ minVersion: 100, maxVersion: 187, connectOptions: "+PACEAPI" });
    const s = parseGreeting(greeting("v176"));
    expect(s.kind === "ok" && s.greeting).toEqual({ minVersion: 176, maxVersion: 176, connectOptions: "" });
  });
  it("waits for more bytes and rejects garbage", () => {
    const g = greeting("v157..176");
    for (let i = 0; i < g.length; i++) expect(parseGreeting(g.subarray(0, i)).kind).toBe("incomplete");
    expect(parseGreeting(Buffer.from("GET / HTTP/1.1\r\n")).kind).toBe("invalid");
    expect(parseGreeting(greeting("hello")).kind).toBe("invalid");
  });
});

describe("frames", () => {
  it("terminates every field, the last one included, with NUL", () => {
    const f = encodeFrame([4, 2, -1, 2104, "Market data farm connection is OK:usfarm", ""]);
    const payload = f.subarray(4).toString("utf8");
    expect(f.readUInt32BE(0)).toBe(f.length - 4);
    expect(payload.endsWith("\0")).toBe(true);
    expect(payload.split("\0")).toEqual(["4", "2", "-1", "2104", "Market data farm connection is OK:usfarm", "", ""]);
  });
  it("reassembles frames split and coalesced arbitrarily", () => {
    const frames = [[1, "a", ""], [2, "ünïcode", 3.5], [3]].map((f) => encodeFrame(f));
    const all = Buffer.concat(frames);
    for (const cut of [1, 3, 5, 7, 13, all.length - 1]) {
      const r = new FrameReader();
      const out = [...r.push(all.subarray(0, cut)), ...r.push(all.subarray(cut))];
      expect(out).toEqual([["1", "a", ""], ["2", "ünïcode", "3.5"], ["3"]]);
    }
    const r = new FrameReader();
    const out: string[][] = [];
    for (const b of all) out.push(...r.push(Buffer.from([b])));
    expect(out.length).toBe(3);
  });
});
