import { SseParser } from "./sseParser.js";

/** The service refused the token (401): the console asks for it again and shows no data meanwhile. */
export class Unauthorized extends Error {
  name = "Unauthorized";
}

/** Any other failed call, with the google.rpc.Status message when the service sent one. */
export class ApiFailure extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.name = "ApiFailure";
    this.status = status;
  }
}

/**
 * Calls to the REST bridge with the token. The token lives only in this object (memory): never in
 * localStorage, sessionStorage or a cookie, where any script of the origin, or a later visitor of the
 * machine, could read it. EventSource cannot send headers, so streams are fetch() responses read as
 * Server-Sent Events.
 */
export class ApiClient {
  /** @type {string | undefined} */
  #token;
  /** @type {() => void} */
  #onUnauthorized;

  /** @param {() => void} onUnauthorized called once per refused call */
  constructor(onUnauthorized) {
    this.#onUnauthorized = onUnauthorized;
  }

  /** @param {string | undefined} token */
  setToken(token) {
    this.#token = token === "" ? undefined : token;
  }

  /** @param {Record<string, string>} [extra] */
  #headers(extra = {}) {
    return this.#token === undefined ? extra : { ...extra, Authorization: `Bearer ${this.#token}` };
  }

  /** @param {Response} response */
  async #failure(response) {
    if (response.status === 401) {
      this.#onUnauthorized();
      return new Unauthorized("the service refused the token");
    }
    let message = `HTTP ${response.status}`;
    try {
      const body = await response.json();
      if (typeof body?.message === "string") message = body.message;
    } catch {
      // not a google.rpc.Status body
    }
    return new ApiFailure(response.status, message);
  }

  /**
   * @param {string} path
   * @param {AbortSignal} [signal]
   * @returns {Promise<any>}
   */
  async json(path, signal) {
    const response = await fetch(path, { headers: this.#headers({ Accept: "application/json" }), signal });
    if (!response.ok) throw await this.#failure(response);
    return response.json();
  }

  /**
   * @param {string} path
   * @param {AbortSignal} [signal]
   */
  async text(path, signal) {
    const response = await fetch(path, { headers: this.#headers(), signal });
    if (!response.ok) throw await this.#failure(response);
    return response.text();
  }

  /**
   * Follows a server stream until `signal` aborts: each message to `onMessage`; a failure (HTTP error, an
   * `error` event, a dropped connection) to `onProblem`, then it reconnects after a pause (1 s, doubling
   * to 10 s). A 401 ends it.
   * @param {string} path
   * @param {AbortSignal} signal
   * @param {(message: any) => void} onMessage
   * @param {(problem: string) => void} onProblem
   */
  async follow(path, signal, onMessage, onProblem) {
    let pause = 1_000;
    while (!signal.aborted) {
      try {
        const response = await fetch(path, { headers: this.#headers({ Accept: "text/event-stream" }), signal });
        if (!response.ok || response.body === null) throw await this.#failure(response);
        const parser = new SseParser();
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          for (const event of parser.push(value)) {
            const body = JSON.parse(event.data);
            if (event.event === "error") onProblem(typeof body?.message === "string" ? body.message : "stream failed");
            else {
              pause = 1_000;
              onMessage(body);
            }
          }
        }
        if (!signal.aborted) onProblem("stream ended; reconnecting");
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof Unauthorized) return;
        onProblem(err instanceof Error ? err.message : String(err));
        // Refused as asked (an unknown symbol, a bad interval): asking again gives the same answer.
        if (err instanceof ApiFailure && err.status >= 400 && err.status < 500 && err.status !== 429) return;
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, pause);
        signal.addEventListener("abort", () => { clearTimeout(timer); resolve(undefined); }, { once: true });
      });
      pause = Math.min(pause * 2, 10_000);
    }
  }
}
