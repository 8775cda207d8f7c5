// hold_connections: a benchmark tool (not a test) for scripts/bench.
//
//   hold_connections PORT N PATH SECONDS
//
// Opens N keep-alive connections to 127.0.0.1:PORT, sends one
// `GET PATH HTTP/1.1` on each and reads each response, then keeps every
// connection open, prints "holding N" on stdout and waits until SECONDS have
// passed, SIGTERM/SIGINT arrives, or stdin (when it is a pipe, FIFO, socket or
// terminal) reaches end of file. Then it closes them all and exits 0.
//
// It only ever talks to 127.0.0.1, refuses N > 5000 and SECONDS > 3600, and
// gives up on setting up the connections after kSetupSeconds. Connections the
// server closes while they are held are counted and reported on stderr.
//
// Exit codes: 0 done, 1 a connection or response failed, 2 bad arguments.
//
// POSIX sockets only, no Boost: the tool must not share code (or bugs) with
// the server it measures.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "tool_support.hpp"

namespace {

using bench::iequals;
using bench::trim;

constexpr long kMaxConnections = 5000;
constexpr long kMaxSeconds = 3600;
constexpr int kSetupSeconds = 60;             // connect + request + response, all of them
constexpr std::size_t kMaxResponseBytes = 1 << 20;

using Clock = std::chrono::steady_clock;

int g_signal_pipe[2] = {-1, -1};

extern "C" void on_signal(int) {
  int saved = errno;
  char c = 1;
  [[maybe_unused]] auto n = write(g_signal_pipe[1], &c, 1);
  errno = saved;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "hold_connections: %s\n", what);
  std::exit(1);
}

[[noreturn]] void fail_errno(const char* what) {
  std::fprintf(stderr, "hold_connections: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "hold_connections: %s\n"
               "usage: hold_connections PORT N PATH SECONDS\n"
               "  PORT 1-65535 on 127.0.0.1, N 1-%ld connections, PATH starting with '/',\n"
               "  SECONDS 0-%ld to hold them (ends early on SIGTERM/SIGINT or stdin EOF)\n",
               why, kMaxConnections, kMaxSeconds);
  std::exit(2);
}

bool parse_long(const char* text, long lo, long hi, long& out) {
  if (text == nullptr || *text == '\0') return false;
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  out = v;
  return true;
}

bool sane_path(std::string_view path) {
  if (path.empty() || path.front() != '/' || path.size() > 2048) return false;
  return std::all_of(path.begin(), path.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

void raise_fd_limit(long connections) {
  rlim_t need = static_cast<rlim_t>(connections) + 64;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) fail_errno("getrlimit(RLIMIT_NOFILE)");
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur >= need) return;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < need) lim.rlim_max = need;  // needs privilege
  lim.rlim_cur = need;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    std::fprintf(stderr, "hold_connections: cannot raise RLIMIT_NOFILE to %llu: %s\n",
                 static_cast<unsigned long long>(need), std::strerror(errno));
    std::exit(1);
  }
}

bool icontains(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i)
    if (iequals(haystack.substr(i, needle.size()), needle)) return true;
  return false;
}

struct Connection {
  int fd = -1;
  std::string in;
  bool done = false;           // a complete response has been read
  std::size_t body_end = 0;    // known once the header is parsed (Content-Length)
  bool chunked = false;
  bool header_parsed = false;
};

// Returns an error message, or nullptr while the response is fine so far.
// Sets c.done once the whole response is in.
const char* advance(Connection& c) {
  if (!c.header_parsed) {
    auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return c.in.size() > kMaxResponseBytes ? "response header too large" : nullptr;
    std::string_view head(c.in.data(), end);
    // Status line: HTTP/1.x SSS reason
    if (head.size() < 12 || head.substr(0, 7) != "HTTP/1.") return "not an HTTP/1.x response";
    if (head.substr(9, 3) != "200") return "status is not 200";
    bool have_length = false;
    std::size_t length = 0;
    std::size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos) {
      std::size_t next = head.find("\r\n", pos + 2);
      std::string_view line = head.substr(pos + 2, next == std::string_view::npos ? head.npos : next - pos - 2);
      pos = next;
      auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = trim(line.substr(0, colon));
      std::string_view value = trim(line.substr(colon + 1));
      if (iequals(name, "content-length")) {
        std::string digits(value);
        long v = 0;
        if (!parse_long(digits.c_str(), 0, static_cast<long>(kMaxResponseBytes), v)) return "bad Content-Length";
        have_length = true;
        length = static_cast<std::size_t>(v);
      } else if (iequals(name, "transfer-encoding") && icontains(value, "chunked")) {
        c.chunked = true;
      } else if (iequals(name, "connection") && icontains(value, "close")) {
        return "server answered Connection: close (not keep-alive)";
      }
    }
    if (!have_length && !c.chunked) return "response has neither Content-Length nor chunked encoding";
    c.header_parsed = true;
    c.body_end = end + 4 + length;
  }
  if (c.chunked) {
    // Good enough for a benchmark: the last chunk and an empty trailer.
    if (c.in.find("\r\n0\r\n\r\n") != std::string::npos || c.in.find("\r\n\r\n0\r\n\r\n") != std::string::npos)
      c.done = true;
  } else if (c.in.size() >= c.body_end) {
    if (c.in.size() > c.body_end) return "more bytes than the response (unexpected data)";
    c.done = true;
  }
  if (!c.done && c.in.size() > kMaxResponseBytes) return "response too large";
  return nullptr;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

