import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchOnce } from "../../testing/fetchOnce.js";
import { startTestApp, type TestApp } from "../../testing/testApp.js";
import { chromiumVerdict, DEBIAN_CHROMIUM } from "./testing/debianChromium.js";

// The console (/ui) in a real browser: Debian's Chromium, headless, driven by puppeteer-core, against the
// whole service on the simulator with a token. Screenshots of the three views go to docs/screenshots/
// (git-ignored; the README links the instrument view's).
const TOKEN = "console-browser-token";

// The functions given to page.evaluate / waitForFunction run in the page: its globals as they use them (the
// repository compiles without the DOM library, so these stay local to this file).
interface PageElement {
  textContent: string | null;
  hidden: boolean;
  offsetParent: unknown;
  innerText: string;
  getAttribute(name: string): string | null;
}
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
declare const document: { querySelector(selector: string): PageElement | null; querySelectorAll(selector: string): Iterable<PageCanvas>; getElementById(id: string): PageElement | null; cookie: string };
declare const location: { hash: string };
declare const localStorage: { length: number };
declare const sessionStorage: { length: number };
const SCREENSHOTS = fileURLToPath(new URL("../../../docs/screenshots/", import.meta.url));
const verdict = chromiumVerdict();
if (verdict.message !== undefined && !verdict.run) console.warn(`skipped: ${verdict.message}`);

