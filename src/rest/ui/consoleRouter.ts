import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import express, { Router, type RequestHandler } from "express";

/** The console's own files: plain ES modules and one stylesheet, sent as they are (no bundler). */
const STATIC_DIR = fileURLToPath(new URL("./static/", import.meta.url));

/**
 * TradingView's Lightweight Charts, from node_modules like swagger-ui-dist (no CDN: the service may run
 * offline). The standalone build has its one dependency (fancy-canvas) inside, so the browser imports a
 * single file and no import map is needed.
 */
const CHARTS_DIR = dirname(fileURLToPath(import.meta.resolve("lightweight-charts/package.json")));
const CHARTS_FILE = join(CHARTS_DIR, "dist", "lightweight-charts.standalone.production.mjs");

/** What the console's assets directory serves; its .d.ts files are for the tests only. */
const SERVED_EXTENSIONS = new Set([".js", ".css", ".svg"]);

/**
 * Only our own origin: no inline script or style (the page has none; Lightweight Charts sets element styles
 * through the CSSOM, which CSP allows), no framing, no other host to fetch from.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The assets' version in their path: the package version, and a digest of the files themselves, so a
 * browser never runs yesterday's module beside today's page even when the version was not bumped.
 */
export function consoleAssetsVersion(serviceVersion: string): string {
  const digest = createHash("sha256");
  for (const name of readdirSync(STATIC_DIR).sort()) digest.update(name).update(readFileSync(join(STATIC_DIR, name)));
  digest.update(readFileSync(join(CHARTS_DIR, "package.json")));
  return `${serviceVersion}-${digest.digest("hex").slice(0, 10)}`;
}

function page(assets: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>ib-provider console</title>
  <link rel="stylesheet" href="${assets}/console.css">
  <link rel="icon" type="image/svg+xml" href="${assets}/favicon.svg">
  <script type="module" src="${assets}/console.js"></script>
</head>
<body>
  <header class="top">
    <span class="brand">ib-provider</span>
    <nav id="nav" hidden>
      <a href="#overview" data-view="overview">Overview</a>
      <a href="#feeds" data-view="feeds">Feeds</a>
      <a href="#instrument" data-view="instrument">Instrument</a>
    </nav>
    <span id="connection" class="muted"></span>
  </header>
  <form id="login" class="login" hidden>
    <h1>Sign in</h1>
    <p>The service needs its API token (PROVIDER_API_TOKEN or a client's token). It stays in this page's memory: reloading asks again.</p>
    <label>Token <input id="token" name="token" type="password" autocomplete="off" required></label>
    <button type="submit">Open the console</button>
    <p id="login-error" class="error" role="alert"></p>
  </form>
  <main id="views"></main>
  <noscript>The console needs JavaScript (ES modules).</noscript>
</body>
</html>
`;
}

/** GET /ui: the live console (docs/console.md). The page and its files need no token; every call it makes does. */
export function consoleRouter(serviceVersion: string): Router {
  const version = consoleAssetsVersion(serviceVersion);
  const assets = `/ui/assets/${version}`;
  const html = page(assets);
  const router = Router();
  const headers: RequestHandler = (_req, res, next) => {
    res.set("Content-Security-Policy", CONSOLE_CSP);
    res.set("Referrer-Policy", "no-referrer");
    res.set("Cross-Origin-Opener-Policy", "same-origin");
    res.locals.route = "/ui";
    next();
  };
  router.use("/ui", headers);
  router.get(["/ui", "/ui/"], (_req, res) => {
    // The page names the versioned assets: it must itself be asked again each time.
    res.set("Cache-Control", "no-cache").type("text/html").send(html);
  });
  // A versioned path never changes content: browsers may keep it for good.
  const immutable = { maxAge: "365d", immutable: true, index: false, fallthrough: true } as const;
  router.get(`${assets}/vendor/lightweight-charts.mjs`, (_req, res, next) => {
    res.type("text/javascript").sendFile(CHARTS_FILE, { maxAge: immutable.maxAge, immutable: true }, (err) => err && next(err));
  });
  router.use(assets, (req, _res, next) => (SERVED_EXTENSIONS.has(extname(req.path)) ? next() : next("router")));
  router.use(assets, express.static(STATIC_DIR, immutable));
  return router;
}
