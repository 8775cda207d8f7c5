// The OpenAPI document and /docs of the real binary (ctest api-openapi;
// `node --test` runs it). No database: the binary runs against a closed port,
// and neither answer needs one.
//
// 1. /openapi.json is a valid OpenAPI 3.1 document by an independent
//    validator (@apidevtools/swagger-parser, pinned in package-lock.json),
//    with the kit's error shapes, the X-API-Key scheme, and the differences
//    from the FastAPI seeds said where they apply.
// 2. /docs loads nothing from outside the service: every asset it names is
//    served here, byte for byte the npm file (or ours), under a name that
//    carries its content hash, cached for a year; the page itself no-cache.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { freePort, get, root, startService } from "./service.mjs";

const SwaggerParser = await import("@apidevtools/swagger-parser")
  .then((m) => m.default)
  .catch(() => {
    throw new Error("tests/api/node_modules is missing or incomplete: run scripts/deps (npm ci in tests/api)");
  });

let service;
let document;
before(async () => {
  const closed = await freePort();
  service = await startService({ DATABASE_URL: `postgresql://p2p:unused@127.0.0.1:${closed}/p2p`, DB_CONNECT_TIMEOUT: "1" });
  const answer = await get(service.port, "/openapi.json");
  assert.equal(answer.status, 200);
  assert.equal(answer.headers["content-type"], "application/json");
  document = JSON.parse(answer.body.toString("utf8"));
});
after(async () => {
  if (service) assert.equal(await service.stop(), 0, `exit after SIGTERM; output:\n${service.output()}`);
});

const operations = () =>
  Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

test("the document is valid OpenAPI 3.1 by swagger-parser", async () => {
  assert.equal(document.openapi, "3.1.0");
  // validate() dereferences in place: give it a copy.
  const api = await SwaggerParser.validate(structuredClone(document));
  assert.equal(api.info.title, "P2P Dashboard API");
  // Generated once: the same bytes every time.
  const again = await get(service.port, "/openapi.json");
  assert.deepEqual(JSON.parse(again.body.toString("utf8")), document);
  assert.equal(again.headers["cache-control"], "no-cache");
});

test("every operation has a summary, a unique id, a 2xx answer with a schema, and the errors its shape implies", () => {
  const ids = new Set();
  for (const { path, method, op } of operations()) {
    const where = `${method.toUpperCase()} ${path}`;
    assert.ok(op.summary, `${where}: a summary`);
    assert.ok(!ids.has(op.operationId), `${where}: operationId ${op.operationId} is unique`);
    ids.add(op.operationId);
    const ok = Object.keys(op.responses).filter((s) => s.startsWith("2"));
    assert.ok(ok.length > 0, `${where}: a 2xx answer`);
    for (const status of ok) assert.ok(op.responses[status].content, `${where} ${status}: a body schema`);
    if (op.security) {
      assert.deepEqual(op.security, [{ APIKeyHeader: [] }], where);
      assert.equal(op.responses["401"].content["application/json"].schema.$ref, "#/components/schemas/HTTPError", where);
    }
    if (op.parameters?.length) {
      assert.equal(
        op.responses["422"].content["application/json"].schema.$ref,
        "#/components/schemas/HTTPValidationError",
        where,
      );
      for (const p of op.parameters) assert.ok(p.schema && "example" in p, `${where} ${p.name}: a schema and an example`);
    }
    // Path parameters are declared, and required.
    for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
      const p = op.parameters?.find((q) => q.in === "path" && q.name === name);
      assert.ok(p?.required, `${where}: {${name}} is a required path parameter`);
    }
  }
  // What a FastAPI user looks for.
  for (const path of ["/api/v1/offers", "/api/v1/series", "/api/v1/snapshot", "/api/v1/markets", "/docs", "/openapi.json"])
    assert.ok(document.paths[path]?.get, `${path} is documented`);
});

