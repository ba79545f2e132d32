/**
 * fetch, tried once more when the connection was reset before any answer. The test files share one process
 * (vitest isolate: false) and fetch's one connection pool: a keep-alive socket to a server an earlier file
 * closed can be reused for a new server that got the same ephemeral port, and the first request on it fails
 * with ECONNRESET. For idempotent requests (GETs) only: a reset request may have reached the server.
 */
export async function fetchOnce(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code !== "ECONNRESET") throw err;
    return fetch(url, init);
  }
}
