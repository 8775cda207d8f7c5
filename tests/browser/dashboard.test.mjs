// /dashboard in headless Chromium (ctest browser-dashboard): Debian's
// chromium driven by playwright-core, against the real binary on a database
// of its own (TEST_DATABASE_URL's cluster, through psql) and the replay
// exchange. What the page shows is compared with the database and with the
// API the page reads:
//
// - it loads with no console error, no page error, no failed request and no
//   error answer, and asks for the key before it asks the API anything;
// - after the key: the table holds exactly the offers of the chosen market's
//   newest fetch (ids from SQL), best first; the chart holds as many points
//   as /api/v1/series answers, with the same prices;
// - changing the market changes both, changing the window or the payment
//   method changes the chart (and the method the table);
// - polling sends If-None-Match and gets 304s while nothing changes; a new
//   fetch stored by the service shows up by itself;
// - a wrong key gets a clear message and the key form again, and the key is
//   in no URL the page asked for;
// - a screenshot: $P2P_BUILD_DIR/dashboard.png, or P2P_DASHBOARD_SCREENSHOT
//   (scripts/dashboard-screenshot writes docs/img/dashboard.png with it).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";

import { apiKey, createDatabase, get, startReplay, startService, withKey } from "../api/service.mjs";

const { chromium } = await import("playwright-core").catch(() => {
  throw new Error("tests/browser/node_modules is missing or incomplete: run scripts/deps (npm ci in tests/browser)");
});
const chromiumPath = process.env.P2P_CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: run scripts/deps (Debian package chromium)`);

const WAIT_MS = 15000; // every wait for the page has this deadline
const screenshot = process.env.P2P_DASHBOARD_SCREENSHOT ?? join(process.env.P2P_BUILD_DIR ?? ".", "dashboard.png");

// The markets the test stores, as the page names them (exchange:ASSET/FIAT:SIDE).
const fetches = [
  { id: "binance:USDT/VES:BUY", target: "/api/v1/binance/offers?fiat=VES&asset=USDT&tradeType=BUY" },
  { id: "bybit:USDT/VES:SELL", target: "/api/v1/bybit/offers?fiat=VES&asset=USDT&tradeType=SELL" },
  { id: "binance:BTC/ARS:SELL", target: "/api/v1/binance/offers?fiat=ARS&asset=BTC&tradeType=SELL" },
];
const parse = (id) => {
  const [exchange, pair, trade_type] = id.split(":");
  const [asset, fiat] = pair.split("/");
  return { exchange, asset, fiat, trade_type };
};

let db, replay, service, browser, page, psql;
const seen = { console: [], pageErrors: [], failed: [], errors: [], requests: [] };

before(async () => {
  db = createDatabase("browser_dashboard");
  psql = (sql, ...args) =>
    execFileSync("psql", [db.url, "-v", "ON_ERROR_STOP=1", "-qAt", ...args.flatMap((a, i) => ["-v", `p${i + 1}=${a}`])], {
      input: sql,
      encoding: "utf8",
    }).trim();
  replay = await startReplay();
  service = await startService(
    { DATABASE_URL: db.url, BINANCE_BASE_URL: replay.url, BYBIT_BASE_URL: replay.url },
    { readyPath: "/readyz", readyStatus: 200 },
  );
  for (const f of fetches) assert.equal((await get(service.port, f.target, withKey)).status, 200, f.target);
  history();
  // The first market fetched again: its newest fetch is the one to show, not both.
  assert.equal((await get(service.port, fetches[0].target, withKey)).status, 200);

  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, timeout: 30000 });
  page = await browser.newPage({ viewport: { width: 1280, height: 720 }, locale: "en-US", timezoneId: "UTC" });
  page.setDefaultTimeout(WAIT_MS);
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") seen.console.push(`${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => seen.pageErrors.push(String(e)));
  page.on("requestfailed", async (r) => {
    // Chromium ends a fetch answered without a body (304) in loadingFailed,
    // net::ERR_ABORTED, though the page's fetch resolves with the 304: a
    // request that got its 304 answer did not fail.
    const answer = await r.response().catch(() => null);
    if (answer?.status() === 304) return;
    seen.failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
  });
  page.on("request", (r) => seen.requests.push({ url: r.url(), headers: r.headers() }));
  page.on("response", (r) => { if (r.status() >= 400) seen.errors.push(`${r.status()} ${r.url()}`); });
});

