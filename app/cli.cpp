#include "app/cli.hpp"

#include <ostream>
#include <string>

#include "app/app_settings.hpp"
#include "lib/config/help.hpp"
#include "lib/service/settings.hpp"

namespace p2p {

void print_help(std::ostream& out, std::string_view program) {
  std::string usage = "Usage: ";
  usage.append(program).append(
      " [--help | --print-config | migrate [--status]]\n"
      "\n"
      "Options:\n"
      "  --help            print this help and exit\n"
      "  --print-config    print the effective configuration (secrets masked) and exit\n"
      "  migrate           apply pending schema migrations and exit (the server also does at start-up)\n"
      "  migrate --status  list migrations, applied or pending, and exit\n"
      "  (no argument)     run the service\n");
  auto variables = svc::service::Settings::variables();
  variables.insert(variables.end(), AppSettings::variables().begin(), AppSettings::variables().end());
  svc::config::print_help(out, usage, variables);
}

}  // namespace p2p
