// e2e: signals, graceful drain and start-up failure of the real binary.
// Timing is observed through log lines, sockets and process exit, each with a
// deadline; nothing sleeps.

#include <doctest/doctest.h>

#include <csignal>
#include <string>

#include "tests/support/raw_http.hpp"
#include "tests/support/service.hpp"
#include "tests/support/text_and_clock.hpp"

using namespace testsupport;
using namespace std::chrono_literals;

namespace {

std::string request(std::string_view method, std::string_view target, std::string_view extra = "") {
  return std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + std::string(extra) +
         "\r\n";
}


}  // namespace

TEST_CASE("SIGTERM: not ready at once, keeps serving through the drain window, then refuses and exits 0") {
  RunningService svc(p2p_binary(), {{"SHUTDOWN_DRAIN_SECONDS", "1"}});
  INFO("service output:\n", svc.output());  // printed only if a check fails

  RawConnection kept(svc.port());
  REQUIRE(kept.send(request("GET", "/health")));
  auto before = kept.read_response();
  REQUIRE(before);
  CHECK(before->status == 200);

  svc.signal(SIGTERM);
  auto draining = svc.wait_for_line("received SIGTERM", 5s);
  REQUIRE(draining);
  CHECK(contains(*draining, "not ready, draining for 1.0 s"));

  // During the drain window: readiness is off, liveness is on, new connections accepted.
  auto ready = http_get(svc.port(), "/ready");
  REQUIRE(ready);
  CHECK(ready->status == 503);
  CHECK(ready->body == R"({"status":"not ready","detail":"Application not ready: shutting down"})");
  auto readyz = http_get(svc.port(), "/readyz?verbose");
  REQUIRE(readyz);
  CHECK(readyz->status == 503);
  CHECK(contains(readyz->body, "readyz check failed"));
  auto health = http_get(svc.port(), "/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == R"({"status":"ok"})");

  // The kept-alive connection is still served, and still kept alive.
  REQUIRE(kept.send(request("GET", "/")));
  auto during = kept.read_response();
  REQUIRE(during);
  CHECK(during->status == 200);
  CHECK(during->header("connection") != "close");
  // The drain window really is a window: nothing stopped yet.
  CHECK_FALSE(contains(svc.output(), "stopped accepting"));

  auto stopped = svc.wait_for_line("stopped accepting", 5s);
  REQUIRE(stopped);
  CHECK(contains(*stopped, "closing 1 idle connections"));
  CHECK(contains(*stopped, "for 0 in-flight requests"));
  CHECK(port_refuses(svc.port()));
  CHECK(kept.wait_closed(5s));
  CHECK(kept.unread().empty());

  CHECK(svc.wait_exit(10s) == 0);
  CHECK(svc.wait_for_line("component http-listener stopped in", 2s));
  CHECK(svc.wait_for_line("shutdown complete", 2s));
  auto out = svc.output();
  CHECK(out.find("received SIGTERM") < out.find("drain window over"));
  CHECK(out.find("drain window over") < out.find("stopped accepting"));
  CHECK(out.find("stopped accepting") < out.find("shutdown complete"));
}

TEST_CASE("a request begun before 'stopped accepting' and finished after is answered with Connection: close") {
  RunningService svc(p2p_binary(), {{"SHUTDOWN_DRAIN_SECONDS", "0.2"}});
  INFO("service output:\n", svc.output());  // printed only if a check fails

  RawConnection c(svc.port());
  REQUIRE(c.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"));  // half a header
  svc.signal(SIGTERM);
  auto stopped = svc.wait_for_line("stopped accepting", 5s);
  REQUIRE(stopped);
  // The 0.2 s drain window gave the server time to read the first half, so it counts as in flight.
  CHECK(contains(*stopped, "for 1 in-flight requests"));
  CHECK(port_refuses(svc.port()));

  REQUIRE(c.send("X-Request-ID: late-1\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == R"({"status":"ok"})");
  CHECK(r->header("connection") == "close");
  CHECK(r->header("x-request-id") == "late-1");
  CHECK(c.wait_closed(5s));

  CHECK(svc.wait_exit(10s) == 0);
  CHECK(svc.wait_for_line("1 in-flight requests finished", 2s));
  CHECK(svc.wait_for_line("shutdown complete", 2s));
}

TEST_CASE("a second signal during shutdown exits at once with 130") {
  RunningService svc(p2p_binary(), {{"SHUTDOWN_DRAIN_SECONDS", "30"}});
  INFO("service output:\n", svc.output());  // printed only if a check fails
  svc.signal(SIGTERM);
  REQUIRE(svc.wait_for_line("received SIGTERM", 5s));
  svc.signal(SIGTERM);
  CHECK(svc.wait_exit(5s) == 130);
  CHECK(svc.wait_for_line("second signal", 2s));
  CHECK_FALSE(contains(svc.output(), "shutdown complete"));
}

TEST_CASE("SIGINT shuts down gracefully too") {
  RunningService svc(p2p_binary());
  INFO("service output:\n", svc.output());  // printed only if a check fails
  auto r = http_get(svc.port(), "/health");
  REQUIRE(r);
  CHECK(r->status == 200);
  svc.signal(SIGINT);
  CHECK(svc.wait_for_line("received SIGINT", 5s));
  CHECK(svc.wait_exit(10s) == 0);
  CHECK(svc.wait_for_line("shutdown complete", 2s));
  CHECK(port_refuses(svc.port()));
}

TEST_CASE("a port another listener holds makes start-up fail with exit 1, naming the component") {
  PortHolder holder;
  auto env = merge_env(base_service_env(), {{"PORT", std::to_string(holder.port())}});
  auto result = run_to_exit(p2p_binary(), {}, env, 10s);
  INFO("output:\n", result.output);
  REQUIRE(result.exit_code);  // no hang
  CHECK(*result.exit_code == 1);
  CHECK(contains(result.output, "component http-listener failed to start"));
  CHECK_FALSE(contains(result.output, " ready\n"));
}

TEST_CASE("SHUTDOWN_GRACE_SECONDS bounds the wait for an in-flight request that never completes") {
  RunningService svc(p2p_binary(), {{"SHUTDOWN_DRAIN_SECONDS", "0.2"}, {"SHUTDOWN_GRACE_SECONDS", "0.5"},
                                    {"HEADER_TIMEOUT_SECONDS", "60"}});
  INFO("service output:\n", svc.output());  // printed only if a check fails
  RawConnection stuck(svc.port());
  REQUIRE(stuck.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"));  // and never the rest
  svc.signal(SIGTERM);
  auto stopped = svc.wait_for_line("stopped accepting", 5s);
  REQUIRE(stopped);
  CHECK(contains(*stopped, "waiting up to 500 ms for 1 in-flight requests"));
  CHECK(svc.wait_for_line("grace period over", 5s));
  CHECK(stuck.wait_closed(5s));
  CHECK(svc.wait_exit(5s) == 0);
  CHECK(svc.wait_for_line("shutdown complete", 2s));
}

TEST_CASE("LOG_FORMAT=json: every log line is a JSON object") {
  RunningService svc(p2p_binary(), {{"LOG_FORMAT", "json"}});
  INFO("service output:\n", svc.output());  // printed only if a check fails
  auto r = http_get(svc.port(), "/health");
  REQUIRE(r);
  svc.signal(SIGTERM);
  CHECK(svc.wait_exit(10s) == 0);
  REQUIRE(svc.wait_for_line("shutdown complete", 2s));
  std::string out = svc.output();
  std::size_t lines = 0;
  for (std::size_t pos = 0; pos < out.size();) {
    auto end = out.find('\n', pos);
    if (end == std::string::npos) end = out.size();
    std::string line = out.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    ++lines;
    CAPTURE(line);
    CHECK(line.front() == '{');
    CHECK(line.back() == '}');
  }
  CHECK(lines >= 5);
  CHECK(contains(out, R"("message":"ready")"));
}
