#include "app/offer_routes.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "app/app_state.hpp"
#include "app/exchanges/decimal.hpp"
#include "app/offer_json.hpp"
#include "lib/http/errors.hpp"
#include "lib/http/query.hpp"
#include "lib/pg/timestamp.hpp"

namespace p2p {

namespace asio = boost::asio;
namespace http = svc::http;

namespace {

constexpr std::string_view code_pattern = "^[A-Z0-9]{2,10}$";
constexpr std::string_view window_pattern = "^[1-9][0-9]*[smhd]$";
constexpr std::int64_t max_window_seconds = 30 * 24 * 3600;
constexpr std::int64_t max_orders = 2147483647;  // advertiser_orders_30d is an integer column
constexpr std::size_t max_payment_method_length = 200;
const std::vector<std::string_view> trade_types{"BUY", "SELL"};
const std::vector<std::string_view> exchanges{"binance", "bybit"};

http::Response json_text(std::string body) {
  return http::text_response(http::Status::ok, std::move(body), "application/json");
}

// Upstream calls carry this request's id and trace context.
CallContext call_context(const http::RequestContext& ctx) {
  return CallContext{std::string(ctx.request_id), std::string(ctx.traceparent)};
}

// ?fiat=VES&asset=USDT&tradeType=BUY&page=1&rows=20 (the defaults).
Market market_params(http::QueryParams& q) {
  Market m;
  m.fiat = q.matching("fiat", m.fiat, code_pattern, is_currency_code);
  m.asset = q.matching("asset", m.asset, code_pattern, is_currency_code);
  m.trade_type = q.literal("tradeType", m.trade_type, trade_types);
  m.page = static_cast<int>(q.integer("page", m.page, 1, 100));
  m.rows = static_cast<int>(q.integer("rows", m.rows, 1, 20));
  return m;
}

http::FieldError query_error(std::string_view name, std::string type, std::string message, std::string_view input,
                             boost::json::object context = {}) {
  return {"query", std::string(name), std::move(type), std::move(message), std::string(input), true,
          std::move(context)};
}

// A decimal from 0 to 1 with at most 8 places ("0.95"), as pydantic checks
// a constrained number; canonical on the way out ("0.950" -> "0.95").
std::optional<std::string> rate_param(http::QueryParams& q, std::string_view name) {
  auto raw = q.get(name);
  if (!raw || raw->empty()) return std::nullopt;
  const std::string_view text = *raw;
  const bool negative = text.front() == '-';
  const std::string_view number = negative || text.front() == '+' ? text.substr(1) : text;
  const auto dot = number.find('.');
  const std::string_view integer = number.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view{} : number.substr(dot + 1);
  const auto digits = [](std::string_view s) { return s.find_first_not_of("0123456789") == std::string_view::npos; };
  if ((integer.empty() && fraction.empty()) || !digits(integer) || !digits(fraction)) {
    q.add_error(query_error(name, "float_parsing", "Input should be a valid number, unable to parse string as a number",
                            text));
    return std::nullopt;
  }
  auto canonical = parse_decimal(number).value;
  if (negative && canonical != "0") {
    q.add_error(query_error(name, "greater_than_equal", "Input should be greater than or equal to 0", text, {{"ge", 0}}));
    return std::nullopt;
  }
  if (fraction.size() > 8) {
    q.add_error(query_error(name, "decimal_max_places", "Decimal input should have no more than 8 decimal places",
                            text, {{"decimal_places", 8}}));
    return std::nullopt;
  }
  if (canonical != "1" && integer.find_first_not_of('0') != std::string_view::npos) {
    q.add_error(query_error(name, "less_than_equal", "Input should be less than or equal to 1", text, {{"le", 1}}));
    return std::nullopt;
  }
  return canonical;
}

// ?min_completion_rate=0.95&min_orders=100&merchant_only=true; an empty value
// means "any", like the other filters.
ReputationFilter reputation_params(http::QueryParams& q) {
  ReputationFilter r;
  const auto given = [&q](std::string_view name) {
    auto raw = q.get(name);
    return raw && !raw->empty();
  };
  r.min_completion_rate = rate_param(q, "min_completion_rate");
  if (given("min_orders")) r.min_orders = q.optional_integer("min_orders", 0, max_orders);
  if (given("merchant_only")) r.merchant_only = q.boolean("merchant_only", false);
  return r;
}

// Filters of the read API; an empty value means "any".
OfferFilter filter_params(http::QueryParams& q) {
  OfferFilter f;
  f.exchange = q.optional_literal("exchange", exchanges);
  const auto code = [&q](std::string_view name) -> std::optional<std::string> {
    auto raw = q.get(name);
    if (!raw || raw->empty()) return std::nullopt;
    return q.optional_matching(name, code_pattern, is_currency_code);
  };
  f.fiat = code("fiat");
  f.asset = code("asset");
  f.trade_type = q.optional_literal("trade_type", trade_types);
  f.reputation = reputation_params(q);
  if (auto name = q.get("payment_method"); name && !name->empty()) {
    if (name->size() > max_payment_method_length) {
      q.add_error(query_error("payment_method", "string_too_long",
                              "String should have at most " + std::to_string(max_payment_method_length) + " characters",
                              *name, {{"max_length", max_payment_method_length}}));
    } else {
      f.payment_method = std::string(*name);
    }
  }
  return f;
}

std::optional<Micros> time_param(http::QueryParams& q, std::string_view name) {
  auto raw = q.get(name);
  if (!raw || raw->empty()) return std::nullopt;
  // ISO 8601: 2026-11-23, 2026-11-23T10:00:00[.ffffff][Z|±HH:MM]; no offset = UTC.
  auto t = svc::pg::parse_timestamp(*raw);
  if (!t) {
    q.add_error({"query", std::string(name), "datetime_from_date_parsing",
                 "Input should be a valid datetime (ISO 8601, e.g. 2026-11-23T10:00:00Z)", std::string(*raw), true, {}});
    return std::nullopt;
  }
  // Parsed, but not a time the database takes (year 0, or past 9999 once in UTC).
  if (!svc::pg::in_timestamp_range(*t)) {
    q.add_error({"query", std::string(name), "datetime_from_date_parsing",
                 "Input should be a valid datetime from " + std::string(svc::pg::kTimestampRangeText),
                 std::string(*raw), true, {}});
    return std::nullopt;
  }
  return t;
}

// "90s", "30m", "1h", "7d" → seconds (1 s to 30 days).
std::optional<std::chrono::seconds> parse_window(std::string_view s) { return parse_duration(s, max_window_seconds); }

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
    http::QueryParams q(ctx.query);
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

}  // namespace

void add_offer_routes(AppState& app) {
  app.router.add(http::Verb::get, "/api/v1/binance/offers", fetch_offers_handler(app, app.binance));
  app.router.add(http::Verb::get, "/api/v1/bybit/offers", fetch_offers_handler(app, app.bybit));

  app.router.add(http::Verb::get, "/api/v1/binance/pairs",
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
                   for (const auto& p : pairs) body.push_back({{"asset", p.asset}, {"fiat", p.fiat}});
                   std::string text = boost::json::serialize(body);
                   app.pairs.put(text);
                   co_return json_text(std::move(text));
                 });

