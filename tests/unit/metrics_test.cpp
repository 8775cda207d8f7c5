#include <doctest/doctest.h>

#include <string>

#include "lib/telemetry/metrics.hpp"

using namespace svc::telemetry;

namespace {
bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }
}  // namespace

TEST_CASE("label values are escaped: backslash, quote and newline") {
  std::string out;
  append_escaped_label_value(out, "a\\b\"c\nd");
  CHECK(out == "a\\\\b\\\"c\\nd");
}

TEST_CASE("a counter family exposes HELP, TYPE and one sample per label set") {
  Registry r;
  auto& requests = r.counter("jobs_total", "Jobs done.\nSecond line.", {"queue"});
  requests.with({"fast"}).inc();
  requests.with({"fast"}).inc(2);
  requests.with({"odd \"one\""}).inc();
  auto text = r.expose();
  CHECK(contains(text, "# HELP jobs_total Jobs done.\\nSecond line.\n# TYPE jobs_total counter\n"));
  CHECK(contains(text, "jobs_total{queue=\"fast\"} 3\n"));
  CHECK(contains(text, "jobs_total{queue=\"odd \\\"one\\\"\"} 1\n"));
}

TEST_CASE("a counter name must end in _total") {
  Registry r;
  CHECK_THROWS_AS(r.counter("jobs", "Jobs."), std::invalid_argument);
}

TEST_CASE("a histogram has cumulative _bucket lines up to le=\"+Inf\", then _sum and _count") {
  Registry r;
  static constexpr std::array<double, 2> bounds{0.1, 1};
  auto& h = r.histogram("op_duration_seconds", "Op time.", {"op"}, bounds);
  h.with({"read"}).observe(0.05);
  h.with({"read"}).observe(0.1);  // le is inclusive
  h.with({"read"}).observe(0.5);
  h.with({"read"}).observe(7);
  auto text = r.expose();
  CHECK(contains(text, "# TYPE op_duration_seconds histogram\n"));
  CHECK(contains(text, "op_duration_seconds_bucket{op=\"read\",le=\"0.1\"} 2\n"
                       "op_duration_seconds_bucket{op=\"read\",le=\"1\"} 3\n"
                       "op_duration_seconds_bucket{op=\"read\",le=\"+Inf\"} 4\n"
                       "op_duration_seconds_sum{op=\"read\"} 7.65\n"
                       "op_duration_seconds_count{op=\"read\"} 4\n"));
}

TEST_CASE("a gauge without labels, and a collector's samples") {
  Registry r;
  r.gauge("queue_depth", "Depth.").with({}).set(5);
  r.add_collector([](TextWriter& out) {
    out.family("temperature_celsius", MetricType::gauge, "Temp.");
    out.sample("temperature_celsius", {{"room", "a"}}, -1.5);
  });
  auto text = r.expose();
  CHECK(contains(text, "queue_depth 5\n"));
  CHECK(contains(text, "temperature_celsius{room=\"a\"} -1.5\n"));
  CHECK(text.find("queue_depth") < text.find("temperature_celsius"));
}

TEST_CASE("the same label values find the same cell; wrong arity throws") {
  Registry r;
  auto& f = r.gauge("g", "G.", {"a", "b"});
  CHECK(&f.with({"x", "y"}) == &f.with({"x", "y"}));
  CHECK(&f.with({"x", "y"}) != &f.with({"xy", ""}));
  CHECK_THROWS_AS(f.with({"x"}), std::invalid_argument);
}

TEST_CASE("more label sets than the table holds share one overflow child") {
  Registry r;
  auto& f = r.counter("many_total", "Many.", {"k"});
  for (std::size_t i = 0; i < detail::ChildTable::kMaxChildren + 10; ++i) f.with({std::to_string(i)}).inc();
  auto text = r.expose();
  CHECK(contains(text, "many_total{k=\"_overflow\"} 10\n"));
}

TEST_CASE("a label value too long or not UTF-8 goes to the overflow child, never into the exposition") {
  Registry r;
  auto& f = r.counter("guarded_total", "Guarded.", {"k"});
  f.with({std::string(detail::ChildTable::kMaxLabelValueBytes, 'a')}).inc();
  f.with({std::string(detail::ChildTable::kMaxLabelValueBytes + 1, 'b')}).inc();
  f.with({std::string(100000, 'c')}).inc();
  f.with({"caf\xC3\xA9"}).inc();
  f.with({"bad\xFF"}).inc();
  auto text = r.expose();
  CHECK(contains(text, "guarded_total{k=\"" + std::string(detail::ChildTable::kMaxLabelValueBytes, 'a') + "\"} 1\n"));
  CHECK(contains(text, "guarded_total{k=\"caf\xC3\xA9\"} 1\n"));
  CHECK(contains(text, "guarded_total{k=\"_overflow\"} 3\n"));
  CHECK_FALSE(contains(text, "bbb"));
  CHECK_FALSE(contains(text, "\xFF"));
}

TEST_CASE("numbers: integers plain, special values spelled as Prometheus does") {
  std::string out;
  append_number(out, 3);
  out += ' ';
  append_number(out, 0.25);
  out += ' ';
  append_number(out, 1.0 / 0.0);
  CHECK(out == "3 0.25 +Inf");
}