after(async () => {
  try {
    await browser?.close();
    if (service) assert.equal(await service.stop(), 0, `exit after SIGTERM; output:\n${service.output()}`);
  } finally {
    await replay?.stop();
    db?.drop();
  }
});

// Past fetches for the chart: each stored batch copied 287 times, every 5
// minutes back over 24 hours (as a scraper would store them), its prices moved a little (a copy keeps the
// payment methods, both their names and their links).
function history() {
  psql(`
    WITH src AS (
      SELECT o.*, k, o.fetched_at - k * interval '5 minutes' AS at,
             round(o.price * (1 + 0.01 * sin(k / 16.0) + 0.002 * sin(k / 2.7))::numeric, 8) AS moved
      FROM offers o CROSS JOIN generate_series(1, 287) AS k),
    ins AS (
      INSERT INTO offers (exchange, external_id, fetched_at, fiat, asset, trade_type, price, available, min_limit,
                          max_limit, advertiser, payment_methods, advertiser_orders_30d, advertiser_completion_rate,
                          merchant)
      SELECT exchange, external_id, at, fiat, asset, trade_type, moved, available, min_limit, max_limit, advertiser,
             payment_methods, advertiser_orders_30d, advertiser_completion_rate, merchant FROM src
      RETURNING id, exchange, external_id, fetched_at, fiat, asset, trade_type)
    INSERT INTO offer_payment_methods (offer_id, payment_method_id)
    SELECT ins.id, opm.payment_method_id FROM ins
    JOIN src ON (src.exchange, src.external_id, src.at, src.fiat, src.asset, src.trade_type)
              = (ins.exchange, ins.external_id, ins.fetched_at, ins.fiat, ins.asset, ins.trade_type)
    JOIN offer_payment_methods opm ON opm.offer_id = src.id;`);
}

// The ids of the market's newest fetch, best first (BUY: lowest price),
// optionally only those that accept `method`: SQL of its own, not the API's.
function newestOffers(id, method = "") {
  const m = parse(id);
  const order = m.trade_type === "BUY" ? "ASC" : "DESC";
  const out = psql(
    `SELECT o.id, o.price FROM offers o
     WHERE (o.exchange, o.fiat, o.asset, o.trade_type) = (:'p1', :'p2', :'p3', :'p4')
       AND o.fetched_at = (SELECT max(fetched_at) FROM offers x WHERE (x.exchange, x.fiat, x.asset, x.trade_type)
                                                                     = (:'p1', :'p2', :'p3', :'p4'))
       AND (:'p5' = '' OR EXISTS (SELECT 1 FROM offer_payment_methods opm JOIN payment_methods pm
                                  ON pm.id = opm.payment_method_id WHERE opm.offer_id = o.id AND pm.name = :'p5'))
     ORDER BY o.price ${order}`,
    m.exchange, m.fiat, m.asset, m.trade_type, method);
  return out ? out.split("\n").map((l) => { const [oid, price] = l.split("|"); return { id: oid, price: Number(price) }; }) : [];
}

const newestFetchTime = (id) => {
  const m = parse(id);
  return psql(`SELECT to_char(max(fetched_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM offers
               WHERE (exchange, fiat, asset, trade_type) = (:'p1', :'p2', :'p3', :'p4')`, m.exchange, m.fiat, m.asset, m.trade_type);
};

async function series(id, window, method = "") {
  const m = parse(id);
  const q = new URLSearchParams({ ...m, window, ...(method ? { payment_method: method } : {}) });
  const answer = await get(service.port, `/api/v1/series?${q}`, withKey);
  assert.equal(answer.status, 200, answer.body.toString());
  return JSON.parse(answer.body.toString());
}

// What the page shows: table rows and the chart's data (uPlot's own arrays).
const tableOf = () =>
  page.$$eval("#offers tbody tr", (rows) => rows.map((r) => ({ id: r.dataset.id, price: r.cells[1].textContent })));
const chartOf = () =>
  page.$eval("#chart", (c) => ({ ...c.dataset }));

// Waits until the table and the chart show `id` (and `window`, `method`).
async function waitFor(id, window, method = "") {
  await page.waitForFunction(
    ([id, window, method]) => {
      const t = document.querySelector("#offers");
      const c = document.querySelector("#chart");
      return t.dataset.market === id && t.dataset.paymentMethod === method && c.dataset.market === id &&
        c.dataset.window === window && c.dataset.paymentMethod === method;
    },
    [id, window, method],
    { timeout: WAIT_MS },
  );
}

