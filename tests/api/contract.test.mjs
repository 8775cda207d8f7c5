// The contract between /openapi.json and the real binary (ctest api-contract):
// the service on a database of its own (TEST_DATABASE_URL's cluster, via
// psql) and the replay exchange, asked by every documented operation with
// what the document says:
//
// - every documented path and method is a route, and the path has no method
//   the document does not list (405's Allow);
// - the key is required exactly where the document says;
// - every documented parameter is accepted: its example is not a 422 and
//   gives a documented status; a value its schema forbids (derived from the
//   schema: a number that is not one, a bound + 1, a string off its pattern,
//   too long, off its enum or format) is a 422 naming that parameter;
// - a documented example agrees with its own pattern (the regex clients see
//   and the check the service runs say the same);
// - each answer has a documented status and media type, and a JSON answer
//   validates against its documented schema (ajv, JSON Schema 2020-12).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { createDatabase, get, request, startReplay, startService, withKey } from "./service.mjs";

const deps = await Promise.all([
  import("@apidevtools/swagger-parser"),
  import("ajv/dist/2020.js"),
  import("ajv-formats"),
]).catch(() => {
  throw new Error("tests/api/node_modules is missing or incomplete: run scripts/deps (npm ci in tests/api)");
});
const [SwaggerParser, Ajv2020, addFormats] = deps.map((m) => m.default);

let db, replay, service, document, resolved, ajv;
before(async () => {
  db = createDatabase("api_contract");
  replay = await startReplay();
  service = await startService(
    { DATABASE_URL: db.url, BINANCE_BASE_URL: replay.url, BYBIT_BASE_URL: replay.url },
    { readyPath: "/readyz", readyStatus: 200 },
  );
  document = JSON.parse((await get(service.port, "/openapi.json")).body.toString("utf8"));
  resolved = await SwaggerParser.dereference(structuredClone(document));
  ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  // Data for the read routes: one stored fetch of each exchange.
  for (const target of ["/api/v1/binance/offers?tradeType=SELL", "/api/v1/bybit/offers"])
    assert.equal((await get(service.port, target, withKey)).status, 200, target);
});
after(async () => {
  try {
    if (service) assert.equal(await service.stop(), 0, `exit after SIGTERM; output:\n${service.output()}`);
  } finally {
    await replay?.stop();
    db?.drop();
  }
});

