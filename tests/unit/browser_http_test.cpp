// What browsers expect of HTTP answers: header lists, gzip, ETags and 304s,
// CORS. zlib's inflate is the oracle for gzip: it checks the member's CRC
// and length as any browser does.
#include <doctest/doctest.h>

#include <zlib.h>

#include <string>

#include "lib/http/compression.hpp"
#include "lib/http/conditional.hpp"
#include "lib/http/cors.hpp"
#include "lib/http/header_values.hpp"

using namespace svc::http;

namespace {

std::string gunzip(const std::string& data) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  int rc = Z_OK;
  while (rc == Z_OK) {
    char chunk[16384];
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - z.avail_out);
  }
  inflateEnd(&z);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}

Request get(std::string target = "/x") { return Request{Verb::get, target, 11}; }

Response json(std::string body) {
  return text_response(Status::ok, std::move(body), "application/json");
}

std::string offers_like(std::size_t n) {
  std::string body = "[";
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) body += ",";
    body += R"({"id":")" + std::to_string(1000000 + i) + R"(","price":"36.12","fiat":"VES","asset":"USDT"})";
  }
  return body + "]";
}

}  // namespace

TEST_CASE("header lists: tokens case-insensitively, Vary appended once") {
  CHECK(header_list_contains("GET, HEAD, POST", "head"));
  CHECK(header_list_contains(" Origin ,Accept-Encoding", "accept-encoding"));
  CHECK_FALSE(header_list_contains("GET, HEAD", "PUT"));
  CHECK_FALSE(header_list_contains("", "GET"));
  Response r = json("{}");
  add_vary(r, "Accept-Encoding");
  add_vary(r, "Origin");
  add_vary(r, "accept-encoding");
  CHECK(r[bhttp::field::vary] == "Accept-Encoding, Origin");
}

TEST_CASE("Accept-Encoding: q-values, *, and an explicit refusal") {
  CHECK(accepts_coding("gzip, deflate, br", "gzip"));
  CHECK(accepts_coding("GZIP", "gzip"));
  CHECK(accepts_coding("br;q=1.0, gzip;q=0.8", "gzip"));
  CHECK(accepts_coding("*", "gzip"));
  CHECK(accepts_coding("gzip;q=0.001", "gzip"));
  CHECK_FALSE(accepts_coding("gzip;q=0", "gzip"));
  CHECK_FALSE(accepts_coding("gzip;q=0.000", "gzip"));
  CHECK_FALSE(accepts_coding("*, gzip;q=0", "gzip"));
  CHECK_FALSE(accepts_coding("*;q=0", "gzip"));
  CHECK_FALSE(accepts_coding("identity", "gzip"));
  CHECK_FALSE(accepts_coding("", "gzip"));
  CHECK_FALSE(accepts_coding("gzipx", "gzip"));
}

TEST_CASE("gzip: a large JSON answer is compressed for a client that accepts it, and inflates back") {
  const std::string body = offers_like(500);
  auto request = get();
  request.set(bhttp::field::accept_encoding, "gzip, deflate");
  Response r = json(body);
  REQUIRE(apply_compression(request, r));
  CHECK(r[bhttp::field::content_encoding] == "gzip");
  CHECK(r[bhttp::field::vary] == "Accept-Encoding");
  CHECK(r.body().size() < body.size() / 4);
  CHECK(gunzip(r.body()) == body);
}

TEST_CASE("gzip: not for small answers, other types, or clients that do not accept it; Vary either way") {
  auto accepting = get();
  accepting.set(bhttp::field::accept_encoding, "gzip");
  Response small = json(std::string(kGzipMinBytes - 1, 'a'));
  CHECK_FALSE(apply_compression(accepting, small));
  CHECK(small[bhttp::field::vary].empty());

  Response binary = text_response(Status::ok, std::string(4096, 'a'), "image/png");
  CHECK_FALSE(apply_compression(accepting, binary));
  CHECK(binary.count(bhttp::field::content_encoding) == 0);

  Response plain = json(offers_like(100));
  const std::string before = plain.body();
  CHECK_FALSE(apply_compression(get(), plain));
  CHECK(plain.body() == before);
  CHECK(plain[bhttp::field::vary] == "Accept-Encoding");  // a cache must not serve it to a gzip client, or back

  Response html = text_response(Status::ok, std::string(2048, 'x'), "text/html; charset=utf-8");
  CHECK(apply_compression(accepting, html));
}

TEST_CASE("ETag: set on a GET answer from its body; If-None-Match gives 304 with no body") {
  Response first = json(offers_like(10));
  CHECK_FALSE(apply_conditional_get(get(), first));
  const std::string tag(first[bhttp::field::etag]);
  REQUIRE(tag.size() == 18);
  CHECK(tag.front() == '"');
  CHECK(tag == body_etag(first.body()));
  CHECK(body_etag(offers_like(10)) != body_etag(offers_like(11)));
  // MurmurHash64A of the body, seed 0, 16 hex digits: the same tag from every
  // replica, so caches keep their 304s behind a load balancer. The values are
  // the reference algorithm's (a Python transliteration of Appleby's C).
  CHECK(body_etag("hello") == "\"1e68d17c457bf117\"");
  CHECK(body_etag("") == "\"0000000000000000\"");
  CHECK(body_etag(R"({"status":"ok"})") == "\"4881ac84d55baccc\"");
  // Every tail length (0-7 bytes past a multiple of 8) reaches the hash.
  CHECK(body_etag("12345678a") != body_etag("12345678b"));
  CHECK(body_etag("12345678abcdefg") != body_etag("12345678abcdefh"));

  auto again = get();
  again.set(bhttp::field::if_none_match, tag);
  Response second = json(offers_like(10));
  CHECK(apply_conditional_get(again, second));
  CHECK(second.result() == Status::not_modified);
  CHECK(second.body().empty());
  CHECK(second[bhttp::field::etag] == tag);

  auto changed = get();
  changed.set(bhttp::field::if_none_match, tag);
  Response third = json(offers_like(11));
  CHECK_FALSE(apply_conditional_get(changed, third));
  CHECK(third.result() == Status::ok);
  CHECK(third.body() == offers_like(11));
}

