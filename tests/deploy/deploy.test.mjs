// Offline checks of deploy/ (ctest entry `deploy`; `node --test` runs it).
//
// 1. Every manifest in deploy/k8s validates against the Kubernetes schemas of
//    kubernetes-models (version pinned in package-lock.json), with no field
//    the schema does not know (a typo such as `periodSecnds` would otherwise
//    pass the schema and be dropped by the API server).
// 2. Project rules the schemas cannot know: the probes' paths exist in the
//    real binary and mean what the manifests say; every setting in the
//    ConfigMap and Secret is a variable `p2p-dashboard --help` prints; the
//    termination grace period covers the worst-case shutdown that lib/'s
//    bounds allow; the database connection budget fits PgBouncer and
//    PostgreSQL; kustomization.yaml lists every manifest; the image's
//    runtime stage installs exactly the packages of the binary's libraries;
//    docs/operations.md names every setting.
//
// Needs P2P_BINARY (the built p2p-dashboard) and P2P_SOURCE_DIR (the
// repository); no database: the binary runs against a closed port.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, readdirSync, realpathSync } from "node:fs";
import { createServer, connect } from "node:net";
import { join } from "node:path";

// tests/deploy/node_modules comes from `npm ci` (scripts/deps runs it).
const { parseAllDocuments } = await import("yaml").catch(() => {
  throw new Error("tests/deploy/node_modules is missing or incomplete: run scripts/deps (npm ci in tests/deploy)");
});

const root = process.env.P2P_SOURCE_DIR;
const binary = process.env.P2P_BINARY;
if (!root || !binary) throw new Error("set P2P_SOURCE_DIR and P2P_BINARY (ctest does: tests/CMakeLists.txt)");
const k8sDir = join(root, "deploy", "k8s");
const read = (...parts) => readFileSync(join(root, ...parts), "utf8");

// --- the manifests -----------------------------------------------------------

const manifestFiles = readdirSync(k8sDir).filter((f) => f.endsWith(".yaml")).sort();
const documents = manifestFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(join(k8sDir, file), "utf8")).map((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`${file} #${index}: ${doc.errors[0].message}`);
    return { file, object: doc.toJS() };
  }),
);
const find = (kind, name) => {
  const found = documents.find((d) => d.object.kind === kind && d.object.metadata?.name === name);
  assert.ok(found, `no ${kind} named ${name} in deploy/k8s`);
  return found.object;
};
const appConfig = () => find("ConfigMap", "p2p-dashboard").data;
const appDeployment = () => find("Deployment", "p2p-dashboard");
const appContainer = () => appDeployment().spec.template.spec.containers.find((c) => c.name === "p2p-dashboard");

// What `p2p-dashboard --help` lists: variable -> default text.
const helpVariables = (() => {
  const help = execFileSync(binary, ["--help"], { encoding: "utf8" });
  const vars = new Map();
  for (const line of help.split("\n")) {
    const m = /^  ([A-Z][A-Z0-9_]+)\s{2,}(\S+)/.exec(line);
    if (m) vars.set(m[1], m[2]);
  }
  assert.ok(vars.size > 30, `--help listed only ${vars.size} variables:\n${help}`);
  return vars;
})();

// A setting's value: the ConfigMap's, else the binary's default.
const setting = (name) => {
  const value = appConfig()[name] ?? helpVariables.get(name);
  assert.ok(value !== undefined, `${name} is neither in the ConfigMap nor in --help`);
  return Number(value);
};

// --- 1. schemas --------------------------------------------------------------

async function modelFor({ apiVersion, kind }) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : [null, apiVersion];
  const module = group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
  return (await import(module))[kind];
}

function schemaErrors(Model, object) {
  try {
    new Model(object).validate();
    return [];
  } catch (e) {
    if (!Array.isArray(e.errors)) throw e;
    return e.errors;
  }
}

