#include "app/offer_store.hpp"

#include <array>
#include <charconv>

#include "lib/pg/pool.hpp"
#include "lib/pg/timestamp.hpp"
#include "lib/pg/transaction.hpp"

namespace p2p {

namespace asio = boost::asio;
namespace pg = svc::pg;

namespace {

// The columns every read returns, in StoredOffer's order. Payment method
// names come from the row's own JSON copy (migration 0003): no join per row.
constexpr std::string_view offer_columns =
    "o.id, o.exchange, o.external_id, o.fetched_at, o.fiat, o.asset, o.trade_type, "
    "o.price, o.available, o.min_limit, o.max_limit, o.advertiser, o.payment_methods, "
    "o.advertiser_orders_30d, o.advertiser_completion_rate, o.merchant";

// Sorted so that concurrent batches lock the same names in the same order:
// two fetches of one market cannot deadlock on their shared methods.
constexpr std::string_view upsert_methods_sql =
    "INSERT INTO payment_methods (name) SELECT DISTINCT n FROM unnest($1::text[]) AS n ORDER BY n "
    "ON CONFLICT (name) DO NOTHING";

// One statement for the whole batch: arrays in, rows out in batch order
// (offer_columns follows). Payment methods come as (offer position, name)
// pairs: linked through offer_payment_methods and copied, sorted, into the
// row's JSON array. Unknown reputation travels as '' (a text[] parameter
// cannot carry a NULL element), NULLIF turns it back.
constexpr std::string_view insert_offers_sql =
    "WITH methods AS MATERIALIZED ("
    " SELECT DISTINCT m.ord, pm.id AS method_id, pm.name FROM unnest($14::int[], $15::text[]) AS m(ord, name)"
    " JOIN payment_methods pm ON pm.name = m.name),"
    " input AS MATERIALIZED ("
    " SELECT gen_random_uuid() AS id, u.*,"
    "  COALESCE((SELECT json_agg(m.name ORDER BY m.name) FROM methods m WHERE m.ord = u.ord), '[]') AS methods"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
    "  $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[], $10::text[],"
    "  $11::text[], $12::text[], $13::boolean[]) WITH ORDINALITY"
    "  AS u(exchange, external_id, fiat, asset, trade_type, price, available, min_limit, max_limit, advertiser,"
    "   orders_30d, completion_rate, merchant, ord)),"
    " inserted AS ("
    " INSERT INTO offers (id, exchange, external_id, fiat, asset, trade_type, price, available, min_limit,"
    "  max_limit, advertiser, payment_methods, advertiser_orders_30d, advertiser_completion_rate, merchant)"
    " SELECT id, exchange, external_id, fiat, asset, trade_type, price, available, min_limit, max_limit, advertiser,"
    "  methods, NULLIF(orders_30d, '')::integer, NULLIF(completion_rate, '')::numeric, merchant"
    " FROM input RETURNING *),"
    " links AS ("
    " INSERT INTO offer_payment_methods (offer_id, payment_method_id)"
    " SELECT i.id, m.method_id FROM input i JOIN methods m ON m.ord = i.ord)"
    " SELECT ";

// The reads are single statements on the pool's shared, pipelined path.
constexpr pg::StatementOptions kRead{.read_only = true};

std::string placeholder(const pg::Params& params) { return std::string("$").append(std::to_string(params.size())); }

// The payment-method filter: the offer has a method of that name.
constexpr std::string_view has_payment_method_sql =
    " AND EXISTS (SELECT 1 FROM offer_payment_methods opm JOIN payment_methods pm"
    " ON pm.id = opm.payment_method_id WHERE opm.offer_id = o.id AND pm.name = ";

// Appends " AND <condition>" for each filter that is set, its value bound.
void add_filter(std::string& sql, pg::Params& params, const OfferFilter& f) {
  const auto equal = [&](std::string_view column, const std::optional<std::string>& value) {
    if (!value) return;
    params.add(*value);
    sql.append(" AND o.").append(column).append(" = ").append(placeholder(params));
  };
  equal("exchange", f.exchange);
  equal("fiat", f.fiat);
  equal("asset", f.asset);
  equal("trade_type", f.trade_type);
  const ReputationFilter& r = f.reputation;
  if (r.merchant_only) sql.append(" AND o.merchant");
  if (r.min_completion_rate) {
    params.add(*r.min_completion_rate);
    sql.append(" AND o.advertiser_completion_rate >= ").append(placeholder(params)).append("::numeric");
  }
  if (r.min_orders) {
    params.add(*r.min_orders);
    sql.append(" AND o.advertiser_orders_30d >= ").append(placeholder(params)).append("::integer");
  }
  if (f.payment_method) {
    params.add(*f.payment_method);
    sql.append(has_payment_method_sql).append(placeholder(params)).append(")");
  }
}

// A decimal in units of 1e-8 ("0.95" -> 95000000), for comparing rates
// exactly; nullopt when it is not digits with at most one '.' and 8 places.
std::optional<std::int64_t> rate_units(std::string_view text) {
  const auto dot = text.find('.');
  const std::string_view integer = text.substr(0, dot);
  std::string fraction(dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1));
  if (integer.size() > 9 || fraction.size() > 8) return std::nullopt;
  fraction.resize(8, '0');
  std::int64_t whole = 0;
  std::int64_t part = 0;
  const auto parse = [](std::string_view digits, std::int64_t& out) {
    if (digits.empty()) return true;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return ec == std::errc{} && end == digits.data() + digits.size() && digits.front() != '-' &&
           digits.front() != '+';
  };
  if (!parse(integer, whole) || !parse(fraction, part)) return std::nullopt;
  return whole * 100'000'000 + part;
}

std::optional<std::string> optional_text(const pg::Result& r, std::size_t col, std::size_t row = 0) {
  if (r.is_null(row, col)) return std::nullopt;
  return std::string(r.text(row, col));
}

// The market fields of a filter, and the rest.
OfferFilter market_part(const OfferFilter& f) {
  OfferFilter m;
  m.exchange = f.exchange;
  m.fiat = f.fiat;
  m.asset = f.asset;
  m.trade_type = f.trade_type;
  return m;
}
OfferFilter offer_part(const OfferFilter& f) {
  OfferFilter rest = f;
  rest.exchange.reset();
  rest.fiat.reset();
  rest.asset.reset();
  rest.trade_type.reset();
  return rest;
}

// Every market that has offers, one descent of offers_market_history_idx
// each (a loose index scan: PostgreSQL 15 has no skip scan, and DISTINCT
// would read the whole table).
constexpr std::string_view markets_cte =
    "WITH RECURSIVE markets AS ("
    " (SELECT exchange, fiat, asset, trade_type FROM offers ORDER BY exchange, fiat, asset, trade_type LIMIT 1)"
    " UNION ALL"
    " SELECT n.exchange, n.fiat, n.asset, n.trade_type FROM markets m CROSS JOIN LATERAL ("
    "  SELECT o.exchange, o.fiat, o.asset, o.trade_type FROM offers o"
    "  WHERE (o.exchange, o.fiat, o.asset, o.trade_type) > (m.exchange, m.fiat, m.asset, m.trade_type)"
    "  ORDER BY o.exchange, o.fiat, o.asset, o.trade_type LIMIT 1) n)";

// "<a>.exchange = <b>.exchange AND ..." for the four market columns.
std::string same_market(std::string_view a, std::string_view b) {
  std::string out;
  for (std::string_view column : {"exchange", "fiat", "asset", "trade_type"}) {
    if (!out.empty()) out.append(" AND ");
    out.append(a).append(".").append(column).append(" = ").append(b).append(".").append(column);
  }
  return out;
}

// The exact median of a numeric column: the mean of the lower and upper
// middle values (percentile_cont would go through double precision).
std::string exact_median(std::string_view column) {
  return std::string("(percentile_disc(0.5) WITHIN GROUP (ORDER BY ")
      .append(column)
      .append(") + percentile_disc(0.5) WITHIN GROUP (ORDER BY ")
      .append(column)
      .append(" DESC)) / 2");
}

// Buckets start at multiples of their width since this instant (UTC): 5 min
// buckets at :00, :05, ...; 1 d buckets at midnight UTC.
constexpr std::string_view bucket_origin = "timestamptz '2000-01-01 00:00:00+00'";

PriceSummary summary_at(const pg::Result& r, std::size_t row, std::size_t col) {
  PriceSummary s;
  s.count = r.int64(row, col);
  s.best = optional_text(r, col + 1, row);
  s.median = optional_text(r, col + 2, row);
  s.worst = optional_text(r, col + 3, row);
  s.available = optional_text(r, col + 4, row);
  return s;
}

}  // namespace

