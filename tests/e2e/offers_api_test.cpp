// e2e: the P2P API of the real binary against the bundled replay exchange
// (scripts/replay-exchange, fixtures in tests/fixtures/exchange) and a real
// PostgreSQL. Every test that counts rows runs on a database of its own;
// libpqxx is the independent oracle for what was stored.

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "tests/e2e/api_fixture.hpp"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

void check_offer(const Json& offers, const std::string& external_id, const std::string& price,
                 const std::string& available, const std::string& min_limit, const std::string& max_limit,
                 std::vector<std::string> methods, const std::string& advertiser) {
  const Json* o = find_by_external_id(offers, external_id);
  INFO("offer ", external_id);
  REQUIRE(o != nullptr);
  // Decimals are JSON numbers (the exact digits are checked on the raw body).
  CHECK((*o)["price"].type == Json::Type::number);
  CHECK((*o)["price"].number == std::stod(price));
  CHECK((*o)["available"].number == std::stod(available));
  CHECK((*o)["min_limit"].number == std::stod(min_limit));
  CHECK((*o)["max_limit"].number == std::stod(max_limit));
  std::sort(methods.begin(), methods.end());
  CHECK(names((*o)["payment_methods"]) == methods);
  CHECK((*o)["advertiser"].text == advertiser);
}

// Every offer of the response matches its row, read back through libpqxx.
void check_rows_match(ApiFixture& api, const Json& offers) {
  pqxx::connection c(api.db.url());
  pqxx::nontransaction tx(c);
  for (const auto& o : offers.items) {
    INFO("offer ", o["id"].text);
    auto row = tx.exec_params1(
        "SELECT exchange, external_id, fiat, asset, trade_type, advertiser,"
        " trim_scale(price)::text, trim_scale(available)::text, trim_scale(min_limit)::text,"
        " trim_scale(max_limit)::text, to_char(fetched_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
        " (SELECT coalesce(string_agg(pm.name, '|' ORDER BY pm.name), '') FROM offer_payment_methods opm"
        "  JOIN payment_methods pm ON pm.id = opm.payment_method_id WHERE opm.offer_id = o.id)"
        " FROM offers o WHERE id = $1",
        o["id"].text);
    CHECK(row[0].as<std::string>() == o["exchange"].text);
    CHECK(row[1].as<std::string>() == o["external_id"].text);
    CHECK(row[2].as<std::string>() == o["fiat"].text);
    CHECK(row[3].as<std::string>() == o["asset"].text);
    CHECK(row[4].as<std::string>() == o["trade_type"].text);
    CHECK(row[5].as<std::string>() == o["advertiser"].text);
    CHECK(std::stod(row[6].as<std::string>()) == o["price"].number);
    CHECK(std::stod(row[7].as<std::string>()) == o["available"].number);
    CHECK(std::stod(row[8].as<std::string>()) == o["min_limit"].number);
    CHECK(std::stod(row[9].as<std::string>()) == o["max_limit"].number);
    CHECK(row[10].as<std::string>() == o["timestamp"].text);
    std::string joined;
    for (const auto& n : names(o["payment_methods"])) joined += (joined.empty() ? "" : "|") + n;
    CHECK(row[11].as<std::string>() == joined);
  }
}

}  // namespace

TEST_CASE("the root answers with the service's message, without a key") {
  ReplayExchange replay;
  ApiFixture api(replay);
  auto r = http_get(api.service.port(), "/");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(parse_json(r->body)["message"].text == "P2P Dashboard API is running!");
}

TEST_CASE("every /api/ route answers 401 without the key or with a wrong one, before any work") {
  ReplayExchange replay;
  ApiFixture api(replay);
  for (const char* target : {"/api/v1/binance/offers", "/api/v1/bybit/offers", "/api/v1/binance/pairs",
                                   "/api/v1/offers", "/api/v1/offers/00000000-0000-0000-0000-000000000000",
                                   "/api/v1/payment-methods", "/api/v1/stats"}) {
    for (const std::string& headers : {std::string(), std::string("X-API-Key: wrong-key-0123456789\r\n")}) {
      auto r = http_get(api.service.port(), target, headers);
      REQUIRE(r);
      INFO(target, " with '", headers, "'");
      CHECK(r->status == 401);
      CHECK(parse_json(r->body)["detail"].text == "Invalid API Key");
    }
  }
  CHECK(calls_but_catalogue(replay) == 0);
}