TEST_CASE("ETag: weak comparison, lists, *, and the tag of the gzip form") {
  const std::string body = offers_like(40);
  const std::string tag = body_etag(body);
  auto gz = get();
  gz.set(bhttp::field::accept_encoding, "gzip");
  Response compressed = json(body);
  apply_conditional_get(gz, compressed);
  REQUIRE(apply_compression(gz, compressed));
  const std::string gz_tag(compressed[bhttp::field::etag]);
  CHECK(gz_tag == tag.substr(0, tag.size() - 1) + "-gzip\"");

  for (const std::string& header : {gz_tag, "W/" + tag, "\"other\", " + tag, std::string("*")}) {
    auto request = get();
    request.set(bhttp::field::if_none_match, header);
    Response r = json(body);
    CHECK_MESSAGE(apply_conditional_get(request, r), header);
  }
}

TEST_CASE("ETag: only for successful GET and HEAD answers") {
  auto post = Request{Verb::post, "/x", 11};
  Response created = json("{}");
  CHECK_FALSE(apply_conditional_get(post, created));
  CHECK(created[bhttp::field::etag].empty());
  Response missing = error_response(Status::not_found, "Not Found");
  CHECK_FALSE(apply_conditional_get(get(), missing));
  CHECK(missing[bhttp::field::etag].empty());
  auto head = Request{Verb::head, "/x", 11};
  Response headed = json("{}");
  apply_conditional_get(head, headed);
  CHECK(headed[bhttp::field::etag] == body_etag("{}"));
}

TEST_CASE("CORS: off without origins; a listed origin gets its preflight and its headers") {
  Cors off({});
  auto preflight = Request{Verb::options, "/api/v1/offers", 11};
  preflight.set(bhttp::field::origin, "https://dash.example.com");
  preflight.set(bhttp::field::access_control_request_method, "GET");
  preflight.set(bhttp::field::access_control_request_headers, "x-api-key");
  CHECK_FALSE(off.preflight(preflight).has_value());

  Cors cors({{"https://dash.example.com", "http://127.0.0.1:3000"}});
  auto allowed = cors.preflight(preflight);
  REQUIRE(allowed);
  CHECK(allowed->result() == Status::no_content);
  CHECK((*allowed)[bhttp::field::access_control_allow_origin] == "https://dash.example.com");
  CHECK(header_list_contains((*allowed)[bhttp::field::access_control_allow_headers], "X-API-Key"));
  CHECK(header_list_contains((*allowed)[bhttp::field::access_control_allow_methods], "GET"));

  auto request = get();
  request.set(bhttp::field::origin, "https://DASH.example.com");
  Response r = json("{}");
  cors.decorate(request, r);
  CHECK(r[bhttp::field::access_control_allow_origin] == "https://DASH.example.com");
  CHECK(header_list_contains(r[bhttp::field::access_control_expose_headers], "ETag"));
  CHECK(r[bhttp::field::vary] == "Origin");
}

TEST_CASE("CORS: another origin or method is refused with 403 and no allow header") {
  Cors cors({{"https://dash.example.com"}});
  auto evil = Request{Verb::options, "/api/v1/offers", 11};
  evil.set(bhttp::field::origin, "https://evil.example.com");
  evil.set(bhttp::field::access_control_request_method, "GET");
  auto denied = cors.preflight(evil);
  REQUIRE(denied);
  CHECK(denied->result() == Status::forbidden);
  CHECK(denied->body() == R"({"detail":"CORS: origin not allowed"})");
  CHECK((*denied)[bhttp::field::access_control_allow_origin].empty());

  auto put = Request{Verb::options, "/api/v1/offers", 11};
  put.set(bhttp::field::origin, "https://dash.example.com");
  put.set(bhttp::field::access_control_request_method, "DELETE");
  auto refused = cors.preflight(put);
  REQUIRE(refused);
  CHECK(refused->result() == Status::forbidden);

  auto request = get();
  request.set(bhttp::field::origin, "https://evil.example.com");
  Response r = json("{}");
  cors.decorate(request, r);
  CHECK(r[bhttp::field::access_control_allow_origin].empty());
  CHECK(r[bhttp::field::vary] == "Origin");

  auto plain_options = Request{Verb::options, "/api/v1/offers", 11};  // no Origin: not a preflight
  CHECK_FALSE(cors.preflight(plain_options).has_value());
}

TEST_CASE("CORS: * allows any origin without Vary: Origin") {
  Cors any({{"*"}});
  auto request = get();
  request.set(bhttp::field::origin, "https://anywhere.example");
  Response r = json("{}");
  any.decorate(request, r);
  CHECK(r[bhttp::field::access_control_allow_origin] == "*");
  CHECK(r[bhttp::field::vary].empty());
}
