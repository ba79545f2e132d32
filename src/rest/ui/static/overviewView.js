import { card, facts, h } from "./dom.js";
import { StateView } from "./stateView.js";
import { clockTime, durationSeconds, enumLabel, formatBytes, formatDuration, maskAccount } from "./format.js";
import { parseMetrics, samplesOf, total, totalsBy } from "./prometheusText.js";

/** IB's names for its kinds of line (src/ib/feeds/lineBudget.ts). @type {Record<string, string | undefined>} */
const LINE_NAMES = { marketDataLines: "market data lines", depth: "depth subscriptions", tickByTick: "tick-by-tick subscriptions" };

/**
 * Which Gateway is live and what the service spends of IB's limits: the runtime proof and the metrics,
 * shown as the service states them, never guessed.
 */
export class OverviewView extends StateView {
  /**
   * @param {import("./stateFeed.js").StateFeed} feed
   * @param {(text: string) => void} setConnection the header's one-line status
   */
  constructor(feed, setConnection) {
    super(h("div", { class: "view overview", "data-view": "overview" }), feed);
    this.setConnection = setConnection;
  }

  /** @param {import("./stateFeed.js").ServiceState} state */
  render(state) {
    this.#render(state.proof, state.metrics, state.errors);
  }

  /** @param {string} problem */
  renderProblem(problem) {
    this.setConnection(`service unreachable: ${problem}`);
  }

  /**
   * @param {import("./stateFeed.js").Read} proofRead
   * @param {{ text?: string, problem?: string }} metricsRead
   * @param {import("./stateFeed.js").Read} errorsRead
   */
  #render(proofRead, metricsRead, errorsRead) {
    const cards = [];
    if (proofRead.value !== undefined) {
      const proof = proofRead.value;
      const simulator = proof.gatewayMode === "GATEWAY_MODE_SIMULATOR";
      const mode = simulator ? "simulator" : proof.gatewayMode === "GATEWAY_MODE_REAL" ? "real Gateway" : "unknown";
      const state = enumLabel(proof.connectionState ?? "", "CONNECTION_STATE_");
      this.setConnection(`${mode} · ${state}`);
      cards.push(
        card(
          "Gateway",
          facts([
            ["mode", h("span", { class: simulator ? "badge sim" : "badge real" }, mode), "gateway-mode"],
            ["address", proof.gatewayAddress ?? "", "gateway-address"],
            ["state", state, "connection-state"],
            ["server version", String(proof.serverVersion ?? 0), "server-version"],
            ["account", `${maskAccount(proof.activeAccount ?? "")}${proof.isPaper ? " (paper)" : ""}`, "account"],
            ["client id", String(proof.clientId ?? 0)],
            ["connected since", clockTime(proof.connectedSince)],
            ["reconnects", String(proof.reconnectCount ?? 0)],
            ["service", `ib-provider ${proof.serviceVersion ?? ""}`],
            ["uptime", formatDuration(durationSeconds(proof.uptime) ?? 0), "uptime"],
          ]),
        ),
      );
      if (proof.bus) {
        const bus = proof.bus;
        cards.push(
          card(
            "Bus (provider role)",
            facts([
              ["address", bus.address ?? "", "bus-address"],
              ["connection", bus.connected ? "connected" : "away: events queue, then are shed", "bus-connected"],
              ["subject prefix", bus.subjectPrefix ?? ""],
              ["published", String(bus.published ?? 0)],
              ["queued", String(bus.queued ?? 0)],
              ["shed", String(bus.shed ?? 0)],
            ]),
          ),
        );
      }
      if (proof.lastError) cards.push(card("Last connection error", h("p", { class: "error", "data-field": "last-error" }, proof.lastError)));
    } else {
      this.setConnection("service unreachable");
      cards.push(card("Gateway", h("p", { class: "error" }, `runtime proof unavailable: ${proofRead.problem ?? "no answer"}`)));
    }
    if (metricsRead.text !== undefined) cards.push(...metricCards(parseMetrics(metricsRead.text)));
    else cards.push(card("Metrics", h("p", { class: "error" }, `metrics unavailable: ${metricsRead.problem ?? "no answer"}`)));
    cards.push(recentErrorsCard(errorsRead));
    this.element.replaceChildren(h("div", { class: "cards" }, cards));
  }
}

