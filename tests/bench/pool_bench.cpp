// pool_bench: a benchmark tool (not a test) for scripts/bench-db.
//
//   pool_bench --url URL [--concurrency 64] [--seconds 10] [--pool-size N]
//              [--pipeline K] [--threads T] [--warmup 2]
//              [--shared [--read-only 0|1] [--connections C] [--depth D] [--cork 0|1]]
//
// Without --url the URL comes from DATABASE_URL, which keeps the password
// out of the process list (scripts/bench-db does that).
//
// The counterpart of `pgbench -S -M prepared`, through lib/pg: an io_context
// with T threads, a svc::pg::Pool (size N, overflow 0, acquire timeout 30 s,
// prepared statements on), and `concurrency` client coroutines that loop
//
//   acquire; SELECT abalance FROM pgbench_accounts WHERE aid = $1; release
//
// with a uniformly random aid in [1, 100000 * scale] (scale = rows of
// pgbench_branches, read at start). With --pipeline K each iteration sends K
// such statements in one Connection::pipeline() call and counts K
// transactions; latency is then per call.
//
// --shared: the statement path instead, as the service's handlers use it:
// T event loops (one thread each, lifecycle::EventLoops), clients spread
// over them, each iteration one `co_await pool.query(...)`. --read-only 1
// marks the statements read-only (they may share a Sync), --connections C
// pipelined connections per loop, --depth D statements in flight on each,
// --cork 0 turns TCP_CORK off; the pool size must leave room for T x C.
//
// The clients first run unmeasured until the pool has opened all its
// connections (it opens them on demand) and --warmup seconds more, then
// --seconds measured. Latency is taken from
// before acquire() to after the release, so time queued for a connection
// counts, as a request handler would see it. One line of key=value goes to
// stdout; progress and errors go to stderr.
//
// It stops by itself: the clients end after the measured window, the pool is
// stopped, and a watchdog exits with code 3 if any of that hangs (90 s margin).
//
// Exit codes: 0 done (even with query errors: see errors=), 1 failed to set
// up (database unreachable, pgbench tables missing), 2 bad arguments,
// 3 watchdog.

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "lib/config/database_url.hpp"
#include "lib/core/async_event.hpp"
#include "lib/lifecycle/event_loops.hpp"
#include "lib/lifecycle/readiness.hpp"
#include "lib/pg/connection.hpp"
#include "lib/pg/error.hpp"
#include "lib/pg/pool.hpp"
#include "lib/pg/pool_settings.hpp"

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kSql = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
constexpr auto kGrace = std::chrono::seconds(90);  // watchdog margin beyond warmup + seconds (opening: 30 s)

struct Options {
  std::string url;
  int concurrency = 64;
  int seconds = 10;
  int pool_size = 0;  // 0 = concurrency
  int pipeline = 1;
  int threads = 1;
  int warmup = 2;
  bool shared = false;
  bool read_only = false;
  int connections = 1;
  int depth = 64;
  bool cork = true;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "pool_bench: %s\n"
               "usage: pool_bench [--url URL (default: $DATABASE_URL)] [--concurrency 64] [--seconds 10] [--pool-size N (default: concurrency)]\n"
               "                  [--pipeline 1] [--threads 1] [--warmup 2]\n"
               "                  [--shared [--read-only 0|1] [--connections 1] [--depth 64] [--cork 0|1]]\n",
               why.c_str());
  std::exit(2);
}

