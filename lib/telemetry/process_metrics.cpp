#include "lib/telemetry/process_metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace svc::telemetry {

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

}  // namespace svc::telemetry
