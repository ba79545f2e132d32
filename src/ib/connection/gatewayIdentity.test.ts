/**
 * Issue 12, finding 8: the runtime proof says "simulator" for any simulated Gateway, also an external one
 * (IB_GATEWAY_URL pointing at `npm run simulator`), and "real" for a Gateway that does not name itself.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../log/logger.js";
import { startSimulator, type SimulatorHandle } from "../../simulator/index.js";
import { GatewayConnection } from "./gatewayConnection.js";
import { isSimulatorIdentity } from "./gatewayStatus.js";

const open: { stop(): void }[] = [];
const servers: (SimulatorHandle | Server)[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) c.stop();
  for (const s of servers.splice(0)) {
    if ("market" in s) await s.close();
    else await new Promise((r) => s.close(r));
  }
});

function frame(fields: (string | number)[]): Buffer {
  const body = Buffer.from(fields.map((f) => `${f}\0`).join(""), "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** A minimal Gateway that speaks the V100+ handshake as IB does, without naming itself. */
async function plainGateway(): Promise<number> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    let greeted = false;
    s.on("data", (b: Buffer) => {
      if (!greeted) {
        greeted = true;
        s.write(frame([176, "20261203 10:00:00 GMT"]));
        return;
      }
      if (b.includes(Buffer.from("71\0"))) s.write(Buffer.concat([frame([15, 1, "DU7654321"]), frame([9, 1, 1]), frame([4, 2, -1, 2104, "Market data farm connection is OK:usfarm", ""])]));
    });
  });
  server.on("close", () => sockets.forEach((s) => s.destroy()));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as { port: number }).port;
}

async function connectAs(port: number): Promise<GatewayConnection> {
  const c = new GatewayConnection({ mode: "real", host: "127.0.0.1", port, clientId: 9, accountId: undefined, log: createLogger("silent"), connectTimeoutMs: 5_000 });
  open.push(c);
  await c.start();
  return c;
}

describe("the adapter knows a simulated Gateway from a real one", () => {
  it("reports an external simulator (configured as a real Gateway) as 'simulator'", async () => {
    const sim = await startSimulator({ port: 0 });
    servers.push(sim);
    const c = await connectAs(sim.port);
    expect(c.status.mode).toBe("simulator");
  });

  it("keeps 'real' for a Gateway that does not name itself", async () => {
    const c = await connectAs(await plainGateway());
    expect(c.status.state).toBe("connected");
    expect(c.status.mode).toBe("real");
  });

  it("recognises only the simulator's own farm name", () => {
    expect(isSimulatorIdentity(2104, "Market data farm connection is OK:ib-provider-simulator")).toBe(true);
    expect(isSimulatorIdentity(2104, "Market data farm connection is OK:usfarm")).toBe(false);
  });
});