OfferRows::OfferRows(pg::Result result) noexcept : result_(std::move(result)), count_(result_.rows()) {}

OfferRows::OfferRows(pg::Result result, std::vector<std::size_t> rows) noexcept
    : result_(std::move(result)), count_(rows.size()), filtered_(true), kept_(std::move(rows)) {}

void OfferRows::truncate(std::size_t n) noexcept { count_ = std::min(count_, n); }

void OfferRows::keep_if(const std::function<bool(const StoredOffer&)>& keep) {
  std::vector<std::size_t> kept;
  for (std::size_t i = 0; i < count_; ++i)
    if (keep((*this)[i])) kept.push_back(filtered_ ? kept_[i] : i);
  kept_ = std::move(kept);
  filtered_ = true;
  count_ = kept_.size();
}

StoredOffer OfferRows::operator[](std::size_t index) const {
  const pg::Result& r = result_;
  const std::size_t row = filtered_ ? kept_[index] : index;
  StoredOffer o;
  o.id = r.text(row, 0);
  o.exchange = r.text(row, 1);
  o.external_id = r.text(row, 2);
  o.fetched_at = r.timestamp(row, 3);
  o.fiat = r.text(row, 4);
  o.asset = r.text(row, 5);
  o.trade_type = r.text(row, 6);
  o.price = r.text(row, 7);
  o.available = r.text(row, 8);
  o.min_limit = r.text(row, 9);
  o.max_limit = r.text(row, 10);
  o.advertiser = r.text(row, 11);
  o.payment_methods_json = r.text(row, 12);
  if (!r.is_null(row, 13)) o.advertiser_orders_30d = r.text(row, 13);
  if (!r.is_null(row, 14)) o.advertiser_completion_rate = r.text(row, 14);
  o.merchant = r.boolean(row, 15);
  return o;
}