/** The last failed calls with their reasons (ListRecentErrors), newest first. */
const RECENT_ERRORS_SHOWN = 10;

/** @param {import("./stateFeed.js").Read} read */
function recentErrorsCard(read) {
  if (read.value === undefined) return card("Recent errors", h("p", { class: "error" }, `recent errors unavailable: ${read.problem ?? "no answer"}`));
  /** @type {{ time: string, method: string, client: string, code: string, reason: string, message: string }[]} */
  const errors = (read.value.errors ?? []).slice(0, RECENT_ERRORS_SHOWN);
  if (errors.length === 0) return card("Recent errors", h("p", { class: "muted", "data-field": "recent-errors" }, "none since start"));
  const wide = card(
    "Recent errors",
    h(
      "table",
      { class: "small", "data-field": "recent-errors" },
      h("thead", {}, h("tr", {}, ["time (UTC)", "call", "client", "code", "reason", "message"].map((c) => h("th", {}, c)))),
      h("tbody", {}, errors.map((e) => h("tr", {}, h("td", {}, clockTime(e.time)), h("td", {}, e.method.replace(/^ibprovider\.v1\./, "")), h("td", {}, e.client), h("td", {}, e.code), h("td", { class: "reason" }, e.reason), h("td", {}, e.message)))),
    ),
  );
  wide.classList.add("wide");
  return wide;
}

/** @param {Map<string, number>} values @param {string} [field] */
function table(values, field) {
  if (values.size === 0) return h("p", { class: "muted" }, "none");
  return h("table", { class: "small", "data-field": field }, h("tbody", {}, [...values].map(([key, value]) => h("tr", {}, h("th", {}, key || "—"), h("td", { class: "num" }, String(value))))));
}

