#pragma once
// libpq resolves host names with a blocking getaddrinfo inside PQconnectStart
// and PQconnectPoll, which would stall an event loop for as long as DNS takes.
// Connection::connect resolves them first, with Asio (its resolver runs
// getaddrinfo on a thread of its own), and hands libpq the addresses as
// `hostaddr`; `host` stays, for TLS verification, authentication and error
// messages.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace svc::pg {

// One entry of the conninfo's host list that needs a lookup.
struct HostToResolve {
  std::string host;
  std::string port;
};

// The host list of `conninfo` (libpq keyword/value form) as libpq would read
// it, and for each entry whether it needs a name lookup: not when hostaddr is
// already given, nor for a socket path or a numeric address. Throws
// std::invalid_argument when libpq cannot parse the conninfo.
struct HostPlan {
  struct Entry {
    std::string host;
    std::string port;
    bool lookup = false;
  };
  std::vector<Entry> entries;
  bool needs_lookup() const noexcept;
};
HostPlan plan_hosts(std::string_view conninfo);

// `conninfo` with host, hostaddr and port lists naming every address found:
// entry i of the plan contributes one triple per address in addresses[i]
// (a numeric host or socket path contributes itself with an empty hostaddr).
// An entry whose lookup found nothing is left out; with none left, throws
// std::invalid_argument("could not resolve ...").
std::string with_addresses(std::string_view conninfo, const HostPlan& plan,
                           const std::vector<std::vector<std::string>>& addresses);

// Resolves every host of `conninfo` that needs it, each lookup bounded by
// `deadline`. Returns `conninfo` unchanged when nothing needs a lookup.
// Throws PgError(connect_failed) if nothing resolves, PgError(timeout) at the
// deadline, PgError(cancelled) when the awaiting coroutine is cancelled.
boost::asio::awaitable<std::string> resolve_hosts(std::string conninfo, std::chrono::steady_clock::time_point deadline);

}  // namespace svc::pg
