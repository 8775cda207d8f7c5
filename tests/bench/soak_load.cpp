// soak_load: the load generator of scripts/soak (a tool, not a test).
//
//   SOAK_API_KEY=... soak_load PORT CONNECTIONS RATE SECONDS OUT TARGET...
//
// CONNECTIONS keep-alive connections to 127.0.0.1:PORT (one thread each) send
// `GET TARGET HTTP/1.1` for SECONDS, together RATE requests per second
// (paced per connection, never catching up in a burst after a slow answer;
// RATE 0: each connection sends its next request as soon as it has the
// answer). A TARGET is `WEIGHT:PATH` (or just PATH, weight 1); each request
// picks one at random by weight. X-API-Key is taken from SOAK_API_KEY when
// set (from the environment, so it shows in no process list).
//
// Every request becomes one line of OUT (tab-separated), written at the end:
//   start   wall-clock time the request was sent, ms since the epoch (µs precision)
//   ms      latency in ms (until the whole response was read, or the failure)
//   target  index of the TARGET argument (0-based)
//   status  the HTTP status; 0 = no response (connect refused, reset, EOF),
//           -1 = no complete response within kRequestTimeout
//   retry   the Retry-After header, "-" if none
//   detail  the error body's "detail" (status >= 400) or what failed
//           (status <= 0), "-" otherwise; tabs and newlines replaced, cut
//           to 160 characters
// The wall clock is what the soak's schedule uses too, so both line up.
//
// Like any HTTP client, a request whose kept-alive connection turns out to
// be closed before any byte of its response (the server closed an idle
// connection, or one it answered with Connection: close) is sent once more
// on a new connection; such retries are counted on stderr, not recorded as
// failures. Nothing else is retried.
//
// Bounded: only 127.0.0.1, at most kMaxConnections connections, kMaxRate
// requests/s, kMaxSeconds; SIGTERM/SIGINT end the run early (OUT is still
// written). Exit codes: 0 done, 1 I/O error on OUT, 2 bad arguments.
//
// POSIX sockets and threads only, no Boost: the tool shares no code (or
// bugs) with the server it loads.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tool_support.hpp"

namespace {

using bench::iequals;
using bench::trim;

constexpr long kMaxConnections = 256;
constexpr long kMaxRate = 20000;
constexpr long kMaxSeconds = 900;
constexpr auto kRequestTimeout = std::chrono::seconds(30);  // above every server-side bound in the soak
constexpr std::size_t kMaxResponseBytes = 16 << 20;
constexpr std::size_t kDetailChars = 160;

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

struct Target {
  unsigned weight;
  std::string path;
};

struct Record {
  double start_ms;
  float latency_ms;
  std::uint16_t target;
  int status;
  std::string retry;
  std::string detail;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "soak_load: %s\n"
               "usage: SOAK_API_KEY=... soak_load PORT CONNECTIONS RATE SECONDS OUT [WEIGHT:]PATH...\n"
               "  PORT 1-65535 on 127.0.0.1, CONNECTIONS 1-%ld, RATE 0-%ld requests/s in all (0: closed loop),\n"
               "  SECONDS 1-%ld, OUT the per-request record file\n",
               why, kMaxConnections, kMaxRate, kMaxSeconds);
  std::exit(2);
}

bool parse_long(std::string_view text, long lo, long hi, long& out) {
  if (text.empty() || text.size() > 18) return false;
  long v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return false;
  out = v;
  return true;
}

double wall_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(system_clock::now().time_since_epoch()).count();
}

std::string clean(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, kDetailChars)) out += (c == '\t' || c == '\n' || c == '\r') ? ' ' : c;
  return out.empty() ? "-" : out;
}

// The value of "detail" in a JSON error body when it is a string (our one
// error shape); the body's start otherwise (422's list form, or not JSON).
std::string detail_of(std::string_view body) {
  const auto key = body.find("\"detail\":\"");
  if (key == std::string_view::npos) return clean(body);
  std::string out;
  for (std::size_t i = key + 10; i < body.size() && body[i] != '"'; ++i) {
    if (body[i] == '\\' && i + 1 < body.size()) ++i;
    out += body[i];
  }
  return clean(out);
}

struct Response {
  int status = 0;        // 0: none (see error), -1: timed out
  bool any_byte = false; // some of the response arrived
  bool close = false;    // Connection: close
  std::string retry = "-";
  std::string detail = "-";
  bool cut = false;      // stopped by our own SIGTERM mid-request: the tool's doing, not the service's
};