describe.skipIf(!verdict.run)("the console in Chromium against the service on the simulator", () => {
  let testApp: TestApp | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let base: string;
  /** Whatever the page reported: script errors and CSP refusals must stay empty. */
  const problems: string[] = [];

  const api = async (path: string) => {
    const res = await fetchOnce(`${base}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status, path).toBe(200);
    return res;
  };
  const subscriptionKeys = async () => {
    const { subscriptions } = (await (await api("/api/subscriptions")).json()) as { subscriptions: { key: string; symbol: string; kind: string; consumers: number }[] };
    return subscriptions;
  };
  const field = (name: string) => page.$eval(`[data-field="${name}"]`, (el) => el.textContent ?? "");
  const numberAttribute = (selector: string, attribute: string) => page.$eval(selector, (el, a) => Number(el.getAttribute(a) ?? "0"), attribute);

  /** Opens /ui in a fresh page of its own browser context and answers the login prompt with `token`. */
  async function signIn(token: string, hash = ""): Promise<Page> {
    const context = await browser!.createBrowserContext();
    const opened = await context.newPage();
    await opened.setViewport({ width: 1280, height: 820 });
    opened.on("pageerror", (err) => problems.push(`page error: ${err instanceof Error ? err.message : String(err)}`));
    opened.on("console", (message) => {
      // The first call is made without a token to learn whether one is needed: its 401 is expected.
      if (message.type() === "error" && !/status of 401/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    await opened.goto(`${base}/ui${hash}`);
    await opened.waitForSelector("#login:not([hidden])", { timeout: 5_000 });
    await opened.type("#token", token);
    await opened.click("#login button[type=submit]");
    return opened;
  }

  beforeAll(async () => {
    if (verdict.message !== undefined) throw new Error(verdict.message);
    mkdirSync(SCREENSHOTS, { recursive: true });
    const [started, launched] = await Promise.allSettled([
      startTestApp({ token: TOKEN }),
      // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start; the page is our own.
      puppeteer.launch({ executablePath: DEBIAN_CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update"] }),
    ]);
    // Whichever started is stopped by afterAll, even when the other failed.
    if (started.status === "fulfilled") testApp = started.value;
    if (launched.status === "fulfilled") browser = launched.value;
    for (const outcome of [started, launched]) if (outcome.status === "rejected") throw outcome.reason;
    base = testApp!.app.rest.url;
    console.info(`console screenshots: ${SCREENSHOTS}`);
  }, 20_000);

  afterAll(async () => {
    await browser?.close();
    await testApp?.stop();
  });

  it("draws BTCUSDT's candles and updates the depth ladder and the trades tape within seconds, on the service's shared feeds", async () => {
    const configured = await subscriptionKeys();
    const before = configured.map((s) => s.key).sort();
    const tradeConsumers = configured.find((s) => s.symbol === "BTCUSDT" && s.kind === "SUBSCRIPTION_KIND_TRADE")?.consumers;
    expect(tradeConsumers, "config.provider.json subscribes BTCUSDT's trades").toBeGreaterThan(0);
    page = await signIn(TOKEN, "#instrument");
    await page.waitForFunction(() => Number(document.querySelector('[data-field="chart"]')?.getAttribute("data-candles") ?? "0") > 0, { timeout: 10_000 });
    // Candles are drawn when the canvas has enough pixels of the up and down colours (#26a69a, #ef5350).
    await page.waitForFunction(
      () => {
        let up = 0;
        let down = 0;
        for (const canvas of document.querySelectorAll('[data-field="chart"] canvas')) {
          if (canvas.width === 0 || canvas.height === 0) continue;
          const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
          for (let i = 0; i < data.length; i += 4) {
            const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
            if (Math.abs(r - 0x26) < 12 && Math.abs(g - 0xa6) < 12 && Math.abs(b - 0x9a) < 12) up++;
            else if (Math.abs(r - 0xef) < 12 && Math.abs(g - 0x53) < 12 && Math.abs(b - 0x50) < 12) down++;
          }
        }
        return up > 200 && down > 200;
      },
      { timeout: 10_000, polling: 200 },
    );
    await page.waitForFunction(() => Number(document.querySelector('[data-field="ladder"]')?.getAttribute("data-updates") ?? "0") > 0, { timeout: 5_000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-field="tape"]')?.getAttribute("data-count") ?? "0") > 0, { timeout: 5_000 });
    const [updates, trades] = [await numberAttribute('[data-field="ladder"]', "data-updates"), await numberAttribute('[data-field="tape"]', "data-count")];
    // Both keep moving: the simulator sends depth and trades every few hundred milliseconds.
    await page.waitForFunction((u, t) => Number(document.querySelector('[data-field="ladder"]')!.getAttribute("data-updates")) > u && Number(document.querySelector('[data-field="tape"]')!.getAttribute("data-count")) > t, { timeout: 5_000 }, updates, trades);
    expect(await page.$$eval('[data-field="ladder"] tr.ask', (rows) => rows.length)).toBeGreaterThan(0);
    expect(await page.$$eval('[data-field="ladder"] tr.bid', (rows) => rows.length)).toBeGreaterThan(0);
    expect(await page.$$eval('[data-field="tape"] tbody tr', (rows) => rows.length)).toBeGreaterThan(0);
    // The console's three streams joined the configured subscriptions of BTCUSDT: no IB subscription more.
    const subscriptions = await subscriptionKeys();
    expect(subscriptions.map((s) => s.key).sort()).toEqual(before);
    expect(subscriptions.find((s) => s.symbol === "BTCUSDT" && s.kind === "SUBSCRIPTION_KIND_TRADE")?.consumers).toBe(tradeConsumers! + 1);
    await page.screenshot({ path: join(SCREENSHOTS, "instrument.png") });
  }, 20_000);

  it("shares the instrument's streams between consoles: a second console adds no stream, and joins with the book and the last trades", async () => {
    const shared = testApp!.app.rest.sharedStreams;
    expect(shared.upstreamCount).toBe(3);
    const tradeConsumers = (await subscriptionKeys()).find((s) => s.symbol === "BTCUSDT" && s.kind === "SUBSCRIPTION_KIND_TRADE")?.consumers;
    const second = await signIn(TOKEN, "#instrument");
    // The state so far arrives with the join: a ladder and a tape before the next update could have.
    await second.waitForFunction(() => [...document.querySelectorAll('[data-field="ladder"] tr.bid')].length > 0 && [...document.querySelectorAll('[data-field="tape"] tbody tr')].length > 1, { timeout: 5_000 });
    expect(shared.upstreamCount).toBe(3);
    expect((await subscriptionKeys()).find((s) => s.symbol === "BTCUSDT" && s.kind === "SUBSCRIPTION_KIND_TRADE")?.consumers).toBe(tradeConsumers);
    await second.browserContext().close();
  }, 20_000);

  it("shows the simulator as the live Gateway, IB lines of IB's limits and the last error's reason in the overview, without storing the token", async () => {
    const refused = await fetchOnce(`${base}/api/candles/ib/spot/NOSUCH1/min1?days=1`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(refused.status).toBe(404);
    await page.evaluate(() => (location.hash = "#overview"));
    await page.waitForSelector('[data-field="gateway-mode"]', { timeout: 5_000 });
    expect(await field("gateway-mode")).toBe("simulator");
    expect(await field("connection-state")).toBe("connected");
    expect(await field("account")).toMatch(/^DU•••\d{3} \(paper\)$/);
    expect(Number(await field("lines-total"))).toBeGreaterThan(0);
    expect(await field("lines-by-kind")).toMatch(/market data lines\d+ \/ 100/);
    await page.waitForFunction(() => /SYMBOL_NOT_FOUND/.test(document.querySelector('[data-field="recent-errors"]')?.textContent ?? ""), { timeout: 5_000 });
    expect(await field("history-budget")).toMatch(/^\d+ \/ 60$/);
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie])).toEqual([0, 0, ""]);
    await page.screenshot({ path: join(SCREENSHOTS, "overview.png"), fullPage: true });
  }, 20_000);

  it("lists every shared subscription with its kind, consumers and state in the feeds view", async () => {
    await page.evaluate(() => (location.hash = "#feeds"));
    await page.waitForSelector('[data-field="subscriptions"] tbody tr', { timeout: 5_000 });
    const subscriptions = await subscriptionKeys();
    const keys = await page.$$eval('[data-field="subscriptions"] tbody tr', (rows) => rows.map((r) => r.getAttribute("data-key")));
    expect(keys.sort()).toEqual(subscriptions.map((s) => s.key).sort());
    expect(await page.$$eval('[data-field="subscriptions"] td.state', (cells) => cells.map((c) => c.textContent))).toContain("live");
    await page.screenshot({ path: join(SCREENSHOTS, "feeds.png"), fullPage: true });
  }, 20_000);

  it("switches the chart's interval, and the instrument to a symbol the search box suggests", async () => {
    await page.evaluate(() => (location.hash = "#instrument"));
    await page.click('button[data-interval="h1"]');
    await page.waitForFunction(() => document.querySelector('[data-field="chart"]')?.getAttribute("data-series") === "BTCUSDT/h1", { timeout: 10_000 });
    await page.click("#symbol", { count: 3 });
    await page.type("#symbol", "apple");
    await page.waitForSelector('#symbol-suggestions option[value="AAPL"]', { timeout: 10_000 });
    await page.$eval("#symbol", (input) => ((input as unknown as { value: string }).value = "AAPL"));
    await page.click(".toolbar button[type=submit]");
    await page.waitForFunction(() => document.querySelector('[data-field="chart"]')?.getAttribute("data-series") === "AAPL/h1", { timeout: 10_000 });
    expect(Number(await page.$eval('[data-field="chart"]', (el) => el.getAttribute("data-candles")))).toBeGreaterThan(0);
    expect(await field("instrument")).toBe("AAPL · spot");
  }, 20_000);

  it("answers a wrong token with the login prompt again and shows no data", async () => {
    const called: string[] = [];
    const wrong = await signIn("not-the-token");
    wrong.on("request", (request) => called.push(new URL(request.url()).pathname));
    await wrong.waitForFunction(() => document.getElementById("login-error")?.textContent !== "", { timeout: 5_000 });
    expect(await wrong.$eval("#login", (el) => (el as unknown as PageElement).hidden)).toBe(false);
    expect(await wrong.$eval("#nav", (el) => (el as unknown as PageElement).hidden)).toBe(true);
    expect(await wrong.$$eval("[data-field]", (els) => els.filter((el) => (el as unknown as PageElement).offsetParent !== null).length)).toBe(0);
    expect(await wrong.$eval("#views", (el) => (el as unknown as PageElement).innerText.trim())).toBe("");
    expect(called.filter((p) => (p.startsWith("/api/") && p !== "/api/exchanges/runtime-proof") || p.startsWith("/ui/live"))).toEqual([]);
    await wrong.browserContext().close();
  }, 20_000);

  it("opens without a prompt on a service that has no token (npm start's default)", async () => {
    const open = await startTestApp();
    const context = await browser!.createBrowserContext();
    try {
      const anonymous = await context.newPage();
      await anonymous.goto(`${open.app.rest.url}/ui`);
      await anonymous.waitForFunction(() => document.querySelector('[data-field="gateway-mode"]')?.textContent === "simulator", { timeout: 10_000 });
      expect(await anonymous.$eval("#login", (el) => (el as unknown as PageElement).hidden)).toBe(true);
    } finally {
      await context.close();
      await open.stop();
    }
  }, 20_000);

  it("ran without a script error or a Content-Security-Policy refusal", () => {
    expect(problems).toEqual([]);
  });
});
