#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "lib/service/request_telemetry.hpp"

using namespace svc;
using service::HttpServerCells;
using service::HttpServerMetrics;

namespace {
// What the families give for a label set, asked directly.
HttpServerCells::Cells direct(HttpServerMetrics& m, std::string_view method, std::string_view route,
                              std::string_view status) {
  return {&m.duration.with({method, route, status}), &m.request_size.with({method, route}),
          &m.response_size.with({method, route})};
}
void check_same(const HttpServerCells::Cells& a, const HttpServerCells::Cells& b) {
  CHECK(a.duration == b.duration);
  CHECK(a.request_size == b.request_size);
  CHECK(a.response_size == b.response_size);
}
}  // namespace

TEST_CASE("the cell cache gives each (method, route, status) the families' own cells, past its capacity too") {
  telemetry::Registry registry;
  HttpServerMetrics metrics(registry);
  HttpServerCells cells(metrics);
  // More label sets than the cache holds, each asked twice (added, then found).
  std::vector<std::string> routes;
  for (std::size_t i = 0; i < HttpServerCells::kMaxEntries + 40; ++i) routes.push_back("/r/" + std::to_string(i));
  for (int round = 0; round < 2; ++round) {
    for (const auto& route : routes) {
      CAPTURE(route);
      check_same(cells.find_or_add("GET", route, 200), direct(metrics, "GET", route, "200"));
      check_same(cells.find_or_add("HEAD", route, 200), direct(metrics, "HEAD", route, "200"));
    }
  }
  // Same route, other status or method: other duration cell, same size cells for the same method.
  const auto ok = cells.find_or_add("GET", "/r/1", 200);
  const auto missing = cells.find_or_add("GET", "/r/1", 404);
  CHECK(ok.duration != missing.duration);
  CHECK(ok.request_size == missing.request_size);
  CHECK(ok.duration != cells.find_or_add("POST", "/r/1", 200).duration);
  // Routes that differ only past the first eight bytes, or in length.
  check_same(cells.find_or_add("GET", "/api/v1/offers/{id}", 200), direct(metrics, "GET", "/api/v1/offers/{id}", "200"));
  check_same(cells.find_or_add("GET", "/api/v1/offers", 200), direct(metrics, "GET", "/api/v1/offers", "200"));
  check_same(cells.find_or_add("GET", "", 404), direct(metrics, "GET", "", "404"));
}

TEST_CASE("threads adding the same label sets at once agree on their cells") {
  telemetry::Registry registry;
  HttpServerMetrics metrics(registry);
  HttpServerCells cells(metrics);
  constexpr int kRoutes = 64;
  std::vector<std::vector<HttpServerCells::Cells>> seen(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < seen.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRoutes; ++i) seen[t].push_back(cells.find_or_add("GET", "/t/" + std::to_string(i), 200));
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kRoutes; ++i) {
    const auto expected = direct(metrics, "GET", "/t/" + std::to_string(i), "200");
    for (const auto& s : seen) check_same(s[static_cast<std::size_t>(i)], expected);
  }
}