async function checkTable(id, method = "") {
  const expected = newestOffers(id, method);
  assert.ok(expected.length > 0, `${id} ${method}: the database has offers`);
  const shown = await tableOf();
  assert.deepEqual(shown.map((r) => r.id).sort(), expected.map((r) => r.id).sort(), `${id} ${method}: the offers shown`);
  // Best first, as SQL orders them (ties may come in any order).
  const priceOf = new Map(expected.map((r) => [r.id, r.price]));
  assert.deepEqual(shown.map((r) => priceOf.get(r.id)), expected.map((r) => r.price), `${id}: best first`);
  if (method) {
    const methods = await page.$$eval("#offers tbody tr", (rows, m) =>
      rows.map((r) => [...r.cells[4].querySelectorAll(".method")].some((s) => s.textContent === m)), method);
    assert.ok(methods.every(Boolean), `every row shown accepts ${method}`);
  }
}

async function checkChart(id, window, method = "") {
  const api = await series(id, window, method);
  const data = await page.evaluate(() => window.p2pDashboard.chartData());
  const chart = await chartOf();
  assert.equal(Number(chart.points), api.points.length, `${id} ${window}: points in the chart`);
  assert.equal(chart.bucket, api.bucket);
  assert.ok(api.points.filter((p) => p.count > 0).length >= (window === "1h" ? 2 : 50), `${id} ${window}: the series has data`);
  if (data) {
    assert.equal(data[0].length, api.points.length);
    // The same prices where both have the bucket (a bucket may pass between the two asks).
    const byTime = new Map(api.points.map((p) => [Date.parse(p.time) / 1000, p]));
    let compared = 0;
    data[0].forEach((t, i) => {
      const p = byTime.get(t);
      if (!p || i === data[0].length - 1) return; // the newest bucket is still filling
      assert.deepEqual([data[1][i], data[2][i], data[3][i]], [p.best_price, p.median_price, p.worst_price], `${id} at ${t}`);
      compared += 1;
    });
    assert.ok(compared >= api.points.length - 2, `${compared} points compared`);
  }
}

const noTrouble = (what) => {
  assert.deepEqual(seen.console, [], `${what}: console`);
  assert.deepEqual(seen.pageErrors, [], `${what}: page errors`);
  assert.deepEqual(seen.failed, [], `${what}: failed requests`);
  assert.deepEqual(seen.errors, [], `${what}: error answers`);
};

test("the page asks for the key first and loads with no error", async () => {
  const answer = await page.goto(`http://127.0.0.1:${service.port}/dashboard`);
  assert.equal(answer.status(), 200);
  await page.waitForSelector("#key-form:not([hidden])");
  assert.ok(await page.isHidden("#board"));
  await page.waitForLoadState("networkidle");
  assert.deepEqual(seen.requests.filter((r) => r.url.includes("/api/")), [], "no API request before the key");
  const foreign = seen.requests.filter((r) => !r.url.startsWith(`http://127.0.0.1:${service.port}/`) && !r.url.startsWith("data:"));
  assert.deepEqual(foreign, [], "nothing from outside the service");
  noTrouble("before the key");
});

test("after the key: the newest offers of the first market and its series", async () => {
  await page.fill("#key", apiKey);
  await page.press("#key", "Enter");
  const first = fetches.map((f) => f.id).sort()[0]; // the markets list is sorted: binance:BTC/ARS:SELL
  await waitFor(first, "24h");
  await checkTable(first);
  await checkChart(first, "24h");
  assert.equal(await page.evaluate((k) => sessionStorage.getItem("p2p-dashboard.api-key") === k, apiKey), true);
  const options = await page.$$eval("#market option", (o) => o.map((x) => x.value));
  assert.deepEqual(options.sort(), fetches.map((f) => f.id).sort(), "the market picker lists the stored markets");
  noTrouble("after the key");
});

test("changing the market updates the table and the chart", async () => {
  await page.selectOption("#market", fetches[0].id);
  await waitFor(fetches[0].id, "24h");
  await checkTable(fetches[0].id);
  await checkChart(fetches[0].id, "24h");
  assert.equal((await tableOf()).length, newestOffers(fetches[0].id).length, "one fetch shown, not both");
  noTrouble("market changed");
});