// Paths of every field in `object` ("/spec/template/..."), arrays by index.
function fieldPaths(value, path = "") {
  if (value === null || typeof value !== "object") return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  return entries.flatMap(([key, child]) => {
    const here = `${path}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
    return [...(Array.isArray(value) ? [] : [here]), ...fieldPaths(child, here)];
  });
}

function withValueAt(object, path, replacement) {
  const copy = structuredClone(object);
  const keys = path.slice(1).split("/").map((k) => k.replaceAll("~1", "/").replaceAll("~0", "~"));
  let parent = copy;
  for (const key of keys.slice(0, -1)) parent = parent[key];
  parent[keys.at(-1)] = replacement;
  return copy;
}

// The schemas allow unknown fields (Kubernetes' OpenAPI has no
// additionalProperties: false), the API server's strict field validation
// does not. A field is known if the schema checks its type: replaced by a
// value of another type (true, or [] where true is allowed), validation
// fails at exactly that path. Maps (labels, data) check their values' type
// too, so their keys count as known.
function unknownFields(Model, object) {
  return fieldPaths(object).filter((path) =>
    [true, []].every((wrong) => !schemaErrors(Model, withValueAt(object, path, wrong)).some((e) => e.instancePath === path)),
  );
}

test("every manifest validates against the Kubernetes schema, with no unknown field", async () => {
  const resources = documents.filter((d) => d.object.kind !== "Kustomization");
  assert.ok(resources.length >= 8, `only ${resources.length} resources found in deploy/k8s`);
  for (const { file, object } of resources) {
    const where = `${file}: ${object.kind} ${object.metadata?.name}`;
    const Model = await modelFor(object);
    assert.ok(Model, `${where}: kubernetes-models has no ${object.apiVersion} ${object.kind}`);
    const errors = schemaErrors(Model, object);
    assert.deepEqual(errors.map((e) => `${e.instancePath} ${e.message}`), [], `${where}: schema errors`);
    assert.deepEqual(unknownFields(Model, object), [], `${where}: fields the schema does not know`);
  }
});

test("the unknown-field check catches a misspelt field and accepts the real one", async () => {
  const probe = structuredClone(appDeployment());
  const Model = await modelFor(probe);
  const container = probe.spec.template.spec.containers[0];
  container.readinessProbe.periodSecnds = 2;
  assert.deepEqual(unknownFields(Model, probe), ["/spec/template/spec/containers/0/readinessProbe/periodSecnds"]);
});

test("kustomization.yaml lists every manifest but the example Secrets", () => {
  const kustomization = find("Kustomization", undefined);
  const expected = manifestFiles.filter((f) => f !== "kustomization.yaml" && !f.endsWith(".example.yaml"));
  assert.deepEqual([...kustomization.resources].sort(), expected);
  for (const f of manifestFiles.filter((f) => f.endsWith(".example.yaml")))
    assert.ok(documents.filter((d) => d.file === f).every((d) => d.object.kind === "Secret"), `${f}: Secrets only`);
});

// --- 2. project rules --------------------------------------------------------

test("every key of the ConfigMap and the Secret is a setting p2p-dashboard --help lists", () => {
  const keys = [
    ...Object.keys(appConfig()),
    ...Object.keys(find("Secret", "p2p-dashboard").stringData),
    ...(appContainer().env ?? []).map((e) => e.name),
  ];
  assert.deepEqual(keys.filter((k) => !helpVariables.has(k)), []);
  const sources = appContainer().envFrom.map((s) => s.configMapRef?.name ?? s.secretRef?.name);
  assert.deepEqual(sources, ["p2p-dashboard", "p2p-dashboard"]);
});

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// GET on a fresh connection: { status, body }, or null if refused.
function get(port, path) {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let data = "";
    socket.setTimeout(2000, () => socket.destroy());
    socket.on("connect", () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    socket.on("data", (chunk) => (data += chunk));
    socket.on("error", () => resolve(null));
    socket.on("close", () => {
      const m = /^HTTP\/1\.\d (\d{3})/.exec(data);
      resolve(m ? { status: Number(m[1]), body: data.slice(data.indexOf("\r\n\r\n") + 4) } : null);
    });
  });
}

test("the probes' paths exist, and with the database down liveness passes while readiness fails", async () => {
  const container = appContainer();
  const port = await freePort();
  const closed = await freePort();  // nothing listens there: the database is down
  const child = spawn(binary, [], {
    env: {
      PATH: process.env.PATH,
      HOST: "127.0.0.1",
      PORT: String(port),
      APP_ENV: "test",
      API_KEY: "deploy-check-key-0123456789",
      DATABASE_URL: `postgresql://p2p:unused@127.0.0.1:${closed}/p2p`,
      DB_CONNECT_TIMEOUT: "1",
      THREADS: "1",
      TELEMETRY_ENABLED: "false",
      SHUTDOWN_DRAIN_SECONDS: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    const deadline = Date.now() + 15000;
    while (!(await get(port, "/livez"))) {
      assert.ok(Date.now() < deadline, `the service never answered on :${port}; output:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const named = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));
    for (const kind of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      const probe = container[kind]?.httpGet;
      assert.ok(probe, `${kind}: an httpGet probe`);
      assert.equal(named[probe.port] ?? probe.port, Number(appConfig().PORT), `${kind}: the port the service listens on`);
      const answer = await get(port, probe.path);
      assert.ok(answer, `${kind} ${probe.path}: no answer`);
      assert.notEqual(answer.status, 404, `${kind} ${probe.path}: not a route of the service`);
      // A database outage must make the pod not ready, never restart it.
      const expected = kind === "readinessProbe" ? 503 : 200;
      assert.equal(answer.status, expected, `${kind} ${probe.path} with the database down: ${answer.body}`);
    }
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(await exited, 0, `exit after SIGTERM; output:\n${output}`);
});

// lib/'s shutdown budget (lib/lifecycle/stop_deadline.hpp): one shared
// deadline, drain + grace after SIGTERM, and a hard one kMargin later that
// every wait after the listener is cut to, so the stops' bounds do not add
// up. If one of these lines changes, the shutdown arithmetic of
// deploy/k8s/deployment.yaml (and this table) must be revisited.
const stopBounds = [
  ["lib/lifecycle/lifecycle.cpp", "asio::steady_timer drain(executor_, shutdown_.drain);"],
  ["lib/lifecycle/lifecycle.cpp", "stop_deadline_.begin(shutdown_.drain + shutdown_.grace);"],
  ["lib/lifecycle/stop_deadline.hpp", "static constexpr auto kMargin = std::chrono::seconds(5);"],
  ["lib/lifecycle/stop_deadline.cpp", "return std::min(std::max(at, now + own), at + kMargin - keep);"],
  ["lib/lifecycle/stop_deadline.cpp", "return std::min(now + own, Clock::time_point{Clock::duration(shared)} + kMargin);"],
  // The listener waits the grace from the end of the drain, then unwinds inside the margin.
  ["lib/http/server.cpp", "bool finished = co_await sessions_done_.wait_for(grace_);"],
  ["lib/http/server.cpp", "constexpr auto kUnwindTime = std::chrono::seconds(2);"],
  // Every later stop is cut to the hard deadline.
  ["lib/lifecycle/background_loop.cpp", "done_.wait_for(stop_deadline_.unwind_until(kStopWait)"],
  // The scraper and the migrations' retries (their advisory lock wait included) are BackgroundLoops.
  ["app/scraper.cpp", "background_.stop()"],
  ["lib/pg/schema_migrator.cpp", "asio::awaitable<void> SchemaMigrator::stop() { co_await retries_.stop(); }"],
  ["lib/http/client.cpp", "StopDeadline::of(im.ioc).unwind_until(kUnwindWait);"],
  ["lib/pg/pool.cpp", "const auto until = stop_deadline_.wait_until(kStopWait);"],
  ["lib/events/writer.cpp", "const auto flush_until = stop_deadline_.wait_until(grace_, kUnwindTime);"],
  ["lib/events/writer.cpp", "done_.wait_for(stop_deadline_.unwind_until(kUnwindTime) - Clock::now());"],
  // The process exits at most this long after the lifecycle has ended.
  ["lib/lifecycle/event_loops.hpp", "static constexpr auto kExitLinger = std::chrono::seconds(1);"],
  // Each releases its leases after its loop has stopped, bounded by its own deadline.
  ["app/scraper.cpp", "constexpr milliseconds kReleaseDeadline{1'000};"],
  ["app/retention.cpp", "constexpr milliseconds kReleaseDeadline{1'000};"],
];

test("terminationGracePeriodSeconds covers the worst-case shutdown lib/ allows", () => {
  for (const [file, line] of stopBounds) assert.ok(read(file).includes(line), `${file} no longer has: ${line}`);
  const drain = setting("SHUTDOWN_DRAIN_SECONDS");
  const grace = setting("SHUTDOWN_GRACE_SECONDS");
  const listenerUnwind = 2; // server.cpp kUnwindTime
  const stopMargin = 5; // StopDeadline::kMargin
  assert.ok(listenerUnwind <= stopMargin, "the listener's unwinding must fit the margin");
  const retention = Boolean(appConfig().OFFERS_RETENTION || appConfig().TELEMETRY_RETENTION);
  const scraper = Boolean(appConfig().SCRAPE_TARGETS);
  const worst =
    drain + // serving while not ready
    grace + // in-flight requests, and every later wait (pool, telemetry's flush) within the same deadline
    stopMargin + // unwinding what was cancelled at the shared deadline
    (retention ? 1 : 0) + // retention: releases its lease (kReleaseDeadline), counted on top
    (scraper ? 1 : 0) + // scraper: releases its targets' leases (kReleaseDeadline), counted on top
    1; // EventLoops::kExitLinger
  const spec = appDeployment().spec.template.spec;
  const margin = 2;
  assert.ok(
    spec.terminationGracePeriodSeconds >= worst + margin,
    `terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} < worst case ${worst} + ${margin} s`,
  );
  const stated = /bounded worst case = (\d+) s/.exec(read("deploy", "k8s", "deployment.yaml"));
  assert.ok(stated, "deployment.yaml states the bounded worst case in its comment");
  assert.equal(Number(stated[1]), worst, "the comment's total is the arithmetic's");

  // The endpoint must leave the Service before the listener closes.
  const ready = appContainer().readinessProbe;
  const noticed = ready.periodSeconds * ready.failureThreshold + ready.timeoutSeconds;
  assert.ok(drain > noticed, `SHUTDOWN_DRAIN_SECONDS ${drain} <= readiness detection ${noticed} s`);
  assert.equal(appDeployment().spec.strategy.rollingUpdate.maxUnavailable, 0);
  assert.ok(appContainer().resources.requests.cpu, "a CPU request, for the HPA");
});

// pgbouncer.ini's [section] key = value pairs.
function ini(text) {
  const sections = {};
  let current = null;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith(";") || line.startsWith("#")) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = sections[section[1]] = {};
      continue;
    }
    const eq = line.indexOf("=");
    current[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return sections;
}

test("the database connection budget fits PgBouncer and PostgreSQL", () => {
  const bouncerConfig = find("ConfigMap", "pgbouncer");
  const { pgbouncer, databases } = ini(bouncerConfig.data["pgbouncer.ini"]);
  const hpa = find("HorizontalPodAutoscaler", "p2p-dashboard");
  assert.equal(hpa.spec.scaleTargetRef.name, appDeployment().metadata.name);
  const pods = hpa.spec.maxReplicas + appDeployment().spec.strategy.rollingUpdate.maxSurge;
  const perPod = setting("DB_POOL_SIZE") + setting("DB_MAX_OVERFLOW") + 1; // + telemetry's own connection
  assert.ok(
    pods * perPod <= Number(pgbouncer.max_client_conn),
    `${pods} pods x ${perPod} > max_client_conn ${pgbouncer.max_client_conn}`,
  );
  assert.ok(setting("THREADS") * setting("DB_PIPELINE_CONNECTIONS") <= perPod - 1, "pipelined connections fit the pool");

  assert.equal(pgbouncer.pool_mode, "transaction");
  assert.equal(appConfig().DB_PREPARED_STATEMENTS, "false", "no named prepared statements through transaction mode");
  assert.equal(setting("DB_STATEMENT_TIMEOUT"), 0, "PgBouncer refuses statement_timeout as a startup option");
  const perBouncer = Number(pgbouncer.max_db_connections);
  assert.ok(Number(pgbouncer.default_pool_size) + Number(pgbouncer.reserve_pool_size) <= perBouncer);
  const bouncers = find("Deployment", "pgbouncer").spec.replicas;
  const maxConnections = Number(bouncerConfig.metadata.annotations["p2p-dashboard/postgres-max-connections"]);
  const direct = pods; // migrations on a direct connection, one per starting pod
  assert.ok(bouncers * perBouncer + direct + 3 <= maxConnections, "PostgreSQL's max_connections");

  // The service's DATABASE_URL goes to PgBouncer's Service and a database it serves.
  const url = new URL(find("Secret", "p2p-dashboard").stringData.DATABASE_URL);
  const service = find("Service", "pgbouncer");
  assert.equal(url.hostname, service.metadata.name);
  assert.equal(Number(url.port), service.spec.ports[0].port);
  assert.ok(databases[url.pathname.slice(1)], `pgbouncer.ini serves database ${url.pathname}`);
  const container = find("Deployment", "pgbouncer").spec.template.spec.containers[0];
  assert.equal(Number(pgbouncer.listen_port), container.ports[0].containerPort);
});

test("the image's runtime stage installs the packages of the binary's libraries, and nothing to build with", () => {
  const dockerfile = read("deploy", "Dockerfile");
  const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
  const install = /apt-get install[^\n]*\\\n((?:[^\n]*\\\n)*?)[^\n]*&& rm/.exec(runtime);
  assert.ok(install, "the runtime stage has one apt-get install");
  const installed = new Set(install[1].split(/[\s\\]+/).filter(Boolean));

  const needed = [...execFileSync("readelf", ["-d", binary], { encoding: "utf8" }).matchAll(/\(NEEDED\).*\[(.+)\]/g)].map(
    (m) => m[1],
  );
  const paths = new Map(
    [...execFileSync("ldd", [binary], { encoding: "utf8" }).matchAll(/^\s*(\S+) => (\S+)/gm)].map((m) => [m[1], m[2]]),
  );
  const packages = new Set(
    needed.map((lib) => {
      assert.ok(paths.has(lib), `ldd does not resolve ${lib}`);
      // dpkg knows a file by the path its package ships, /lib or /usr/lib (merged /usr).
      const real = realpathSync(paths.get(lib));
      for (const path of new Set([paths.get(lib), real, real.replace(/^\/usr\//, "/")])) {
        try {
          return execFileSync("dpkg", ["-S", path], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split(":")[0];
        } catch {
          // not this spelling
        }
      }
      assert.fail(`no Debian package owns ${lib} (${real})`);
    }),
  );
  assert.deepEqual([...packages].filter((p) => !installed.has(p)).sort(), [], "libraries without their package");
  // Packages of libraries the Release build links and this build does not (tests/CMakeLists.txt).
  const imageOnly = new Set((process.env.P2P_IMAGE_ONLY_PACKAGES ?? "").split(",").filter(Boolean));
  const extra = [...installed].filter((p) => !packages.has(p) && !imageOnly.has(p) && p !== "ca-certificates");
  assert.deepEqual(extra, [], "packages the binary does not need");
  assert.ok(![...installed].some((p) => /-dev$|pqxx|^g\+\+|^gcc$|build-essential|cmake/.test(p)));

  const user = /^USER (\d+):(\d+)$/m.exec(runtime);
  assert.ok(user, "a numeric USER");
  assert.equal(Number(user[1]), appDeployment().spec.template.spec.securityContext.runAsUser);
  assert.equal(Number(/^EXPOSE (\d+)$/m.exec(runtime)[1]), Number(appConfig().PORT));
  for (const path of ["/livez", "/readyz"]) assert.ok(runtime.includes(path), `the Dockerfile names ${path}`);
});

test("docs/operations.md names every setting --help lists", () => {
  const runbook = read("docs", "operations.md");
  assert.deepEqual([...helpVariables.keys()].filter((v) => !runbook.includes(`\`${v}\``)), []);
});
