#pragma once
// The command line: what --help prints (the usage, then every variable of the
// kit and of the application) and the names the application gives itself.

#include <iosfwd>
#include <string_view>

namespace p2p {

inline constexpr std::string_view kServiceName = "p2p-dashboard";
// The migrations' advisory lock (every replica uses the same).
inline constexpr std::string_view kMigrationLock = "p2p-dashboard:migrations";

void print_help(std::ostream& out, std::string_view program);

}  // namespace p2p