class Connection {
 public:
  explicit Connection(int port) : port_(port) {}
  ~Connection() { reset(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool open() const { return fd_ >= 0; }
  bool reused() const { return used_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    used_ = false;
    in_.clear();
  }

  // One request and its whole response, within `deadline`.
  Response exchange(const std::string& request, Clock::time_point deadline) {
    Response r;
    if (fd_ < 0 && !connect_now(r)) return r;
    if (!send_all(request, r)) return r;
    used_ = true;
    std::size_t head_end = std::string::npos, body_end = 0;
    char buf[16 * 1024];
    for (;;) {
      if (head_end == std::string::npos) {
        head_end = in_.find("\r\n\r\n");
        if (head_end != std::string::npos && !parse_head(head_end, body_end, r)) return fail(r, "bad response head");
      }
      if (head_end != std::string::npos && in_.size() >= body_end) {
        if (r.status >= 400) r.detail = detail_of(std::string_view(in_).substr(head_end + 4, body_end - head_end - 4));
        in_.erase(0, body_end);
        if (r.close) reset();
        return r;
      }
      if (in_.size() > kMaxResponseBytes) return fail(r, "response too large");
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0 || g_stop.load()) {
        r.status = -1;
        r.detail = "no complete response in time";
        r.cut = left > 0;
        reset();
        return r;
      }
      pollfd p{fd_, POLLIN, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 200)));
      if (n < 0 && errno != EINTR) return fail(r, std::string("poll: ") + std::strerror(errno));
      if (n <= 0) continue;
      const auto got = ::recv(fd_, buf, sizeof buf, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return fail(r, std::string("recv: ") + std::strerror(errno));
      if (got == 0) return fail(r, r.any_byte ? "EOF inside the response" : "EOF before the response");
      r.any_byte = true;
      in_.append(buf, static_cast<std::size_t>(got));
    }
  }

 private:
  Response& fail(Response& r, std::string what) {
    r.status = 0;
    r.detail = clean(what);
    reset();
    return r;
  }

  bool connect_now(Response& r) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return fail(r, std::string("socket: ") + std::strerror(errno)), false;
    timeval tv{5, 0};  // bounds connect() and send() on loopback
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      return fail(r, std::string("connect: ") + std::strerror(errno)), false;
    return true;
  }

  bool send_all(const std::string& data, Response& r) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const auto n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail(r, std::string("send: ") + std::strerror(errno)), false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  bool parse_head(std::size_t head_end, std::size_t& body_end, Response& r) {
    std::string_view head(in_.data(), head_end);
    if (head.size() < 12 || head.substr(0, 7) != "HTTP/1.") return false;
    long status = 0;
    if (!parse_long(head.substr(9, 3), 100, 599, status)) return false;
    r.status = static_cast<int>(status);
    long length = -1;
    for (std::size_t pos = head.find("\r\n"); pos != std::string_view::npos;) {
      const std::size_t next = head.find("\r\n", pos + 2);
      const auto line = head.substr(pos + 2, next == std::string_view::npos ? head.npos : next - pos - 2);
      pos = next;
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      const auto name = trim(line.substr(0, colon));
      const auto value = trim(line.substr(colon + 1));
      if (iequals(name, "content-length") && !parse_long(value, 0, kMaxResponseBytes, length)) return false;
      if (iequals(name, "connection") && iequals(value, "close")) r.close = true;
      if (iequals(name, "retry-after")) r.retry = clean(value);
      if (iequals(name, "transfer-encoding")) return false;  // the service always sends Content-Length
    }
    if (length < 0) return false;
    body_end = head_end + 4 + static_cast<std::size_t>(length);
    return true;
  }

  int port_;
  int fd_ = -1;
  bool used_ = false;  // a response came on it: a failure may be the keep-alive race
  std::string in_;
};

struct Worker {
  std::vector<Record> records;
  long retries = 0;
};

