#include "tests/integration/pg_harness.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/pqxx>
#include <spdlog/sinks/stdout_sinks.h>

#include "lib/config/database_url.hpp"

namespace pgtest {

std::string database_url() {
  const char* url = std::getenv("TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0')
    throw std::runtime_error("TEST_DATABASE_URL is not set: run the tests through scripts/test");
  return url;
}

std::string conninfo() { return svc::config::parse_database_url(database_url()).conninfo(); }

svc::pg::ConnectOptions options(const std::string& tag) {
  static std::atomic<int> counter{0};  // test-only: unique names within this process
  svc::pg::ConnectOptions o;
  o.conninfo = conninfo();
  o.application_name = "t-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  o.connect_timeout = std::chrono::seconds(5);
  return o;
}

std::shared_ptr<spdlog::logger> logger() {
  auto log = std::make_shared<spdlog::logger>("pgtest", std::make_shared<spdlog::sinks::stdout_sink_mt>());
  log->set_level(spdlog::level::warn);
  return log;
}

std::string oracle_scalar(const std::string& sql) {
  pqxx::connection c(conninfo());
  pqxx::nontransaction tx(c);
  auto row = tx.exec1(sql);
  return row[0].is_null() ? std::string("NULL") : row[0].as<std::string>();
}

void oracle_exec(const std::string& sql) {
  pqxx::connection c(conninfo());
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

boost::asio::awaitable<void> pause(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  co_await t.async_wait(boost::asio::use_awaitable);
}

int backends(const std::string& application_name) {
  pqxx::connection c(conninfo());
  pqxx::nontransaction tx(c);
  return tx.exec1("SELECT count(*) FROM pg_stat_activity WHERE application_name = " + tx.quote(application_name))[0]
      .as<int>();
}

int terminate_backends(const std::string& application_name) {
  pqxx::connection c(conninfo());
  pqxx::nontransaction tx(c);
  return tx
      .exec1("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = " +
             tx.quote(application_name))[0]
      .as<int>();
}

}  // namespace pgtest
