/** Where the IB Gateway / TWS listens. */
export interface GatewayAddress {
  host: string;
  port: number;
}

/**
 * Parses IB_GATEWAY_URL. IB speaks raw TCP, but Barfinex documents `http://localhost:4001`, so the
 * accepted forms are `http://host:port`, `tcp://host:port` and `host:port` ([::1]:4002 for IPv6).
 * Returns an error message instead of guessing a port.
 */
export function parseGatewayUrl(text: string): GatewayAddress | string {
  const trimmed = text.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `tcp://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return `expected host:port, http://host:port or tcp://host:port (got ${JSON.stringify(text)})`;
  }
  if (!["http:", "https:", "tcp:"].includes(url.protocol)) {
    return `unsupported scheme ${JSON.stringify(url.protocol.slice(0, -1))}: use http://, tcp:// or host:port`;
  }
  if (url.port === "") return `missing port in ${JSON.stringify(text)} (IB Gateway: 4001 live / 4002 paper; TWS: 7496 / 7497)`;
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "") {
    return `unexpected path or query in ${JSON.stringify(text)}`;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(url.port) };
}

/** IB convention: Gateway 4002 and TWS 7497 are paper ports. */
export function isPaperPort(port: number): boolean {
  return port === 4002 || port === 7497;
}

export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
