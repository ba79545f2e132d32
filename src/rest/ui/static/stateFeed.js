/**
 * The service's state as the overview and feeds views show it: one stream (GET /ui/live/state) that the
 * service sends every 2 s to every open console, read once for all of them. Followed while at least one
 * view listens; a view that starts listening gets the last state at once.
 *
 * @typedef {{ value?: any, problem?: string }} Read
 * @typedef {{ proof: Read, subscriptions: Read, errors: Read, metrics: { text?: string, problem?: string } }} ServiceState
 */
export class StateFeed {
  /** @type {Set<(state: ServiceState | undefined, problem?: string) => void>} */
  #listeners = new Set();
  /** @type {AbortController | undefined} */
  #abort;
  /** @type {ServiceState | undefined} */
  #last;

  /** @param {import("./api.js").ApiClient} api */
  constructor(api) {
    this.api = api;
  }

  /**
   * @param {(state: ServiceState | undefined, problem?: string) => void} listener a state, or a problem reaching it
   * @returns {() => void} stops listening
   */
  listen(listener) {
    this.#listeners.add(listener);
    if (this.#last !== undefined) listener(this.#last);
    if (this.#abort === undefined) {
      const abort = (this.#abort = new AbortController());
      void this.api.follow(
        "/ui/live/state",
        abort.signal,
        (state) => {
          this.#last = state;
          for (const l of this.#listeners) l(state);
        },
        (problem) => {
          for (const l of this.#listeners) l(undefined, problem);
        },
      );
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size > 0) return;
      this.#abort?.abort();
      this.#abort = undefined;
      this.#last = undefined;
    };
  }
}