TEST_CASE("binance offers: mapped from messy JSON, stored in one batch, returned exactly as stored") {
  ReplayExchange replay;
  ApiFixture api(replay);
  const auto raw = api.get(binance_sell + "&rows=20");
  // The stored digits, trailing zeros dropped: no binary rounding on the way out.
  CHECK(contains(raw.body, "\"price\":36.55,\"available\":1234.5,\"min_limit\":500,\"max_limit\":120000,"));
  auto offers = parse_json(raw.body);
  REQUIRE(offers.type == Json::Type::array);
  CHECK(offers.items.size() == binance_valid);
  CHECK(api.count("SELECT count(*) FROM offers") == binance_valid);

  check_offer(offers, "11580000000000000001", "36.5", "1500.25", "100", "50000", {"Bank Transfer", "Pago Movil"},
              "CryptoVE");
  check_offer(offers, "11580000000000000002", "36.55", "1234.5", "500", "120000", {"Banesco", "Mercantil"},
              "DolarExpress");
  check_offer(offers, "11580000000000000003", "36.6", "820.75", "200", "25000.5", {"Pago Movil"}, "NumerosFX");
  check_offer(offers, "11580000000000000004", "36.7", "300", "50", "300", {"Bank Transfer"}, "Unknown");
  check_offer(offers, "11580000000000000006", "36.75", "90.5", "10", "90.5", {"Pago Movil"}, "Unknown");
  check_offer(offers, "11580000000000000007", "36.8", "2000", "1000", "2000", {}, "SinMetodos");
  check_offer(offers, "11580000000000000008", "36.85", "750", "20", "750", {"Bank Transfer"},
              "Tienda <b>Caf\xc3\xa9</b> \xe2\x98\x95");
  check_offer(offers, "11580000000000000009", "36.9", "5000", "100", "5000", {"Pago Movil", "Bank Transfer"},
              "Repetido");
  CHECK(find_by_external_id(offers, "11580000000000000005") == nullptr);  // price "abc": skipped

  for (const auto& o : offers.items) {
    CHECK(o["exchange"].text == "binance");
    CHECK(o["fiat"].text == "VES");
    CHECK(o["asset"].text == "USDT");
    CHECK(o["trade_type"].text == "SELL");
    CHECK(o["id"].text.size() == 36);
    CHECK(ends_with(o["timestamp"].text, "Z"));
  }
  check_rows_match(api, offers);
  CHECK(api.count("SELECT count(*) FROM payment_methods") == 4);

  // The skipped offer is logged with the request id; the request says what was asked.
  CHECK(api.service.wait_for_line("11580000000000000005", 2s));
  const auto stats = parse_json(replay.stats());
  CHECK(contains(stats["last_body"].text, "\"tradeType\":\"SELL\""));
  CHECK(stats["last_headers"].has("x-request-id"));
}

TEST_CASE("bybit offers: payment names from paymentTerms or the catalogue, malformed item skipped") {
  ReplayExchange replay;
  ApiFixture api(replay);
  auto offers = api.get_json("/api/v1/bybit/offers?fiat=VES&asset=USDT&tradeType=BUY");
  CHECK(offers.items.size() == bybit_valid);
  check_offer(offers, "1860000000000000001", "36.4", "800.5", "50", "20000", {"Bank Transfer", "Pago Movil"},
              "VzlaTrader");
  check_offer(offers, "1860000000000000002", "36.45", "1200", "100", "43740.5", {"Banesco"}, "BolivarNum");
  check_offer(offers, "1860000000000000003", "36.48", "2500.75", "1000", "2500.75",
              {"Mercantil", "Bybit payment 999"}, "Unknown");
  check_offer(offers, "1860000000000000005", "36.55", "150", "10", "150", {}, "SinPagos");
  CHECK(find_by_external_id(offers, "1860000000000000004") == nullptr);
  for (const auto& o : offers.items) CHECK(o["exchange"].text == "bybit");
  check_rows_match(api, offers);
  CHECK(contains(parse_json(replay.stats())["last_body"].text, "\"side\":\"1\""));
}

