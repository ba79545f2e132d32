/** A bare socket client for protocol-level tests: sends the greeting and frames, collects decoded frames. */
import { connect, type Socket } from "node:net";
import { encodeFrame, FrameReader } from "../wire/framing.js";
import type { Field } from "../wire/fields.js";

export class RawClient {
  readonly frames: string[][] = [];
  closed = false;
  private readonly reader = new FrameReader();
  private constructor(readonly socket: Socket) {
    socket.on("data", (b: Buffer) => this.frames.push(...this.reader.push(b)));
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => (this.closed = true));
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port }, () => resolve(new RawClient(s)));
      s.once("error", reject);
    });
  }

  static greetingBytes(version: string): Buffer {
    const body = Buffer.from(version, "latin1");
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    return Buffer.concat([Buffer.from("API\0", "latin1"), len, body]);
  }

  greet(version = "v100..193"): void {
    this.socket.write(RawClient.greetingBytes(version));
  }

  send(fields: Field[]): void {
    this.socket.write(encodeFrame(fields));
  }

  async waitFor(pred: (f: string[]) => boolean, timeoutMs = 3000): Promise<string[]> {
    const t0 = Date.now();
    for (;;) {
      const hit = this.frames.find(pred);
      if (hit) return hit;
      if (Date.now() - t0 > timeoutMs) throw new Error(`frame not received; got ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async waitClosed(timeoutMs = 3000): Promise<void> {
    const t0 = Date.now();
    while (!this.closed) {
      if (Date.now() - t0 > timeoutMs) throw new Error("socket not closed");
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