test("changing the window updates the chart", async () => {
  await page.selectOption("#window", "1h");
  await waitFor(fetches[0].id, "1h");
  await checkChart(fetches[0].id, "1h");
  await checkTable(fetches[0].id);
  noTrouble("window changed");
});

test("the payment method filter narrows the table and the series", async () => {
  const method = "Pago Movil";
  await page.selectOption("#payment-method", method);
  await waitFor(fetches[0].id, "1h", method);
  await checkTable(fetches[0].id, method);
  await checkChart(fetches[0].id, "1h", method);
  assert.ok((await tableOf()).length < newestOffers(fetches[0].id).length, "the filter drops some offers");
  await page.selectOption("#payment-method", "");
  await waitFor(fetches[0].id, "1h");
  await checkTable(fetches[0].id);
  noTrouble("payment method");
});

test("polling gets 304s while nothing changes and shows a new fetch by itself", async () => {
  const snapshots = () => seen.requests.filter((r) => r.url.includes("/api/v1/snapshot?"));
  const before = snapshots().length;
  const notModified = [];
  const onResponse = (r) => { if (r.url().includes("/api/v1/snapshot?") && r.status() === 304) notModified.push(r.url()); };
  page.on("response", onResponse);
  try {
    const deadline = Date.now() + WAIT_MS;
    while (notModified.length === 0 && Date.now() < deadline) await page.waitForTimeout(200);
    assert.ok(notModified.length > 0, "an unchanged snapshot is a 304");
    assert.ok(snapshots().slice(before).some((r) => r.headers["if-none-match"]), "polls send If-None-Match");
  } finally {
    page.off("response", onResponse);
  }
  const shownAt = await page.$eval("#offers", (t) => t.dataset.fetchedAt);
  assert.equal((await get(service.port, fetches[0].target, withKey)).status, 200, "a new fetch");
  const stored = newestFetchTime(fetches[0].id);
  assert.notEqual(Date.parse(stored), Date.parse(shownAt));
  await page.waitForFunction((at) => document.querySelector("#offers").dataset.fetchedAt !== at, shownAt, { timeout: WAIT_MS });
  const shownNow = await page.$eval("#offers", (t) => t.dataset.fetchedAt);
  assert.equal(Date.parse(shownNow), Date.parse(stored), "the newest fetch is shown");
  await checkTable(fetches[0].id);
  noTrouble("polling");
});

test("a screenshot of the dashboard", async () => {
  await page.selectOption("#window", "24h");
  await waitFor(fetches[0].id, "24h");
  await page.mouse.move(900, 260); // the cursor over the chart: the legend shows a point's values
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  assert.ok(existsSync(screenshot));
});

test("a wrong key gets a clear message and the key form again", async () => {
  const context = await browser.newContext({ locale: "en-US" });
  const wrong = await context.newPage();
  wrong.setDefaultTimeout(WAIT_MS);
  const urls = [];
  const statuses = [];
  wrong.on("request", (r) => urls.push(r.url()));
  wrong.on("response", (r) => { if (r.url().includes("/api/")) statuses.push(r.status()); });
  const pageErrors = [];
  wrong.on("pageerror", (e) => pageErrors.push(String(e)));
  try {
    await wrong.goto(`http://127.0.0.1:${service.port}/dashboard`);
    await wrong.fill("#key", "not-the-key-123");
    await wrong.press("#key", "Enter");
    await wrong.waitForSelector("#key-form:not([hidden])");
    await wrong.waitForFunction(() => document.querySelector("#key-message").textContent.length > 0);
    const message = await wrong.textContent("#key-message");
    assert.match(message, /refused this API key/);
    assert.match(message, /401/);
    assert.ok(await wrong.isHidden("#board"), "no board behind a refused key");
    assert.ok(statuses.includes(401), `the API answered 401: ${statuses}`);
    assert.equal(await wrong.evaluate(() => sessionStorage.getItem("p2p-dashboard.api-key")), null, "a refused key is not kept");
    assert.deepEqual(pageErrors, []);
    // And then the right one works in the same tab.
    await wrong.fill("#key", apiKey);
    await wrong.press("#key", "Enter");
    await wrong.waitForSelector("#offers tbody tr");
    for (const u of [...urls, ...seen.requests.map((r) => r.url)]) {
      assert.ok(!u.includes(apiKey) && !u.includes("not-the-key"), `no key in ${u}`);
    }
  } finally {
    await context.close();
  }
});
