#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "lib/http/client.hpp"
#include "lib/http/client_url.hpp"

using svc::http::ClientError;
using svc::http::ClientPhase;
using svc::http::parse_proxy_url;
using svc::http::parse_target_url;

TEST_CASE("request URLs: scheme defaults, authority as the Host header carries it, origin-form target") {
  auto plain = parse_target_url("http://api.example.com/v1/offers?asset=USDT&fiat=EUR#frag");
  CHECK_FALSE(plain.tls);
  CHECK(plain.host == "api.example.com");
  CHECK(plain.port == 80);
  CHECK_FALSE(plain.ip_literal);
  CHECK(plain.authority == "api.example.com");
  CHECK(plain.target == "/v1/offers?asset=USDT&fiat=EUR");
  CHECK(plain.absolute() == "http://api.example.com/v1/offers?asset=USDT&fiat=EUR");

  auto secure = parse_target_url("HTTPS://p2p.binance.com");
  CHECK(secure.tls);
  CHECK(secure.port == 443);
  CHECK(secure.target == "/");

  auto v6 = parse_target_url("https://[::1]:8443/x");
  CHECK(v6.host == "::1");
  CHECK(v6.ip_literal);
  CHECK(v6.authority == "[::1]:8443");

  auto v4 = parse_target_url("http://127.0.0.1:8080");
  CHECK(v4.ip_literal);
  CHECK(v4.authority == "127.0.0.1:8080");
}

TEST_CASE("request URLs that cannot be sent are ClientError phase url") {
  for (std::string url : {"", "/relative", "ftp://host/", "http://", "http://host:0/", "http://host:99999/",
                          "https://user:secret@host/",
                          // Boost.URL 1.81 reads these as a port and a path
                          // without '/' (found by tests/fuzz/settings_fuzz.cpp,
                          // corpus crash-target-url-port-letters).
                          "http://host:12ab/x", "https://[::1]:944ACCESS_L3/x"}) {
    CAPTURE(url);
    bool url_error = false;
    try {
      parse_target_url(url);
    } catch (const ClientError& e) {
      url_error = e.phase() == ClientPhase::url && std::string(e.what()).starts_with("url: ");
      CHECK(std::string(e.what()).find("secret") == std::string::npos);
    }
    CHECK(url_error);
  }
}

TEST_CASE("proxy URLs: credentials become a Basic header; what logs see has no password") {
  auto proxy = parse_proxy_url("http://scraper:p%40ss@10.0.0.5:3128");
  CHECK(proxy.host == "10.0.0.5");
  CHECK(proxy.port == 3128);
  REQUIRE(proxy.authorization);
  CHECK(*proxy.authorization == "Basic c2NyYXBlcjpwQHNz");  // scraper:p@ss
  CHECK(proxy.display == "http://10.0.0.5:3128");

  auto bare = parse_proxy_url("http://proxy.internal");
  CHECK(bare.port == 80);
  CHECK_FALSE(bare.authorization);
  CHECK(bare.display == "http://proxy.internal:80");

  for (const char* bad : {"https://proxy:443", "socks5://proxy:1080", "http://proxy:3128/path", "proxy:3128", ""}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_proxy_url(bad), std::invalid_argument);
  }
  // The password never appears in the error.
  try {
    parse_proxy_url("ftp://user:hunter2@proxy:21");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
  }
}

// Found by tests/fuzz/settings_fuzz.cpp (corpus crash-boost-url-assert-leftover):
// Boost.URL 1.81 failed an internal assertion on this input in builds with
// assertions (the sanitizer builds) instead of rejecting it.
TEST_CASE("a URL with a non-ASCII byte after the scheme is rejected, in every build") {
  for (const char* url : {"ht:\xD0", "http:\xD0", "https://h/\xD0",
                          // and a host that decodes to no DNS name (crash-target-url-host-decoded)
                          "http://121%8040/", "http://s%40128", "http://h%2Fx/"}) {
    CAPTURE(url);
    CHECK_THROWS_AS(parse_target_url(url), ClientError);
    CHECK_THROWS_AS(parse_proxy_url(url), std::invalid_argument);
  }
}
