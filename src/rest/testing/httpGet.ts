import type { ClientRequest, IncomingMessage } from "node:http";

/**
 * A bounded GET through node's http/https `request` (which, unlike fetch, lets a test set Host and a CA):
 * resolves with the status and the body as text.
 */
export function readAll(start: (onResponse: (res: IncomingMessage) => void) => ClientRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = start((res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}
