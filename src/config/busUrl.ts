/**
 * Parses BUS_URL: one NATS server or several (a cluster), comma-separated, each `nats://host[:port]` or
 * `tls://host[:port]` (NATS's own default port, 4222, when none is given). Returns an error message
 * instead of guessing; the servers as written otherwise (credentials in a URL stay there, for NATS).
 */
export function parseBusUrl(text: string): string[] | string {
  const servers = text.split(",").map((s) => s.trim());
  for (const server of servers) {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      return `expected nats://host:port (several comma-separated for a cluster) (got ${JSON.stringify(redactBusUrl(server))})`;
    }
    if (url.protocol !== "nats:" && url.protocol !== "tls:") return `unsupported scheme ${JSON.stringify(url.protocol.slice(0, -1))}: use nats:// or tls://`;
    if (url.hostname === "") return `missing host in ${JSON.stringify(redactBusUrl(server))}`;
    if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") return `unexpected path or query in ${JSON.stringify(redactBusUrl(server))}`;
  }
  return servers;
}

/** A bus URL fit for messages and logs: a user's password or token in it is replaced by `***`. */
export function redactBusUrl(text: string): string {
  return text.replace(/\/\/([^@/]*)@/, (_, auth: string) => `//${auth.includes(":") ? `${auth.slice(0, auth.indexOf(":"))}:***` : "***"}@`);
}
