import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchOnce } from "../../testing/fetchOnce.js";
import { CONSOLE_CSP, consoleAssetsVersion, consoleRouter } from "./consoleRouter.js";

// The console's files over HTTP, on the router alone (the browser test, console.browser.test.ts, runs it
// inside the whole service).
let server: Server;
let base: string;
const version = consoleAssetsVersion("9.8.7");
const assets = `/ui/assets/${version}`;

beforeAll(async () => {
  const app = express();
  app.use(consoleRouter("9.8.7"));
  app.use((_req, res) => res.status(404).send("not here"));
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("the console page at /ui", () => {
  it("is served without a token under a CSP that allows only the page's own origin", async () => {
    for (const path of ["/ui", "/ui/"]) {
      const res = await fetchOnce(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
      expect(res.headers.get("cache-control")).toBe("no-cache");
      const html = await res.text();
      // Nothing inline for the CSP to refuse: scripts by src, styles by link, no style attributes.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
      expect(html).toContain(`<script type="module" src="${assets}/console.js"></script>`);
    }
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) expect(CONSOLE_CSP).toContain(directive);
    expect(CONSOLE_CSP).not.toMatch(/unsafe-|https?:|\*/);
  });

  it("names its assets by the package version and a digest of their content, and lets browsers keep them for good", async () => {
    expect(version).toMatch(/^9\.8\.7-[0-9a-f]{10}$/);
    for (const [file, type] of [["console.js", "text/javascript"], ["console.css", "text/css"], ["favicon.svg", "image/svg+xml"], ["vendor/lightweight-charts.mjs", "text/javascript"]] as const) {
      const res = await fetchOnce(`${base}${assets}/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get("content-type"), file).toContain(type);
      expect(res.headers.get("cache-control"), file).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("content-security-policy"), file).toBe(CONSOLE_CSP);
    }
  });

  it("serves Lightweight Charts from node_modules as one ES module (no CDN, no import map)", async () => {
    const body = await (await fetchOnce(`${base}${assets}/vendor/lightweight-charts.mjs`)).text();
    expect(body).toMatch(/export\{[^}]*createChart/);
    expect(body).not.toMatch(/from\s*["']fancy-canvas/);
  });

  it("serves only the browser's files of its folder, and nothing under another version", async () => {
    for (const path of [`${assets}/sseParser.d.ts`, `${assets}/../consoleRouter.ts`, "/ui/assets/0.0.1-0000000000/console.js", `${assets}/missing.js`]) {
      const res = await fetchOnce(`${base}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).toBe("not here");
    }
  });
});
