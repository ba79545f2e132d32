import { CandlestickSeries, createChart } from "./vendor/lightweight-charts.mjs";
import { h } from "./dom.js";
import { enumLabel } from "./format.js";
import { OrderBookLadder } from "./orderBookLadder.js";

export const INTERVALS = ["min1", "min5", "min15", "min30", "h1", "h2", "h4", "day", "week", "month"];

/**
 * History asked per interval: a screenful or more of candles. The service serves them from its store
 * once fetched; the first time they cost IB history requests (60 per 10 minutes).
 * @type {Record<string, number>}
 */
const HISTORY_DAYS = { min1: 1, min5: 3, min15: 7, min30: 14, h1: 30, h2: 60, h4: 60, day: 365, week: 730, month: 1825 };

const LADDER_DEPTH = 10;
const TAPE_ROWS = 40;
const RENDER_MS = 100;
const UP = "#26a69a";
const DOWN = "#ef5350";

/** @param {{ time: string, open: string, high: string, low: string, close: string }} c */
function bar(c) {
  return { time: /** @type {import("./vendor/lightweight-charts.mjs").UTCTimestamp} */ (Math.floor(Date.parse(c.time) / 1000)), open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close) };
}

/**
 * One instrument: candles (history from GET /api/candles, the forming candle from its stream), a depth
 * ladder (StreamOrderBook) and a trades tape (StreamTrades). The streams come through /ui/live: every
 * console showing the instrument shares one stream of the bridge (and so one IB line per kind), joining
 * with the state so far (the book as a snapshot, the last trades and candles).
 */
export class InstrumentView {
  element = h("div", { class: "view instrument", "data-view": "instrument" });
  symbol = "BTCUSDT";
  market = "spot";
  interval = "min1";
  /** @type {Map<string, string>} symbol → market type, from the last search */
  #markets = new Map();
  /** @type {AbortController | undefined} streams of the instrument (book, trades) */
  #instrumentAbort;
  /** @type {AbortController | undefined} history and candle stream of the interval */
  #chartAbort;
  /** @type {AbortController | undefined} */
  #searchAbort;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #searchTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #renderTimer;
  #ladder = new OrderBookLadder();
  /** @type {{ time: string, price: string, volume: string, exchange: string, direction: string }[]} */
  #tape = [];
  #tradeCount = 0;
  /** The newest trade's sequence on the tape (0: none yet). */
  #lastTradeSequence = 0;
  #lastPrice = NaN;
  #lastBarTime = 0;
  /** @type {Record<string, string>} */
  #status = { candles: "—", book: "—", trades: "—" };