bool ReputationFilter::matches(const StoredOffer& o) const {
  if (merchant_only && !o.merchant) return false;
  if (min_completion_rate) {
    const auto rate = o.advertiser_completion_rate ? rate_units(*o.advertiser_completion_rate) : std::nullopt;
    if (!rate || *rate < rate_units(*min_completion_rate).value_or(0)) return false;
  }
  if (min_orders) {
    std::int64_t orders = -1;
    if (o.advertiser_orders_30d)
      std::from_chars(o.advertiser_orders_30d->data(), o.advertiser_orders_30d->data() + o.advertiser_orders_30d->size(),
                      orders);
    if (orders < *min_orders) return false;
  }
  return true;
}

bool is_uuid(std::string_view s) noexcept {
  // 8-4-4-4-12 hex digits, either case. One table load per character: this
  // runs on every {id} request.
  static constexpr auto kHex = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
    for (int c = 'a'; c <= 'f'; ++c) t[static_cast<std::size_t>(c)] = t[static_cast<std::size_t>(c - 32)] = true;
    return t;
  }();
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return false;
  bool ok = true;
  for (std::size_t i = 0; i < 36; ++i)
    if (i != 8 && i != 13 && i != 18 && i != 23) ok &= kHex[static_cast<unsigned char>(s[i])];
  return ok;
}

std::string encode_cursor(const HistoryCursor& cursor) {
  std::string out = std::to_string(cursor.fetched_at.time_since_epoch().count());
  out.append("_").append(cursor.id);
  return out;
}

std::optional<HistoryCursor> decode_cursor(std::string_view text) {
  const auto sep = text.find('_');
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  std::int64_t micros = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + sep, micros);
  if (ec != std::errc() || end != text.data() + sep || micros < 0) return std::nullopt;
  const auto id = text.substr(sep + 1);
  const Micros at{std::chrono::microseconds{micros}};
  // Only what encode_cursor wrote: stored times, which the database can take back.
  if (!is_uuid(id) || !svc::pg::in_timestamp_range(at)) return std::nullopt;
  return HistoryCursor{at, std::string(id)};
}

asio::awaitable<OfferRows> OfferStore::save(const std::vector<Offer>& offers) {
  auto rows = co_await store(offers, std::nullopt);
  co_return std::move(*rows);
}

asio::awaitable<std::optional<OfferRows>> OfferStore::save_guarded(const std::vector<Offer>& offers,
                                                                   pg::Statement guard) {
  return store(offers, std::move(guard));
}

