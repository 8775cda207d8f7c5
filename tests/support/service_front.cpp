#include "tests/support/service_front.hpp"

#include <stdexcept>
#include <vector>

#include "tests/support/raw_http.hpp"

namespace testsupport {

namespace {

// One probe as the kubelet's httpGet does it: a fresh connection, 200 in time.
bool probe_ready(int port, std::chrono::milliseconds timeout) {
  try {
    RawConnection c(port);
    if (!c.send("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")) return false;
    auto r = c.read_response(timeout);
    return r && r->status == 200;
  } catch (const std::runtime_error&) {
    return false;  // refused: nothing listens (yet, or any more)
  }
}

}  // namespace

ServiceFront::ServiceFront(std::chrono::milliseconds probe_period, std::chrono::milliseconds probe_timeout)
    : period_(probe_period),
      timeout_(probe_timeout),
      relay_([this] { return pick(); }),
      prober_([this] { probe_loop(); }) {}

ServiceFront::~ServiceFront() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  prober_.join();
}

void ServiceFront::add(int replica_port) {
  std::lock_guard lock(mutex_);
  replicas_.emplace(replica_port, Replica{});
}

void ServiceFront::remove(int replica_port) {
  std::lock_guard lock(mutex_);
  replicas_.erase(replica_port);
}

std::optional<int> ServiceFront::pick() {
  std::lock_guard lock(mutex_);
  std::vector<std::map<int, Replica>::iterator> ready;
  for (auto it = replicas_.begin(); it != replicas_.end(); ++it)
    if (it->second.ready) ready.push_back(it);
  if (ready.empty()) return std::nullopt;
  auto chosen = ready[next_++ % ready.size()];
  ++chosen->second.connections;
  return chosen->first;
}

std::size_t ServiceFront::connections_to(int replica_port) const {
  std::lock_guard lock(mutex_);
  auto it = replicas_.find(replica_port);
  return it == replicas_.end() ? 0 : it->second.connections;
}

bool ServiceFront::wait_ready(int replica_port, std::chrono::milliseconds timeout) {
  return wait_state(replica_port, true, timeout);
}

bool ServiceFront::wait_not_ready(int replica_port, std::chrono::milliseconds timeout) {
  return wait_state(replica_port, false, timeout);
}

bool ServiceFront::wait_state(int replica_port, bool ready, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    auto it = replicas_.find(replica_port);
    return it != replicas_.end() && it->second.ready == ready;
  });
}

void ServiceFront::probe_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto started = std::chrono::steady_clock::now();
    std::vector<int> ports;
    for (const auto& [port, replica] : replicas_) ports.push_back(port);
    lock.unlock();
    std::vector<std::pair<int, bool>> results;
    for (int port : ports) results.emplace_back(port, probe_ready(port, timeout_));
    lock.lock();
    for (const auto& [port, ready] : results) {
      auto it = replicas_.find(port);
      if (it != replicas_.end()) it->second.ready = ready;  // removed meanwhile: stays removed
    }
    changed_.notify_all();
    changed_.wait_until(lock, started + period_, [this] { return stopping_; });
  }
}

}  // namespace testsupport