/** @param {import("./prometheusText.js").Sample[]} samples */
function metricCards(samples) {
  const cards = [];
  // IB's lines: what the service's requests hold of each kind of line, of IB's limit for that kind.
  const inUse = totalsBy(samples, "ibprovider_ib_lines_in_use", "line");
  const limits = totalsBy(samples, "ibprovider_ib_lines_limit", "line");
  if (limits.size > 0) {
    const held = (line) => inUse.get(line) ?? 0;
    cards.push(
      card(
        "IB lines in use",
        h("p", { class: "big" }, h("span", { "data-field": "lines-total" }, String(held("marketDataLines"))), ` / ${limits.get("marketDataLines") ?? "—"}`, h("span", { class: "unit" }, " market data lines")),
        h(
          "table",
          { class: "small", "data-field": "lines-by-kind" },
          h("tbody", {}, [...limits].map(([line, limit]) => h("tr", {}, h("th", {}, LINE_NAMES[line] ?? line), h("td", { class: "num" }, `${held(line)} / ${limit}`)))),
        ),
        h("h3", {}, "charged per client"),
        h("p", { class: "muted" }, "A line shared by several clients counts once for each."),
        table(totalsBy(samples, "ibprovider_ib_lines_held", "client"), "lines-by-client"),
      ),
    );
  }
  const subscriptions = totalsBy(samples, "ibprovider_ib_subscriptions", "kind");
  if (subscriptions.size > 0) {
    const requested = totalsBy(samples, "ibprovider_ib_subscriptions_requested", "kind");
    const waiting = totalsBy(samples, "ibprovider_ib_subscriptions_waiting", "kind");
    const consumers = totalsBy(samples, "ibprovider_ib_subscription_consumers", "kind");
    cards.push(
      card(
        "Shared subscriptions",
        h(
          "table",
          { class: "small" },
          h("thead", {}, h("tr", {}, h("th", {}, "kind"), h("th", {}, "open"), h("th", {}, "at IB"), h("th", {}, "waiting"), h("th", {}, "consumers"))),
          h("tbody", {}, [...subscriptions].map(([kind, open]) => h("tr", {}, h("th", {}, kind), ...[open, requested.get(kind), waiting.get(kind), consumers.get(kind)].map((v) => h("td", { class: "num" }, v === undefined ? "—" : String(v)))))),
        ),
      ),
    );
  }
  const budget = total(samples, "ibprovider_ib_historical_budget");
  if (budget !== undefined) {
    const used = total(samples, "ibprovider_ib_historical_budget_used") ?? 0;
    const wait = total(samples, "ibprovider_ib_historical_wait_seconds");
    cards.push(
      card(
        "History pacing (IB: 60 per 10 minutes)",
        facts([
          ["budget used", `${used} / ${budget}`, "history-budget"],
          ["queued", [...totalsBy(samples, "ibprovider_ib_historical_queued", "priority")].map(([p, n]) => `${p} ${n}`).join(", ") || "0"],
          ["in flight", String(total(samples, "ibprovider_ib_historical_in_flight") ?? "—")],
          ["next user request in", wait === undefined ? "—" : wait === 0 ? "now" : formatDuration(wait)],
          ["settling", `${total(samples, "ibprovider_ib_historical_settling_seconds") ?? 0} s`],
        ]),
      ),
    );
  }
  const streams = totalsBy(samples, "ibprovider_active_streams", "kind");
  cards.push(
    card(
      "Open streams",
      h("p", { class: "big" }, h("span", { "data-field": "streams-total" }, String([...streams.values()].reduce((a, b) => a + b, 0))), " streams"),
      h("h3", {}, "by kind"),
      table(streams),
      h("h3", {}, "by client"),
      table(totalsBy(samples, "ibprovider_active_streams", "client")),
      h("h3", {}, "REST streams by framing"),
      table(totalsBy(samples, "ibprovider_http_open_streams", "framing")),
    ),
  );
  const storeBytes = total(samples, "ibprovider_store_size_bytes");
  if (storeBytes !== undefined) {
    cards.push(
      card(
        "Store",
        facts([
          ["file size", formatBytes(storeBytes), "store-size"],
          ...[...totalsBy(samples, "ibprovider_store_rows", "table")].map(([t, n]) => /** @type {[string, string]} */ ([`${t} rows`, String(n)])),
          ["pending writes", String(total(samples, "ibprovider_store_pending_writes") ?? "—")],
          ["failed writes", String(total(samples, "ibprovider_store_failed_writes_total") ?? "—")],
        ]),
      ),
    );
  }
  // Errors as the service counts them: calls that ended with another code than OK, IB history requests
  // that failed, events dropped for slow consumers. The last calls' reasons: the "Recent errors" card.
  /** @type {Map<string, number>} */
  const failedCalls = new Map();
  for (const s of samplesOf(samples, "ibprovider_grpc_request_duration_seconds_count")) {
    if (s.labels.code === "OK" || s.value === 0) continue;
    const key = `${(s.labels.method ?? "").replace(/^ibprovider\.v1\./, "")} ${s.labels.code}`;
    failedCalls.set(key, (failedCalls.get(key) ?? 0) + s.value);
  }
  /** @type {Map<string, number>} */
  const failedHistory = new Map();
  for (const s of samplesOf(samples, "ibprovider_ib_history_requests_total", { outcome: "error" })) if (s.value > 0) failedHistory.set(s.labels.kind ?? "", s.value);
  cards.push(
    card(
      "Errors since start",
      h("h3", {}, "failed calls (method, code)"),
      table(failedCalls, "failed-calls"),
      h("h3", {}, "failed IB history requests"),
      table(failedHistory),
      facts([
        ["IB requests dropped", String(total(samples, "ibprovider_ib_outbound_dropped_total") ?? "—")],
        ["stream events dropped", String(total(samples, "ibprovider_stream_events_dropped_total") ?? "—")],
        ["reconnects", String(total(samples, "ibprovider_ib_reconnects_total") ?? "—")],
      ]),
    ),
  );
  return cards;
}
