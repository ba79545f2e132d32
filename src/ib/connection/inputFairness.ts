import type { Socket } from "node:net";
import type { IBApi } from "@stoqey/ib";

/**
 * Keeps a flood from IB from starving everything else on the event loop.
 *
 * libuv reads a readable TCP socket up to 32 times per loop iteration, and @stoqey/ib decodes each chunk
 * synchronously: under a burst (or the simulator's flood mode) one iteration spent ~200 ms decoding IB
 * input, and gRPC streams, which flush in a later phase of the iteration, delivered a handful of messages
 * a second. After `sliceMs` of input handling the socket is paused until the next iteration (setImmediate),
 * so outbound data gets its turn; TCP backpressure holds the rest at the Gateway meanwhile.
 *
 * Reaches into @stoqey/ib's private `controller.socket.client` (the net.Socket of the current connection;
 * checked against 1.6.10, which package.json pins). Without it, nothing is throttled.
 */
export function installInputFairness(api: IBApi, sliceMs = 8): boolean {
  const socket = (api as unknown as { controller?: { socket?: { client?: Socket } } }).controller?.socket?.client;
  if (socket === undefined || typeof socket.pause !== "function") return false;
  let sliceStart = performance.now();
  let yielding = false;
  socket.on("data", () => {
    if (yielding) return;
    if (performance.now() - sliceStart < sliceMs) return;
    yielding = true;
    socket.pause();
    setImmediate(() => {
      yielding = false;
      sliceStart = performance.now();
      if (!socket.destroyed) socket.resume();
    });
  });
  return true;
}
