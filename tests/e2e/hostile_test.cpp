// e2e, the hostile input matrix of issue 12: the real binary on loopback, fed
// malformed, oversized, slow and unending input. Every row states its answer,
// then checks that the server still serves and that its resident memory
// stayed within a stated bound (read from /proc/PID/status). Every load is
// bounded in count and in time and stops by itself.

#include <doctest/doctest.h>

#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/e2e/json_reader.hpp"
#include "tests/support/process_stats.hpp"
#include "tests/support/raw_http.hpp"
#include "tests/support/service.hpp"
#include "tests/support/text_and_clock.hpp"

using namespace testsupport;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Under ASan the freed memory sits in its quarantine and shadow memory grows
// with every allocation, so resident memory says nothing about the server;
// and at a 128-descriptor limit the sanitizers cannot open their report
// files. The release run checks both; the sanitized run checks the answers.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

constexpr std::string_view kKey = "X-API-Key: e2e-test-key-0123456789\r\n";

// One row of the matrix: what is sent, the status it gets and whether the
// connection ends after it (if not, it must serve the next request).
struct Row {
  std::string name;
  std::string bytes;
  int status;
  bool closes;
};

// The server still answers a new client.
void check_serves(int port) {
  auto r = http_get(port, "/health");
  REQUIRE_MESSAGE(r, "the server stopped answering");
  CHECK(r->status == 200);
}

// The server's descriptor count once the connections of earlier requests
// have finished closing: unchanged for 200 ms (waits at most 5 s).
long settled_fds(int pid) {
  long last = open_fds(pid);
  auto since = Clock::now();
  const auto deadline = since + 5s;
  while (Clock::now() < deadline && Clock::now() - since < 200ms) {
    ::poll(nullptr, 0, 20);
    const long now = open_fds(pid);
    if (now != last) {
      last = now;
      since = Clock::now();
    }
  }
  return last;
}

// The service after start-up and warm-up: its resident memory and open
// descriptors at rest, against which a load's growth is bounded.
struct AtRest {
  AtRest(RunningService& svc, long bound_kib) : pid(svc.process().pid()), bound_kib(bound_kib) {
    for (int i = 0; i < 20; ++i) check_serves(svc.port());
    fds = settled_fds(pid);
    rss_kib = testsupport::rss_kib(pid);
    REQUIRE(rss_kib > 0);
  }
  void check_memory(const std::string& after) const {
    const long now = testsupport::rss_kib(pid);
    CAPTURE(after);
    INFO("RSS ", rss_kib, " KiB at rest, ", now, " KiB now; bound ", bound_kib, " KiB of growth");
    if (!kSanitized) CHECK(now - rss_kib <= bound_kib);
  }
  int pid;
  long bound_kib;
  long fds = 0;
  long rss_kib = 0;
};

// The body of a JSON answer parses (Boost.JSON also rejects invalid UTF-8).
void check_json_body(const HttpResponse& r) {
  if (!starts_with(r.header("content-type"), "application/json")) return;
  CAPTURE(r.body.substr(0, 200));
  CHECK_NOTHROW(parse_json(r.body));
}

void run_row(int port, const Row& row) {
  CAPTURE(row.name);
  RawConnection c(port);
  REQUIRE(c.send(row.bytes));
  auto r = c.read_response(5s);
  REQUIRE_MESSAGE(r, "no answer");
  CHECK(r->status == row.status);
  check_json_body(*r);
  if (row.closes) {
    CHECK(r->header("connection") == "close");
    CHECK(c.wait_closed(5s));
  } else {
    REQUIRE(c.send(raw_request("GET", "/health")));
    auto next = c.read_response(5s);
    REQUIRE_MESSAGE(next, "the connection did not go on");
    CHECK(next->status == 200);
  }
}

// Sets RLIMIT_NOFILE's soft limit for the scope (children started meanwhile inherit it).
class FileLimit {
 public:
  explicit FileLimit(rlim_t soft) {
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    rlimit wanted = saved_;
    wanted.rlim_cur = std::min(soft, saved_.rlim_max);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &wanted) == 0);
    soft_ = wanted.rlim_cur;
  }
  ~FileLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  rlim_t soft() const { return soft_; }

 private:
  rlimit saved_{};
  rlim_t soft_ = 0;
};

