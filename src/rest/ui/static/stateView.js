/**
 * A view drawn from the service's state (StateFeed): it listens while shown and redraws on each state;
 * stop() stops listening, clear() forgets what it showed.
 */
export class StateView {
  /** @type {(() => void) | undefined} */
  #unlisten;

  /**
   * @param {HTMLElement} element
   * @param {import("./stateFeed.js").StateFeed} feed
   */
  constructor(element, feed) {
    this.element = element;
    this.feed = feed;
  }

  start() {
    this.#unlisten ??= this.feed.listen((state, problem) => (state === undefined ? this.renderProblem(problem ?? "") : this.render(state)));
  }

  stop() {
    this.#unlisten?.();
    this.#unlisten = undefined;
  }

  clear() {
    this.element.replaceChildren();
  }

  /** @param {import("./stateFeed.js").ServiceState} _state */
  render(_state) {}

  /** The state could not be read (the service unreachable, the stream broken): shown until the next state. @param {string} _problem */
  renderProblem(_problem) {}
}