asio::awaitable<std::optional<OfferRows>> OfferStore::store(const std::vector<Offer>& offers,
                                                            std::optional<pg::Statement> guard) {
  if (offers.empty()) co_return OfferRows{};
  std::vector<std::string> exchange, external_id, fiat, asset, trade_type, price, available, min_limit, max_limit,
      advertiser, orders_30d, completion_rate, merchant, method_names;
  std::vector<std::string> method_offer;  // 1-based position of the offer each name belongs to
  for (std::size_t i = 0; i < offers.size(); ++i) {
    const Offer& o = offers[i];
    exchange.push_back(o.exchange);
    external_id.push_back(o.external_id);
    fiat.push_back(o.fiat);
    asset.push_back(o.asset);
    trade_type.push_back(o.trade_type);
    price.push_back(o.price);
    available.push_back(o.available);
    min_limit.push_back(o.min_limit);
    max_limit.push_back(o.max_limit);
    advertiser.push_back(o.advertiser);
    orders_30d.push_back(o.advertiser_orders_30d ? std::to_string(*o.advertiser_orders_30d) : std::string());
    completion_rate.push_back(o.advertiser_completion_rate.value_or(std::string()));
    merchant.push_back(o.merchant ? "t" : "f");
    for (const auto& name : o.payment_methods) {
      method_offer.push_back(std::to_string(i + 1));
      method_names.push_back(name);
    }
  }
  std::vector<pg::Statement> statements;
  const bool guarded = guard.has_value();
  if (guarded) statements.push_back(std::move(*guard));  // first: its row lock holds until the commit
  if (!method_names.empty()) statements.push_back({std::string(upsert_methods_sql), pg::Params(method_names)});
  statements.push_back({insert_sql_, pg::Params(exchange, external_id, fiat, asset, trade_type, price, available,
                                                min_limit, max_limit, advertiser, orders_30d, completion_rate,
                                                merchant, method_offer, method_names)});

  auto conn = co_await pool_.acquire();
  auto tx = co_await pg::Transaction::begin(*conn);
  auto results = co_await tx.pipeline(statements);
  if (guarded && results.front().rows() == 0) co_return std::nullopt;  // rolled back as tx leaves scope
  co_await tx.commit();
  co_return OfferRows(std::move(results.back()));
}

OfferStore::OfferStore(pg::Pool& pool)
    : pool_(pool),
      insert_sql_(std::string(insert_offers_sql)
                      .append(offer_columns)
                      .append(" FROM input i JOIN inserted o ON o.id = i.id ORDER BY i.ord")),
      find_sql_(std::string("SELECT ").append(offer_columns).append(" FROM offers o WHERE o.id = $1")) {}

asio::awaitable<OfferRows> OfferStore::find(std::string_view id) {
  co_return OfferRows(co_await pool_.query(find_sql_, pg::Params(id), kRead));
}

asio::awaitable<HistoryPage> OfferStore::history(const HistoryQuery& q) {
  pg::Params params;
  std::string sql("SELECT ");
  sql.append(offer_columns).append(" FROM offers o WHERE TRUE");
  add_filter(sql, params, q.filter);
  if (q.since) {
    params.add(*q.since);
    sql.append(" AND o.fetched_at >= ").append(placeholder(params)).append("::timestamptz");
  }
  if (q.until) {
    params.add(*q.until);
    sql.append(" AND o.fetched_at < ").append(placeholder(params)).append("::timestamptz");
  }
  if (q.after) {
    params.add(q.after->fetched_at);
    sql.append(" AND (o.fetched_at, o.id) < (").append(placeholder(params)).append("::timestamptz, ");
    params.add(q.after->id);
    sql.append(placeholder(params)).append("::uuid)");
  }
  // One more than asked for: is there a next page? The limit is written into
  // the SQL (a validated integer, 1-500, not client text): as a parameter,
  // PostgreSQL plans the statement anew on every execution (a generic plan
  // of "LIMIT $n" looks costlier than each custom one), which measured 35%
  // of its CPU per page (docs/benchmarks.md).
  sql.append(" ORDER BY o.fetched_at DESC, o.id DESC LIMIT ").append(std::to_string(q.limit + 1));

  HistoryPage page;
  page.items = OfferRows(co_await pool_.query(sql, params, kRead));
  const auto limit = static_cast<std::size_t>(q.limit);
  if (page.items.size() > limit) {
    page.items.truncate(limit);
    const auto last = page.items[limit - 1];
    page.next = HistoryCursor{last.fetched_at, std::string(last.id)};
  }
  co_return page;
}