// Polls `done` every 20 ms until it holds or `timeout` passes.
template <class Done>
bool eventually(Done done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    ::poll(nullptr, 0, 20);
  }
}

std::size_t count_of(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

}  // namespace

TEST_SUITE("hostile") {

// Each row costs the server at most one read buffer (the header limit plus
// 16 KiB) on one connection, released when it closes. 8 MiB of growth over
// the whole matrix leaves room for glibc's per-thread arenas (they grow in
// 128 KiB+ steps on the 3 threads) and is far below the 58-66 MiB a single
// body or chunk-extension load added before issue 12.
constexpr long kMatrixBoundKib = 8 * 1024;

TEST_CASE("request line and headers: each malformed or unusual request gets its answer") {
  RunningService svc(p2p_binary(), {{"MAX_HEADER_BYTES", "4096"}});
  INFO("service output:\n", svc.output());
  AtRest rest(svc, kMatrixBoundKib);
  const std::string nul("\0", 1);
  std::string many_headers;
  for (int i = 0; i < 500; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";

  const std::vector<Row> rows{
      // request line
      {"not HTTP", "THIS IS NOT HTTP\r\n\r\n", 400, true},
      {"method with a non-token character", "G@T /health HTTP/1.1\r\nHost: x\r\n\r\n", 400, true},
      {"unknown method", raw_request("FROBNICATE", "/health"), 405, false},
      {"lower-case method (methods are case-sensitive)", raw_request("get", "/health"), 405, false},
      {"3000-character method", raw_request(std::string(3000, 'M'), "/health"), 405, false},
      {"empty target", "GET  HTTP/1.1\r\nHost: x\r\n\r\n", 400, true},
      {"target over the header limit", raw_request("GET", "/health?pad=" + std::string(8000, 'a')), 431, true},
      {"long target under the limit", raw_request("GET", "/health?pad=" + std::string(3000, 'a')), 200, false},
      {"absolute form", raw_request("GET", "http://example.com/health"), 200, false},
      {"absolute form, upper-case scheme, port and query", raw_request("GET", "HTTP://example.com:8080/health?x=1"), 200,
       false},
      {"absolute form without a path is /", raw_request("GET", "http://example.com"), 200, false},
      {"absolute form with userinfo", raw_request("GET", "http://user@example.com/health"), 400, true},
      {"absolute form of another scheme", raw_request("GET", "ftp://example.com/health"), 400, true},
      {"authority form (CONNECT)", raw_request("CONNECT", "example.com:443"), 400, true},
      {"OPTIONS *", raw_request("OPTIONS", "*"), 200, false},
      {"* with GET", raw_request("GET", "*"), 400, true},
      {"relative target", raw_request("GET", "health"), 400, true},
      {"fragment in the target", raw_request("GET", "/health#top"), 400, true},
      {"bad percent-escape in the path", raw_request("GET", "/he%zzalth"), 404, false},
      {"bad percent-escape in the query", raw_request("GET", "/ready?x=%G1"), 400, false},
      {"NUL byte in the target", "GET /health" + nul + " HTTP/1.1\r\nHost: x\r\n\r\n", 400, true},
      {"raw invalid UTF-8 in the target", raw_request("GET", "/\xff\xfe"), 400, true},
      {"percent-encoded invalid UTF-8 in the path", raw_request("GET", "/%FF%FE"), 404, false},
      // header fields
      {"field without a colon", raw_request("GET", "/health", "X-No-Colon\r\n"), 400, true},
      {"field name with a space", raw_request("GET", "/health", "X Y: v\r\n"), 400, true},
      {"NUL byte in a field value", raw_request("GET", "/health", "X-A: a" + nul + "b\r\n"), 400, true},
      {"many small fields past the header limit", raw_request("GET", "/health", many_headers), 431, true},
      // RFC 9112 section 5.2 allows replacing obs-fold with spaces; Beast does.
      {"obs-fold", raw_request("GET", "/health", "X-Fold: a\r\n b\r\n"), 200, false},
      // framing
      {"equal duplicate Content-Length on a route without a body",
       raw_request("GET", "/health", "Content-Length: 5\r\nContent-Length: 5\r\n") + "hello", 413, true},
      {"conflicting Content-Length", raw_request("GET", "/health", "Content-Length: 5\r\nContent-Length: 6\r\n"), 400,
       true},
      {"Content-Length list with different values", raw_request("GET", "/health", "Content-Length: 5, 6\r\n"), 400, true},
      {"negative Content-Length", raw_request("GET", "/health", "Content-Length: -1\r\n"), 400, true},
      {"Content-Length with Transfer-Encoding",
       raw_request("POST", "/health", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n", 400, true},
      {"Transfer-Encoding: gzip (chunked not last)", raw_request("GET", "/health", "Transfer-Encoding: gzip\r\n"), 400,
       true},
      {"Transfer-Encoding: chunked, gzip", raw_request("GET", "/health", "Transfer-Encoding: chunked, gzip\r\n"), 400,
       true},
      {"Transfer-Encoding: gzip, chunked (gzip not implemented)",
       raw_request("GET", "/health", "Transfer-Encoding: gzip, chunked\r\n"), 501, true},
      {"Transfer-Encoding: chunked twice", raw_request("GET", "/health", "Transfer-Encoding: chunked, chunked\r\n"),
       400, true},
      {"Transfer-Encoding in HTTP/1.0", raw_request("GET", "/health", "Transfer-Encoding: chunked\r\n", "HTTP/1.0"), 400,
       true},
      {"bad chunk size on a route without a body",
       raw_request("GET", "/health", "Transfer-Encoding: chunked\r\n") + "zz\r\n", 413, true},
      {"chunked body on a path without that method",
       raw_request("POST", "/health", "Transfer-Encoding: chunked\r\n") + "zz\r\n", 405, true},
      // versions
      {"HTTP/0.9 request line", "GET /\r\n\r\n", 400, true},
      // Beast takes 1.0 and 1.1 only (RFC 9112 would answer 1.2 as 1.1).
      {"HTTP/1.2", raw_request("GET", "/health", "", "HTTP/1.2"), 400, true},
      {"HTTP/2.0 request line", raw_request("GET", "/health", "", "HTTP/2.0"), 505, true},
      {"HTTP/2 connection preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, true},
      {"HTTP/3.0", raw_request("GET", "/health", "", "HTTP/3.0"), 505, true},
  };
  for (const auto& row : rows) {
    run_row(svc.port(), row);
    check_serves(svc.port());
    rest.check_memory(row.name);
  }

  // What the rows above promised in detail.
  auto options = http_request(svc.port(), "OPTIONS", "*");
  REQUIRE(options);
  CHECK(options->header("allow") == "GET, HEAD");
  auto absolute = http_get(svc.port(), "http://example.com/health");
  REQUIRE(absolute);
  CHECK(absolute->body == R"({"status":"ok"})");
}

TEST_CASE("client-chosen methods become one _OTHER label: /metrics stays small") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());
  AtRest rest(svc, kMatrixBoundKib);
  {
    RawConnection c(svc.port());
    for (int i = 0; i < 300; ++i) {
      std::string method = std::to_string(i);  // not "M" + ...: a false -Wrestrict in GCC 12
      method.insert(0, 1, 'M').append(40, 'X');
      REQUIRE(c.send(raw_request(method, "/health")));
      auto r = c.read_response();
      REQUIRE(r);
      REQUIRE(r->status == 405);
    }
  }
  auto metrics = http_get(svc.port(), "/metrics");
  REQUIRE(metrics);
  REQUIRE(metrics->status == 200);
  std::set<std::string> methods;
  const std::regex label(R"re(http_request_method="([^"]*)")re");
  for (std::sregex_iterator it(metrics->body.begin(), metrics->body.end(), label), end; it != end; ++it)
    methods.insert((*it)[1]);
  CAPTURE(metrics->body.size());
  CHECK(methods == std::set<std::string>{"GET", "_OTHER"});
  // 300 made-up methods made 12,300 series and 3.9 MB before; now a few families of a few series.
  CHECK(metrics->body.size() < 64 * 1024);
  check_serves(svc.port());
  rest.check_memory("300 made-up methods");
}

TEST_CASE("query values and keys: out-of-range numbers and times are 422, long keys 401, all valid JSON") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());
  AtRest rest(svc, kMatrixBoundKib);
  const std::string key(kKey);
  const std::string uuid = "6f1c0a2e-0000-4000-8000-000000000001";
  const std::vector<Row> rows{
      {"limit=INT64_MAX", raw_request("GET", "/api/v1/offers?limit=9223372036854775807", key), 422, false},
      {"limit=INT64_MAX+1", raw_request("GET", "/api/v1/offers?limit=9223372036854775808", key), 422, false},
      {"limit=INT64_MIN", raw_request("GET", "/api/v1/offers?limit=-9223372036854775808", key), 422, false},
      {"limit=INT64_MIN-1", raw_request("GET", "/api/v1/offers?limit=-9223372036854775809", key), 422, false},
      {"limit=+-1", raw_request("GET", "/api/v1/offers?limit=%2B-1", key), 422, false},
      {"page=INT64_MAX (no upstream call)",
       raw_request("GET", "/api/v1/binance/offers?page=9223372036854775807", key), 422, false},
      {"since in year 0", raw_request("GET", "/api/v1/offers?since=0000-01-01", key), 422, false},
      {"since before year 1 once in UTC", raw_request("GET", "/api/v1/offers?since=0001-01-01T00:00:00%2B01:00", key),
       422, false},
      {"until after year 9999 once in UTC",
       raw_request("GET", "/api/v1/offers?until=9999-12-31T23:59:59-01:00", key), 422, false},
      {"until in year 300000", raw_request("GET", "/api/v1/offers?until=300000-01-01", key), 422, false},
      {"since at the first valid instant", raw_request("GET", "/api/v1/offers?since=0001-01-01T00:00:00Z", key), 200,
       false},
      {"until at the last valid instant",
       raw_request("GET", "/api/v1/offers?until=9999-12-31T23:59:59.999999Z", key), 200, false},
      {"cursor at INT64_MAX microseconds",
       raw_request("GET", "/api/v1/offers?cursor=9223372036854775807_" + uuid, key), 422, false},
      {"cursor with invalid UTF-8", raw_request("GET", "/api/v1/offers?cursor=%FF%FE_x", key), 422, false},
      {"invalid UTF-8 in a path parameter", raw_request("GET", "/api/v1/offers/%FF%FE%C0%AF", key), 422, false},
      {"invalid UTF-8 in a query value", raw_request("GET", "/api/v1/stats?window=%FF%ED%A0%80", key), 422, false},
      {"API key of 4000 characters",
       raw_request("GET", "/api/v1/offers", "X-API-Key: " + std::string(4000, 'k') + "\r\n"), 401, false},
      {"API key over the header limit",
       raw_request("GET", "/api/v1/offers", "X-API-Key: " + std::string(20000, 'k') + "\r\n"), 431, true},
  };
  for (const auto& row : rows) {
    run_row(svc.port(), row);
    check_serves(svc.port());
    rest.check_memory(row.name);
  }

  // The echo of invalid UTF-8 is U+FFFD, in FastAPI's shape.
  auto r = http_get(svc.port(), "/api/v1/offers/%FF%FE", key);
  REQUIRE(r);
  REQUIRE(r->status == 422);
  auto body = parse_json(r->body);
  CHECK(body["detail"].items.at(0)["input"].text == "\xEF\xBF\xBD\xEF\xBF\xBD");
  auto year0 = http_get(svc.port(), "/api/v1/offers?since=0000-01-01", key);
  REQUIRE(year0);
  CHECK(parse_json(year0->body)["detail"].items.at(0)["loc"].items.at(1).text == "since");
}

TEST_CASE("bodies are not read before routing: 60 unfinished 1 MB bodies to a GET route are refused at once") {
  RunningService svc(p2p_binary(), {{"HEADER_TIMEOUT_SECONDS", "30"}, {"IDLE_TIMEOUT_SECONDS", "30"}});
  INFO("service output:\n", svc.output());
  // Nothing of the bodies is kept: at most a read buffer (20 KiB) per
  // connection while it lingers, 60 x 20 KiB = 1.2 MiB, plus arena slack.
  AtRest rest(svc, 8 * 1024);
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < 60; ++i) {
    conns.push_back(std::make_unique<RawConnection>(svc.port()));
    REQUIRE(conns.back()->send(raw_request("GET", "/health", "Content-Length: 1048576\r\n") + std::string(1000, 'x')));
  }
  for (auto& c : conns) {
    auto r = c->read_response(5s);
    REQUIRE_MESSAGE(r, "no answer before the body was sent");
    CHECK(r->status == 413);
    CHECK(r->body == R"({"detail":"Request body not accepted on this route"})");
    CHECK(c->wait_closed(5s));
  }
  check_serves(svc.port());
  rest.check_memory("60 unfinished bodies");
}

TEST_CASE("an endless chunk extension is refused without being read") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());
  // The server reads at most one buffer (20 KiB) of it; 8 MiB is arena slack.
  // Before issue 12, 64 MiB of extension grew RSS by 66 MiB.
  AtRest rest(svc, 8 * 1024);
  for (const auto& row : {std::pair<std::string, int>{"GET", 413}, {"POST", 405}}) {
    // Named copies: clang 14 (the sanitizer builds) cannot capture a structured binding in CAPTURE.
    const std::string& method = row.first;
    const int status = row.second;
    CAPTURE(method);
    const auto head = raw_request(method, "/health", "Transfer-Encoding: chunked\r\n") + "1;";
    // 128 KiB of "aaaa..." with no CRLF, then the answer: read before the
    // server closes (what it discards while lingering, 256 KiB, covers it).
    RawConnection c(svc.port());
    REQUIRE(c.send(head + std::string(128 * 1024, 'a')));
    auto r = c.read_response();
    REQUIRE_MESSAGE(r, "no answer to an unfinished chunk extension");
    CHECK(r->status == status);
    CHECK(c.wait_closed(5s));
    // Without end: the server closes long before 64 MiB (a client that does
    // not stop sending may then lose the answer to the reset).
    auto f = flood(svc.port(), head, 'a', 64u * 1024 * 1024, 10s);
    INFO("sent ", f.sent, " bytes");
    CHECK(f.closed);
    CHECK(f.sent < 64u * 1024 * 1024);
  }
  check_serves(svc.port());
  rest.check_memory("endless chunk extensions");
}

