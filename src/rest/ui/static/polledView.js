/**
 * A view that refreshes itself every `everyMs` while shown: start() polls at once, then after each refresh;
 * stop() cancels the request in flight and the next turn. A refresh that answers false ends the polling
 * (a refused token: the login prompt takes over).
 */
export class PolledView {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;
  /** @type {AbortController | undefined} */
  #abort;

  /**
   * @param {HTMLElement} element
   * @param {number} everyMs
   */
  constructor(element, everyMs) {
    this.element = element;
    this.everyMs = everyMs;
  }

  start() {
    this.#abort = new AbortController();
    void this.#poll(this.#abort.signal);
  }

  stop() {
    this.#abort?.abort();
    clearTimeout(this.#timer);
  }

  clear() {
    this.element.replaceChildren();
  }

  /**
   * One refresh of the view; false stops the polling.
   * @param {AbortSignal} _signal
   * @returns {Promise<boolean>}
   */
  async refresh(_signal) {
    return true;
  }

  /** @param {AbortSignal} signal */
  async #poll(signal) {
    const goOn = await this.refresh(signal);
    if (!goOn || signal.aborted) return;
    this.#timer = setTimeout(() => void this.#poll(signal), this.everyMs);
  }
}