test("the error shapes and the X-API-Key scheme are FastAPI's", () => {
  const { schemas, securitySchemes } = document.components;
  assert.deepEqual(securitySchemes.APIKeyHeader, {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: securitySchemes.APIKeyHeader.description,
  });
  assert.deepEqual(schemas.HTTPError.required, ["detail"]);
  assert.equal(schemas.HTTPError.properties.detail.type, "string");
  assert.equal(schemas.HTTPValidationError.properties.detail.items.$ref, "#/components/schemas/ValidationError");
  assert.deepEqual(schemas.ValidationError.required.sort(), ["loc", "msg", "type"]);
  // Everything under /api/ and /debug/ needs the key; the probes, /metrics and the docs do not.
  for (const { path, method, op } of operations()) {
    const secured = path.startsWith("/api/") || path.startsWith("/debug/");
    assert.equal(Boolean(op.security), secured, `${method.toUpperCase()} ${path}`);
  }
});

test("where the service deliberately differs from the FastAPI seeds, the descriptions say so", () => {
  assert.match(document.info.description, /Differs from the FastAPI seeds|differs from the FastAPI seeds/i);
  assert.match(document.info.description, /502/);
  assert.match(document.info.description, /504/);
  assert.match(document.info.description, /Bybit is implemented/);
  for (const path of ["/api/v1/binance/offers", "/api/v1/bybit/offers", "/api/v1/binance/pairs"]) {
    const op = document.paths[path].get;
    for (const status of ["502", "504"]) {
      assert.ok(op.responses[status], `${path}: documents ${status}`);
      assert.match(op.responses[status].description, /Differs from the seeds/, `${path} ${status}`);
    }
  }
  assert.match(document.paths["/api/v1/bybit/offers"].get.description, /Bybit is implemented/);
});

test("/docs is a page that loads only this service's hashed, immutable assets, byte for byte their sources", async () => {
  const page = await get(service.port, "/docs");
  assert.equal(page.status, 200);
  assert.equal(page.headers["content-type"], "text/html; charset=utf-8");
  assert.equal(page.headers["cache-control"], "no-cache");
  const html = page.body.toString("utf8");
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(refs.length >= 3, `the page names its assets: ${refs}`);
  const sources = {
    "swagger-ui-bundle": join(root, "app", "web", "node_modules", "swagger-ui-dist", "swagger-ui-bundle.js"),
    "swagger-ui": join(root, "app", "web", "node_modules", "swagger-ui-dist", "swagger-ui.css"),
    docs: join(root, "app", "web", "docs.js"),
  };
  const seen = new Set();
  for (const ref of refs) {
    assert.match(ref, /^\/docs\/assets\/[^/]+$/, `${ref}: a path on this service, nothing from outside`);
    const [, stem, hash, ext] = /^\/docs\/assets\/(.+)\.([0-9a-f]{12})\.(js|css)$/.exec(ref) ?? [];
    assert.ok(stem, `${ref}: <name>.<12 hex digits>.<ext>`);
    const asset = await get(service.port, ref);
    assert.equal(asset.status, 200, ref);
    assert.equal(asset.headers["cache-control"], "public, max-age=31536000, immutable", ref);
    assert.equal(asset.headers["x-content-type-options"], "nosniff", ref);
    assert.equal(asset.headers["content-type"], ext === "js" ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8");
    assert.equal(createHash("sha256").update(asset.body).digest("hex").slice(0, 12), hash, `${ref}: named by its content`);
    assert.ok(asset.body.equals(readFileSync(sources[stem])), `${ref}: the bytes of ${sources[stem]}`);
    seen.add(stem);
  }
  assert.deepEqual([...seen].sort(), Object.keys(sources).sort());
  // The start-up script reads the document from this service.
  const script = readFileSync(sources.docs, "utf8");
  assert.match(script, /url: "\/openapi\.json"/);
  assert.doesNotMatch(html + script, /https?:\/\//);
  // Every embedded file is a documented route.
  for (const ref of refs) assert.ok(document.paths[ref]?.get, `${ref} is in the document`);
  const missing = await get(service.port, "/docs/assets/swagger-ui.000000000000.css");
  assert.equal(missing.status, 404);
});