TEST_CASE("the same fetch twice stores two snapshots and reuses the payment methods") {
  ReplayExchange replay;
  ApiFixture api(replay);
  api.get_json(binance_sell);
  api.get_json(binance_sell);
  CHECK(api.count("SELECT count(*) FROM offers") == 2 * binance_valid);
  CHECK(api.count("SELECT count(*) FROM payment_methods") == 4);
  CHECK(api.count("SELECT count(DISTINCT name) FROM payment_methods") == 4);
}

TEST_CASE("concurrent fetches of the same pair neither deadlock nor duplicate payment methods") {
  ReplayExchange replay;
  ApiFixture api(replay);
  constexpr int threads = 8, each = 4;
  std::vector<int> statuses(threads * each, 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < each; ++i) {
        // Binance and Bybit share method names: their upserts contend.
        auto target = (t + i) % 2 ? binance_sell : std::string("/api/v1/bybit/offers");
        auto r = http_get(api.service.port(), target, key_header());
        statuses[t * each + i] = r ? r->status : -1;
      }
    });
  }
  for (auto& th : pool) th.join();
  for (int s : statuses) CHECK(s == 200);
  CHECK(api.count("SELECT count(*) FROM offers") == threads * each / 2 * (binance_valid + bybit_valid));
  CHECK(api.count("SELECT count(*) FROM payment_methods") == 5);  // + "Bybit payment 999"
}

TEST_CASE("bad query parameters: 422 listing each, and the exchange is not called") {
  ReplayExchange replay;
  ApiFixture api(replay);
  auto body = api.get_json("/api/v1/binance/offers?fiat=v&asset=USDT!&tradeType=HOLD&page=0&rows=21", 422);
  std::set<std::string> fields;
  for (const auto& e : body["detail"].items) fields.insert(e["loc"].items.at(1).text);
  CHECK(fields == std::set<std::string>{"fiat", "asset", "tradeType", "page", "rows"});
  api.get_json("/api/v1/bybit/offers?page=101", 422);
  CHECK(calls_but_catalogue(replay) == 0);
  CHECK(api.count("SELECT count(*) FROM offers") == 0);
}

TEST_CASE("upstream failures: 502 or 504 with the exchange's name, and nothing stored") {
  ReplayExchange replay;
  ApiFixture api(replay, {{"UPSTREAM_TIMEOUT_SECONDS", "1"}, {"UPSTREAM_RETRIES", "0"}});
  struct Case {
    std::string fault;
    int status;
    std::string detail_part;
  };
  for (const auto& c : std::vector<Case>{{"status:500", 502, "status 500"},
                                         {"invalid_json", 502, "invalid JSON"},
                                         {"error_code", 502, "100001"},
                                         {"reset", 502, ""},
                                         {"truncate", 502, ""},
                                         {"huge", 502, "body_too_large"},
                                         {"slow:3000", 504, "timeout"}}) {
    INFO("fault ", c.fault);
    replay.fault(c.fault);  // every attempt: a reused connection's failure is retried once anyway
    auto body = api.get_json(binance_sell, c.status);
    const auto& detail = body["detail"].text;
    CHECK(starts_with(detail, "Error fetching Binance offers: "));
    CHECK(contains(detail, c.detail_part));
    replay.reset();
  }
  replay.fault("status:503", 1, bybit_items_path);
  auto bybit = api.get_json("/api/v1/bybit/offers", 502);
  CHECK(starts_with(bybit["detail"].text, "Error fetching Bybit offers: "));
  CHECK(api.count("SELECT count(*) FROM offers") == 0);
  CHECK(api.count("SELECT count(*) FROM payment_methods") == 0);
}

TEST_CASE("read-only exchange calls are retried after a 503; the retry is counted upstream") {
  ReplayExchange replay;
  ApiFixture api(replay, {{"UPSTREAM_RETRIES", "2"}});
  replay.fault("status:503", 2, binance_search_path);
  auto offers = api.get_json(binance_sell);
  CHECK(offers.items.size() == binance_valid);
  CHECK(requests_to(replay, binance_search_path) == 3);
}