TEST_CASE("a pipeline of 1,000 requests in one write is answered completely and in order") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());
  // The requests are read one at a time from one buffer (at most 20 KiB);
  // 1,000 answers of ~200 bytes pass through the socket, not the heap.
  AtRest rest(svc, 8 * 1024);
  RawConnection c(svc.port());
  std::string burst;
  for (int i = 0; i < 1000; ++i) burst += raw_request("GET", "/health", "X-Request-ID: p-" + std::to_string(i) + "\r\n");
  REQUIRE(c.send(burst));
  for (int i = 0; i < 1000; ++i) {
    CAPTURE(i);
    auto r = c.read_response(10s);
    REQUIRE(r);
    REQUIRE(r->status == 200);
    REQUIRE(r->header("x-request-id") == "p-" + std::to_string(i));
  }
  check_serves(svc.port());
  rest.check_memory("1,000 pipelined requests");
}

TEST_CASE("a client that never reads its answers is dropped when a write outlasts IDLE_TIMEOUT_SECONDS") {
  // The server answers the tens of thousands of requests that fit in the
  // socket buffers before its write blocks, and each is an event for the
  // telemetry queue: 10,000 queued events (the default capacity, reached
  // when the writer lags on a busy machine) hold ~9 MiB. A small queue keeps
  // that out of the bound, which is about answers, not telemetry.
  RunningService svc(p2p_binary(), {{"IDLE_TIMEOUT_SECONDS", "3"}, {"TELEMETRY_QUEUE_CAPACITY", "1000"}});
  INFO("service output:\n", svc.output());
  // The server stops reading while its write waits: unread requests and
  // answers stay in the kernel's socket buffers, which RSS does not count.
  AtRest rest(svc, 8 * 1024);
  LoadConnection s(svc.port());
  std::string burst;
  for (int i = 0; i < 256; ++i) burst += raw_request("GET", "/health");
  // Send until the kernel takes nothing for 500 ms (the server stopped
  // reading), at most 64 MiB and 15 s.
  std::size_t sent = 0;
  auto last_progress = Clock::now();
  const auto deadline = Clock::now() + 15s;
  while (sent < 64u * 1024 * 1024 && Clock::now() < deadline && Clock::now() - last_progress < 500ms) {
    const auto n = s.send_some(burst);
    if (n < 0) break;
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      last_progress = Clock::now();
    } else {
      ::poll(nullptr, 0, 20);
    }
  }
  INFO("sent ", sent, " bytes of requests without reading");
  CHECK(sent > 0);
  CHECK(open_fds(rest.pid) >= rest.fds + 1);  // still open while its write waits
  rest.check_memory("unread answers, while the write waits");
  // The write times out after 3 s and the connection is closed.
  CHECK(eventually([&] { return open_fds(rest.pid) <= rest.fds; }, 10s));
  CHECK(eventually([&] { return s.closed(); }, 10s));
  check_serves(svc.port());
  rest.check_memory("after the unread client was dropped");
}

