// Which hosts of a conninfo need a name lookup, and how the addresses found
// are handed to libpq (hostaddr, with host kept for TLS and messages).
#include <doctest/doctest.h>

#include <stdexcept>

#include "lib/pg/host_resolution.hpp"

using svc::pg::plan_hosts;
using svc::pg::with_addresses;

TEST_SUITE("host_resolution") {
  TEST_CASE("numeric addresses, socket paths and a given hostaddr need no lookup") {
    CHECK_FALSE(plan_hosts("host=127.0.0.1 port=5432 dbname=x").needs_lookup());
    CHECK_FALSE(plan_hosts("host=::1 dbname=x").needs_lookup());
    CHECK_FALSE(plan_hosts("host=/var/run/postgresql dbname=x").needs_lookup());
    CHECK_FALSE(plan_hosts("host=db.example hostaddr=10.0.0.5 dbname=x").needs_lookup());
    CHECK_FALSE(plan_hosts("dbname=x").needs_lookup());  // libpq's default socket
  }

  TEST_CASE("a name needs one; each host of a list keeps its own port") {
    const auto plan = plan_hosts("host=db1.example,10.0.0.9,db2.example port=5433,5434,5435 dbname=x");
    REQUIRE(plan.entries.size() == 3);
    CHECK(plan.needs_lookup());
    CHECK(plan.entries[0].host == "db1.example");
    CHECK(plan.entries[0].port == "5433");
    CHECK(plan.entries[0].lookup);
    CHECK_FALSE(plan.entries[1].lookup);
    CHECK(plan.entries[2].port == "5435");
    // One port for all, or none (5432).
    CHECK(plan_hosts("host=a.example,b.example port=6000").entries[1].port == "6000");
    CHECK(plan_hosts("host=a.example").entries[0].port == "5432");
  }

  TEST_CASE("every address found becomes a host/hostaddr/port triple, in order") {
    const std::string conninfo = "host=db.example,10.0.0.9 port=5433 dbname=x password='p w'";
    const auto plan = plan_hosts(conninfo);
    const auto out = with_addresses(conninfo, plan, {{"10.1.0.1", "10.1.0.2"}, {}});
    // The original text first (its password untouched), the lists after: later keywords win.
    CHECK(out.rfind(conninfo, 0) == 0);
    CHECK(out.find(" host='db.example,db.example,10.0.0.9'") != std::string::npos);
    CHECK(out.find(" hostaddr='10.1.0.1,10.1.0.2,10.0.0.9'") != std::string::npos);
    CHECK(out.find(" port='5433,5433,5433'") != std::string::npos);
  }

  TEST_CASE("a host that resolves to nothing is left out; none left is an error") {
    const std::string conninfo = "host=gone.example,db.example dbname=x";
    const auto plan = plan_hosts(conninfo);
    const auto out = with_addresses(conninfo, plan, {{}, {"10.2.0.1"}});
    CHECK(out.find(" host='db.example'") != std::string::npos);
    CHECK(out.find(" hostaddr='10.2.0.1'") != std::string::npos);
    CHECK_THROWS_WITH_AS(with_addresses(conninfo, plan, {{}, {}}), "could not resolve host name(s): gone.example, db.example",
                         std::invalid_argument);
  }

  TEST_CASE("a conninfo libpq cannot parse is an error that says so") {
    CHECK_THROWS_AS(plan_hosts("host='unterminated"), std::invalid_argument);
    CHECK_THROWS_AS(plan_hosts("nosuchkeyword=1"), std::invalid_argument);
  }
}