// Stdin ends the hold only when something can close it: a pipe, FIFO, socket
// or terminal. /dev/null or a regular file would end it at once.
bool stdin_is_watchable() {
  struct stat st {};
  if (fstat(STDIN_FILENO, &st) != 0) return false;
  return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(STDIN_FILENO);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) usage("expected 4 arguments");
  long port = 0, count = 0, seconds = 0;
  if (!parse_long(argv[1], 1, 65535, port)) usage("PORT must be 1-65535");
  if (!parse_long(argv[2], 1, kMaxConnections, count)) usage("N must be 1-5000");
  std::string path = argv[3];
  if (!sane_path(path)) usage("PATH must start with '/' and contain no spaces or control characters");
  if (!parse_long(argv[4], 0, kMaxSeconds, seconds)) usage("SECONDS must be 0-3600");

  raise_fd_limit(count);

  if (pipe(g_signal_pipe) != 0) fail_errno("pipe");
  for (int fd : g_signal_pipe) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  bench::handle_stop_signals(on_signal);

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nUser-Agent: hold_connections\r\nAccept: */*\r\n\r\n";

  const auto setup_deadline = Clock::now() + std::chrono::seconds(kSetupSeconds);
  std::vector<Connection> conns(static_cast<std::size_t>(count));

  // Connect and send, one at a time (blocking with a timeout; loopback is quick).
  for (auto& c : conns) {
    if (remaining_ms(setup_deadline) == 0) fail("setup took longer than 60 s");
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd < 0) fail_errno("socket");
    timeval tv{10, 0};  // bounds connect() and send()
    setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) fail_errno("connect");
    std::size_t sent = 0;
    while (sent < request.size()) {
      ssize_t n = send(c.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail_errno("send");
      sent += static_cast<std::size_t>(n);
    }
    fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
  }

  // Read every response.
  std::size_t pending = conns.size();
  std::vector<pollfd> pfds;
  std::vector<std::size_t> index;
  char buf[16 * 1024];
  while (pending > 0) {
    int wait = remaining_ms(setup_deadline);
    if (wait == 0) {
      std::fprintf(stderr, "hold_connections: %zu of %zu responses missing after %d s\n", pending, conns.size(),
                   kSetupSeconds);
      return 1;
    }
    pfds.clear();
    index.clear();
    for (std::size_t i = 0; i < conns.size(); ++i) {
      if (conns[i].done) continue;
      pfds.push_back({conns[i].fd, POLLIN, 0});
      index.push_back(i);
    }
    pfds.push_back({g_signal_pipe[0], POLLIN, 0});
    int r = poll(pfds.data(), pfds.size(), wait);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail_errno("poll");
    if (pfds.back().revents != 0) fail("interrupted by a signal during setup");
    for (std::size_t k = 0; k + 1 < pfds.size(); ++k) {
      if (pfds[k].revents == 0) continue;
      Connection& c = conns[index[k]];
      ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n < 0) fail_errno("recv");
      if (n == 0) fail("server closed a connection before its response was complete");
      c.in.append(buf, static_cast<std::size_t>(n));
      if (const char* err = advance(c)) fail(err);
      if (c.done) {
        --pending;
        c.in.clear();
        c.in.shrink_to_fit();
      }
    }
  }

  std::printf("holding %ld\n", count);
  std::fflush(stdout);

  // Hold until SECONDS pass, a signal, or stdin EOF; count server-side closes.
  const bool watch_stdin = stdin_is_watchable();
  const auto hold_deadline = Clock::now() + std::chrono::seconds(seconds);
  std::vector<bool> open(conns.size(), true);
  std::size_t closed_by_server = 0;
  const char* reason = "time is up";
  for (;;) {
    int wait = remaining_ms(hold_deadline);
    if (wait == 0) break;
    pfds.clear();
    index.clear();
    for (std::size_t i = 0; i < conns.size(); ++i) {
      if (!open[i]) continue;
      pfds.push_back({conns[i].fd, POLLIN | POLLRDHUP, 0});
      index.push_back(i);
    }
    std::size_t extra = pfds.size();
    pfds.push_back({g_signal_pipe[0], POLLIN, 0});
    if (watch_stdin) pfds.push_back({STDIN_FILENO, POLLIN, 0});
    int r = poll(pfds.data(), pfds.size(), wait);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail_errno("poll");
    if (pfds[extra].revents != 0) {
      reason = "signal";
      break;
    }
    if (watch_stdin && pfds[extra + 1].revents != 0) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) {
        reason = "stdin closed";
        break;
      }
    }
    for (std::size_t k = 0; k < extra; ++k) {
      if (pfds[k].revents == 0) continue;
      // Unexpected: the server sent data or closed. Either way it is no longer held.
      open[index[k]] = false;
      ++closed_by_server;
    }
  }

  for (auto& c : conns) close(c.fd);
  std::printf("released %zu (%s); closed early by the server: %zu\n", conns.size(), reason, closed_by_server);
  return 0;
}