TEST_CASE("a failure inside the storing transaction leaves no offer and no payment method") {
  ReplayExchange replay;
  ApiFixture api(replay);
  {
    // The statement after the payment-method upsert fails: the whole batch must go.
    pqxx::connection c(api.db.url());
    pqxx::work tx(c);
    tx.exec(
        "CREATE FUNCTION refuse_offer() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'refused by test'; END $$;"
        "CREATE TRIGGER refuse BEFORE INSERT ON offers FOR EACH ROW WHEN (NEW.external_id LIKE '%9')"
        " EXECUTE FUNCTION refuse_offer()");
    tx.commit();
  }
  auto r = api.get(binance_sell);
  CHECK(r.status == 500);
  CHECK(parse_json(r.body).has("detail"));
  CHECK(api.count("SELECT count(*) FROM offers") == 0);
  CHECK(api.count("SELECT count(*) FROM payment_methods") == 0);
  CHECK(api.count("SELECT count(*) FROM offer_payment_methods") == 0);
  // The connection went back clean: the next request works.
  auto methods = api.get_json("/api/v1/payment-methods");
  CHECK(methods.items.empty());
}

TEST_CASE("stored history: newest first, keyset pages that cover everything once, filters") {
  ReplayExchange replay;
  ApiFixture api(replay);
  api.get_json(binance_sell);
  api.get_json("/api/v1/bybit/offers");
  api.get_json(binance_sell);
  const long long total = 2 * binance_valid + bybit_valid;

  std::vector<std::string> seen;
  std::string cursor;
  std::string previous_time = "9999";
  for (int page = 0; page < 100; ++page) {
    auto body = api.get_json("/api/v1/offers?limit=5" + (cursor.empty() ? "" : "&cursor=" + cursor));
    CHECK(body["items"].items.size() <= 5);
    for (const auto& o : body["items"].items) {
      CHECK(o["timestamp"].text <= previous_time);
      previous_time = o["timestamp"].text;
      seen.push_back(o["id"].text);
    }
    if (body["next_cursor"].type == Json::Type::null) break;
    cursor = body["next_cursor"].text;
  }
  CHECK(static_cast<long long>(seen.size()) == total);
  CHECK(static_cast<long long>(std::set<std::string>(seen.begin(), seen.end()).size()) == total);

  auto bybit = api.get_json("/api/v1/offers?exchange=bybit&limit=500");
  CHECK(static_cast<long long>(bybit["items"].items.size()) == bybit_valid);
  CHECK(bybit["next_cursor"].type == Json::Type::null);
  auto sell = api.get_json("/api/v1/offers?exchange=&trade_type=SELL&fiat=VES&asset=USDT&limit=500");
  CHECK(static_cast<long long>(sell["items"].items.size()) == 2 * binance_valid);
  auto future = api.get_json("/api/v1/offers?since=2999-01-01T00:00:00Z");
  CHECK(future["items"].items.empty());
  auto past = api.get_json("/api/v1/offers?until=2000-01-01&limit=500");
  CHECK(past["items"].items.empty());
  auto window = api.get_json("/api/v1/offers?since=2000-01-01T00:00:00%2B02:00&limit=500");
  CHECK(static_cast<long long>(window["items"].items.size()) == total);

  for (const char* bad : {"limit=0", "limit=501", "cursor=garbage", "since=yesterday", "exchange=kraken",
                                "trade_type=buy", "fiat=ves"}) {
    INFO(bad);
    api.get_json(std::string("/api/v1/offers?") + bad, 422);
  }
}

TEST_CASE("one stored offer by id: 200, 404 when unknown, 422 when not a uuid") {
  ReplayExchange replay;
  ApiFixture api(replay);
  auto offers = api.get_json(binance_sell);
  const auto& first = offers.items.at(0);
  auto one = api.get_json("/api/v1/offers/" + first["id"].text);
  for (const auto* field : {"id", "exchange", "external_id", "timestamp", "price", "available", "min_limit",
                            "max_limit", "trade_type", "advertiser"})
    CHECK(one[field].text == first[field].text);
  CHECK(names(one["payment_methods"]) == names(first["payment_methods"]));

  auto missing = api.get_json("/api/v1/offers/3f2504e0-4f89-41d3-9a0c-0305e82c3301", 404);
  CHECK(missing["detail"].text == "Offer not found");
  CHECK(api.get_json("/api/v1/offers/3F2504E0-4F89-41D3-9A0C-0305E82C3301", 404)["detail"].text == "Offer not found");
  auto bad = api.get_json("/api/v1/offers/not-a-uuid", 422);
  CHECK(bad["detail"].items.at(0)["type"].text == "uuid_parsing");
  // 36 characters, one of them wrong: a letter past f, a dash moved, a dash for a digit.
  for (const char* id : {"3f2504e0-4f89-41d3-9a0c-0305e82c330g", "3f2504e04-f89-41d3-9a0c-0305e82c3301",
                         "3f2504e0-4f89-41d3-9a0c-0305e82c33-1"}) {
    CAPTURE(id);
    CHECK(api.get_json(std::string("/api/v1/offers/") + id, 422)["detail"].items.at(0)["type"].text == "uuid_parsing");
  }
}