  app.router.add(http::Verb::get, "/api/v1/offers", [&app](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    app.auth.require(ctx);
    http::QueryParams q(ctx.query);
    HistoryQuery query;
    query.filter = filter_params(q);
    query.since = time_param(q, "since");
    query.until = time_param(q, "until");
    query.limit = static_cast<int>(q.integer("limit", query.limit, 1, 500));
    if (auto raw = q.get("cursor"); raw && !raw->empty()) {
      query.after = decode_cursor(*raw);
      if (!query.after) {
        q.add_error({"query", "cursor", "value_error", "Value error, not a cursor returned by this endpoint",
                     std::string(*raw), true, {}});
      }
    }
    q.finish();
    const auto page = co_await app.store.history(query);
    co_return json_text(history_json(page));
  });

  app.router.add(http::Verb::get, "/api/v1/offers/{id}",
                 [&app](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
                   app.auth.require(ctx);
                   const auto id = ctx.param("id");
                   if (!is_uuid(id)) {
                     throw http::ValidationError({{"path", "id", "uuid_parsing",
                                                   "Input should be a valid UUID, invalid character or length",
                                                   std::string(id), true, {}}});
                   }
                   const auto offer = co_await app.store.find(id);
                   if (offer.empty()) throw http::HttpError(http::Status::not_found, "Offer not found");
                   std::string body;
                   body.reserve(512);
                   append_offer(body, offer[0]);
                   co_return json_text(std::move(body));
                 });

  app.router.add(http::Verb::get, "/api/v1/payment-methods",
                 [&app](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
                   app.auth.require(ctx);
                   const auto methods = co_await app.store.payment_methods();
                   co_return json_text(payment_methods_json(methods));
                 });

  app.router.add(http::Verb::get, "/api/v1/stats", [&app](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    app.auth.require(ctx);
    http::QueryParams q(ctx.query);
    const OfferFilter filter = filter_params(q);
    const std::string window = q.matching("window", "1h", window_pattern, [](std::string_view w) {
      return parse_window(w).has_value();
    });
    q.finish();
    const auto stats = co_await app.store.stats(filter, *parse_window(window));
    co_return json_text(stats_json(stats, filter, window));
  });
}

}  // namespace p2p
