// e2e: HTTP the way browsers use it, against the real binary: gzip (decoded
// here by zlib's inflate, not by the service's code), ETag and 304 on a
// repeated GET, CORS preflight and answers (CORS_ALLOW_ORIGINS).

#include <doctest/doctest.h>

#include <zlib.h>

#include <stdexcept>
#include <string>

#include "tests/e2e/api_fixture.hpp"

using namespace testsupport;

namespace {

std::string gunzip(const std::string& data) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error("inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  int rc = Z_OK;
  char chunk[16384];
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // truncated input
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("not one complete gzip member (inflate " + std::to_string(rc) + ")");
  return out;
}

const std::string history = "/api/v1/offers?limit=500";

// Offers of both exchanges stored, so that the history page is well over 1 KiB.
void store_offers(ApiFixture& api) {
  api.get_json(binance_sell);
  api.get_json(bybit_buy);
}

HttpResponse get(ApiFixture& api, const std::string& target, const std::string& headers) {
  auto r = http_get(api.service.port(), target, key_header() + headers);
  REQUIRE(r);
  return *r;
}

}  // namespace

TEST_CASE("gzip: an answer over 1 KiB is compressed when accepted, decodes to the identity body, and says Vary") {
  ReplayExchange replay;
  ApiFixture api(replay);
  store_offers(api);

  const auto plain = get(api, history, "");
  REQUIRE(plain.status == 200);
  REQUIRE(plain.body.size() > 1024);
  CHECK_FALSE(plain.has_header("content-encoding"));
  CHECK(plain.header("vary").find("Accept-Encoding") != std::string::npos);

  const auto zipped = get(api, history, "Accept-Encoding: br;q=1, gzip;q=0.8\r\n");
  REQUIRE(zipped.status == 200);
  CHECK(zipped.header("content-encoding") == "gzip");
  CHECK(zipped.header("vary").find("Accept-Encoding") != std::string::npos);
  CHECK(std::stoul(zipped.header("content-length")) == zipped.body.size());
  CHECK(zipped.body.size() < plain.body.size() / 3);  // JSON of similar offers compresses well
  CHECK(gunzip(zipped.body) == plain.body);
  // Another representation, another tag (RFC 9110 §8.8.3).
  CHECK(zipped.header("etag") != plain.header("etag"));

  SUBCASE("refused or absent gzip, and small answers, go as they are") {
    CHECK_FALSE(get(api, history, "Accept-Encoding: gzip;q=0\r\n").has_header("content-encoding"));
    CHECK_FALSE(get(api, history, "Accept-Encoding: identity\r\n").has_header("content-encoding"));
    const auto small = get(api, "/health", "Accept-Encoding: gzip\r\n");
    CHECK(small.status == 200);
    CHECK_FALSE(small.has_header("content-encoding"));
  }
  SUBCASE("HEAD has the compressed answer's headers and no body") {
    auto c = RawConnection(api.service.port());
    REQUIRE(c.send(raw_request("HEAD", history, key_header() + "Accept-Encoding: gzip\r\n")));
    auto head = c.read_response(5s, true);
    REQUIRE(head);
    CHECK(head->header("content-encoding") == "gzip");
    CHECK(head->header("content-length") == zipped.header("content-length"));
    CHECK(head->body.empty());
  }
}

TEST_CASE("ETag: a repeated GET with If-None-Match is a 304 without a body, until the answer changes") {
  ReplayExchange replay;
  ApiFixture api(replay);
  api.get_json(binance_sell);

  const auto first = get(api, history, "");
  REQUIRE(first.status == 200);
  const auto tag = first.header("etag");
  REQUIRE(tag.size() > 2);
  CHECK(tag.front() == '"');

  const auto again = get(api, history, "If-None-Match: " + tag + "\r\n");
  CHECK(again.status == 304);
  CHECK(again.body.empty());
  CHECK_FALSE(again.has_header("content-length"));
  CHECK(again.header("etag") == tag);

  // The gzip form's tag matches too, as does a list naming it, and *.
  const auto zipped = get(api, history, "Accept-Encoding: gzip\r\n");
  CHECK(get(api, history, "Accept-Encoding: gzip\r\nIf-None-Match: " + zipped.header("etag") + "\r\n").status == 304);
  CHECK(get(api, history, "If-None-Match: \"other\", W/" + tag + "\r\n").status == 304);
  CHECK(get(api, history, "If-None-Match: *\r\n").status == 304);
  CHECK(get(api, history, "If-None-Match: \"0000000000000000\"\r\n").status == 200);

  // New offers stored: the old tag no longer matches, the new answer comes whole.
  api.get_json(bybit_buy);
  const auto changed = get(api, history, "If-None-Match: " + tag + "\r\n");
  CHECK(changed.status == 200);
  CHECK(changed.header("etag") != tag);
  CHECK(changed.body.size() > first.body.size());

  // Errors get no tag: a 401 is not a representation to revalidate.
  auto unauthorised = http_get(api.service.port(), history);
  REQUIRE(unauthorised);
  CHECK(unauthorised->status == 401);
  CHECK_FALSE(unauthorised->has_header("etag"));
}

