#include "app/offer_routes.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "app/api_docs.hpp"
#include "app/app_state.hpp"
#include "app/offer_json.hpp"
#include "lib/http/errors.hpp"
#include "lib/http/query.hpp"
#include "lib/pg/timestamp.hpp"

namespace p2p {

namespace asio = boost::asio;
namespace http = svc::http;
using http::ParamSpec;

namespace {

constexpr std::string_view code_pattern = "^[A-Z0-9]{2,10}$";
constexpr std::string_view window_pattern = "^[1-9][0-9]*[smhd]$";
constexpr std::int64_t max_window_seconds = 30 * 24 * 3600;
constexpr std::int64_t max_orders = 2147483647;  // advertiser_orders_30d is an integer column
constexpr std::size_t max_payment_method_length = 200;
constexpr std::int64_t max_series_points = 1000;

// "90s", "30m", "1h", "7d" → seconds (1 s to 30 days).
std::optional<std::chrono::seconds> parse_window(std::string_view s) { return parse_duration(s, max_window_seconds); }

// 300 s -> "5m": the largest unit that divides it.
std::string window_text(std::chrono::seconds s) {
  const auto n = s.count();
  if (n % 86400 == 0) return std::to_string(n / 86400) + "d";
  if (n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + "s";
}

bool is_window(std::string_view s) { return parse_window(s).has_value(); }
// ISO 8601 that PostgreSQL can take: not year 0, not past 9999 once in UTC.
bool is_timestamp(std::string_view s) {
  const auto t = svc::pg::parse_timestamp(s);
  return t && svc::pg::in_timestamp_range(*t);
}
bool is_cursor(std::string_view s) { return decode_cursor(s).has_value(); }

ParamSpec code(std::string name, std::string what) {
  return ParamSpec::matching(std::move(name), std::string(code_pattern), is_currency_code).describe(std::move(what));
}

// Every parameter of the P2P API, built once: the routes validate against
// these and document them, so the two cannot disagree.
struct Params {
  // The exchange fetches (the FastAPI seeds' names and defaults).
  ParamSpec fetch_fiat = code("fiat", "Fiat currency code.").with_default("VES");
  ParamSpec fetch_asset = code("asset", "Crypto asset code.").with_default("USDT");
  ParamSpec fetch_trade_type = ParamSpec::one_of("tradeType", {"BUY", "SELL"})
                                   .with_default("BUY")
                                   .describe("The client's side: BUY lists offers to buy the asset from.");
  ParamSpec page = ParamSpec::integer("page", 1, 100).with_default(1).describe("Page of the exchange's list.");
  ParamSpec rows = ParamSpec::integer("rows", 1, 20).with_default(20).describe("Offers per page.");

  // Who is behind an offer (fetches, history, stats, snapshot, series).
  ParamSpec min_completion_rate =
      ParamSpec::number("min_completion_rate", 0, 1, 8)
          .empty_means_any()
          .with_example(1)
          .describe("Keeps offers whose advertiser completed at least this share of orders in 30 days (`0.95`); a "
                    "plain decimal, at most 8 places. An unknown rate does not pass.");
  ParamSpec min_orders = ParamSpec::integer("min_orders", 0, max_orders)
                             .empty_means_any()
                             .describe("Keeps offers whose advertiser had at least this many orders in 30 days.");
  ParamSpec merchant_only = ParamSpec::boolean("merchant_only")
                                .with_default(false)
                                .empty_means_any()
                                .describe("Keeps merchants' offers only (Binance merchants; Bybit's badges or "
                                          "institutional accounts).");
  ParamSpec payment_method = ParamSpec::text("payment_method", max_payment_method_length)
                                 .empty_means_any()
                                 .with_example("Pago Movil")
                                 .describe("Keeps offers that accept this payment method (its exact name, as "
                                           "`/api/v1/payment-methods` lists it).");

  // The stored history's market filters: empty or absent is any.
  ParamSpec exchange = ParamSpec::one_of("exchange", {"binance", "bybit"}).empty_means_any().describe("Exchange.");
  ParamSpec fiat = code("fiat", "Fiat currency code.").empty_means_any().with_example("VES");
  ParamSpec asset = code("asset", "Crypto asset code.").empty_means_any().with_example("USDT");
  ParamSpec trade_type = ParamSpec::one_of("trade_type", {"BUY", "SELL"})
                             .empty_means_any()
                             .describe("The client's side (BUY: the client buys the asset).");

  // A series is of one market: each of the four is required.
  ParamSpec market_exchange = ParamSpec::one_of("exchange", {"binance", "bybit"}).must_be_given().describe("Exchange.");
  ParamSpec market_fiat = code("fiat", "Fiat currency code.").must_be_given().with_example("VES");
  ParamSpec market_asset = code("asset", "Crypto asset code.").must_be_given().with_example("USDT");
  ParamSpec market_trade_type = ParamSpec::one_of("trade_type", {"BUY", "SELL"})
                                    .must_be_given()
                                    .describe("The client's side; it decides which price is best (BUY: lowest).");

  ParamSpec since = ParamSpec::text("since", 64)
                        .formatted("date-time", is_timestamp, "datetime_from_date_parsing",
                                   "Input should be a valid datetime (ISO 8601, e.g. 2026-11-23T10:00:00Z) from " +
                                       std::string(svc::pg::kTimestampRangeText))
                        .empty_means_any()
                        .with_example("2026-11-23T10:00:00Z")
                        .describe("Stored at or after (ISO 8601: `2026-11-23`, `…T10:00:00Z`, `…+02:00`; no "
                                  "offset is UTC).");
  ParamSpec until = ParamSpec::text("until", 64)
                        .formatted("date-time", is_timestamp, "datetime_from_date_parsing",
                                   "Input should be a valid datetime (ISO 8601, e.g. 2026-11-23T10:00:00Z) from " +
                                       std::string(svc::pg::kTimestampRangeText))
                        .empty_means_any()
                        .with_example("2030-01-01")
                        .describe("Stored before (exclusive); the same forms as `since`.");
  ParamSpec limit = ParamSpec::integer("limit", 1, 500).with_default(50).describe("Offers per page.");
  ParamSpec cursor = ParamSpec::text("cursor", 64)
                         .formatted("", is_cursor, "value_error", "Value error, not a cursor returned by this endpoint")
                         .empty_means_any()
                         .with_example("1795392000000000_3f2504e0-4f89-41d3-9a0c-0305e82c3301")
                         .describe("`next_cursor` of the previous page.");
  ParamSpec id = ParamSpec::text("id", 36)
                     .formatted("uuid", is_uuid, "uuid_parsing",
                                "Input should be a valid UUID, invalid character or length")
                     .in_path()
                     .with_example("3f2504e0-4f89-41d3-9a0c-0305e82c3301")
                     .describe("The offer's id.");

  ParamSpec stats_window = ParamSpec::matching("window", std::string(window_pattern), is_window)
                               .with_default("1h")
                               .describe("Counted back from now: `<n>s|m|h|d`, up to 30 days.");
  ParamSpec series_window = ParamSpec::matching("window", std::string(window_pattern), is_window)
                                .with_default("24h")
                                .describe("How far back the series reaches: `<n>s|m|h|d`, up to 30 days.");
  ParamSpec bucket = ParamSpec::matching("bucket", std::string(window_pattern), is_window)
                         .with_example("5m")
                         .describe("Width of a point: `<n>s|m|h|d`, at most the window, at most 1000 points "
                                   "(window ÷ bucket, rounded up). Absent: the narrowest of 1m, 5m, 15m, 30m, 1h, 3h, "
                                   "6h, 12h, 1d that stays within 1000 points (24h: 5m).");

  std::vector<ParamSpec> reputation() const { return {min_completion_rate, min_orders, merchant_only}; }
  std::vector<ParamSpec> market_filter() const { return {exchange, fiat, asset, trade_type}; }
  std::vector<ParamSpec> filters() const {
    auto out = market_filter();
    for (auto& p : reputation()) out.push_back(std::move(p));
    out.push_back(payment_method);
    return out;
  }
};

const Params& params() {
  static const Params p;
  return p;
}

// The lists one after the other (parameters, or responses).
template <typename T, typename... Lists>
std::vector<T> joined(std::vector<T> first, const Lists&... rest) {
  (first.insert(first.end(), rest.begin(), rest.end()), ...);
  return first;
}

http::Response json_text(std::string body) {
  return http::text_response(http::Status::ok, std::move(body), "application/json");
}

// Upstream calls carry this request's id and trace context.
CallContext call_context(const http::RequestContext& ctx) {
  return CallContext{std::string(ctx.request_id), std::string(ctx.traceparent)};
}

// ?fiat=VES&asset=USDT&tradeType=BUY&page=1&rows=20 (the defaults).
Market market_params(http::QueryParams& q) {
  const Params& p = params();
  Market m;
  m.fiat = q.text(p.fetch_fiat);
  m.asset = q.text(p.fetch_asset);
  m.trade_type = q.text(p.fetch_trade_type);
  m.page = static_cast<int>(q.integer(p.page));
  m.rows = static_cast<int>(q.integer(p.rows));
  return m;
}

// ?min_completion_rate=0.95&min_orders=100&merchant_only=true; an empty value
// means "any", like the other filters.
ReputationFilter reputation_params(http::QueryParams& q) {
  const Params& p = params();
  ReputationFilter r;
  r.min_completion_rate = q.optional_number(p.min_completion_rate);
  r.min_orders = q.optional_integer(p.min_orders);
  r.merchant_only = q.boolean(p.merchant_only);
  return r;
}

// Filters of the read API; an empty value means "any".
// The market filters only (Params::market_filter()).
OfferFilter market_filter_params(http::QueryParams& q) {
  const Params& p = params();
  OfferFilter f;
  f.exchange = q.optional_text(p.exchange);
  f.fiat = q.optional_text(p.fiat);
  f.asset = q.optional_text(p.asset);
  f.trade_type = q.optional_text(p.trade_type);
  return f;
}

OfferFilter filter_params(http::QueryParams& q) {
  const Params& p = params();
  OfferFilter f = market_filter_params(q);
  f.reputation = reputation_params(q);
  f.payment_method = q.optional_text(p.payment_method);
  return f;
}

std::optional<Micros> time_param(http::QueryParams& q, const ParamSpec& spec) {
  const auto text = q.optional_text(spec);
  return text ? svc::pg::parse_timestamp(*text) : std::nullopt;
}

// The narrowest usual width that keeps `window` within max_series_points.
std::chrono::seconds auto_bucket(std::chrono::seconds window) {
  for (std::int64_t width : {60, 300, 900, 1800, 3600, 10800, 21600, 43200, 86400})
    if ((window.count() + width - 1) / width <= max_series_points) return std::chrono::seconds{width};
  return std::chrono::seconds{86400};
}

[[noreturn]] void throw_upstream(std::string_view what, const Exchange& exchange, const UpstreamError& e) {
  std::string detail = "Error fetching ";
  detail.append(exchange.display_name()).append(" ").append(what).append(": ").append(e.what());
  throw http::HttpError(e.timed_out() ? http::Status::gateway_timeout : http::Status::bad_gateway, std::move(detail));
}

// GET /api/v1/<exchange>/offers: fetch, store the whole batch, return the
// stored rows that pass the reputation filters (the history keeps them all:
// a filter is a view, not a reason to forget what the market offered).
http::Handler fetch_offers_handler(AppState& app, Exchange& exchange) {
  return [&app, &exchange](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    app.auth.require(ctx);
    http::QueryParams q(ctx);
    const Market market = market_params(q);
    const ReputationFilter reputation = reputation_params(q);
    q.finish();
    FetchResult fetched;
    std::optional<UpstreamError> failure;
    const CallContext call = call_context(ctx);  // named: see Scraper::round
    try {
      fetched = co_await exchange.fetch_offers(market, call);
    } catch (const UpstreamError& e) {
      failure = e;
    }
    if (failure) throw_upstream("offers", exchange, *failure);
    auto stored = co_await app.store.save(fetched.offers);
    if (reputation.any()) stored.keep_if([&reputation](const StoredOffer& o) { return reputation.matches(o); });
    co_return json_text(offers_json(stored));
  };
}

http::RouteDoc fetch_doc(std::string_view name) {
  const Params& p = params();
  const std::string exchange(name);
  return {"Fetch and store " + exchange + " offers",
          "Asks " + exchange + " P2P for one page of offers, stores the whole batch in one transaction and returns "
          "the stored rows in the exchange's order (those passing the reputation filters; every fetched offer is "
          "stored). An offer that cannot be mapped is skipped and logged. " +
              std::string(name == "Bybit" ? "**Differs from the seeds:** Bybit is implemented (the seeds had a "
                                            "stub); payment ids are named from Bybit's payment catalogue. "
                                          : "") +
              "**Differs from the seeds:** an exchange failure is 502 and a slow exchange 504 (the seeds answered "
              "500); nothing is stored then.",
          {"exchanges"},
          true,
          joined(std::vector<ParamSpec>{p.fetch_fiat, p.fetch_asset, p.fetch_trade_type, p.page, p.rows},
                 p.reputation()),
          joined(std::vector<http::ResponseDoc>{{200, "The stored offers.", array_of("Offer")}},
                 upstream_errors(exchange), database_errors())};
}

}  // namespace

void add_offer_routes(AppState& app) {
  const Params& p = params();
  app.router.add(http::Verb::get, "/api/v1/binance/offers", fetch_doc("Binance"), fetch_offers_handler(app, app.binance));
  app.router.add(http::Verb::get, "/api/v1/bybit/offers", fetch_doc("Bybit"), fetch_offers_handler(app, app.bybit));

  app.router.add(http::Verb::get, "/api/v1/binance/pairs",
                 {"Binance P2P's asset/fiat pairs",
                  "Every asset Binance P2P trades with every fiat, sorted; cached for `PAIRS_CACHE_SECONDS`. "
                  "**Differs from the seeds:** an exchange failure is 502 (504 when slow).",
                  {"exchanges"},
                  true,
                  {},
                  joined(std::vector<http::ResponseDoc>{{200, "The pairs.", array_of("Pair")}},
                         upstream_errors("Binance"))},
                 [&app](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
                   app.auth.require(ctx);
                   if (auto cached = app.pairs.get()) co_return json_text(std::move(*cached));
                   std::vector<Pair> pairs;
                   std::optional<UpstreamError> failure;
                   const CallContext call = call_context(ctx);
                   try {
                     pairs = co_await app.binance.pairs(call);
                   } catch (const UpstreamError& e) {
                     failure = e;
                   }
                   if (failure) throw_upstream("pairs", app.binance, *failure);
                   boost::json::array body;
                   for (const auto& pair : pairs) body.push_back({{"asset", pair.asset}, {"fiat", pair.fiat}});
                   std::string text = boost::json::serialize(body);
                   app.pairs.put(text);
                   co_return json_text(std::move(text));
                 });

  app.router.add(
      http::Verb::get, "/api/v1/offers",
      {"The stored history",
       "Newest first, keyset-paginated on (timestamp, id): pages neither repeat nor skip rows while new batches "
       "arrive. Filters combine with AND.",
       {"history"},
       true,
       joined(p.filters(), std::vector<ParamSpec>{p.since, p.until, p.limit, p.cursor}),
       joined(std::vector<http::ResponseDoc>{{200, "A page.", http::schema_ref("OfferPage")}}, database_errors())},
      [&app](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
        app.auth.require(ctx);
        const Params& p = params();
        http::QueryParams q(ctx);
        HistoryQuery query;
        query.filter = filter_params(q);
        query.since = time_param(q, p.since);
        query.until = time_param(q, p.until);
        query.limit = static_cast<int>(q.integer(p.limit));
        if (auto raw = q.optional_text(p.cursor)) query.after = decode_cursor(*raw);
        q.finish();
        const auto page = co_await app.store.history(query);
        co_return json_text(history_json(page));
      });

  app.router.add(
      http::Verb::get, "/api/v1/offers/{id}",
      {"One stored offer",
       "",
       {"history"},
       true,
       {p.id},
       joined(std::vector<http::ResponseDoc>{{200, "The offer.", http::schema_ref("Offer")},
                                             {404, "No such offer: `{\"detail\":\"Offer not found\"}`.",
                                              http::schema_ref("HTTPError")}},
              database_errors())},
      [&app](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
        app.auth.require(ctx);
        http::QueryParams q(ctx);
        const auto id = q.optional_text(params().id);
        q.finish();
        const auto offer = co_await app.store.find(*id);
        if (offer.empty()) throw http::HttpError(http::Status::not_found, "Offer not found");
        std::string body;
        body.reserve(1024);  // append_offer sizes for the worst case of its fields
        append_offer(body, offer[0]);
        co_return json_text(std::move(body));
      });

  app.router.add(http::Verb::get, "/api/v1/payment-methods",
                 {"Payment methods seen",
                  "Every payment method name stored, by id.",
                  {"history"},
                  true,
                  {},
                  joined(std::vector<http::ResponseDoc>{{200, "The methods.", array_of("PaymentMethod")}},
                         database_errors())},
                 [&app](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
                   app.auth.require(ctx);
                   const auto methods = co_await app.store.payment_methods();
                   co_return json_text(payment_methods_json(methods));
                 });

  app.router.add(
      http::Verb::get, "/api/v1/stats",
      {"Price statistics of a window",
       "Count, min, max, median and spread of the stored offers of the window (every stored row: a fetch repeated "
       "counts again), computed by PostgreSQL in one statement; `best_price`/`worst_price` when `trade_type` is "
       "given (BUY: the lowest price is best for the client; SELL: the highest). The filters are echoed back.",
       {"history"},
       true,
       joined(p.filters(), std::vector<ParamSpec>{p.stats_window}),
       joined(std::vector<http::ResponseDoc>{{200, "The statistics.", http::schema_ref("Stats")}}, database_errors())},
      [&app](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
        app.auth.require(ctx);
        http::QueryParams q(ctx);
        const OfferFilter filter = filter_params(q);
        const std::string window = q.text(params().stats_window);
        q.finish();
        const auto stats = co_await app.store.stats(filter, *parse_window(window));
        co_return json_text(stats_json(stats, filter, window));
      });

  app.router.add(
      http::Verb::get, "/api/v1/markets",
      {"The markets that have data",
       "Each (exchange, fiat, asset, trade_type) with stored offers, with its first and newest fetch; the market "
       "filters narrow the list.",
       {"market"},
       true,
       p.market_filter(),
       joined(std::vector<http::ResponseDoc>{{200, "The markets, sorted.", array_of("Market")}}, database_errors())},
      [&app](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
        app.auth.require(ctx);
        http::QueryParams q(ctx);
        const OfferFilter filter = market_filter_params(q);
        q.finish();
        const auto markets = co_await app.store.markets(filter);
        co_return json_text(markets_json(markets));
      });

  app.router.add(
      http::Verb::get, "/api/v1/snapshot",
      {"The newest fetch of each market",
       "For the table view: per market (narrowed by the market filters), the offers of its newest fetch, best "
       "first (BUY: lowest price first; SELL: highest), with their count, best, median and worst price and "
       "available amount. The other filters choose which of that fetch's offers are shown and summed; a market "
       "none of whose newest offers passes them is listed with `count` 0. A fetch is one stored batch: one page of "
       "one exchange call.",
       {"market"},
       true,
       p.filters(),
       joined(std::vector<http::ResponseDoc>{{200, "One entry per market, sorted.", http::schema_ref("Snapshot")}},
              database_errors())},
      [&app](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
        app.auth.require(ctx);
        http::QueryParams q(ctx);
        const OfferFilter filter = filter_params(q);
        q.finish();
        const auto snapshot = co_await app.store.snapshot(filter);
        co_return json_text(snapshot_json(snapshot));
      });

  app.router.add(
      http::Verb::get, "/api/v1/series",
      {"Price series of one market",
       "One point per bucket, oldest first: best, median and worst price, offer count and available amount. "
       "Within a bucket every advertisement counts once, as last fetched in that bucket (a bucket holding twelve "
       "fetches does not count an offer twelve times). Best follows the side: BUY, the client buys, the lowest "
       "price is best; SELL, the highest. Buckets are aligned to multiples of their width in UTC (5m: :00, :05, "
       "…; 1d: midnight UTC); the newest bucket is the one holding now and is still filling. Every bucket is "
       "listed: one with nothing stored has `count` 0 and null prices and amount (a gap in a chart, not a zero "
       "price). Points: window ÷ bucket, rounded up, at most 1000.",
       {"market"},
       true,
       joined(std::vector<ParamSpec>{p.market_exchange, p.market_fiat, p.market_asset, p.market_trade_type,
                                     p.series_window, p.bucket},
              p.reputation(), std::vector<ParamSpec>{p.payment_method}),
       joined(std::vector<http::ResponseDoc>{{200, "The series.", http::schema_ref("Series")}}, database_errors())},
      [&app](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
        app.auth.require(ctx);
        const Params& p = params();
        http::QueryParams q(ctx);
        SeriesQuery query;
        query.filter.exchange = q.optional_text(p.market_exchange);
        query.filter.fiat = q.optional_text(p.market_fiat);
        query.filter.asset = q.optional_text(p.market_asset);
        query.filter.trade_type = q.optional_text(p.market_trade_type);
        query.filter.reputation = reputation_params(q);
        query.filter.payment_method = q.optional_text(p.payment_method);
        const std::string window_text_given = q.text(p.series_window);
        const auto bucket_given = q.optional_text(p.bucket);
        const auto window = parse_window(window_text_given);
        if (window) {
          query.bucket = bucket_given ? *parse_window(*bucket_given) : auto_bucket(*window);
          query.points = (window->count() + query.bucket.count() - 1) / query.bucket.count();
          if (bucket_given && query.bucket > *window) {
            q.add_error({"query", "bucket", "value_error",
                         "Value error, bucket is wider than window " + window_text_given, *bucket_given, true, {}});
          } else if (query.points > max_series_points) {
            q.add_error({"query", "bucket", "value_error",
                         "Value error, window " + window_text_given + " in buckets of " + *bucket_given + " makes " +
                             std::to_string(query.points) + " points; at most " +
                             std::to_string(max_series_points) + " (choose a wider bucket)",
                         *bucket_given, true, {{"max_points", max_series_points}}});
          }
        }
        q.finish();
        const auto points = co_await app.store.series(query);
        co_return json_text(
            series_json(points, query.filter, window_text_given, window_text(query.bucket), query.bucket));
      });
}

}  // namespace p2p