const operations = () =>
  Object.entries(resolved.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

// `values`: name -> value for parameters to send; path ones fill the pattern.
function target(path, op, values) {
  let out = path;
  const query = [];
  for (const p of op.parameters ?? []) {
    if (!(p.name in values)) continue;
    const value = encodeURIComponent(String(values[p.name]));
    if (p.in === "path") out = out.replace(`{${p.name}}`, value);
    else query.push(`${encodeURIComponent(p.name)}=${value}`);
  }
  return query.length ? `${out}?${query.join("&")}` : out;
}

// The examples of the required parameters (and of every path parameter).
function requiredValues(op) {
  return Object.fromEntries((op.parameters ?? []).filter((p) => p.required).map((p) => [p.name, p.example]));
}

// Values that the parameter's schema forbids.
function invalidValues(schema) {
  const out = [];
  if (schema.enum) out.push(`${schema.enum[0]}-not-listed`);
  if (schema.type === "integer") {
    out.push("1.5x");
    if (schema.maximum !== undefined) out.push(String(schema.maximum + 1));
    if (schema.minimum !== undefined) out.push(String(schema.minimum - 1));
  }
  if (schema.type === "number") {
    out.push("abc");
    if (schema.maximum !== undefined) out.push(String(schema.maximum + 1));
    if (schema.minimum !== undefined) out.push(String(schema.minimum - 1));
  }
  if (schema.type === "boolean") out.push("maybe");
  if (schema.type === "string" && !schema.enum) {
    if (schema.maxLength !== undefined) out.push("x".repeat(schema.maxLength + 1));
    if (schema.pattern) {
      const bad = ["!", "", "x".repeat(300)].find((v) => !new RegExp(schema.pattern, "u").test(v));
      assert.ok(bad !== undefined, `a value off the pattern ${schema.pattern}`);
      out.push(bad);
    }
    if (schema.format === "uuid") out.push("not-a-uuid");
    if (schema.format === "date-time") out.push("yesterday");
  }
  return out;
}

// The answer's status and media type are documented, and a JSON body fits its schema.
function checkAnswer(where, op, answer) {
  const documented = op.responses[String(answer.status)];
  assert.ok(documented, `${where}: status ${answer.status} is documented (${answer.body.toString().slice(0, 300)})`);
  if (!documented.content) return;
  const media = (answer.headers["content-type"] ?? "").split(";")[0];
  const content = documented.content[media];
  assert.ok(content, `${where}: ${answer.status} ${media} is documented (${Object.keys(documented.content)})`);
  if (media !== "application/json") return;
  const validate = ajv.compile(content.schema);
  const body = JSON.parse(answer.body.toString("utf8"));
  assert.ok(validate(body), `${where}: ${answer.status} fits its schema: ${ajv.errorsText(validate.errors)}`);
}

test("every documented operation is a route of the service, and its path has no undocumented method", async () => {
  const paths = Object.entries(resolved.paths);
  assert.ok(paths.length >= 20, `${paths.length} paths`);
  for (const [path, item] of paths) {
    const op = Object.values(item)[0];
    const answer = await request(service.port, "DELETE", target(path, op, requiredValues(op)), withKey);
    assert.equal(answer.status, 405, `DELETE ${path}`);
    const documented = Object.keys(item).map((m) => m.toUpperCase());
    if (documented.includes("GET")) documented.push("HEAD");
    assert.deepEqual(answer.headers.allow.split(", ").sort(), documented.sort(), `${path}: Allow`);
  }
});

test("the key is asked for exactly where the document says", async () => {
  for (const { path, method, op } of operations()) {
    const where = `${method.toUpperCase()} ${path}`;
    const without = await request(service.port, method.toUpperCase(), target(path, op, requiredValues(op)));
    if (op.security) {
      assert.equal(without.status, 401, where);
      assert.deepEqual(JSON.parse(without.body.toString()), { detail: "Invalid API Key" }, where);
      checkAnswer(where, op, without);
    } else {
      assert.notEqual(without.status, 401, where);
    }
  }
});

test("every documented parameter is accepted, and a value its schema forbids is a 422 naming it", async () => {
  let checked = 0;
  for (const { path, method, op } of operations()) {
    const base = requiredValues(op);
    const where = `${method.toUpperCase()} ${path}`;
    checkAnswer(`${where} (required only)`, op, await request(service.port, method.toUpperCase(), target(path, op, base), withKey));
    for (const p of op.parameters ?? []) {
      const what = `${where} ${p.in} ${p.name}`;
      if (p.schema.pattern) assert.match(String(p.example), new RegExp(p.schema.pattern, "u"), `${what}: example fits the pattern`);
      const valid = await request(service.port, method.toUpperCase(), target(path, op, { ...base, [p.name]: p.example }), withKey);
      assert.notEqual(valid.status, 422, `${what}=${p.example}: ${valid.body}`);
      checkAnswer(`${what}=${p.example}`, op, valid);
      const invalid = invalidValues(p.schema);
      assert.ok(invalid.length > 0 || p.allowEmptyValue, `${what}: its schema forbids some value (or it is a flag)`);
      for (const value of invalid) {
        const answer = await request(service.port, method.toUpperCase(), target(path, op, { ...base, [p.name]: value }), withKey);
        assert.equal(answer.status, 422, `${what}=${value.slice(0, 40)}: ${answer.body}`);
        const errors = JSON.parse(answer.body.toString()).detail;
        assert.ok(
          errors.some((e) => e.loc[0] === p.in && e.loc[1] === p.name),
          `${what}=${value.slice(0, 40)}: the 422 names it: ${JSON.stringify(errors)}`,
        );
        checkAnswer(`${what}=${value.slice(0, 40)}`, op, answer);
        checked += 1;
      }
    }
  }
  assert.ok(checked > 50, `${checked} invalid values sent`);
});