asio::awaitable<std::vector<PaymentMethod>> OfferStore::payment_methods() {
  auto r = co_await pool_.query("SELECT id, name FROM payment_methods ORDER BY id", {}, kRead);
  std::vector<PaymentMethod> out;
  out.reserve(r.rows());
  for (std::size_t row = 0; row < r.rows(); ++row) out.push_back({r.int32(row, 0), std::string(r.text(row, 1))});
  co_return out;
}

asio::awaitable<MarketStats> OfferStore::stats(const OfferFilter& filter, std::chrono::seconds window) {
  pg::Params params(static_cast<std::int64_t>(window.count()), filter.trade_type);
  std::string sql(
      "SELECT count(*), min(o.price), max(o.price),"
      " round(percentile_cont(0.5) WITHIN GROUP (ORDER BY o.price)::numeric, 8),"
      " CASE $2::text WHEN 'BUY' THEN min(o.price) WHEN 'SELL' THEN max(o.price) END,"
      " CASE $2::text WHEN 'BUY' THEN max(o.price) WHEN 'SELL' THEN min(o.price) END,"
      " max(o.price) - min(o.price), min(o.fetched_at), max(o.fetched_at)"
      " FROM offers o WHERE o.fetched_at >= now() - make_interval(secs => $1)");
  OfferFilter rest = filter;
  rest.trade_type.reset();  // bound as $2 above
  add_filter(sql, params, rest);
  if (filter.trade_type) sql.append(" AND o.trade_type = $2");

  auto r = co_await pool_.query(sql, params, kRead);
  MarketStats s;
  s.count = r.int64(0, 0);
  s.min_price = optional_text(r, 1);
  s.max_price = optional_text(r, 2);
  s.median_price = optional_text(r, 3);
  s.best_price = optional_text(r, 4);
  s.worst_price = optional_text(r, 5);
  s.spread = optional_text(r, 6);
  if (!r.is_null(0, 7)) s.first_seen = r.timestamp(0, 7);
  if (!r.is_null(0, 8)) s.last_seen = r.timestamp(0, 8);
  co_return s;
}

asio::awaitable<std::vector<MarketInfo>> OfferStore::markets(const OfferFilter& filter) {
  pg::Params params;
  std::string sql(markets_cte);
  const std::string same = same_market("x", "o");
  sql.append(" SELECT o.exchange, o.fiat, o.asset, o.trade_type,")
      .append(" (SELECT min(x.fetched_at) FROM offers x WHERE ").append(same).append("),")
      .append(" (SELECT max(x.fetched_at) FROM offers x WHERE ").append(same).append(")")
      .append(" FROM markets o WHERE TRUE");
  add_filter(sql, params, market_part(filter));
  sql.append(" ORDER BY 1, 2, 3, 4");
  auto r = co_await pool_.query(sql, params, kRead);
  std::vector<MarketInfo> out;
  out.reserve(r.rows());
  for (std::size_t row = 0; row < r.rows(); ++row) {
    out.push_back({{std::string(r.text(row, 0)), std::string(r.text(row, 1)), std::string(r.text(row, 2)),
                    std::string(r.text(row, 3))},
                   r.timestamp(row, 4),
                   r.timestamp(row, 5)});
  }
  co_return out;
}

