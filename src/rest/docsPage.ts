import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import express, { Router } from "express";

/** swagger-ui-dist's files, served from node_modules (no CDN: the service may run offline). */
const SWAGGER_UI_DIR = dirname(fileURLToPath(import.meta.resolve("swagger-ui-dist/package.json")));

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>ib-provider REST API</title>
  <link rel="stylesheet" href="/api/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/swagger-ui-bundle.js"></script>
  <script src="/api/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/api/docs/ib-provider-init.js"></script>
</body>
</html>
`;

// A file rather than an inline script, so a strict Content-Security-Policy can stay on.
const INIT = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/api/docs-json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The token stays in the page (not in localStorage, where any script of the origin could read it).
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
  });
};
`;

/** GET /api/docs: Swagger UI over /api/docs-json. */
export function docsRouter(): Router {
  const router = Router();
  router.get(["/api/docs", "/api/docs/", "/api/docs/index.html"], (_req, res) => {
    res.type("text/html").send(PAGE);
  });
  router.get("/api/docs/ib-provider-init.js", (_req, res) => {
    res.type("application/javascript").send(INIT);
  });
  router.use("/api/docs", express.static(SWAGGER_UI_DIR, { index: false, fallthrough: true, maxAge: "1h" }));
  return router;
}
