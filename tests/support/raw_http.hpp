#pragma once
// A deliberately small HTTP/1.x client on blocking POSIX sockets with
// timeouts, for tests that need byte-level control: pipelining, slow
// clients, malformed requests. Talks to 127.0.0.1 only.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace testsupport {

using namespace std::chrono_literals;

struct HttpResponse {
  int status = 0;
  std::string version;                         // "HTTP/1.1"
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string header(const std::string& lower_name) const;
  bool has_header(const std::string& lower_name) const { return headers.count(lower_name) > 0; }
};

class RawConnection {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error if refused.
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool send(std::string_view bytes);
  // Half-closes the connection (FIN after what was sent); reading still works.
  void shutdown_write();
  // Reads one response; for a HEAD request pass head=true (no body follows).
  std::optional<HttpResponse> read_response(std::chrono::milliseconds timeout = 5s, bool head = false);
  // True if the server closed the connection (EOF or reset) within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout);
  // Bytes received but not consumed by read_response (e.g. what arrived before a close).
  const std::string& unread() const { return buffer_; }
  // The peer closed or reset the connection (seen by a read or a send), as
  // opposed to a read that timed out.
  bool peer_closed() const { return peer_closed_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  bool peer_closed_ = false;
  std::string buffer_;
};

// A loopback connection for loads: many open at once, or bytes sent without
// reading the answers. Non-blocking after a blocking connect; RawConnection
// is one blocking exchange at a time.
class LoadConnection {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error if that fails.
  explicit LoadConnection(int port);
  ~LoadConnection();
  LoadConnection(const LoadConnection&) = delete;
  LoadConnection& operator=(const LoadConnection&) = delete;

  // Bytes the kernel took (0 when its buffer is full); -1 once the peer is gone.
  long send_some(std::string_view bytes);
  // Reads and drops what has arrived; true once the peer closed (EOF or reset).
  bool closed();
  // Waits up to `timeout` until there is something to read or the peer closed.
  bool wait_readable(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
};

// Sends `prefix`, then `filler` bytes as fast as the server takes them, up
// to `limit` bytes or `timeout`, for input that never ends: a server must
// answer or close long before the limit.
struct Flood {
  std::size_t sent = 0;  // bytes the kernel took, prefix included
  bool closed = false;   // the server closed the connection (within `timeout` plus 5 s)
};
Flood flood(int port, std::string_view prefix, char filler, std::size_t limit, std::chrono::milliseconds timeout);

// "METHOD target VERSION" + Host + `extra` header lines + the blank line.
std::string raw_request(std::string_view method, std::string_view target, std::string_view extra = "",
                        std::string_view version = "HTTP/1.1");

// One request on a fresh connection. `extra_headers` is raw "Name: value\r\n" lines.
std::optional<HttpResponse> http_request(int port, std::string_view method, std::string_view target,
                                         std::string_view extra_headers = "", std::string_view body = "");
inline std::optional<HttpResponse> http_get(int port, std::string_view target, std::string_view extra_headers = "") {
  return http_request(port, "GET", target, extra_headers);
}

// True if nothing accepts connections on 127.0.0.1:port.
bool port_refuses(int port);

}  // namespace testsupport