asio::awaitable<Snapshot> OfferStore::snapshot(const OfferFilter& filter) {
  pg::Params params;
  std::string sql(markets_cte);
  // Each market's newest fetch: one descent of offers_market_history_idx.
  sql.append(", latest AS MATERIALIZED (SELECT o.exchange, o.fiat, o.asset, o.trade_type,")
      .append(" (SELECT max(x.fetched_at) FROM offers x WHERE ").append(same_market("x", "o")).append(") AS fetched_at")
      .append(" FROM markets o WHERE TRUE");
  add_filter(sql, params, market_part(filter));
  sql.append("), snap AS MATERIALIZED (SELECT o.* FROM latest l JOIN offers o ON ")
      .append(same_market("o", "l"))
      .append(" AND o.fetched_at = l.fetched_at WHERE TRUE");
  add_filter(sql, params, offer_part(filter));
  sql.append("), agg AS (SELECT o.exchange, o.fiat, o.asset, o.trade_type, count(*) AS n, min(o.price) AS lo,")
      .append(" max(o.price) AS hi, ").append(exact_median("o.price")).append(" AS median, sum(o.available) AS volume")
      .append(" FROM snap o GROUP BY 1, 2, 3, 4) SELECT ")
      .append(offer_columns)
      .append(", l.exchange, l.fiat, l.asset, l.trade_type, l.fetched_at, coalesce(a.n, 0),")
      .append(" CASE l.trade_type WHEN 'BUY' THEN a.lo ELSE a.hi END, a.median,")
      .append(" CASE l.trade_type WHEN 'BUY' THEN a.hi ELSE a.lo END, a.volume")
      .append(" FROM latest l LEFT JOIN agg a ON ").append(same_market("a", "l"))
      .append(" LEFT JOIN snap o ON ").append(same_market("o", "l"))
      .append(" ORDER BY l.exchange, l.fiat, l.asset, l.trade_type,")
      .append(" CASE WHEN o.trade_type = 'BUY' THEN o.price END, CASE WHEN o.trade_type = 'SELL' THEN o.price END DESC,")
      .append(" o.id");
  auto r = co_await pool_.query(sql, params, kRead);

  constexpr std::size_t market_col = 16;  // after offer_columns
  Snapshot out;
  std::vector<std::size_t> offer_rows;
  for (std::size_t row = 0; row < r.rows(); ++row) {
    const auto exchange = r.text(row, market_col), fiat = r.text(row, market_col + 1),
               asset = r.text(row, market_col + 2), trade_type = r.text(row, market_col + 3);
    const bool same = !out.markets.empty() && out.markets.back().market.exchange == exchange &&
                      out.markets.back().market.fiat == fiat && out.markets.back().market.asset == asset &&
                      out.markets.back().market.trade_type == trade_type;
    if (!same) {
      MarketSnapshot m;
      m.market = {std::string(exchange), std::string(fiat), std::string(asset), std::string(trade_type)};
      m.fetched_at = r.timestamp(row, market_col + 4);
      m.summary = summary_at(r, row, market_col + 5);
      m.first = m.end = offer_rows.size();
      out.markets.push_back(std::move(m));
    }
    if (r.is_null(row, 0)) continue;  // a market none of whose newest offers passes the filter
    offer_rows.push_back(row);
    out.markets.back().end = offer_rows.size();
  }
  out.offers = OfferRows(std::move(r), std::move(offer_rows));
  co_return out;
}

asio::awaitable<std::vector<SeriesPoint>> OfferStore::series(const SeriesQuery& q) {
  const bool buy = q.filter.trade_type == "BUY";
  // $1 the bucket's width, $2 how far the oldest bucket starts before the
  // newest: `points` buckets, the newest the one holding now().
  pg::Params params(static_cast<std::int64_t>(q.bucket.count()),
                    static_cast<std::int64_t>(q.bucket.count() * (q.points - 1)));
  const std::string width = "make_interval(secs => $1)";
  const std::string start =
      "date_bin(" + width + ", now(), " + std::string(bucket_origin) + ") - make_interval(secs => $2)";
  // Each advertisement once per bucket, as last fetched in it: a bucket of
  // twelve fetches counts an offer seen in all twelve once, at its latest
  // price and amount.
  std::string sql = "WITH latest AS (SELECT DISTINCT ON (t, o.external_id) date_bin(" + width + ", o.fetched_at, " +
                    std::string(bucket_origin) + ") AS t, o.price, o.available FROM offers o WHERE o.fetched_at >= " +
                    start;
  add_filter(sql, params, q.filter);
  sql.append(" ORDER BY t, o.external_id, o.fetched_at DESC, o.id DESC),")
      .append(" points AS (SELECT t, count(*) AS n, ")
      .append(buy ? "min(price)" : "max(price)").append(" AS best, ")
      .append(exact_median("price")).append(" AS median, ")
      .append(buy ? "max(price)" : "min(price)").append(" AS worst, sum(available) AS volume FROM latest GROUP BY t)")
      .append(" SELECT g.t, coalesce(p.n, 0), p.best, p.median, p.worst, p.volume")
      .append(" FROM generate_series(").append(start).append(", now(), ").append(width).append(") AS g(t)")
      .append(" LEFT JOIN points p ON p.t = g.t ORDER BY g.t");
  auto r = co_await pool_.query(sql, params, kRead);
  std::vector<SeriesPoint> out;
  out.reserve(r.rows());
  for (std::size_t row = 0; row < r.rows(); ++row) out.push_back({r.timestamp(row, 0), summary_at(r, row, 1)});
  co_return out;
}

}  // namespace p2p
