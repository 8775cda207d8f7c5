#include "tests/support/tcp_relay.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace testsupport {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Writes all of `data` (the peers read continuously, so this does not stall).
bool write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const auto w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

TcpRelay::TcpRelay(int target_port) : TcpRelay([target_port]() -> std::optional<int> { return target_port; }) {}

TcpRelay::TcpRelay(std::function<std::optional<int>()> pick) : pick_(std::move(pick)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("relay: socket failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto addr = loopback(0);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error(std::string("relay: bind/listen failed: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("relay: pipe failed");
  }
  thread_ = std::thread([this] { run(); });
}

TcpRelay::~TcpRelay() {
  stop_ = true;
  wake();
  thread_.join();
  for (auto& p : pairs_) {
    ::close(p.client);
    ::close(p.server);
  }
  ::close(listen_fd_);
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

void TcpRelay::wake() {
  const char c = 1;
  [[maybe_unused]] auto n = ::write(wake_pipe_[1], &c, 1);
}

void TcpRelay::freeze() {
  frozen_ = true;
  wake();
}

void TcpRelay::resume() {
  frozen_ = false;
  wake();
}

void TcpRelay::hold_on(std::string marker, std::string needle, bool forward) {
  std::lock_guard lock(mutex_);
  hold_marker_ = std::move(marker);
  hold_needle_ = std::move(needle);
  hold_forward_ = forward;
  held_ = false;
}

bool TcpRelay::wait_held(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return held_changed_.wait_for(lock, timeout, [this] { return held_; });
}

bool TcpRelay::hold_now(Pair& p, const char* data, std::size_t n) {
  if (hold_needle_.empty() || held_) return false;
  const std::string_view bytes(data, n);
  p.marked = p.marked || bytes.find(hold_marker_) != std::string_view::npos;
  if (!p.marked || bytes.find(hold_needle_) == std::string_view::npos) return false;
  p.held = held_ = true;
  held_changed_.notify_all();
  return true;
}

std::size_t TcpRelay::connections() const {
  std::lock_guard lock(mutex_);
  return pairs_.size();
}

void TcpRelay::close_pair(std::size_t i) {
  ::close(pairs_[i].client);
  ::close(pairs_[i].server);
  pairs_.erase(pairs_.begin() + static_cast<std::ptrdiff_t>(i));
}

void TcpRelay::run() {
  std::vector<char> buffer(64 * 1024);
  while (!stop_) {
    std::vector<pollfd> fds{{wake_pipe_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    std::vector<std::size_t> polled;  // the pair of fds[2 + 2k] and fds[3 + 2k]
    const bool frozen = frozen_;
    {
      std::lock_guard lock(mutex_);
      // Frozen (or held): the data sockets are not even looked at, so nothing
      // moves and the kernel's buffers fill up as with a stalled peer.
      if (!frozen)
        for (std::size_t i = 0; i < pairs_.size(); ++i) {
          if (pairs_[i].held) continue;
          fds.push_back({pairs_[i].client, POLLIN, 0});
          fds.push_back({pairs_[i].server, POLLIN, 0});
          polled.push_back(i);
        }
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents & POLLIN) {
      char drain[64];
      while (::read(wake_pipe_[0], drain, sizeof drain) > 0) {
      }
    }
    if (fds[1].revents & POLLIN) {
      const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        const auto port = pick_();
        const int server = port ? ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
        auto target = loopback(port.value_or(0));
        if (server >= 0 && ::connect(server, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0) {
          std::lock_guard lock(mutex_);
          pairs_.push_back({client, server});
        } else {
          if (server >= 0) ::close(server);
          ::close(client);
          ++refused_;
        }
      }
    }
    if (frozen) continue;
    std::lock_guard lock(mutex_);
    // Walk the polled descriptors; a pair that fails is closed (both ends),
    // which the peers then see as a close, as through a real network.
    std::vector<int> dead;
    for (std::size_t k = 0; k < polled.size(); ++k) {
      const std::size_t i = polled[k];
      for (int side = 0; side < 2; ++side) {
        const auto& f = fds[2 + 2 * k + static_cast<std::size_t>(side)];
        if (!(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        auto& p = pairs_[i];
        const int from = side == 0 ? p.client : p.server;
        const int to = side == 0 ? p.server : p.client;
        const auto n = ::recv(from, buffer.data(), buffer.size(), 0);
        if (n <= 0) {
          dead.push_back(static_cast<int>(i));
          break;
        }
        const auto len = static_cast<std::size_t>(n);
        const bool hold = side == 0 && hold_now(p, buffer.data(), len);
        if ((!hold || hold_forward_) && !write_all(to, buffer.data(), len)) {
          dead.push_back(static_cast<int>(i));
          break;
        }
        if (hold) break;
      }
    }
    for (auto it = dead.rbegin(); it != dead.rend(); ++it) close_pair(static_cast<std::size_t>(*it));
  }
}

}  // namespace testsupport