TEST_CASE("slowloris: 200 clients trickling their headers are all dropped after HEADER_TIMEOUT_SECONDS") {
  RunningService svc(p2p_binary(), {{"HEADER_TIMEOUT_SECONDS", "1"}});
  INFO("service output:\n", svc.output());
  // Each holds at most a read buffer (20 KiB) until dropped: 4 MiB, plus slack.
  AtRest rest(svc, 8 * 1024);
  std::vector<std::unique_ptr<LoadConnection>> clients;
  for (int i = 0; i < 200; ++i) {
    clients.push_back(std::make_unique<LoadConnection>(svc.port()));
    REQUIRE(clients.back()->send_some("GET /health HTTP/1.1\r\n") > 0);
  }
  // One header byte per client every 100 ms until the server has closed all
  // of them (bounded: 10 s).
  std::vector<bool> closed(clients.size(), false);
  const auto t0 = Clock::now();
  std::size_t open = clients.size();
  while (open > 0 && ms_since(t0) < 10'000) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (closed[i]) continue;
      if (clients[i]->send_some("X") < 0 || clients[i]->closed()) {
        closed[i] = true;
        --open;
      }
    }
    rest.check_memory("while trickling");
    ::poll(nullptr, 0, 100);
  }
  CHECK(open == 0);
  CHECK(ms_since(t0) < 9'000);
  CHECK(eventually([&] { return open_fds(rest.pid) <= rest.fds; }, 5s));
  check_serves(svc.port());
  rest.check_memory("200 slowloris headers");
}

