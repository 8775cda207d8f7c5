#pragma once
// Everything the running service owns. Created in main right after the
// io_context, destroyed after the context's threads have joined; handlers get
// it by reference. There is no other place where state lives.

#include <memory>

#include <boost/asio/io_context.hpp>
#include <spdlog/logger.h>

#include "lib/config/settings.hpp"
#include "lib/http/router.hpp"
#include "lib/http/server.hpp"
#include "lib/lifecycle/lifecycle.hpp"
#include "lib/lifecycle/readiness.hpp"

namespace p2p {

struct AppState {
  AppState(boost::asio::io_context& ioc, svc::config::Settings settings, std::shared_ptr<spdlog::logger> logger);

  svc::config::Settings settings;
  std::shared_ptr<spdlog::logger> log;
  svc::lifecycle::Readiness readiness;
  svc::http::Router router;  // filled before the server starts, read-only afterwards
  svc::http::Server server;
  svc::lifecycle::Lifecycle lifecycle;
};

}  // namespace p2p
