// The real binary (and, for the contract test, the replay exchange and a
// database of its own) for the node tests of tests/api. Plain node: no
// package needed here.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const root = process.env.P2P_SOURCE_DIR;
export const binary = process.env.P2P_BINARY;
if (!root || !binary) throw new Error("set P2P_SOURCE_DIR and P2P_BINARY (ctest does: tests/CMakeLists.txt)");
export const apiKey = "api-check-key-0123456789";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// One request on a fresh connection: { status, headers (lower-case), body (Buffer) }.
export function request(port, method, target, headers = {}) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks = [];
    socket.setTimeout(10000, () => socket.destroy(new Error(`${method} ${target}: timed out`)));
    socket.on("connect", () => {
      const lines = Object.entries({ Host: "127.0.0.1", Connection: "close", ...headers }).map(([k, v]) => `${k}: ${v}`);
      socket.write(`${method} ${target} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`);
    });
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      const data = Buffer.concat(chunks);
      const end = data.indexOf("\r\n\r\n");
      if (end < 0) return reject(new Error(`${method} ${target}: no response`));
      const [status, ...lines] = data.subarray(0, end).toString("latin1").split("\r\n");
      const headers = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(/^HTTP\/1\.\d (\d{3})/.exec(status)[1]), headers, body: data.subarray(end + 4) });
    });
  });
}

export const get = (port, target, headers) => request(port, "GET", target, headers);
export const withKey = { "X-API-Key": apiKey };

// A child process whose output is kept; stop() ends it (SIGTERM) and waits.
function child(command, args, env) {
  const process_ = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  process_.stdout.on("data", (c) => (output += c));
  process_.stderr.on("data", (c) => (output += c));
  const exited = new Promise((resolve) => process_.on("exit", (code) => resolve(code)));
  return {
    output: () => output,
    async stop() {
      process_.kill("SIGTERM");
      return exited;
    },
  };
}

// The service on a free port; `env` adds to (or replaces) the base settings.
// Resolves once `readyPath` answers `readyStatus`.
export async function startService(env, { readyPath = "/livez", readyStatus = 200 } = {}) {
  const port = await freePort();
  const proc = child(binary, [], {
    PATH: process.env.PATH,
    HOST: "127.0.0.1",
    PORT: String(port),
    APP_ENV: "test",
    API_KEY: apiKey,
    THREADS: "2",
    TELEMETRY_ENABLED: "false",
    SHUTDOWN_DRAIN_SECONDS: "0",
    BYBIT_PAYMENT_CATALOGUE_SECONDS: "0",
    LOG_LEVEL: "warn",
    ...env,
  });
  const deadline = Date.now() + 20000;
  for (;;) {
    const answer = await get(port, readyPath).catch(() => null);
    if (answer && answer.status === readyStatus) break;
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`the service never answered ${readyStatus} on ${readyPath}; output:\n${proc.output()}`);
    }
    await sleep(100);
  }
  return { port, output: proc.output, stop: proc.stop };
}

// The replay exchange (scripts/replay-exchange) on a free port.
export async function startReplay() {
  const dir = mkdtempSync(join(tmpdir(), "p2p-api-replay-"));
  const portFile = join(dir, "port");
  const proc = child("python3", [join(root, "scripts", "replay-exchange"), "--port", "0", "--port-file", portFile, "--quiet"], {
    PATH: process.env.PATH,
  });
  const deadline = Date.now() + 10000;
  while (!existsSync(portFile)) {
    if (Date.now() > deadline) throw new Error(`the replay exchange did not start:\n${proc.output()}`);
    await sleep(50);
  }
  const port = Number(readFileSync(portFile, "utf8"));
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A database of its own on TEST_DATABASE_URL's cluster (psql, from
// postgresql-client), dropped by drop().
export function createDatabase(prefix) {
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) throw new Error("TEST_DATABASE_URL is not set (scripts/test sets it; see docs/development.md)");
  const name = `${prefix}_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const psql = (sql) => execFileSync("psql", [admin, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], { encoding: "utf8" });
  psql(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