TEST_CASE("slowloris on the body: a body trickled to a route without one is refused at its header") {
  RunningService svc(p2p_binary(), {{"HEADER_TIMEOUT_SECONDS", "30"}});
  INFO("service output:\n", svc.output());
  AtRest rest(svc, kMatrixBoundKib);
  // The app has no route that takes a body (tests/integration/http_server_test.cpp
  // covers one): a body announced anywhere is answered before its first byte.
  RawConnection c(svc.port());
  REQUIRE(c.send(raw_request("GET", "/health", "Content-Length: 100\r\n") + "x"));
  auto r = c.read_response(5s);
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(c.wait_closed(5s));
  check_serves(svc.port());
  rest.check_memory("trickled body");
}

TEST_CASE("10,000 idle connections are held at a bounded cost, and released when they close") {
  constexpr int kIdle = 10'000;
  FileLimit limit(kIdle + 512);  // the test's sockets; the service inherits it for its own
  REQUIRE_MESSAGE(limit.soft() >= kIdle + 512, "RLIMIT_NOFILE's hard limit is too low for this test");
  RunningService svc(p2p_binary(), {{"MAX_CONNECTIONS", std::to_string(kIdle + 100)}, {"HEADER_TIMEOUT_SECONDS", "60"}});
  INFO("service output:\n", svc.output());
  // Measured: 5.5 KiB per idle connection (the session, its coroutine frames,
  // Asio's state for the socket and the deadline; no read buffer while
  // idle), 10.3 KiB before issue 12 (a 4 KiB buffer each, and the request's
  // state kept between requests). Bound: 8 KiB each, 80 MB in all.
  AtRest rest(svc, kIdle * 8);
  std::vector<std::unique_ptr<LoadConnection>> idle;
  idle.reserve(kIdle);
  // In steps of 500, waiting for the server to take each step: the listen
  // backlog is smaller than 10,000.
  for (int i = 0; i < kIdle; i += 500) {
    for (int j = 0; j < 500; ++j) idle.push_back(std::make_unique<LoadConnection>(svc.port()));
    const long want = rest.fds + static_cast<long>(idle.size());
    REQUIRE_MESSAGE(eventually([&] { return open_fds(rest.pid) >= want; }, 10s), "the server did not accept ", want);
  }
  CHECK(open_fds(rest.pid) >= rest.fds + kIdle);
  check_serves(svc.port());
  rest.check_memory("10,000 idle connections");
  idle.clear();
  CHECK(eventually([&] { return open_fds(rest.pid) <= rest.fds; }, 15s));
  check_serves(svc.port());
}

