#pragma once
// --help and --print-config from the variables the modules declare.

#include <iosfwd>
#include <string_view>
#include <vector>

#include "lib/config/env.hpp"

namespace svc::config {

// `usage`: the program's own lines (usage, options), printed first; then
// every variable with its default and meaning, aligned.
void print_help(std::ostream& out, std::string_view usage, const std::vector<Variable>& variables);
// NAME=value, one per line, secrets masked, in reading order.
void print_config(std::ostream& out, const std::vector<EnvReader::Effective>& effective);

}  // namespace svc::config
