#include "lib/pg/host_resolution.hpp"

#include <libpq-fe.h>

#include <memory>
#include <stdexcept>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>

#include "lib/core/until_deadline.hpp"
#include "lib/config/database_url.hpp"
#include "lib/pg/error.hpp"

namespace svc::pg {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = text.find(',', start);
    out.emplace_back(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

bool is_numeric_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += ',';
    out += p;
  }
  return out;
}

}  // namespace

bool HostPlan::needs_lookup() const noexcept {
  for (const auto& e : entries)
    if (e.lookup) return true;
  return false;
}

HostPlan plan_hosts(std::string_view conninfo) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(std::string(conninfo).c_str(), &error), &PQconninfoFree);
  if (!options) {
    std::string message = error ? error : "out of memory";
    PQfreemem(error);
    throw std::invalid_argument("invalid connection string: " + message);
  }
  std::string host, hostaddr, port;
  for (auto* o = options.get(); o->keyword != nullptr; ++o) {
    const std::string_view key = o->keyword;
    const std::string value = o->val ? o->val : "";
    if (key == "host") host = value;
    if (key == "hostaddr") hostaddr = value;
    if (key == "port") port = value;
  }
  HostPlan plan;
  // hostaddr given, or no host (libpq's default socket): nothing to look up.
  if (!hostaddr.empty() || host.empty()) return plan;
  const auto hosts = split_list(host);
  const auto ports = port.empty() ? std::vector<std::string>{} : split_list(port);
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    HostPlan::Entry e;
    e.host = hosts[i];
    // libpq: one port for all hosts, or one per host; empty means 5432.
    e.port = ports.empty() ? "" : ports.size() == 1 ? ports[0] : i < ports.size() ? ports[i] : "";
    if (e.port.empty()) e.port = "5432";
    const bool socket_path = !e.host.empty() && (e.host.front() == '/' || e.host.front() == '@');
    e.lookup = !e.host.empty() && !socket_path && !is_numeric_address(e.host);
    plan.entries.push_back(std::move(e));
  }
  return plan;
}

std::string with_addresses(std::string_view conninfo, const HostPlan& plan,
                           const std::vector<std::vector<std::string>>& addresses) {
  std::vector<std::string> hosts, hostaddrs, ports;
  std::string unresolved;
  for (std::size_t i = 0; i < plan.entries.size(); ++i) {
    const auto& e = plan.entries[i];
    if (!e.lookup) {
      hosts.push_back(e.host);
      // A numeric host is its own address; a socket path takes none.
      hostaddrs.push_back(is_numeric_address(e.host) ? e.host : "");
      ports.push_back(e.port);
      continue;
    }
    if (i >= addresses.size() || addresses[i].empty()) {
      if (!unresolved.empty()) unresolved += ", ";
      unresolved += e.host;
      continue;
    }
    for (const auto& a : addresses[i]) {
      hosts.push_back(e.host);
      hostaddrs.push_back(a);
      ports.push_back(e.port);
    }
  }
  if (hosts.empty()) throw std::invalid_argument("could not resolve host name(s): " + unresolved);
  // Later keywords override earlier ones in a conninfo string.
  std::string out(conninfo);
  out.append(" host=").append(config::quote_conninfo_value(joined(hosts)));
  out.append(" hostaddr=").append(config::quote_conninfo_value(joined(hostaddrs)));
  out.append(" port=").append(config::quote_conninfo_value(joined(ports)));
  return out;
}

asio::awaitable<std::string> resolve_hosts(std::string conninfo, Clock::time_point deadline) {
  HostPlan plan;
  try {
    plan = plan_hosts(conninfo);
  } catch (const std::invalid_argument& e) {
    throw PgError(errc::connect_failed, e.what());
  }
  if (!plan.needs_lookup()) co_return conninfo;

  auto executor = co_await asio::this_coro::executor;
  struct Lookup {
    boost::system::error_code ec;
    std::vector<std::string> addresses;
  };
  std::vector<std::vector<std::string>> addresses(plan.entries.size());
  std::string last_error;
  for (std::size_t i = 0; i < plan.entries.size(); ++i) {
    const auto& e = plan.entries[i];
    if (!e.lookup) continue;
    // If the deadline wins, the resolver goes with this frame: getaddrinfo
    // cannot be interrupted, and its late answer is dropped.
    asio::ip::tcp::resolver resolver(executor);
    auto found = co_await core::until_deadline<Lookup>(deadline, [&](auto done) {
      resolver.async_resolve(e.host, e.port,
                             [done](const boost::system::error_code& ec,
                                    const asio::ip::tcp::resolver::results_type& results) {
                                Lookup l{ec, {}};
                                for (const auto& r : results) l.addresses.push_back(r.endpoint().address().to_string());
                                done(std::move(l));
                              });
    });
    if (!found) {
      if (Clock::now() >= deadline) throw PgError(errc::timeout, "resolving host \"" + e.host + "\" timed out");
      throw PgError(errc::cancelled, "resolving host \"" + e.host + "\" cancelled");
    }
    if (found->ec) last_error = "could not resolve host \"" + e.host + "\": " + found->ec.message();
    addresses[i] = std::move(found->addresses);
  }
  try {
    co_return with_addresses(conninfo, plan, addresses);
  } catch (const std::invalid_argument& e) {
    throw PgError(errc::connect_failed, last_error.empty() ? std::string(e.what()) : last_error);
  }
}

}  // namespace svc::pg
