// /dashboard: the markets the service has stored, the offers of a market's
// newest fetch and its price series. Plain JS on the service's own API
// (docs/dashboard.md); uPlot draws the chart.
//
// Refresh: every POLL_MS the page asks for the market's newest fetch with the
// ETag of the answer it holds (If-None-Match); an unchanged answer is a 304
// with no body, and nothing is parsed or redrawn. The series is asked again
// when that answer changed (a new fetch was stored), when the selection
// changed, and once per bucket (its newest bucket is still filling). A hidden
// tab does not poll.
//
// The API key is asked once and kept in sessionStorage (this tab, until it
// closes); it travels only in the X-API-Key header, never in a URL.
"use strict";

(() => {
  const POLL_MS = 5000;
  const MARKETS_EVERY_MS = 60000;
  const REQUEST_TIMEOUT_MS = 10000;
  const KEY_STORAGE = "p2p-dashboard.api-key";
  const ETAG_CACHE_MAX = 32;

  const $ = (id) => document.getElementById(id);
  const el = {
    market: $("market"), method: $("payment-method"), window: $("window"), status: $("status"),
    forget: $("forget-key"), keyForm: $("key-form"), key: $("key"), keyMessage: $("key-message"),
    board: $("board"), chart: $("chart"), chartEmpty: $("chart-empty"),
    rows: $("offers").tBodies[0], offersEmpty: $("offers-empty"),
    sum: {
      best: $("sum-best"), median: $("sum-median"), worst: $("sum-worst"), spread: $("sum-spread"),
      count: $("sum-count"), available: $("sum-available"), fetched: $("sum-fetched"),
    },
  };

  // ---- the API ------------------------------------------------------------

  class KeyRefused extends Error {}
  class ApiError extends Error {
    constructor(status, detail) {
      super(`${status}${detail ? `: ${detail}` : ""}`);
      this.status = status;
    }
  }

  let apiKey = sessionStorage.getItem(KEY_STORAGE);
  const etags = new Map(); // url -> {etag, data}: the answer a 304 stands for

  // GET a JSON answer; {data, changed}. changed is false for a 304.
  async function getJson(path, params) {
    const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== ""));
    const url = query.size ? `${path}?${query}` : path;
    const held = etags.get(url);
    const headers = { Accept: "application/json", "X-API-Key": apiKey };
    if (held) headers["If-None-Match"] = held.etag;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
    let res;
    try {
      // no-store: the browser's own cache would answer a 304 with the stored
      // 200 and hide it; the page keeps the answers itself (etags).
      res = await fetch(url, { headers, cache: "no-store", signal: abort.signal });
    } catch (e) {
      throw new ApiError(0, abort.signal.aborted ? "no answer in time" : "service unreachable");
    } finally {
      clearTimeout(timer);
    }
    if (res.status === 304 && held) return { data: held.data, changed: false };
    if (res.status === 401) throw new KeyRefused();
    if (!res.ok) {
      let detail = "";
      try {
        const body = await res.json();
        detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
      } catch { /* not JSON: the status says it */ }
      throw new ApiError(res.status, detail);
    }
    const data = await res.json();
    const etag = res.headers.get("ETag");
    if (etag) {
      etags.delete(url);
      etags.set(url, { etag, data });
      if (etags.size > ETAG_CACHE_MAX) etags.delete(etags.keys().next().value);
    }
    return { data, changed: true };
  }

  // ---- formatting -----------------------------------------------------------

  const number = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 8 });
  const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 2 });
  const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const fmt = (v) => (v === null || v === undefined ? "—" : number.format(v));
  const ago = (ms) => {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 90) return `${s} s ago`;
    if (s < 5400) return `${Math.round(s / 60)} min ago`;
    return `${Math.round(s / 3600)} h ago`;
  };

  // ---- state ----------------------------------------------------------------

  const marketId = (m) => `${m.exchange}:${m.asset}/${m.fiat}:${m.trade_type}`;
  const marketLabel = (m) => `${m.exchange} · ${m.asset}/${m.fiat} · ${m.trade_type}`;

  const hash = new URLSearchParams(location.hash.slice(1));
  const state = {
    markets: [],
    market: null, // one of markets
    wanted: hash.get("market"), // from the address, until the list arrives
    method: hash.get("payment_method") ?? "",
    window: hash.get("window") ?? el.window.value,
    snapshot: null, // the market's entry of /api/v1/snapshot
    series: null,
    seriesKey: "", // the selection the series belongs to
    seriesAt: 0, // when it was asked (ms)
    marketsAt: 0,
    generation: 0, // bumped on every selection change: late answers are dropped
    timer: 0,
    running: false,
  };
  if ([...el.window.options].some((o) => o.value === state.window)) el.window.value = state.window;
  else state.window = el.window.value;

  function remember() {
    const h = new URLSearchParams();
    if (state.market) h.set("market", marketId(state.market));
    h.set("window", state.window);
    if (state.method) h.set("payment_method", state.method);
    history.replaceState(null, "", `#${h}`);
  }

  function status(text, level = "") {
    el.status.textContent = text;
    el.status.className = `status ${level}`;
  }

  // ---- the key --------------------------------------------------------------

  function askForKey(message) {
    stop();
    el.board.hidden = true;
    el.forget.hidden = true;
    el.keyForm.hidden = false;
    el.keyMessage.textContent = message ?? "";
    status(message ? "API key refused" : "", message ? "bad" : "");
    el.key.value = "";
    el.key.focus();
  }

  el.keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = el.key.value.trim();
    if (!key) return;
    apiKey = key;
    sessionStorage.setItem(KEY_STORAGE, key);
    el.key.value = "";
    begin();
  });

  el.forget.addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    apiKey = null;
    etags.clear();
    askForKey();
  });

  function refused() {
    sessionStorage.removeItem(KEY_STORAGE);
    apiKey = null;
    etags.clear();
    askForKey("The service refused this API key (401 Invalid API Key). Check it and enter it again.");
  }

  // ---- polling --------------------------------------------------------------

  function begin() {
    el.keyForm.hidden = true;
    el.board.hidden = false;
    el.forget.hidden = false;
    state.running = true;
    state.marketsAt = 0;
    status("Loading…");
    poll();
  }

  function stop() {
    state.running = false;
    clearTimeout(state.timer);
  }

  function schedule(ms = POLL_MS) {
    clearTimeout(state.timer);
    if (state.running && !document.hidden) state.timer = setTimeout(poll, ms);
  }

  document.addEventListener("visibilitychange", () => {
    if (state.running && !document.hidden) poll();
  });

  let polling = false;
  let again = false;
  async function poll() {
    if (!state.running) return;
    if (polling) { again = true; return; } // one round at a time; run once more after it
    polling = true;
    clearTimeout(state.timer);
    try {
      await round();
    } catch (e) {
      if (e instanceof KeyRefused) { polling = false; again = false; refused(); return; }
      const text = e instanceof ApiError
        ? e.status === 0 ? `Service unreachable (${e.message.replace(/^0: /, "")}); retrying` : `Error ${e.message}; retrying`
        : `Error: ${e.message}`;
      status(text, "bad");
      if (!(e instanceof ApiError)) console.error(e);
    }
    polling = false;
    if (again) { again = false; poll(); } else schedule();
  }

  async function round() {
    const now = Date.now();
    if (!state.markets.length || now - state.marketsAt >= MARKETS_EVERY_MS) {
      const { data, changed } = await getJson("/api/v1/markets", {});
      state.marketsAt = now;
      if (changed) showMarkets(data);
    }
    if (!state.market) {
      status("No market has stored offers yet (SCRAPE_TARGETS, or a fetch through /api/v1/…/offers); waiting", "warn");
      return;
    }
    const generation = state.generation;
    const m = state.market;
    const snap = await getJson("/api/v1/snapshot",
      { exchange: m.exchange, fiat: m.fiat, asset: m.asset, trade_type: m.trade_type });
    if (generation !== state.generation) return;
    const entry = snap.data.markets.find((x) => marketId(x) === marketId(m)) ?? null;
    if (snap.changed || !state.snapshot) {
      state.snapshot = entry;
      showMethods();
      showOffers();
    }
    const key = seriesKey();
    const bucketMs = (state.series?.bucket_seconds ?? 60) * 1000;
    if (snap.changed || key !== state.seriesKey || now - state.seriesAt >= bucketMs) {
      const series = await getJson("/api/v1/series", seriesParams());
      if (generation !== state.generation) return;
      state.seriesAt = now;
      if (series.changed || key !== state.seriesKey) {
        state.series = series.data;
        state.seriesKey = key;
        showSeries();
      }
    }
    status(`Updated ${clock.format(new Date())}${snap.changed ? "" : " · unchanged"} · every ${POLL_MS / 1000} s`);
  }

  function seriesParams() {
    const m = state.market;
    return { exchange: m.exchange, fiat: m.fiat, asset: m.asset, trade_type: m.trade_type,
             window: state.window, payment_method: state.method };
  }
  const seriesKey = () => JSON.stringify(seriesParams());

  // A selection changed: drop answers in flight, ask now.
  function reselect() {
    state.generation += 1;
    remember();
    poll();
  }

  // ---- the market picker ------------------------------------------------------

  function showMarkets(markets) {
    state.markets = markets;
    const current = state.market ? marketId(state.market) : state.wanted;
    el.market.replaceChildren(...markets.map((m) => {
      const option = new Option(marketLabel(m), marketId(m));
      option.title = `first stored ${new Date(m.first_seen).toLocaleString()}, newest ${new Date(m.last_seen).toLocaleString()}`;
      return option;
    }));
    el.market.disabled = markets.length === 0;
    const chosen = markets.find((m) => marketId(m) === current) ?? markets[0] ?? null;
    const changed = (chosen && marketId(chosen)) !== (state.market && marketId(state.market));
    state.market = chosen;
    if (chosen) el.market.value = marketId(chosen);
    if (changed) {
      state.generation += 1;
      state.snapshot = null;
      remember();
    }
  }

  el.market.addEventListener("change", () => {
    state.market = state.markets.find((m) => marketId(m) === el.market.value) ?? null;
    state.snapshot = null;
    state.method = "";
    reselect();
  });
  el.window.addEventListener("change", () => {
    state.window = el.window.value;
    reselect();
  });
  el.method.addEventListener("change", () => {
    state.method = el.method.value;
    showOffers();
    reselect();
  });

  // ---- the offers of the newest fetch -----------------------------------------

  function showMethods() {
    const names = new Set();
    for (const o of state.snapshot?.offers ?? []) for (const p of o.payment_methods) names.add(p);
    if (state.method) names.add(state.method); // kept while the newest fetch lacks it
    const sorted = [...names].sort((a, b) => a.localeCompare(b));
    el.method.replaceChildren(new Option("Any", ""), ...sorted.map((n) => new Option(n, n)));
    el.method.value = state.method;
    el.method.disabled = sorted.length === 0;
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text; // names come from the exchanges: never parsed as HTML
    if (className) td.className = className;
    return td;
  }

  function showOffers() {
    const snap = state.snapshot;
    const offers = (snap?.offers ?? []).filter((o) => !state.method || o.payment_methods.includes(state.method));
    const rows = offers.map((o, i) => {
      const row = document.createElement("tr");
      row.dataset.id = o.id;
      row.dataset.externalId = o.external_id;
      cell(row, String(i + 1), "num");
      cell(row, fmt(o.price), "num price");
      cell(row, `${fmt(o.available)} ${o.asset}`, "num");
      cell(row, `${fmt(o.min_limit)} – ${fmt(o.max_limit)} ${o.fiat}`, "num");
      const methods = cell(row, "");
      for (const name of o.payment_methods) {
        const tag = document.createElement("span");
        tag.className = name === state.method ? "method on" : "method";
        tag.textContent = name;
        methods.append(tag);
      }
      const who = cell(row, o.advertiser, o.advertiser === "Unknown" ? "unknown" : "");
      if (o.merchant) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = "merchant";
        who.append(badge);
      }
      cell(row, o.advertiser_orders_30d === null ? "—" : integer.format(o.advertiser_orders_30d), "num");
      cell(row, o.advertiser_completion_rate === null ? "—" : percent.format(o.advertiser_completion_rate), "num");
      return row;
    });
    el.rows.replaceChildren(...rows);
    el.offersEmpty.hidden = rows.length > 0 || !snap;
    const table = el.rows.parentElement;
    table.dataset.market = snap ? marketId(snap) : "";
    table.dataset.fetchedAt = snap?.fetched_at ?? "";
    table.dataset.paymentMethod = state.method;
    showSummary(offers);
  }

  // The rows shown, summed as the snapshot sums them (best first; the median
  // of an even count is the mean of the two middle prices).
  function showSummary(offers) {
    const prices = offers.map((o) => o.price);
    const sorted = [...prices].sort((a, b) => a - b);
    const n = sorted.length;
    const median = n === 0 ? null : n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    const best = n ? prices[0] : null;
    const worst = n ? prices[n - 1] : null;
    el.sum.best.textContent = fmt(best);
    el.sum.median.textContent = fmt(median);
    el.sum.worst.textContent = fmt(worst);
    el.sum.spread.textContent = n
      ? `${fmt(Math.abs(worst - best))} (${percent.format(Math.abs(worst - best) / best)})` : "—";
    el.sum.count.textContent = String(n);
    el.sum.available.textContent = n
      ? `${fmt(offers.reduce((s, o) => s + o.available, 0))} ${state.snapshot.asset}` : "—";
    showAge();
  }

  function showAge() {
    const at = state.snapshot?.fetched_at;
    el.sum.fetched.textContent = at ? `${clock.format(new Date(at))} (${ago(Date.now() - Date.parse(at))})` : "—";
  }
  setInterval(() => { if (!document.hidden && state.snapshot) showAge(); }, 1000);

  // ---- the chart ---------------------------------------------------------------

  let plot = null;
  let plotSide = "";

  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

  const isolated = (values) => {
    const out = [];
    for (let i = 0; i < values.length; i++)
      if (values[i] !== null && (values[i - 1] ?? null) === null && (values[i + 1] ?? null) === null) out.push(i);
    return out;
  };

  function makePlot(side) {
    plot?.destroy();
    const axis = { stroke: css("--dim"), grid: { stroke: css("--line"), width: 1 }, ticks: { stroke: css("--line") } };
    const value = (u, v) => fmt(v);
    // A line needs two neighbouring buckets; a bucket between gaps (the first
    // fetch of a new market, say) is drawn as a dot instead.
    const points = { show: true, size: 5, filter: (u, i) => isolated(u.data[i]) };
    const best = 1, worst = 3;
    plot = new uPlot({
      width: el.chart.clientWidth || 800,
      height: 260,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true }, spread: { auto: true } },
      series: [
        {},
        { label: "Best", stroke: css("--best"), width: 2, value, points },
        { label: "Median", stroke: css("--median"), width: 1.5, value, points },
        { label: "Worst", stroke: css("--worst"), width: 1.5, value, points },
        { label: "Spread", stroke: css("--dim"), width: 1, dash: [4, 4], scale: "spread", value, points },
      ],
      // The band between best and worst is the spread; which line is on top follows the side.
      bands: [{ series: side === "BUY" ? [worst, best] : [best, worst], fill: "rgba(79, 195, 247, 0.08)" }],
      axes: [
        { ...axis },
        { ...axis, size: 70, values: (u, ticks) => ticks.map((t) => number.format(t)) },
        { ...axis, scale: "spread", side: 1, size: 60, grid: { show: false },
          values: (u, ticks) => ticks.map((t) => number.format(t)) },
      ],
    }, [[], [], [], [], []], el.chart);
    plotSide = side;
  }

  new ResizeObserver(() => {
    if (plot && el.chart.clientWidth) plot.setSize({ width: el.chart.clientWidth, height: 260 });
  }).observe(el.chart);

  function showSeries() {
    const s = state.series;
    if (!plot || plotSide !== s.trade_type) makePlot(s.trade_type);
    const points = s.points;
    const spread = points.map((p) => (p.best_price === null ? null : Math.abs(p.worst_price - p.best_price)));
    plot.setData([
      points.map((p) => Date.parse(p.time) / 1000),
      points.map((p) => p.best_price),
      points.map((p) => p.median_price),
      points.map((p) => p.worst_price),
      spread,
    ]);
    el.chartEmpty.hidden = points.some((p) => p.count > 0);
    el.chart.dataset.points = String(plot.data[0].length);
    el.chart.dataset.market = marketId(s);
    el.chart.dataset.window = s.window;
    el.chart.dataset.bucket = s.bucket;
    el.chart.dataset.paymentMethod = state.method;
  }

  // What the chart holds (uPlot's arrays: times, best, median, worst,
  // spread), for the browser test and a curious operator's console.
  window.p2pDashboard = Object.freeze({ chartData: () => plot?.data ?? null });

  // ---- start ---------------------------------------------------------------------

  if (typeof uPlot !== "function") {
    status("The chart library did not load", "bad");
    return;
  }
  if (apiKey) begin();
  else askForKey();
})();
