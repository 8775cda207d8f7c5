#include "lib/config/database_url.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

using svc::config::DatabaseUrl;
using svc::config::mask_url_password;
using svc::config::masked_url;
using svc::config::parse_database_url;

namespace {

// The reason parse_database_url gives, or "" when the URL is accepted.
std::string reason_for(std::string_view url) {
  try {
    parse_database_url(url);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

constexpr const char* malformed =
    "malformed URL (percent-encode special characters in the user name and password, e.g. @ as %40)";

}  // namespace

TEST_SUITE("database_url") {
  TEST_CASE("postgresql:// with every part") {
    const auto url = parse_database_url("postgresql://app:secret@db.internal:5433/offers");
    CHECK(url.host == "db.internal");
    CHECK(url.port == 5433);
    CHECK(url.user == "app");
    CHECK(url.password == "secret");
    CHECK(url.dbname == "offers");
    CHECK(url.options.empty());
    CHECK(url.ignored_driver.empty());
  }

  TEST_CASE("postgres:// is the same as postgresql://") {
    const auto url = parse_database_url("postgres://app:secret@localhost:5432/offers");
    CHECK(url.host == "localhost");
    CHECK(url.user == "app");
    CHECK(url.dbname == "offers");
    CHECK(url.ignored_driver.empty());
  }

  TEST_CASE("the scheme is case-insensitive") {
    CHECK(parse_database_url("PostgreSQL://h/db").host == "h");
  }

  TEST_CASE("SQLAlchemy driver suffixes are accepted and recorded") {
    const auto asyncpg = parse_database_url("postgresql+asyncpg://app:secret@db:5432/offers");
    CHECK(asyncpg.ignored_driver == "asyncpg");
    CHECK(asyncpg.host == "db");
    CHECK(asyncpg.password == "secret");
    CHECK(asyncpg.sanitized() == "postgresql://app:***@db:5432/offers");

    const auto psycopg2 = parse_database_url("postgresql+psycopg2://app@db/offers");
    CHECK(psycopg2.ignored_driver == "psycopg2");
    CHECK(psycopg2.dbname == "offers");
  }

  TEST_CASE("percent-encoded user, password and database name are decoded") {
    const auto url = parse_database_url("postgresql://app%2Bro:p%40ss%3Aw%2Frd%25@db/my%20db");
    CHECK(url.user == "app+ro");
    CHECK(url.password == "p@ss:w/rd%");
    CHECK(url.dbname == "my db");
  }

  TEST_CASE("'+' in the password stays a '+'") {
    CHECK(parse_database_url("postgresql://u:a+b@h/db").password == "a+b");
  }

  TEST_CASE("no password, no port, no database name") {
    const auto url = parse_database_url("postgresql://app@db");
    CHECK(url.user == "app");
    CHECK(url.password.empty());
    CHECK(url.port == 5432);
    CHECK(url.dbname.empty());
    CHECK(url.sanitized() == "postgresql://app@db:5432");
  }

  TEST_CASE("an empty password counts as none") {
    const auto url = parse_database_url("postgresql://app:@db/offers");
    CHECK(url.password.empty());
    CHECK(url.sanitized() == "postgresql://app@db:5432/offers");
  }

  TEST_CASE("an empty port means the default") {
    CHECK(parse_database_url("postgresql://h:/db").port == 5432);
  }

  TEST_CASE("IPv6 host") {
    const auto url = parse_database_url("postgresql://app:secret@[::1]:5433/offers");
    CHECK(url.host == "::1");
    CHECK(url.port == 5433);
    CHECK(url.sanitized() == "postgresql://app:***@[::1]:5433/offers");
    CHECK(url.conninfo() == "host='::1' port='5433' user='app' password='secret' dbname='offers'");
  }

  TEST_CASE("an empty host is libpq's default socket") {
    const auto url = parse_database_url("postgresql:///offers");
    CHECK(url.host.empty());
    CHECK(url.dbname == "offers");
    CHECK(url.conninfo() == "port='5432' dbname='offers'");
  }

  TEST_CASE("a percent-encoded socket directory as host") {
    const auto url = parse_database_url("postgresql://app@%2Fvar%2Frun%2Fpostgresql/offers");
    CHECK(url.host == "/var/run/postgresql");
    CHECK(url.sanitized() == "postgresql://app@%2Fvar%2Frun%2Fpostgresql:5432/offers");
  }

  TEST_CASE("query parameters become options") {
    const auto url =
        parse_database_url("postgresql://app:secret@db/offers?sslmode=require&application_name=p2p%20dash&connect_timeout=");
    REQUIRE(url.options.size() == 3);
    CHECK(url.options.at("sslmode") == "require");
    CHECK(url.options.at("application_name") == "p2p dash");
    CHECK(url.options.at("connect_timeout").empty());
    CHECK(url.sanitized() == "postgresql://app:***@db:5432/offers?application_name=p2p%20dash&connect_timeout=&sslmode=require");
    CHECK(url.conninfo() ==
          "host='db' port='5432' user='app' password='secret' dbname='offers' application_name='p2p dash' "
          "connect_timeout='' sslmode='require'");
  }

  TEST_CASE("a password passed as a query option is masked by sanitized()") {
    const auto url = parse_database_url("postgresql://app@db/offers?password=s3cr3t");
    CHECK(url.options.at("password") == "s3cr3t");
    CHECK(url.sanitized() == "postgresql://app@db:5432/offers?password=***");
  }

  TEST_CASE("rejected URLs say why") {
    CHECK(reason_for("") == "the URL is empty");
    CHECK(reason_for("localhost:5432/offers") == "it does not start with postgresql://");
    CHECK(reason_for("postgresql:offers") == "it does not start with postgresql://");
    CHECK(reason_for("mysql://u:secret@h/db") == "scheme \"mysql\" is not postgresql, postgres or postgresql+<driver>");
    CHECK(reason_for("postgres+asyncpg://h/db") ==
          "scheme \"postgres+asyncpg\" is not postgresql, postgres or postgresql+<driver>");
    CHECK(reason_for("postgresql+://h/db") == "scheme \"postgresql+\" is not postgresql, postgres or postgresql+<driver>");
    CHECK(reason_for("postgresql://h:0/db") == "port \"0\" is not 1-65535");
    CHECK(reason_for("postgresql://h:65536/db") == "port \"65536\" is not 1-65535");
    CHECK(reason_for("postgresql://h:99999999999/db") == "port \"99999999999\" is not 1-65535");
    CHECK(reason_for("postgresql://h:65535/db").empty());
    CHECK(reason_for("postgresql://h:1/db").empty());
    CHECK(reason_for("postgresql://h/offers/extra") == "the path must be /dbname (a single segment)");
    CHECK(reason_for("postgresql://h/db#top") == "it has a fragment (percent-encode # as %23 in a password)");
    CHECK(reason_for("postgresql://h/db?sslmode") == "query parameter \"sslmode\" has no value (expected sslmode=value)");
    CHECK(reason_for("postgresql://h/db?ssl%20mode=x") == "query parameter \"ssl mode\" is not a libpq keyword");
    // Decoded, escaped, on one line (found by tests/fuzz/settings_fuzz.cpp,
    // corpus crash-database-url-newline-in-key).
    CHECK(reason_for("postgresql://h/db?o%0AAPP_ENV=x") == "query parameter \"o\\nAPP_ENV\" is not a libpq keyword");
    CHECK(reason_for("postgresql://u:p%00w@h/db") == "the password contains a percent-encoded NUL (%00)");
    CHECK(reason_for("postgresql://h/d%00b") == "the database name contains a percent-encoded NUL (%00)");
    CHECK(reason_for("postgresql://[v1.x]/db") == "IPvFuture host addresses are not supported");
  }

  TEST_CASE("unencoded special characters in the password are malformed") {
    CHECK(reason_for("postgresql://u:p@ss@h/db") == malformed);
    CHECK(reason_for("postgresql://u:p ss@h/db") == malformed);
    CHECK(reason_for("postgresql://u:pa#ss@h/db") == "it has a fragment (percent-encode # as %23 in a password)");
    CHECK(reason_for("postgresql://h:5x/db") == malformed);
    CHECK(reason_for("postgresql://h:x") == malformed);
    CHECK(reason_for("postgresql://u:pa/ss@h/db") == malformed);
    CHECK(reason_for("postgresql://u:p%zz@h/db") == malformed);
  }

  TEST_CASE("no rejection reason quotes the password") {
    const std::vector<std::string> urls{
        "mysql://u:s3cr3t@h/db",         "postgresql://u:s3cr3t@h:0/db",       "postgresql://u:s3cr3t@h/a/b",
        "postgresql://u:s3cr3t@h/db#x",  "postgresql://u:s3cr3t@h/db?x",       "postgresql://u:s3cr3t@@h/db",
        "postgresql://u:s3cr3t x@h/db", "postgresql://u:s3cr3t%00@h/db",      "s3cr3t",
        "postgresql://u:s3cr3t@h:99999999999999999999/db"};
    for (const auto& url : urls) {
      CAPTURE(url);
      const auto reason = reason_for(url);
      CHECK_FALSE(reason.empty());
      CHECK(reason.find("s3cr3t") == std::string::npos);
    }
  }

  TEST_CASE("sanitized() normalises the scheme and masks the password") {
    CHECK(parse_database_url("postgres://app:secret@db/offers").sanitized() == "postgresql://app:***@db:5432/offers");
    CHECK(parse_database_url("postgresql://db/offers").sanitized() == "postgresql://db:5432/offers");
    CHECK(parse_database_url("postgresql://:secret@db/offers").sanitized() == "postgresql://:***@db:5432/offers");
    CHECK(parse_database_url("postgresql://a%40b:x@db/my%2Fdb").sanitized() == "postgresql://a%40b:***@db:5432/my%2Fdb");
  }

  TEST_CASE("sanitized() of a hand-built URL") {
    DatabaseUrl url;
    url.host = "db";
    url.user = "app";
    url.password = "pw";
    url.dbname = "offers";
    url.options["sslmode"] = "verify-full";
    CHECK(url.sanitized() == "postgresql://app:***@db:5432/offers?sslmode=verify-full");
  }

  TEST_CASE("conninfo() quotes every value as libpq requires") {
    const auto url = parse_database_url("postgresql://o%27brien:it%27s%5Ca%20pw@db:6432/x%27y?options=-c%20search_path%3Dp2p");
    CHECK(url.password == "it's\\a pw");
    CHECK(url.conninfo() ==
          "host='db' port='6432' user='o\\'brien' password='it\\'s\\\\a pw' dbname='x\\'y' options='-c search_path=p2p'");
  }

  TEST_CASE("conninfo() leaves out empty parts so libpq applies its defaults") {
    CHECK(parse_database_url("postgresql://db").conninfo() == "host='db' port='5432'");
  }

  TEST_CASE("mask_url_password() in free text") {
    CHECK(mask_url_password("connect to postgresql://app:secret@db:5432/offers failed") ==
          "connect to postgresql://app:***@db:5432/offers failed");
    CHECK(mask_url_password("a=postgres://u:one@h1/db b=\"postgresql+asyncpg://v:two@h2/db\"") ==
          "a=postgres://u:***@h1/db b=\"postgresql+asyncpg://v:***@h2/db\"");
    CHECK(mask_url_password("proxy http://user:pa%40ss@proxy:3128 and https://example.com/x") ==
          "proxy http://user:***@proxy:3128 and https://example.com/x");
    CHECK(mask_url_password("url postgresql://app@db:5432/offers?x=a@b has no password") ==
          "url postgresql://app@db:5432/offers?x=a@b has no password");
    CHECK(mask_url_password("no urls here: a:b@c") == "no urls here: a:b@c");
    CHECK(mask_url_password("") == "");
  }

  TEST_CASE("mask_url_password() hides all of an unencoded password") {
    CHECK(mask_url_password("postgresql://u:p@ss:w@rd@h/db") == "postgresql://u:***@h/db");
    CHECK(mask_url_password("postgresql://u:pa/ss@h/db") == "postgresql://u:***@h/db");
  }

  TEST_CASE("mask_url_password() hides password= options and keywords") {
    CHECK(mask_url_password("postgresql://u@h/db?sslmode=require&password=secret&x=1") ==
          "postgresql://u@h/db?sslmode=require&password=***&x=1");
    CHECK(mask_url_password("host=db password=secret dbname=offers") == "host=db password=*** dbname=offers");
    CHECK(mask_url_password("host=db PASSWORD = 'se cr\\'et' dbname=offers") == "host=db PASSWORD = *** dbname=offers");
    CHECK(mask_url_password("the password is wrong") == "the password is wrong");
  }

  TEST_CASE("masked_url() treats the whole value as one URL") {
    CHECK(masked_url("postgresql://u:pa ss@h/db") == "postgresql://u:***@h/db");
    CHECK(masked_url("postgresql://u:p@ss@h/db") == "postgresql://u:***@h/db");
    CHECK(masked_url("host=h password=secret") == "host=h password=***");
    CHECK(masked_url("postgresql://u@h/db") == "postgresql://u@h/db");
  }
}
