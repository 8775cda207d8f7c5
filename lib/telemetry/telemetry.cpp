#include "lib/telemetry/telemetry.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "lib/pg/pool.hpp"

namespace svc::telemetry {

namespace asio = boost::asio;

namespace {
double seconds_of(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

HttpServerMetrics::HttpServerMetrics(Registry& r)
    : duration(r.histogram("http_server_request_duration_seconds", "Duration of HTTP server requests.",
                           {"http_request_method", "http_route", "http_response_status_code"}, kDurationBuckets)),
      active(r.gauge("http_server_active_requests", "Number of active HTTP server requests.").with({})),
      request_size(r.histogram("http_server_request_body_size_bytes", "Size of HTTP server request bodies.",
                               {"http_request_method", "http_route"}, kByteBuckets)),
      response_size(r.histogram("http_server_response_body_size_bytes", "Size of HTTP server response bodies.",
                                {"http_request_method", "http_route"}, kByteBuckets)) {}

Telemetry::Telemetry(asio::io_context& ioc, pg::ConnectOptions connect, const TelemetrySettings& settings,
                     std::chrono::milliseconds grace, std::chrono::milliseconds backoff_max, Registry& metrics,
                     spdlog::logger& log, lifecycle::Readiness& readiness)
    : settings_(settings),
      metrics_(metrics),
      http_(metrics),
      upstream_requests_(metrics.counter("upstream_requests_total", "Outbound calls to exchanges by outcome.",
                                         {"exchange", "outcome"})),
      upstream_duration_(metrics.histogram("upstream_request_duration_seconds", "Duration of outbound calls to exchanges.",
                                           {"exchange", "outcome"}, kDurationBuckets)),
      scrape_rounds_(metrics.counter("scraper_rounds_total", "Scraper rounds by exchange and outcome.",
                                     {"exchange", "outcome"})),
      scrape_duration_(metrics.histogram("scraper_round_duration_seconds", "Duration of scraper rounds.", {"exchange"},
                                         kDurationBuckets)),
      offers_stored_(metrics.counter("scraper_offers_stored_total", "Offers stored by the scraper.", {"exchange"})),
      offers_skipped_(metrics.counter("scraper_offers_skipped_total", "Offers the scraper skipped (invalid).",
                                      {"exchange"})) {
  if (settings_.enabled)
    writer_.emplace(ioc, std::move(connect), settings_, grace, backoff_max, metrics, log, readiness);
}

void Telemetry::submit(Event event) noexcept {
  if (writer_) writer_->submit(std::move(event));
}

asio::awaitable<void> Telemetry::record(Event event) {
  if (!writer_) co_return;
  co_await writer_->record(std::move(event));
}

namespace {

// The fields an upstream call and a scrape round share, timed from its start.
Event finished_event(Event::Kind kind, std::chrono::steady_clock::duration duration, std::string_view name,
                     std::string_view target, std::string_view outcome, std::string_view trace_id) {
  Event e;
  e.kind = kind;
  e.time = std::chrono::system_clock::now() - std::chrono::duration_cast<std::chrono::system_clock::duration>(duration);
  e.duration_seconds = seconds_of(duration);
  e.trace_id = trace_id;
  e.name = name;
  e.target = target;
  e.outcome = outcome;
  return e;
}

}  // namespace

void Telemetry::record_upstream(const UpstreamCall& call) noexcept {
  upstream_requests_.with({call.exchange, call.outcome}).inc();
  upstream_duration_.with({call.exchange, call.outcome}).observe(seconds_of(call.duration));
  if (!writer_) return;
  try {
    Event e = finished_event(Event::Kind::upstream, call.duration, call.exchange, call.target, call.outcome,
                             call.trace_id);
    e.request_id = call.request_id;
    writer_->submit(std::move(e));
  } catch (...) {  // allocation failure: the event is lost
  }
}

void Telemetry::record_scrape(const ScrapeRound& round) noexcept {
  scrape_rounds_.with({round.exchange, round.outcome}).inc();
  scrape_duration_.with({round.exchange}).observe(seconds_of(round.duration));
  if (round.stored > 0) offers_stored_.with({round.exchange}).inc(static_cast<double>(round.stored));
  if (round.skipped > 0) offers_skipped_.with({round.exchange}).inc(static_cast<double>(round.skipped));
  if (!writer_) return;
  try {
    Event e = finished_event(Event::Kind::scrape, round.duration, round.exchange, round.target, round.outcome,
                             round.trace_id);
    e.stored = round.stored;
    e.skipped = round.skipped;
    writer_->submit(std::move(e));
  } catch (...) {
  }
}

// ---------------------------------------------------------------- process

namespace {

struct ProcStat {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  double start_ticks = 0;
  bool ok = false;
};

ProcStat read_proc_stat() {
  ProcStat st;
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // comm (field 2) may contain spaces and parentheses: parse after the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos) return st;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  // Fields from 3 (state) on; utime 14, stime 15, starttime 22, rss 24.
  double utime = 0, stime = 0;
  for (int i = 3; i <= 24 && fields >> f; ++i) {
    if (i == 14) utime = std::stod(f);
    if (i == 15) stime = std::stod(f);
    if (i == 22) st.start_ticks = std::stod(f);
    if (i == 24) st.resident_bytes = std::stod(f) * static_cast<double>(::sysconf(_SC_PAGESIZE));
  }
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  st.cpu_seconds = (utime + stime) / ticks;
  st.ok = true;
  return st;
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  return 0;
}

double open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double n = 0;
  while (const dirent* entry = ::readdir(dir))
    if (entry->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n - 1;  // the directory stream's own descriptor
}

}  // namespace

void add_process_metrics(Registry& registry) {
  auto first = read_proc_stat();
  const double start_time = boot_time_seconds() + first.start_ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
  registry.add_collector([start_time](TextWriter& out) {
    auto st = read_proc_stat();
    out.family("process_cpu_seconds_total", MetricType::counter, "Total user and system CPU time spent in seconds.");
    out.sample("process_cpu_seconds_total", {}, st.cpu_seconds);
    out.family("process_resident_memory_bytes", MetricType::gauge, "Resident memory size in bytes.");
    out.sample("process_resident_memory_bytes", {}, st.resident_bytes);
    out.family("process_open_fds", MetricType::gauge, "Number of open file descriptors.");
    out.sample("process_open_fds", {}, open_fds());
    out.family("process_start_time_seconds", MetricType::gauge, "Start time of the process since unix epoch in seconds.");
    out.sample("process_start_time_seconds", {}, start_time);
  });
}

void add_build_info(Registry& registry, std::string_view service, std::string_view version,
                    std::string_view git_commit) {
  registry.add_collector([service = std::string(service), version = std::string(version),
                          commit = std::string(git_commit)](TextWriter& out) {
    out.family("build_info", MetricType::gauge, "Build information; the value is always 1.");
    out.sample("build_info", {{"service", service}, {"version", version}, {"git_commit", commit}}, 1);
  });
}

void add_pool_metrics(Registry& registry, const pg::Pool& pool, std::string_view pool_name) {
  registry.add_collector([&pool, name = std::string(pool_name)](TextWriter& out) {
    auto s = pool.stats();
    const Label pool_label{"pool_name", name};
    const Label idle[] = {pool_label, {"state", "idle"}};
    const Label used[] = {pool_label, {"state", "used"}};
    const Label pipelined[] = {pool_label, {"state", "pipelined"}};
    const Label just_pool[] = {pool_label};
    out.family("db_client_connections_usage", MetricType::gauge,
               "Open connections by state (idle|used|pipelined: carrying the shared statement path).");
    out.sample("db_client_connections_usage", idle, static_cast<double>(s.idle));
    out.sample("db_client_connections_usage", used, static_cast<double>(s.checked_out));
    out.sample("db_client_connections_usage", pipelined, static_cast<double>(s.pipelined));
    out.family("db_client_statements_in_flight", MetricType::gauge,
               "Statements on pipelined connections, sent or about to be.");
    out.sample("db_client_statements_in_flight", just_pool, static_cast<double>(s.statements_in_flight));
    out.family("db_client_statements_waiting", MetricType::gauge,
               "Statements waiting for room on a pipelined connection (DB_PIPELINE_DEPTH).");
    out.sample("db_client_statements_waiting", just_pool, static_cast<double>(s.statements_waiting));
    out.family("db_client_statements_total", MetricType::counter, "Statements submitted on the shared path.");
    out.sample("db_client_statements_total", just_pool, static_cast<double>(s.statements_total));
    out.family("db_client_statement_failures_total", MetricType::counter,
               "Statements on the shared path answered with an error (SQL errors included).");
    out.sample("db_client_statement_failures_total", just_pool, static_cast<double>(s.statement_failures_total));
    out.family("db_client_statement_deadline_failures_total", MetricType::counter,
               "Statements that passed DB_STATEMENT_DEADLINE.");
    out.sample("db_client_statement_deadline_failures_total", just_pool,
               static_cast<double>(s.deadline_failures_total));
    out.family("db_client_dead_connections_total", MetricType::counter,
               "Pipelined connections replaced because their oldest statement passed its deadline.");
    out.sample("db_client_dead_connections_total", just_pool, static_cast<double>(s.dead_connections_total));
    out.family("db_client_connections_max", MetricType::gauge, "Maximum number of open connections allowed.");
    out.sample("db_client_connections_max", just_pool, static_cast<double>(s.max));
    out.family("db_client_connections_pending_requests", MetricType::gauge,
               "Requests waiting for an open connection.");
    out.sample("db_client_connections_pending_requests", just_pool, static_cast<double>(s.waiting));
    out.family("db_client_connections_timeouts_total", MetricType::counter,
               "Connection acquires that timed out (DB_POOL_TIMEOUT).");
    out.sample("db_client_connections_timeouts_total", just_pool, static_cast<double>(s.timeouts_total));
    out.family("db_client_connections_wait_time_seconds", MetricType::histogram,
               "Time it took to obtain an open connection from the pool.");
    out.histogram("db_client_connections_wait_time_seconds", just_pool, kDurationBuckets, s.wait_buckets,
                  s.wait_seconds_total);
  });
}

}  // namespace svc::telemetry