TEST_CASE("CORS: preflight allowed and denied, allowed answers readable, off when no origin is configured") {
  ReplayExchange replay;
  const std::string origin = "https://dash.example.com";
  ApiFixture api(replay, {{"CORS_ALLOW_ORIGINS", origin + ",http://localhost:3000"},
                          {"BYBIT_PAYMENT_CATALOGUE_SECONDS", "0"}});
  const int port = api.service.port();
  const std::string preflight_headers = "Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-api-key\r\n";

  auto allowed = http_request(port, "OPTIONS", history, "Origin: " + origin + "\r\n" + preflight_headers);
  REQUIRE(allowed);
  CHECK(allowed->status == 204);
  CHECK(allowed->header("access-control-allow-origin") == origin);
  CHECK(allowed->header("access-control-allow-methods").find("GET") != std::string::npos);
  CHECK(allowed->header("access-control-allow-headers").find("X-API-Key") != std::string::npos);
  CHECK(allowed->has_header("access-control-max-age"));
  CHECK_FALSE(allowed->has_header("content-length"));

  auto denied = http_request(port, "OPTIONS", history, "Origin: https://evil.example\r\n" + preflight_headers);
  REQUIRE(denied);
  CHECK(denied->status == 403);
  CHECK_FALSE(denied->has_header("access-control-allow-origin"));
  CHECK(parse_json(denied->body)["detail"].text == "CORS: origin not allowed");

  auto bad_method = http_request(port, "OPTIONS", history,
                                 "Origin: " + origin + "\r\nAccess-Control-Request-Method: DELETE\r\n");
  REQUIRE(bad_method);
  CHECK(bad_method->status == 403);

  // The answer itself: readable by the allowed origin's page, not by another's.
  const auto read = get(api, "/api/v1/offers?limit=1", "Origin: " + origin + "\r\n");
  CHECK(read.status == 200);
  CHECK(read.header("access-control-allow-origin") == origin);
  CHECK(read.header("access-control-expose-headers").find("ETag") != std::string::npos);
  CHECK(read.header("vary").find("Origin") != std::string::npos);
  const auto other = get(api, "/api/v1/offers?limit=1", "Origin: https://evil.example\r\n");
  CHECK(other.status == 200);
  CHECK_FALSE(other.has_header("access-control-allow-origin"));
  // An error answer is readable too, so that the page can show "wrong key".
  auto wrong_key = http_get(port, "/api/v1/offers?limit=1", "Origin: " + origin + "\r\nX-API-Key: wrong\r\n");
  REQUIRE(wrong_key);
  CHECK(wrong_key->status == 401);
  CHECK(wrong_key->header("access-control-allow-origin") == origin);

  SUBCASE("without CORS_ALLOW_ORIGINS a preflight is an ordinary OPTIONS: 405, no CORS header") {
    ApiFixture plain(replay, {{"BYBIT_PAYMENT_CATALOGUE_SECONDS", "0"}});
    auto r = http_request(plain.service.port(), "OPTIONS", history, "Origin: " + origin + "\r\n" + preflight_headers);
    REQUIRE(r);
    CHECK(r->status == 405);
    CHECK_FALSE(r->has_header("access-control-allow-origin"));
  }
}

TEST_CASE("CORS_ALLOW_ORIGINS that is not an origin stops start-up with a message naming it") {
  auto env = merge_env(base_service_env(), {{"CORS_ALLOW_ORIGINS", "https://dash.example.com/path"}});
  auto r = run_to_exit(P2P_BINARY, {}, env);
  INFO("output:\n", r.output);
  REQUIRE(r.exit_code);
  CHECK(*r.exit_code == 2);
  CHECK(r.output.find("config error: CORS_ALLOW_ORIGINS=") != std::string::npos);
  CHECK(r.output.find("is not an origin") != std::string::npos);
}