  /** @param {import("./api.js").ApiClient} api */
  constructor(api) {
    this.api = api;
    this.symbolInput = /** @type {HTMLInputElement} */ (h("input", { id: "symbol", name: "symbol", list: "symbol-suggestions", autocomplete: "off", spellcheck: "false", value: this.symbol, oninput: () => this.#suggest() }));
    this.suggestions = h("datalist", { id: "symbol-suggestions" });
    this.title = h("h1", { "data-field": "instrument" });
    this.intervalButtons = INTERVALS.map((interval) => h("button", { type: "button", "data-interval": interval, onclick: () => this.#setInterval(interval) }, interval));
    this.chartBox = h("div", { class: "chart", "data-field": "chart" });
    this.statusLine = h("p", { class: "muted status", "data-field": "stream-status" });
    this.ladderBox = h("table", { class: "ladder", "data-field": "ladder" });
    this.tapeBox = h("table", { class: "tape", "data-field": "tape" });
    this.element.append(
      h(
        "form",
        { class: "toolbar", onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); this.#setSymbol(this.symbolInput.value); } },
        h("label", {}, "Symbol ", this.symbolInput),
        this.suggestions,
        h("button", { type: "submit" }, "Show"),
        h("span", { class: "intervals" }, this.intervalButtons),
      ),
      this.title,
      h(
        "div",
        { class: "instrument-grid" },
        h("div", {}, this.chartBox, this.statusLine, h("p", { class: "muted attribution" }, "Charts: ", h("a", { href: "https://www.tradingview.com/lightweight-charts/", rel: "noopener noreferrer", target: "_blank" }, "TradingView Lightweight Charts™"))),
        h("div", { class: "side" }, h("h2", {}, "Depth"), this.ladderBox, h("h2", {}, "Trades"), this.tapeBox),
      ),
    );
    /** @type {import("./vendor/lightweight-charts.mjs").IChartApi | undefined} */
    this.chart = undefined;
    /** @type {import("./vendor/lightweight-charts.mjs").ISeriesApi<"Candlestick"> | undefined} */
    this.series = undefined;
  }

  start() {
    if (this.chart === undefined) {
      // attributionLogo off: it injects an inline <style>, which our CSP refuses; the attribution the
      // library's licence asks for is the link under the chart.
      this.chart = createChart(this.chartBox, {
        autoSize: true,
        layout: { attributionLogo: false, background: { color: "#ffffff" }, textColor: "#1f2933" },
        timeScale: { timeVisible: true, secondsVisible: false },
        grid: { vertLines: { color: "#eef1f4" }, horzLines: { color: "#eef1f4" } },
      });
      this.series = this.chart.addSeries(CandlestickSeries, { upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN });
    }
    this.#openInstrument();
  }

  stop() {
    this.#instrumentAbort?.abort();
    this.#chartAbort?.abort();
    this.#searchAbort?.abort();
    clearTimeout(this.#renderTimer);
    this.#renderTimer = undefined;
  }

  clear() {
    this.series?.setData([]);
    this.#ladder.clear();
    this.#tape = [];
    this.#tradeCount = 0;
    this.#lastTradeSequence = 0;
    this.#render();
  }

  get #path() {
    return `ib/${encodeURIComponent(this.market)}/${encodeURIComponent(this.symbol)}`;
  }

  /** @param {string} text */
  #setSymbol(text) {
    const symbol = text.trim().toUpperCase();
    if (symbol === "" || symbol === this.symbol) return;
    this.symbol = symbol;
    this.market = this.#markets.get(symbol) ?? "spot";
    this.stop();
    this.#openInstrument();
  }

  /** @param {string} interval */
  #setInterval(interval) {
    if (interval === this.interval) return;
    this.interval = interval;
    this.#openChart();
  }

  #openInstrument() {
    this.#instrumentAbort?.abort();
    const abort = (this.#instrumentAbort = new AbortController());
    this.title.textContent = `${this.symbol} · ${this.market}`;
    this.symbolInput.value = this.symbol;
    this.#ladder.clear();
    this.#tape = [];
    this.#tradeCount = 0;
    this.#lastTradeSequence = 0;
    this.#lastPrice = NaN;
    this.#status.book = this.#status.trades = "connecting";
    this.#scheduleRender();
    void this.api.follow(
      `/ui/live/api/orderbook/${this.#path}/stream?depth=${LADDER_DEPTH}`,
      abort.signal,
      (message) => {
        for (const event of message.events ?? []) {
          if (event.update) this.#ladder.apply(event.update);
          else if (event.status) this.#status.book = enumLabel(event.status.kind ?? "", "STREAM_STATUS_KIND_");
        }
        this.#scheduleRender();
      },
      (problem) => { this.#status.book = problem; this.#scheduleRender(); },
    );
    void this.api.follow(
      `/ui/live/api/trades/${this.#path}/stream`,
      abort.signal,
      (message) => {
        for (const event of message.events ?? []) {
          if (event.trade) {
            // A reconnected stream starts with the last trades again (its join state): each is shown once.
            const sequence = Number(event.sequence ?? 0);
            if (sequence > 0 && sequence <= this.#lastTradeSequence) continue;
            this.#lastTradeSequence = Math.max(this.#lastTradeSequence, sequence);
            this.#addTrade(event.trade);
          }
          else if (event.status) this.#status.trades = enumLabel(event.status.kind ?? "", "STREAM_STATUS_KIND_");
        }
        this.#scheduleRender();
      },
      (problem) => { this.#status.trades = problem; this.#scheduleRender(); },
    );
    this.#openChart();
  }

  #openChart() {
    this.#chartAbort?.abort();
    const abort = (this.#chartAbort = new AbortController());
    for (const button of this.intervalButtons) button.classList.toggle("active", button.dataset.interval === this.interval);
    this.series?.setData([]);
    this.#lastBarTime = 0;
    this.chartBox.dataset.candles = "0";
    this.chartBox.dataset.series = "";
    this.#status.candles = "loading history";
    this.#scheduleRender();
    const history = `/api/candles/${this.#path}/${this.interval}?days=${HISTORY_DAYS[this.interval] ?? 7}`;
    void this.api
      .json(history, abort.signal)
      .then((answer) => {
        if (abort.signal.aborted) return;
        const bars = (answer.candles ?? []).map(bar);
        this.series?.setData(bars);
        this.#lastBarTime = bars.at(-1)?.time ?? 0;
        this.chart?.timeScale().scrollToRealTime();
        this.#status.candles = `${bars.length} candles; live`;
        this.chartBox.dataset.candles = String(bars.length);
        this.chartBox.dataset.series = `${this.symbol}/${this.interval}`;
        this.#scheduleRender();
        // The forming candle: the stream's updates replace the last bar, a new interval appends one.
        return this.api.follow(
          `/ui/live/api/candles/${this.#path}/${this.interval}/stream`,
          abort.signal,
          (message) => {
            for (const event of message.events ?? []) {
              if (event.candle) {
                const next = bar(event.candle);
                // Older than the chart's last bar (a replayed candle): the chart cannot insert it.
                if (next.time < this.#lastBarTime) continue;
                this.series?.update(next);
                this.#lastBarTime = next.time;
              } else if (event.status) this.#status.candles = enumLabel(event.status.kind ?? "", "STREAM_STATUS_KIND_");
            }
            this.#scheduleRender();
          },
          (problem) => { this.#status.candles = problem; this.#scheduleRender(); },
        );
      })
      .catch((/** @type {unknown} */ err) => {
        if (abort.signal.aborted) return;
        this.#status.candles = `history: ${err instanceof Error ? err.message : String(err)}`;
        this.#scheduleRender();
      });
  }

  /** @param {{ time: string, price: string, volume: string, exchange?: string }} trade */
  #addTrade(trade) {
    const price = Number(trade.price);
    const direction = Number.isNaN(this.#lastPrice) || price === this.#lastPrice ? "flat" : price > this.#lastPrice ? "up" : "down";
    this.#lastPrice = price;
    this.#tradeCount++;
    this.#tape.unshift({ time: trade.time, price: trade.price, volume: trade.volume, exchange: trade.exchange ?? "", direction });
    if (this.#tape.length > TAPE_ROWS) this.#tape.length = TAPE_ROWS;
  }

  #suggest() {
    clearTimeout(this.#searchTimer);
    const query = this.symbolInput.value.trim();
    if (query.length < 2) return;
    this.#searchTimer = setTimeout(() => {
      this.#searchAbort?.abort();
      const abort = (this.#searchAbort = new AbortController());
      this.api
        .json(`/api/search/ib?query=${encodeURIComponent(query)}`, abort.signal)
        .then((answer) => {
          const matches = answer.matches ?? [];
          for (const m of matches) this.#markets.set(m.symbol, m.marketType);
          this.suggestions.replaceChildren(...matches.map((/** @type {any} */ m) => h("option", { value: m.symbol }, `${m.description ?? ""} ${m.primaryExchange ?? ""} ${m.marketType ?? ""}`.trim())));
        })
        .catch(() => undefined);
    }, 300);
  }

  /** Streams can bring hundreds of updates a second: the DOM is redrawn at most every RENDER_MS. */
  #scheduleRender() {
    if (this.#renderTimer !== undefined) return;
    this.#renderTimer = setTimeout(() => {
      this.#renderTimer = undefined;
      this.#render();
    }, RENDER_MS);
  }

  #render() {
    const { asks, bids } = this.#ladder.top(LADDER_DEPTH);
    const maxVolume = Math.max(1e-12, ...asks.map((l) => Number(l.volume)), ...bids.map((l) => Number(l.volume)));
    /** @param {{ price: string, volume: string }} level @param {"ask" | "bid"} side */
    const row = (level, side) => {
      const fill = h("span", { class: `fill ${side}` });
      // CSSOM, not a style attribute: allowed by style-src 'self'.
      fill.style.width = `${Math.round((Number(level.volume) / maxVolume) * 100)}%`;
      return h("tr", { class: side }, h("td", { class: "num bar" }, fill, h("span", { class: "value" }, level.volume)), h("td", { class: "num price" }, level.price));
    };
    this.ladderBox.dataset.sequence = this.#ladder.sequence;
    this.ladderBox.dataset.updates = String(this.#ladder.updates);
    this.ladderBox.classList.toggle("inconsistent", !this.#ladder.consistent);
    this.ladderBox.replaceChildren(
      h("thead", {}, h("tr", {}, h("th", {}, "size"), h("th", {}, "price"))),
      h("tbody", {}, [...asks].reverse().map((l) => row(l, "ask")), bids.map((l) => row(l, "bid"))),
    );
    this.tapeBox.dataset.count = String(this.#tradeCount);
    this.tapeBox.replaceChildren(
      h("thead", {}, h("tr", {}, h("th", {}, "time (UTC)"), h("th", {}, "price"), h("th", {}, "size"), h("th", {}, "venue"))),
      h("tbody", {}, this.#tape.map((t) => h("tr", { class: t.direction }, h("td", {}, t.time.slice(11, 19)), h("td", { class: "num" }, t.price), h("td", { class: "num" }, t.volume), h("td", {}, t.exchange)))),
    );
    this.statusLine.textContent = `candles ${this.interval}: ${this.#status.candles} · book: ${this.#status.book} · trades: ${this.#status.trades}`;
  }
}
