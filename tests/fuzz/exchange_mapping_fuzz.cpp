// The exchanges' answers (app/exchanges/*_mapping.cpp): JSON text in, offers
// or UpstreamError out. The first byte picks the mapper: Binance offers,
// Bybit offers (with a small payment catalogue), Binance pairs (the rest
// split at the first NUL into the portal config and the fiat list), Bybit's
// payment catalogue. Every offer that comes out keeps Offer's promises
// (app/exchanges/offer.hpp): canonical decimals, the requested market,
// payment methods trimmed, non-empty and unique, reputation in range.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include "app/exchanges/decimal.hpp"
#include "app/exchanges/exchange_mapping.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace p2p;

bool canonical(const std::string& text) {
  auto parsed = parse_decimal(text);
  return parsed.value && *parsed.value == text;
}

bool trimmed(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  return !s.empty() && !blank(s.front()) && !blank(s.back());
}

void check(const FetchResult& result, const Market& market, std::string_view exchange) {
  for (const Offer& offer : result.offers) {
    FUZZ_CHECK(offer.exchange == exchange);
    FUZZ_CHECK(!offer.external_id.empty());
    FUZZ_CHECK(offer.fiat == market.fiat && offer.asset == market.asset && offer.trade_type == market.trade_type);
    FUZZ_CHECK(canonical(offer.price) && canonical(offer.available));
    FUZZ_CHECK(canonical(offer.min_limit) && canonical(offer.max_limit));
    std::set<std::string> seen;
    for (const auto& method : offer.payment_methods) {
      FUZZ_CHECK(trimmed(method));
      FUZZ_CHECK(seen.insert(method).second);
    }
    FUZZ_CHECK(!offer.advertiser.empty());
    // Reputation, when sent and valid: orders 0..2^31-1, a rate 0..1.
    if (offer.advertiser_orders_30d)
      FUZZ_CHECK(*offer.advertiser_orders_30d >= 0 && *offer.advertiser_orders_30d <= 2147483647);
    if (offer.advertiser_completion_rate) {
      const auto& rate = *offer.advertiser_completion_rate;
      FUZZ_CHECK(canonical(rate));
      FUZZ_CHECK(rate == "1" || rate == "0" || rate.starts_with("0."));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static spdlog::logger log("fuzz", std::make_shared<spdlog::sinks::null_sink_st>());
  log.set_level(spdlog::level::trace);  // the skip lines are formatted too
  if (size == 0) return 0;
  const Market market{"VES", "USDT", "SELL", 2, 5};
  static const PaymentNames names{{"14", "Bank Transfer"}, {"377", "Banesco"}, {"416", "Pago Movil"}};
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 4) {
      case 0:
        check(map_binance_offers(body, market, "req-1", log), market, "binance");
        break;
      case 1:
        check(map_bybit_offers(body, market, "req-1", log, names), market, "bybit");
        break;
      case 2: {
        auto nul = body.find('\0');
        auto pairs = map_binance_pairs(body.substr(0, nul), nul == std::string_view::npos ? "" : body.substr(nul + 1));
        FUZZ_CHECK(std::is_sorted(pairs.begin(), pairs.end()));
        FUZZ_CHECK(std::adjacent_find(pairs.begin(), pairs.end()) == pairs.end());
        break;
      }
      case 3:
        for (const auto& [id, name] : map_bybit_payment_names(body))
          FUZZ_CHECK(!id.empty() && !name.empty() && trimmed(id) && trimmed(name));
        break;
    }
  } catch (const UpstreamError&) {
    // A body the exchange should not have sent: a 502 for the API client.
  }
  return 0;
}
