#pragma once
// Field-by-field comparison of a mapped offer, so a failure names the field.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "app/exchanges/exchange.hpp"

namespace test_support {

inline void check_offer(const p2p::Offer& actual, const p2p::Offer& expected) {
  CHECK(actual.exchange == expected.exchange);
  CHECK(actual.external_id == expected.external_id);
  CHECK(actual.fiat == expected.fiat);
  CHECK(actual.asset == expected.asset);
  CHECK(actual.trade_type == expected.trade_type);
  CHECK(actual.price == expected.price);
  CHECK(actual.available == expected.available);
  CHECK(actual.min_limit == expected.min_limit);
  CHECK(actual.max_limit == expected.max_limit);
  CHECK(actual.payment_methods == expected.payment_methods);
  CHECK(actual.advertiser == expected.advertiser);
  CHECK(actual.advertiser_orders_30d == expected.advertiser_orders_30d);
  CHECK(actual.advertiser_completion_rate == expected.advertiser_completion_rate);
  CHECK(actual.merchant == expected.merchant);
}

// "field:reason" of each field mapping noted as unusable, in order.
inline std::vector<std::string> invalid_fields(const p2p::FetchResult& result) {
  std::vector<std::string> out;
  for (const auto& f : result.notes.invalid) out.push_back(std::string(f.field) + ":" + std::string(f.reason));
  return out;
}

// A page of exactly one offer, none skipped.
inline void check_only_offer(const p2p::FetchResult& result, const p2p::Offer& expected) {
  REQUIRE(result.offers.size() == 1);
  CHECK(result.skipped == 0);
  check_offer(result.offers[0], expected);
}

}  // namespace test_support
