import { h } from "./dom.js";
import { PolledView } from "./polledView.js";
import { clockTime, durationSeconds, enumLabel } from "./format.js";

const POLL_MS = 2_000;

/** Every shared IB subscription (ListSubscriptions): the same truth the streams' statuses tell. */
export class FeedsView extends PolledView {
  /** @param {import("./api.js").ApiClient} api */
  constructor(api) {
    super(h("div", { class: "view feeds", "data-view": "feeds" }), POLL_MS);
    this.api = api;
  }

  /** @param {AbortSignal} signal */
  async refresh(signal) {
    try {
      const { subscriptions = [] } = await this.api.json("/api/subscriptions", signal);
      if (signal.aborted) return false;
      this.#render(subscriptions);
    } catch (err) {
      if (signal.aborted || (err instanceof Error && err.name === "Unauthorized")) return false;
      this.element.replaceChildren(h("p", { class: "error" }, `subscriptions unavailable: ${err instanceof Error ? err.message : String(err)}`));
    }
    return true;
  }

  /** @param {any[]} subscriptions */
  #render(subscriptions) {
    const head = ["symbol", "kind", "interval", "market", "consumers", "configured", "state", "at IB", "last event (UTC)", "age"];
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
        h("td", {}, clockTime(s.lastMessageTime)),
        h("td", { class: "num" }, age === undefined ? "—" : `${age.toFixed(1)} s`),
      );
    });
    this.element.replaceChildren(
      h("h1", {}, `Shared subscriptions (${subscriptions.length})`),
      h("p", { class: "muted" }, "One IB subscription per instrument and kind, whatever the number of streams consuming it."),
      h("table", { class: "grid", "data-field": "subscriptions" }, h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))), h("tbody", {}, rows)),
    );
  }
}