TEST_CASE("payment methods list every stored name once, with its id") {
  ReplayExchange replay;
  ApiFixture api(replay);
  api.get_json(binance_sell);
  auto methods = api.get_json("/api/v1/payment-methods");
  std::set<std::string> got;
  for (const auto& m : methods.items) {
    CHECK(m["id"].is_integer());
    got.insert(m["name"].text);
  }
  CHECK(got == std::set<std::string>{"Bank Transfer", "Banesco", "Mercantil", "Pago Movil"});
}

TEST_CASE("stats: count, best/median/worst, spread and first/last seen, computed by the database") {
  ReplayExchange replay;
  ApiFixture api(replay);
  api.get_json(binance_sell);
  auto s = api.get_json("/api/v1/stats?exchange=binance&fiat=VES&asset=USDT&trade_type=SELL&window=1h");
  CHECK(s["count"].integer() == binance_valid);
  // SELL: the highest price is the best for the client.
  CHECK(s["best_price"].number == 36.9);
  CHECK(s["worst_price"].number == 36.5);
  CHECK(s["median_price"].number == 36.725);  // (36.7 + 36.75) / 2
  CHECK(s["spread"].number == 0.4);
  CHECK(s["first_seen"].text == s["last_seen"].text);  // one batch, one transaction time
  CHECK(s["window"].text == "1h");

  auto any = api.get_json("/api/v1/stats");
  CHECK(any["count"].integer() == binance_valid);
  CHECK(any["best_price"].type == Json::Type::null);  // no trade type: no "best"
  CHECK(any["min_price"].number == 36.5);
  auto none = api.get_json("/api/v1/stats?exchange=bybit");
  CHECK(none["count"].integer() == 0);
  CHECK(none["median_price"].type == Json::Type::null);
  for (const char* bad : {"window=0h", "window=1w", "window=31d", "window=h"}) {
    INFO(bad);
    api.get_json(std::string("/api/v1/stats?") + bad, 422);
  }
}

TEST_CASE("binance pairs: every asset with every fiat, sorted, then served from the cache") {
  ReplayExchange replay;
  ApiFixture api(replay, {{"PAIRS_CACHE_SECONDS", "300"}});
  auto pairs = api.get_json("/api/v1/binance/pairs");
  std::vector<std::string> got;
  for (const auto& p : pairs.items) got.push_back(p["asset"].text + "/" + p["fiat"].text);
  CHECK(got == std::vector<std::string>{"BTC/ARS", "BTC/COP", "BTC/VES", "FDUSD/ARS", "FDUSD/COP", "FDUSD/VES",
                                        "USDT/ARS", "USDT/COP", "USDT/VES"});
  const auto calls = calls_but_catalogue(replay);
  auto again = api.get_json("/api/v1/binance/pairs");
  CHECK(again.items.size() == pairs.items.size());
  CHECK(calls_but_catalogue(replay) == calls);
}

TEST_CASE("TLS to the exchange: works with the test CA, fails closed without it") {
  ReplayExchange replay(ReplayExchange::Scheme::https);
  {
    ApiFixture api(replay, {{"UPSTREAM_CA_FILE", test_ca().ca_file()}});
    auto offers = api.get_json(binance_sell);
    CHECK(offers.items.size() == binance_valid);
  }
  ApiFixture untrusted(replay, {{"UPSTREAM_RETRIES", "0"}});
  auto body = untrusted.get_json(binance_sell, 502);
  CHECK(starts_with(body["detail"].text, "Error fetching Binance offers: tls"));
  CHECK(contains(body["detail"].text, "certificate verify failed"));
  CHECK(untrusted.count("SELECT count(*) FROM offers") == 0);
}

