#include "lib/config/help.hpp"

#include <algorithm>
#include <ostream>
#include <string>

namespace svc::config {

void print_help(std::ostream& out, std::string_view usage, const std::vector<Variable>& variables) {
  out << usage << "\nEnvironment variables (an empty value counts as unset):\n";
  const auto default_shown = [](const Variable& v) { return v.default_text.empty() ? std::string("required") : v.default_text; };
  std::size_t name_width = 0;
  std::size_t default_width = 0;
  for (const auto& v : variables) {
    name_width = std::max(name_width, v.name.size());
    default_width = std::max(default_width, default_shown(v).size());
  }
  for (const auto& v : variables) {
    const std::string fallback = default_shown(v);
    out << "  " << v.name << std::string(name_width - v.name.size() + 2, ' ') << fallback
        << std::string(default_width - fallback.size() + 2, ' ') << v.help << (v.secret ? " (secret)" : "") << '\n';
  }
}

void print_config(std::ostream& out, const std::vector<EnvReader::Effective>& effective) {
  for (const auto& entry : effective) out << entry.name << '=' << entry.value << '\n';
}

}  // namespace svc::config
