#pragma once
// One P2P offer as this service understands it, whatever exchange it came
// from. Adapters map each exchange's JSON into it; the database stores it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace p2p {

// What a caller asks an exchange for (the API's query parameters).
struct Market {
  std::string fiat = "VES";
  std::string asset = "USDT";
  std::string trade_type = "BUY";  // BUY | SELL, from the client's point of view
  int page = 1;                    // 1-100
  int rows = 20;                   // 1-20
};

struct Offer {
  std::string exchange;     // "binance" | "bybit"
  std::string external_id;  // the exchange's id of the advertisement
  std::string fiat;
  std::string asset;
  std::string trade_type;  // BUY | SELL
  // Canonical decimals: digits, at most one '.', no sign, no separators,
  // at most 12 integer digits (they are stored as numeric(20,8)).
  std::string price;
  std::string available;
  std::string min_limit;
  std::string max_limit;
  std::vector<std::string> payment_methods;  // trimmed, non-empty, unique, in exchange order
  std::string advertiser = "Unknown";
  // The advertiser's reputation as the exchange reports it; unset when it
  // sent none or a value that is not one (see FieldNotes).
  std::optional<std::int64_t> advertiser_orders_30d{};      // orders in the last 30 days, 0..2^31-1
  std::optional<std::string> advertiser_completion_rate{};  // canonical decimal, 0..1 (0.98 = 98%)
  bool merchant = false;                                  // a merchant / verified advertiser
};

}  // namespace p2p