TEST_CASE("through a proxy: CONNECT for https, absolute-form for http") {
  ConnectProxy proxy;
  ReplayExchange tls(ReplayExchange::Scheme::https);
  ReplayExchange plain;
  ApiFixture api(tls, {{"UPSTREAM_CA_FILE", test_ca().ca_file()},
                       {"USE_ORIGIN_PROXY", "true"},
                       {"ORIGIN_PROXY_URL", proxy.url()},
                       {"BYBIT_BASE_URL", plain.base_url()}});
  CHECK(api.get_json(binance_sell).items.size() == binance_valid);
  CHECK(api.get_json("/api/v1/bybit/offers").items.size() == bybit_valid);
  auto stats = parse_json(proxy.stats());
  CHECK(stats["connect"].integer() >= 1);
  CHECK(stats["absolute"].integer() >= 1);
  CHECK(requests_to(plain, bybit_items_path) == 1);
}

TEST_CASE("the scraper stores every target each round, survives a failing round, and stops on SIGTERM") {
  ReplayExchange replay;
  replay.fault("status:500", 1, binance_search_path);  // the first call of round 1 fails
  ApiFixture api(replay, {{"SCRAPE_TARGETS", "binance:USDT/VES:BUY,bybit:USDT/VES:SELL"},
                          {"SCRAPE_INTERVAL_SECONDS", "1"},
                          {"UPSTREAM_RETRIES", "0"}});
  REQUIRE(api.service.wait_for_line("scraper round 1: binance USDT/VES BUY failed", 10s));
  REQUIRE(api.service.wait_for_line("scraper round 2: binance USDT/VES BUY: stored 8 offers, skipped 1", 10s));
  REQUIRE(api.service.wait_for_line("scraper round 2: bybit USDT/VES SELL: stored 6 offers, skipped 1", 10s));
  CHECK(api.count("SELECT count(*) FROM offers WHERE exchange = 'binance' AND trade_type = 'BUY'") >= binance_valid);
  CHECK(api.count("SELECT count(*) FROM offers WHERE exchange = 'bybit' AND trade_type = 'SELL'") >= 2 * bybit_valid);
  api.service.signal(SIGTERM);
  CHECK(api.service.wait_exit(10s) == 0);
  CHECK(contains(api.service.output(), "scraper stopped after"));
}

TEST_CASE("SIGTERM during a slow scrape cancels the round and exits promptly") {
  ReplayExchange replay;
  replay.fault("slow:20000", 0, binance_search_path);
  ApiFixture api(replay, {{"SCRAPE_TARGETS", "binance:USDT/VES:BUY"}, {"UPSTREAM_TIMEOUT_SECONDS", "60"}});
  // The request reached the exchange: the round is in flight.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (requests_to(replay, binance_search_path) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  const auto t0 = std::chrono::steady_clock::now();
  api.service.signal(SIGTERM);
  CHECK(api.service.wait_exit(10s) == 0);
  CHECK(ms_since(t0) < 5000);
  CHECK(contains(api.service.output(), "cancelled by shutdown"));
}

TEST_CASE("bad exchange settings are configuration errors (exit 2, naming the variable)") {
  const auto env = merge_env(base_service_env(), {{"PORT", "8080"}});
  for (const auto& setting : std::vector<std::pair<std::string, std::string>>{
           {"SCRAPE_TARGETS", "kraken:USDT/VES:BUY"},
           {"SCRAPE_TARGETS", "binance:USDT-VES:BUY"},
           {"BINANCE_BASE_URL", "ftp://example"},
           {"BYBIT_PAYMENT_CATALOGUE_SECONDS", "abc"},
           {"BYBIT_PAYMENT_CATALOGUE_SECONDS", "86401"},
           {"BYBIT_PAYMENT_CATALOGUE_RETRY_SECONDS", "0"},
           {"USE_ORIGIN_PROXY", "true"}}) {
    // Named references, not a structured binding: clang 14 cannot capture one (INFO's lambda).
    const std::string& name = setting.first;
    const std::string& value = setting.second;
    auto r = run_to_exit(P2P_BINARY, {}, merge_env(env, {{name, value}}));
    INFO(name, "=", value, ": ", r.output);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.output, name == "USE_ORIGIN_PROXY" ? "ORIGIN_PROXY_URL" : name));
  }
}
