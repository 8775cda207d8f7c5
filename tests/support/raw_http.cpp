#include "tests/support/raw_http.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace testsupport {

namespace {
int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}
}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string{} : it->second;
}

RawConnection::RawConnection(int port) : fd_(connect_loopback(port)) {
  if (fd_ < 0) throw std::runtime_error("connection to 127.0.0.1:" + std::to_string(port) + " refused");
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      peer_closed_ = true;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void RawConnection::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

// Appends what arrives before `deadline`; false on EOF, error or timeout.
bool RawConnection::fill(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(left.count()));
  if (ready <= 0) return false;
  char buf[16384];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    peer_closed_ = true;
    return false;
  }
  buffer_.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::optional<HttpResponse> RawConnection::read_response(std::chrono::milliseconds timeout, bool head) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(deadline)) return std::nullopt;

  HttpResponse res;
  std::string_view head_text(buffer_.data(), end);
  auto line_end = head_text.find("\r\n");
  std::string_view status_line = head_text.substr(0, line_end);
  // "HTTP/1.x NNN reason": anything else (e.g. stray body bytes of a previous
  // response) is not a response.
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ') return std::nullopt;
  for (std::size_t i = 9; i < 12; ++i)
    if (status_line[i] < '0' || status_line[i] > '9') return std::nullopt;
  res.version = std::string(status_line.substr(0, 8));
  res.status = std::stoi(std::string(status_line.substr(9, 3)));
  while (line_end != std::string_view::npos) {
    head_text.remove_prefix(line_end + 2);
    line_end = head_text.find("\r\n");
    std::string_view line = head_text.substr(0, line_end);
    auto colon = line.find(':');
    if (colon != std::string_view::npos)
      res.headers[lower(std::string(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  buffer_.erase(0, end + 4);

  std::size_t length = 0;
  bool informational = res.status / 100 == 1 || res.status == 204 || res.status == 304;
  if (!head && !informational && res.has_header("content-length")) length = std::stoul(res.header("content-length"));
  while (buffer_.size() < length)
    if (!fill(deadline)) return std::nullopt;
  res.body = buffer_.substr(0, length);
  buffer_.erase(0, length);
  return res;
}

bool RawConnection::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;  // EOF or reset
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

LoadConnection::LoadConnection(int port) : fd_(connect_loopback(port)) {
  if (fd_ < 0)
    throw std::runtime_error("connection to 127.0.0.1:" + std::to_string(port) + " failed: " + std::strerror(errno));
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

LoadConnection::~LoadConnection() {
  if (fd_ >= 0) ::close(fd_);
}

long LoadConnection::send_some(std::string_view bytes) {
  const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (n >= 0) return n;
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
}

bool LoadConnection::closed() {
  char buf[65536];
  for (;;) {
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  }
}

bool LoadConnection::wait_readable(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

Flood flood(int port, std::string_view prefix, char filler, std::size_t limit, std::chrono::milliseconds timeout) {
  LoadConnection c(port);
  Flood f;
  const std::string chunk(64 * 1024, filler);
  std::string_view next = prefix;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (f.sent < limit && std::chrono::steady_clock::now() < deadline) {
    const auto n = c.send_some(next);
    if (n < 0 || c.closed()) {
      f.closed = true;
      break;
    }
    f.sent += static_cast<std::size_t>(n);
    next.remove_prefix(static_cast<std::size_t>(n));
    if (next.empty()) next = chunk;
    if (n == 0) c.wait_readable(50ms);  // the kernel's buffers are full: the server stopped reading
  }
  const auto close_deadline = std::chrono::steady_clock::now() + 5s;
  while (!f.closed && std::chrono::steady_clock::now() < close_deadline) {
    c.wait_readable(50ms);
    f.closed = c.closed();
  }
  return f;
}

std::string raw_request(std::string_view method, std::string_view target, std::string_view extra,
                        std::string_view version) {
  return std::string(method) + " " + std::string(target) + " " + std::string(version) + "\r\nHost: 127.0.0.1\r\n" +
         std::string(extra) + "\r\n";
}

std::optional<HttpResponse> http_request(int port, std::string_view method, std::string_view target,
                                         std::string_view extra_headers, std::string_view body) {
  RawConnection c(port);
  std::string req = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                    std::string(extra_headers);
  if (!body.empty() || method == "POST" || method == "PUT") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "Connection: close\r\n\r\n";
  req += body;
  if (!c.send(req)) return std::nullopt;
  return c.read_response(5s, method == "HEAD");
}

bool port_refuses(int port) {
  int fd = connect_loopback(port);
  if (fd < 0) return true;
  ::close(fd);
  return false;
}

}  // namespace testsupport