int parse_int(std::string_view flag, std::string_view v, int lo, int hi) {
  int out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc{} || end != v.data() + v.size() || out < lo || out > hi)
    usage(std::string(flag) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
          std::string(v) + "'");
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "-h" || flag == "--help") usage("help");
    if (flag == "--shared") {
      o.shared = true;
      continue;
    }
    if (i + 1 >= argc) usage("missing value for " + std::string(flag));
    std::string_view v = argv[++i];
    if (flag == "--url") o.url = v;
    else if (flag == "--concurrency") o.concurrency = parse_int(flag, v, 1, 10'000);
    else if (flag == "--seconds") o.seconds = parse_int(flag, v, 1, 300);
    else if (flag == "--pool-size") o.pool_size = parse_int(flag, v, 1, 1'000);
    else if (flag == "--pipeline") o.pipeline = parse_int(flag, v, 1, 1'000);
    else if (flag == "--threads") o.threads = parse_int(flag, v, 1, 64);
    else if (flag == "--warmup") o.warmup = parse_int(flag, v, 0, 60);
    else if (flag == "--read-only") o.read_only = parse_int(flag, v, 0, 1) == 1;
    else if (flag == "--connections") o.connections = parse_int(flag, v, 1, 64);
    else if (flag == "--depth") o.depth = parse_int(flag, v, 1, 1'024);
    else if (flag == "--cork") o.cork = parse_int(flag, v, 0, 1) == 1;
    else usage("unknown argument " + std::string(flag));
  }
  if (o.url.empty()) {
    const char* env = std::getenv("DATABASE_URL");
    if (env == nullptr || *env == '\0') usage("--url or DATABASE_URL is required");
    o.url = env;
  }
  if (o.pool_size == 0) o.pool_size = std::min(o.concurrency, 1'000);
  return o;
}

// Exits the process if the run is not over by its deadline: the tool must
// stop by itself even if the pool or the database hangs.
class Watchdog {
 public:
  explicit Watchdog(Clock::duration limit)
      : thread_([this, limit] {
          std::unique_lock lock(mutex_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "pool_bench: watchdog: not finished after %lld s; exiting\n",
                         static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(limit).count()));
            std::_Exit(3);
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

// Each client writes only its own slot: no sharing on the hot path.
struct alignas(64) ClientStats {
  std::uint64_t transactions = 0;        // inside the measured window
  std::uint64_t transactions_total = 0;  // warm-up and drain included
  std::vector<std::uint32_t> latency_us;  // one per iteration in the window
  std::uint64_t errors = 0;
  std::map<std::string, std::uint64_t> error_kinds;  // what() → count (first few kinds)
};

struct Shared {
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<int> running{0};
};

asio::awaitable<void> client(svc::pg::Pool& pool, const Options& opt, std::int32_t max_aid, unsigned seed,
                             Shared& shared, ClientStats& st) {
  std::minstd_rand rng(seed);
  std::uniform_int_distribution<std::int32_t> aid(1, max_aid);
  std::vector<svc::pg::Statement> batch(static_cast<std::size_t>(opt.pipeline));
  for (auto& s : batch) s.sql = kSql;
  st.latency_us.reserve(1 << 16);
  auto executor = co_await asio::this_coro::executor;

  while (!shared.stop.load(std::memory_order_relaxed)) {
    const auto t0 = Clock::now();
    std::uint64_t done = 0;
    bool failed = false;
    try {
      if (opt.shared) {
        auto r = co_await pool.query(kSql, svc::pg::Params(aid(rng)), {.read_only = opt.read_only});
        if (r.rows() != 1) throw std::runtime_error("expected 1 row, got " + std::to_string(r.rows()));
        done = 1;
      } else if (auto conn = co_await pool.acquire(); opt.pipeline == 1) {
        auto r = co_await conn->query(kSql, svc::pg::Params(aid(rng)));
        if (r.rows() != 1) throw std::runtime_error("expected 1 row, got " + std::to_string(r.rows()));
        done = 1;
      } else {
        for (auto& s : batch) s.params = svc::pg::Params(aid(rng));
        auto results = co_await conn->pipeline(batch);
        for (const auto& r : results)
          if (r.rows() != 1) throw std::runtime_error("expected 1 row, got " + std::to_string(r.rows()));
        done = results.size();
      }
    } catch (const std::exception& e) {
      failed = true;
      ++st.errors;
      if (st.error_kinds.size() < 5 || st.error_kinds.count(e.what())) ++st.error_kinds[e.what()];
    }
    const auto t1 = Clock::now();
    if (failed) {
      // Do not spin on a dead database.
      asio::steady_timer pause(executor, std::chrono::milliseconds(10));
      co_await pause.async_wait(nothrow);
      continue;
    }
    st.transactions_total += done;
    if (shared.measuring.load(std::memory_order_relaxed)) {
      st.transactions += done;
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count();
      st.latency_us.push_back(static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX)));
    }
  }
}

struct Report {
  double window_seconds = 0;
  double cpu_seconds = 0;
  std::int32_t scale = 0;
  svc::pg::PoolStats before, after;
};

asio::awaitable<Report> run(asio::io_context& ioc, const std::vector<asio::any_io_executor>& loops,
                            svc::pg::Pool& pool, const Options& opt, std::vector<ClientStats>& stats) {
  Report rep;
  co_await pool.start();
  std::exception_ptr setup_failure;
  try {
    auto conn = co_await pool.acquire();
    auto r = co_await conn->query("SELECT count(*) FROM pgbench_branches");
    rep.scale = static_cast<std::int32_t>(r.int64(0, 0));
    if (rep.scale < 1) throw std::runtime_error("pgbench_branches is empty: run pgbench -i first");
  } catch (const std::exception&) {
    setup_failure = std::current_exception();
  }
  if (setup_failure) {
    co_await pool.stop();  // leave nothing running behind the error
    std::rethrow_exception(setup_failure);
  }
  const std::int32_t max_aid = 100'000 * rep.scale;

  Shared shared;
  svc::core::AsyncEvent all_done(ioc.get_executor());
  std::random_device rd;
  shared.running = opt.concurrency;
  for (int i = 0; i < opt.concurrency; ++i) {
    asio::co_spawn(loops[static_cast<std::size_t>(i) % loops.size()],
                   client(pool, opt, max_aid, rd(), shared, stats[static_cast<std::size_t>(i)]),
                   [&shared, &all_done](std::exception_ptr e) {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& ex) {
                         std::fprintf(stderr, "pool_bench: a client ended with an exception: %s\n", ex.what());
                       }
                     }
                     if (shared.running.fetch_sub(1) == 1) all_done.set();  // AsyncEvent: from any thread
                   });
  }

  // Warm-up: the pool opens connections on demand (scram-sha-256 makes each
  // one cost a few ms of CPU on both sides), so wait until all of them are
  // open (at most 30 s), then --warmup seconds more at full speed.
  asio::steady_timer timer(ioc);
  const auto open_deadline = Clock::now() + std::chrono::seconds(30);
  const auto wanted = opt.shared ? static_cast<std::size_t>(opt.threads * opt.connections)
                                 : static_cast<std::size_t>(opt.pool_size);
  const auto opened = [&] { return opt.shared ? pool.stats().pipelined : pool.stats().size; };
  while (opened() < wanted && Clock::now() < open_deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (opt.warmup > 0) {
    timer.expires_after(std::chrono::seconds(opt.warmup));
    co_await timer.async_wait(asio::use_awaitable);
  }
  rep.before = pool.stats();
  const double cpu0 = cpu_seconds();
  const auto t0 = Clock::now();
  shared.measuring = true;
  timer.expires_after(std::chrono::seconds(opt.seconds));
  co_await timer.async_wait(asio::use_awaitable);
  shared.measuring = false;
  const auto t1 = Clock::now();
  rep.cpu_seconds = cpu_seconds() - cpu0;
  rep.after = pool.stats();
  rep.window_seconds = std::chrono::duration<double>(t1 - t0).count();
  shared.stop = true;

  if (!co_await all_done.wait_for(std::chrono::seconds(40))) {
    // The clients still reference this frame: do not return from under them.
    std::fprintf(stderr, "pool_bench: clients did not finish 40 s after the window; exiting\n");
    std::_Exit(3);
  }
  co_await pool.stop();
  co_return rep;
}

double percentile_ms(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  svc::config::DatabaseUrl url;
  try {
    url = svc::config::parse_database_url(opt.url);
  } catch (const std::exception& e) {
    usage(std::string("bad --url: ") + e.what());
  }
  Watchdog watchdog(std::chrono::seconds(opt.warmup + opt.seconds) + kGrace);

  svc::pg::ConnectOptions connect;
  connect.conninfo = url.conninfo();
  connect.application_name = "pool_bench";
  svc::pg::PoolSettings settings;
  settings.size = static_cast<std::size_t>(opt.pool_size);
  settings.max_overflow = 0;
  settings.acquire_timeout = std::chrono::seconds(30);
  settings.connect_timeout = std::chrono::seconds(10);
  settings.prepared_statements = true;  // like pgbench -M prepared
  settings.fail_fast = true;            // a benchmark against a down database is pointless
  settings.pipeline_connections = static_cast<std::size_t>(opt.connections);
  settings.pipeline_depth = static_cast<std::size_t>(opt.depth);
  settings.pipeline_batch_reads = true;  // whether statements may share a Sync: --read-only
  settings.pipeline_cork = opt.cork;
  settings.statement_deadline = std::chrono::seconds(30);
  if (opt.shared && static_cast<std::size_t>(opt.threads * opt.connections) >= settings.size)
    settings.size = static_cast<std::size_t>(opt.threads * opt.connections) + 1;  // one stays for checkouts

  auto log = std::make_shared<spdlog::logger>("pool_bench", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  log->set_level(spdlog::level::warn);
  svc::lifecycle::Readiness readiness;

  std::vector<ClientStats> stats(static_cast<std::size_t>(opt.concurrency));
  Report rep;
  std::exception_ptr failure;
  if (opt.shared) {
    // As in the service: one io_context per thread, the pool's lanes on them.
    asio::io_context ioc(1);
    svc::lifecycle::EventLoops loops(ioc, static_cast<unsigned>(opt.threads));
    svc::pg::Pool pool(ioc, connect, settings, *log, readiness, loops.executors());
    asio::co_spawn(ioc, run(ioc, loops.executors(), pool, opt, stats), [&](std::exception_ptr e, Report r) {
      failure = e;
      rep = std::move(r);
    });
    loops.run();
  } else {
    asio::io_context ioc(opt.threads);
    svc::pg::Pool pool(ioc, connect, settings, *log, readiness);
    const std::vector<asio::any_io_executor> one{ioc.get_executor()};
    asio::co_spawn(ioc, run(ioc, one, pool, opt, stats), [&](std::exception_ptr e, Report r) {
      failure = e;
      rep = std::move(r);
    });
    std::vector<std::thread> extra;
    for (int i = 1; i < opt.threads; ++i) extra.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : extra) t.join();
  }
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pool_bench: %s\n", e.what());
    }
    return 1;
  }

  std::uint64_t tx = 0, tx_total = 0, errors = 0;
  std::map<std::string, std::uint64_t> kinds;
  std::vector<std::uint32_t> lat;
  for (auto& s : stats) {
    tx += s.transactions;
    tx_total += s.transactions_total;
    errors += s.errors;
    for (auto& [k, n] : s.error_kinds) kinds[k] += n;
    lat.insert(lat.end(), s.latency_us.begin(), s.latency_us.end());
  }
  for (auto& [k, n] : kinds) std::fprintf(stderr, "pool_bench: %llu× %s\n", static_cast<unsigned long long>(n), k.c_str());

  double mean_ms = 0;
  for (auto v : lat) mean_ms += v;
  mean_ms = lat.empty() ? 0 : mean_ms / static_cast<double>(lat.size()) / 1000.0;
  const double p50 = percentile_ms(lat, 0.50);
  const double p99 = percentile_ms(lat, 0.99);
  const double max_ms = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end()) / 1000.0;
  const double tps = static_cast<double>(tx) / rep.window_seconds;
  const auto acquired = rep.after.acquired_total - rep.before.acquired_total;
  const double wait_ms =
      acquired ? (rep.after.wait_seconds_total - rep.before.wait_seconds_total) / static_cast<double>(acquired) * 1000.0 : 0;

  std::printf(
      "pool_bench tps=%.1f transactions=%llu total_transactions=%llu errors=%llu seconds=%.3f concurrency=%d "
      "pool_size=%d pipeline=%d threads=%d scale=%d latency_unit=%s samples=%zu p50_ms=%.3f p99_ms=%.3f "
      "mean_ms=%.3f max_ms=%.3f acquire_wait_ms=%.3f cpu_us_per_tx=%.2f connections=%zu created=%llu "
      "mode=%s read_only=%d pipelined=%zu depth=%d cork=%d\n",
      tps, static_cast<unsigned long long>(tx), static_cast<unsigned long long>(tx_total),
      static_cast<unsigned long long>(errors), rep.window_seconds, opt.concurrency, opt.pool_size, opt.pipeline,
      opt.threads, rep.scale, opt.pipeline == 1 ? "transaction" : "pipeline_call", lat.size(), p50, p99, mean_ms, max_ms,
      wait_ms, tx ? rep.cpu_seconds * 1e6 / static_cast<double>(tx) : 0.0, rep.after.size,
      static_cast<unsigned long long>(rep.after.created_total), opt.shared ? "shared" : "checkout",
      opt.read_only ? 1 : 0, rep.after.pipelined, opt.depth, opt.cork ? 1 : 0);
  return 0;
}