TEST_CASE("MAX_CONNECTIONS: one more connection is closed at once, logged once per interval, not per connection") {
  RunningService svc(p2p_binary(), {{"MAX_CONNECTIONS", "20"}, {"HEADER_TIMEOUT_SECONDS", "60"}});
  INFO("service output:\n", svc.output());
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 20; ++i) {
    held.push_back(std::make_unique<RawConnection>(svc.port()));
    REQUIRE(held.back()->send(raw_request("GET", "/health")));
    auto r = held.back()->read_response();
    REQUIRE(r);  // served: accepted under the cap, and kept alive
    CHECK(r->status == 200);
  }
  for (int i = 0; i < 100; ++i) {
    CAPTURE(i);
    RawConnection over(svc.port());
    CHECK(over.wait_closed(5s));
    CHECK(over.unread().empty());
  }
  // The held ones are still served.
  REQUIRE(held[0]->send(raw_request("GET", "/health")));
  auto r = held[0]->read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(count_of(svc.output(), "at MAX_CONNECTIONS=20") == 1);

  held.resize(10);  // closes 10: the server is below the cap once it notices
  CHECK(eventually(
      [&] {
        auto ok = http_get(svc.port(), "/health");
        return ok && ok->status == 200;
      },
      10s));
  auto line = svc.wait_for_line("below MAX_CONNECTIONS=20 again: ", 5s);
  REQUIRE(line);
  std::smatch m;
  REQUIRE(std::regex_search(*line, m, std::regex(R"(again: (\d+) connections were closed)")));
  CHECK(std::stoi(m[1]) >= 100);
}

