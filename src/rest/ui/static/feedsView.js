import { h } from "./dom.js";
import { StateView } from "./stateView.js";
import { clockTime, durationSeconds, enumLabel } from "./format.js";

/** Every shared IB subscription (ListSubscriptions): the same truth the streams' statuses tell. */
export class FeedsView extends StateView {
  /** @type {Map<string, { sequence: number, epoch: string, at: number }>} each feed's last reading, for its rate */
  #readings = new Map();

  /** @param {import("./stateFeed.js").StateFeed} feed */
  constructor(feed) {
    super(h("div", { class: "view feeds", "data-view": "feeds" }), feed);
  }

  /** @param {import("./stateFeed.js").ServiceState} state */
  render(state) {
    const read = state.subscriptions;
    if (read.value !== undefined) this.#render(read.value.subscriptions ?? []);
    else this.element.replaceChildren(h("p", { class: "error" }, `subscriptions unavailable: ${read.problem ?? "no answer"}`));
  }

  clear() {
    super.clear();
    this.#readings.clear();
  }

  /**
   * Events per second since the previous state, from the feed's last sequence ("" for the first reading,
   * or when the numbering restarted).
   * @param {any} s
   * @param {number} at
   */
  #rate(s, at) {
    const sequence = Number(s.lastSequence ?? 0);
    const before = this.#readings.get(s.key);
    this.#readings.set(s.key, { sequence, epoch: String(s.epoch ?? ""), at });
    if (before === undefined || before.epoch !== String(s.epoch ?? "") || sequence < before.sequence || at <= before.at) return "";
    return ((sequence - before.sequence) / ((at - before.at) / 1000)).toFixed(1);
  }

  /** @param {any[]} subscriptions */
  #render(subscriptions) {
    const at = performance.now();
    const head = ["symbol", "kind", "interval", "market", "consumers", "configured", "state", "at IB", "events/s", "last sequence", "last event (UTC)", "age"];
    const rows = subscriptions.map((s) => {
      const age = durationSeconds(s.lastMessageAge);
      const atIb = s.requestedAtIb ? "requested" : s.waitingFor ? `waiting: ${s.waitingFor}${s.waitingUntil ? ` until ${clockTime(s.waitingUntil)}` : ""}` : "not requested";
      return h(
        "tr",
        { "data-key": s.key, class: `state-${String(s.state ?? "").replace(/[^a-z]/gi, "")}` },
        h("td", {}, s.symbol ?? ""),
        h("td", {}, enumLabel(s.kind ?? "", "SUBSCRIPTION_KIND_")),
        h("td", {}, s.interval || "—"),
        h("td", {}, s.marketType ?? ""),
        h("td", { class: "num" }, String(s.consumers ?? 0)),
        h("td", {}, s.configured ? "yes" : "no"),
        h("td", { class: "state" }, s.state || "—"),
        h("td", {}, atIb),
        h("td", { class: "num", "data-field": "rate" }, this.#rate(s, at) || "—"),
        h("td", { class: "num" }, String(s.lastSequence ?? "0")),
        h("td", {}, clockTime(s.lastMessageTime)),
        h("td", { class: "num" }, age === undefined ? "—" : `${age.toFixed(1)} s`),
      );
    });
    const shown = new Set(subscriptions.map((s) => s.key));
    for (const key of [...this.#readings.keys()]) if (!shown.has(key)) this.#readings.delete(key);
    this.element.replaceChildren(
      h("h1", {}, `Shared subscriptions (${subscriptions.length})`),
      h("p", { class: "muted" }, "One IB subscription per instrument and kind, whatever the number of streams consuming it."),
      h("table", { class: "grid", "data-field": "subscriptions" }, h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))), h("tbody", {}, rows)),
    );
  }
}
