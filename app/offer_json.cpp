#include "app/offer_json.hpp"

#include <cstring>

#include "lib/pg/result.hpp"
#include "lib/core/escape.hpp"
#include "lib/core/rfc3339.hpp"

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

namespace {

// One offer is written in two passes over the same list of parts: Measure
// adds up the most each part can take, Write writes into a buffer sized
// once by that sum. A 20-row page then costs one resize per offer instead of
// a capacity check and a copy call per field, and the bound cannot drift
// from what is written.
struct Measure {
  std::size_t size = 0;
  void literal(std::string_view s) { size += s.size(); }
  void raw(std::string_view s) { size += s.size(); }
  void decimal(std::string_view s) { size += s.size(); }  // trimming only shortens it
  void string(std::string_view s) { size += 2 + svc::core::json_escaped_bound(s.size()); }
  void time(Micros) { size += 2 + svc::core::kRfc3339MaxSize; }
};

struct Write {
  char* at;
  void literal(std::string_view s) { raw(s); }
  void raw(std::string_view s) {
    std::memcpy(at, s.data(), s.size());
    at += s.size();
  }
  void decimal(std::string_view s) { raw(trim_decimal(s)); }
  void string(std::string_view s) {
    *at++ = '"';
    at = svc::core::write_json_escaped(at, s);
    *at++ = '"';
  }
  void time(Micros t) {
    *at++ = '"';
    at = svc::core::write_rfc3339(at, t);
    *at++ = '"';
  }
};

// The keys are literals: nothing to escape.
template <class Parts>
void offer_parts(Parts& w, const StoredOffer& o) {
  w.literal("{\"id\":");
  w.string(o.id);
  w.literal(",\"exchange\":");
  w.string(o.exchange);
  w.literal(",\"external_id\":");
  w.string(o.external_id);
  w.literal(",\"timestamp\":");
  w.time(o.fetched_at);
  w.literal(",\"fiat\":");
  w.string(o.fiat);
  w.literal(",\"asset\":");
  w.string(o.asset);
  w.literal(",\"price\":");
  w.decimal(o.price);
  w.literal(",\"available\":");
  w.decimal(o.available);
  w.literal(",\"min_limit\":");
  w.decimal(o.min_limit);
  w.literal(",\"max_limit\":");
  w.decimal(o.max_limit);
  w.literal(",\"payment_methods\":");
  w.raw(o.payment_methods_json);  // JSON from the database (json_agg)
  w.literal(",\"trade_type\":");
  w.string(o.trade_type);
  w.literal(",\"advertiser\":");
  w.string(o.advertiser);
  w.literal(",\"advertiser_orders_30d\":");
  w.raw(o.advertiser_orders_30d.value_or("null"));
  w.literal(",\"advertiser_completion_rate\":");
  if (o.advertiser_completion_rate)
    w.decimal(*o.advertiser_completion_rate);
  else
    w.literal("null");
  w.literal(o.merchant ? ",\"merchant\":true}" : ",\"merchant\":false}");
}

}  // namespace

void append_offer(std::string& out, const StoredOffer& o) {
  Measure bound;
  offer_parts(bound, o);
  const std::size_t start = out.size();
  out.resize(start + bound.size);
  Write w{out.data() + start};
  offer_parts(w, o);
  out.resize(static_cast<std::size_t>(w.at - out.data()));
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
  out.reserve(64 + offers.size() * 1024);  // append_offer sizes for its worst case
  append_offers(out, offers);
  return out;
}

std::string history_json(const HistoryPage& page) {
  std::string out;
  out.reserve(96 + page.items.size() * 1024);
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
  out.reserve(64 + snapshot.markets.size() * 256 + snapshot.offers.size() * 1024);
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