TEST_CASE("EMFILE: accept backs off, logs once, keeps serving the open connections, and recovers" *
          doctest::skip(kSanitized)) {
  std::optional<RunningService> svc;
  {
    // The service's own limit: its start-up needs about 30 descriptors.
    FileLimit low(128);
    svc.emplace(p2p_binary(), Env{{"HEADER_TIMEOUT_SECONDS", "60"}, {"IDLE_TIMEOUT_SECONDS", "60"}});
  }
  INFO("service output:\n", svc->output());
  CHECK(contains(svc->output(), "MAX_CONNECTIONS=10000 does not fit the open-file limit (128 descriptors"));
  const int port = svc->port();
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < 150; ++i) conns.push_back(std::make_unique<RawConnection>(port));
  REQUIRE(svc->wait_for_line("accept failed: Too many open files", 10s));
  // While accept fails, the open connections are served: 15 requests, 100 ms apart.
  for (int i = 0; i < 15; ++i) {
    REQUIRE(conns[0]->send(raw_request("GET", "/health")));
    auto r = conns[0]->read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    ::poll(nullptr, 0, 100);
  }
  CHECK(count_of(svc->output(), "accept failed") == 1);
  conns.clear();  // frees the server's descriptors as it notices
  auto line = svc->wait_for_line("accept works again after ", 10s);
  REQUIRE(line);
  std::smatch m;
  REQUIRE(std::regex_search(*line, m, std::regex(R"(after (\d+) failed attempts over (\d+) ms)")));
  const long attempts = std::stol(m[1]), ms = std::stol(m[2]);
  INFO(attempts, " failed accepts over ", ms, " ms");
  // Backoff from 10 ms doubling to 1 s (jitter halves at most): at most 8
  // attempts in the first 640 ms, then one per 500 ms or more; a fixed 100 ms
  // retry makes 10 a second.
  CHECK(attempts <= 10 + ms / 500);
  CHECK(eventually(
      [&] {
        auto ok = http_get(port, "/health");
        return ok && ok->status == 200;
      },
      10s));
}

}  // TEST_SUITE
