#include "app/offer_json.hpp"

#include "lib/pg/result.hpp"
#include "lib/core/escape.hpp"

namespace p2p {

namespace {

void append_string(std::string& out, std::string_view text) {
  out += '"';
  svc::core::append_json_escaped(out, text);
  out += '"';
}

// "key":
void append_key(std::string& out, std::string_view key) {
  if (out.back() != '{') out += ',';
  append_string(out, key);
  out += ':';
}

void append_text_field(std::string& out, std::string_view key, std::string_view value) {
  append_key(out, key);
  append_string(out, value);
}

void append_optional_decimal(std::string& out, std::string_view key, const std::optional<std::string>& value) {
  append_key(out, key);
  if (value)
    out.append(trim_decimal(*value));
  else
    out.append("null");
}

void append_optional_time(std::string& out, std::string_view key, const std::optional<Micros>& value) {
  append_key(out, key);
  if (value)
    append_string(out, svc::pg::format_timestamp(*value));
  else
    out.append("null");
}

void append_market(std::string& out, const MarketKey& m) {
  append_text_field(out, "exchange", m.exchange);
  append_text_field(out, "fiat", m.fiat);
  append_text_field(out, "asset", m.asset);
  append_text_field(out, "trade_type", m.trade_type);
}

void append_time(std::string& out, std::string_view key, Micros t) {
  append_key(out, key);
  out += '"';
  svc::pg::append_timestamp(out, t);
  out += '"';
}

// "count", "best_price", "median_price", "worst_price", "available"
void append_summary(std::string& out, const PriceSummary& s) {
  append_key(out, "count");
  out.append(std::to_string(s.count));
  append_optional_decimal(out, "best_price", s.best);
  append_optional_decimal(out, "median_price", s.median);
  append_optional_decimal(out, "worst_price", s.worst);
  append_optional_decimal(out, "available", s.available);
}

}  // namespace

std::string_view trim_decimal(std::string_view numeric) noexcept {
  if (numeric.find('.') == std::string_view::npos) return numeric;
  while (numeric.back() == '0') numeric.remove_suffix(1);
  if (numeric.back() == '.') numeric.remove_suffix(1);
  return numeric;
}

void append_offer(std::string& out, const StoredOffer& o) {
  // The keys are literals: nothing to escape.
  out.append("{\"id\":");
  append_string(out, o.id);
  out.append(",\"exchange\":");
  append_string(out, o.exchange);
  out.append(",\"external_id\":");
  append_string(out, o.external_id);
  out.append(",\"timestamp\":\"");
  svc::pg::append_timestamp(out, o.fetched_at);
  out += '"';
  out.append(",\"fiat\":");
  append_string(out, o.fiat);
  out.append(",\"asset\":");
  append_string(out, o.asset);
  out.append(",\"price\":").append(trim_decimal(o.price));
  out.append(",\"available\":").append(trim_decimal(o.available));
  out.append(",\"min_limit\":").append(trim_decimal(o.min_limit));
  out.append(",\"max_limit\":").append(trim_decimal(o.max_limit));
  out.append(",\"payment_methods\":").append(o.payment_methods_json);  // JSON from the database (json_agg)
  out.append(",\"trade_type\":");
  append_string(out, o.trade_type);
  out.append(",\"advertiser\":");
  append_string(out, o.advertiser);
  out.append(",\"advertiser_orders_30d\":").append(o.advertiser_orders_30d.value_or("null"));
  out.append(",\"advertiser_completion_rate\":")
      .append(o.advertiser_completion_rate ? trim_decimal(*o.advertiser_completion_rate) : "null");
  out.append(o.merchant ? ",\"merchant\":true}" : ",\"merchant\":false}");
}

namespace {
void append_offers(std::string& out, const OfferRows& offers) {
  out += '[';
  for (std::size_t i = 0; i < offers.size(); ++i) {
    if (i > 0) out += ',';
    append_offer(out, offers[i]);
  }
  out += ']';
}
}  // namespace

std::string offers_json(const OfferRows& offers) {
  std::string out;
  out.reserve(64 + offers.size() * 512);
  append_offers(out, offers);
  return out;
}

std::string history_json(const HistoryPage& page) {
  std::string out;
  out.reserve(96 + page.items.size() * 512);
  out.append("{\"items\":");
  append_offers(out, page.items);
  out.append(",\"next_cursor\":");
  if (page.next)
    append_string(out, encode_cursor(*page.next));
  else
    out.append("null");
  out += '}';
  return out;
}

std::string payment_methods_json(const std::vector<PaymentMethod>& methods) {
  std::string out = "[";
  for (const auto& m : methods) {
    if (out.size() > 1) out += ',';
    out.append("{\"id\":").append(std::to_string(m.id));
    append_text_field(out, "name", m.name);
    out += '}';
  }
  out += ']';
  return out;
}

std::string stats_json(const MarketStats& s, const OfferFilter& filter, std::string_view window) {
  std::string out = "{";
  const auto optional_text = [&out](std::string_view key, const std::optional<std::string>& value) {
    append_key(out, key);
    if (value)
      append_string(out, *value);
    else
      out.append("null");
  };
  optional_text("exchange", filter.exchange);
  optional_text("fiat", filter.fiat);
  optional_text("asset", filter.asset);
  optional_text("trade_type", filter.trade_type);
  const ReputationFilter& r = filter.reputation;
  append_optional_decimal(out, "min_completion_rate", r.min_completion_rate);
  append_key(out, "min_orders");
  out.append(r.min_orders ? std::to_string(*r.min_orders) : std::string("null"));
  append_key(out, "merchant_only");
  out.append(r.merchant_only ? "true" : "false");
  optional_text("payment_method", filter.payment_method);
  append_text_field(out, "window", window);
  append_key(out, "count");
  out.append(std::to_string(s.count));
  append_optional_decimal(out, "best_price", s.best_price);
  append_optional_decimal(out, "median_price", s.median_price);
  append_optional_decimal(out, "worst_price", s.worst_price);
  append_optional_decimal(out, "min_price", s.min_price);
  append_optional_decimal(out, "max_price", s.max_price);
  append_optional_decimal(out, "spread", s.spread);
  append_optional_time(out, "first_seen", s.first_seen);
  append_optional_time(out, "last_seen", s.last_seen);
  out += '}';
  return out;
}

std::string markets_json(const std::vector<MarketInfo>& markets) {
  std::string out = "[";
  for (const auto& m : markets) {
    if (out.size() > 1) out += ',';
    out += '{';
    append_market(out, m.market);
    append_time(out, "first_seen", m.first_seen);
    append_time(out, "last_seen", m.last_seen);
    out += '}';
  }
  out += ']';
  return out;
}

std::string snapshot_json(const Snapshot& snapshot) {
  std::string out;
  out.reserve(64 + snapshot.markets.size() * 256 + snapshot.offers.size() * 512);
  out.append("{\"markets\":[");
  for (std::size_t i = 0; i < snapshot.markets.size(); ++i) {
    const MarketSnapshot& m = snapshot.markets[i];
    out.append(i > 0 ? ",{" : "{");
    append_market(out, m.market);
    append_time(out, "fetched_at", m.fetched_at);
    append_summary(out, m.summary);
    out.append(",\"offers\":[");
    for (std::size_t row = m.first; row < m.end; ++row) {
      if (row > m.first) out += ',';
      append_offer(out, snapshot.offers[row]);
    }
    out.append("]}");
  }
  out.append("]}");
  return out;
}

std::string series_json(const std::vector<SeriesPoint>& points, const OfferFilter& market, std::string_view window,
                        std::string_view bucket, std::chrono::seconds bucket_width) {
  std::string out;
  out.reserve(256 + points.size() * 160);
  out += '{';
  append_market(out, MarketKey{market.exchange.value_or(""), market.fiat.value_or(""), market.asset.value_or(""),
                               market.trade_type.value_or("")});
  append_text_field(out, "window", window);
  append_text_field(out, "bucket", bucket);
  append_key(out, "bucket_seconds");
  out.append(std::to_string(bucket_width.count()));
  out.append(",\"points\":[");
  for (std::size_t i = 0; i < points.size(); ++i) {
    out.append(i > 0 ? ",{" : "{");
    append_time(out, "time", points[i].time);
    append_summary(out, points[i].summary);
    out += '}';
  }
  out.append("]}");
  return out;
}

}  // namespace p2p