void run_worker(int port, const std::vector<Target>& targets, const std::vector<std::string>& requests,
                std::chrono::nanoseconds interval, Clock::time_point first, Clock::time_point end, unsigned seed,
                Worker& out) {
  unsigned total = 0;
  for (const auto& t : targets) total += t.weight;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<unsigned> pick(0, total - 1);
  Connection c(port);
  auto next = first;
  while (!g_stop.load()) {
    if (interval.count() > 0) {
      while (Clock::now() < next && !g_stop.load())
        std::this_thread::sleep_for(std::min<Clock::duration>(next - Clock::now(), std::chrono::milliseconds(100)));
      // Behind after a slow answer: send now, and do not make up for it.
      next = std::max(next + interval, Clock::now());
    }
    if (g_stop.load() || Clock::now() >= end) break;
    unsigned w = pick(rng);
    std::uint16_t i = 0;
    while (w >= targets[i].weight) w -= targets[i++].weight;
    const double start = wall_ms();
    const auto t0 = Clock::now();
    const auto deadline = t0 + kRequestTimeout;
    const bool reused = c.open() && c.reused();
    Response r = c.exchange(requests[i], deadline);
    if (r.status == 0 && reused && !r.any_byte) {  // the keep-alive race: once more, on a new connection
      ++out.retries;
      r = c.exchange(requests[i], deadline);
    }
    if (r.cut) break;  // scripts/soak ended the run while it was in flight: not recorded
    const float ms = std::chrono::duration<float, std::milli>(Clock::now() - t0).count();
    out.records.push_back({start, ms, i, r.status, std::move(r.retry), std::move(r.detail)});
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) usage("expected at least 6 arguments");
  long port = 0, connections = 0, rate = 0, seconds = 0;
  if (!parse_long(argv[1], 1, 65535, port)) usage("PORT must be 1-65535");
  if (!parse_long(argv[2], 1, kMaxConnections, connections)) usage("CONNECTIONS out of range");
  if (!parse_long(argv[3], 0, kMaxRate, rate)) usage("RATE out of range");
  if (!parse_long(argv[4], 1, kMaxSeconds, seconds)) usage("SECONDS out of range");
  const std::string out_path = argv[5];

  std::vector<Target> targets;
  for (int a = 6; a < argc; ++a) {
    std::string_view arg = argv[a];
    long weight = 1;
    if (const auto colon = arg.find(':'); colon != std::string_view::npos && arg.front() != '/') {
      if (!parse_long(arg.substr(0, colon), 1, 1000, weight)) usage("WEIGHT must be 1-1000");
      arg.remove_prefix(colon + 1);
    }
    if (arg.empty() || arg.front() != '/' || arg.size() > 2048) usage("PATH must start with '/'");
    for (char c : arg)
      if (c <= 0x20 || c >= 0x7f) usage("PATH must not contain spaces or control characters");
    targets.push_back({static_cast<unsigned>(weight), std::string(arg)});
  }
  if (targets.size() > 1000) usage("at most 1000 targets");

  const char* key = std::getenv("SOAK_API_KEY");
  std::vector<std::string> requests;
  for (const auto& t : targets) {
    std::string r = "GET " + t.path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nUser-Agent: soak_load\r\nAccept: application/json\r\n";
    if (key != nullptr && *key != '\0') r.append("X-API-Key: ").append(key).append("\r\n");
    requests.push_back(r + "\r\n");
  }

  bench::handle_stop_signals(on_signal);

  // Each connection sends every CONNECTIONS / RATE seconds, phases spread evenly.
  const auto interval = rate > 0 ? std::chrono::nanoseconds(1'000'000'000LL * connections / rate)
                                 : std::chrono::nanoseconds(0);
  const auto begin = Clock::now();
  const auto end = begin + std::chrono::seconds(seconds);
  std::vector<Worker> workers(static_cast<std::size_t>(connections));
  std::vector<std::thread> threads;
  for (long i = 0; i < connections; ++i)
    threads.emplace_back(run_worker, static_cast<int>(port), std::cref(targets), std::cref(requests), interval,
                         begin + interval * i / connections, end, static_cast<unsigned>(1000 + i),
                         std::ref(workers[static_cast<std::size_t>(i)]));
  for (auto& t : threads) t.join();

  FILE* f = std::fopen(out_path.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "soak_load: cannot write %s: %s\n", out_path.c_str(), std::strerror(errno));
    return 1;
  }
  std::map<int, long> by_status;
  long total = 0, retries = 0;
  for (const auto& w : workers) {
    retries += w.retries;
    for (const auto& r : w.records) {
      std::fprintf(f, "%.3f\t%.3f\t%u\t%d\t%s\t%s\n", r.start_ms, static_cast<double>(r.latency_ms),
                   static_cast<unsigned>(r.target), r.status, r.retry.c_str(), r.detail.c_str());
      ++by_status[r.status];
      ++total;
    }
  }
  if (std::fclose(f) != 0) {
    std::fprintf(stderr, "soak_load: writing %s failed\n", out_path.c_str());
    return 1;
  }
  std::fprintf(stderr, "soak_load: %ld requests in %.1f s, keep-alive retries %ld; by status:", total,
               std::chrono::duration<double>(Clock::now() - begin).count(), retries);
  for (const auto& [status, n] : by_status) std::fprintf(stderr, " %d:%ld", status, n);
  std::fprintf(stderr, "\n");
  return 0;
}
