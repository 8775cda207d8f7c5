#pragma once
// What a process holds, from procfs: resident memory and open descriptors,
// for tests that bound what hostile clients can make the server keep.

#include <dirent.h>

#include <fstream>
#include <string>

namespace testsupport {

// VmRSS of `pid` in KiB; -1 if it cannot be read (the process is gone).
inline long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// Entries of /proc/PID/fd; -1 if it cannot be read.
inline long open_fds(int pid) {
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (dir == nullptr) return -1;
  long n = 0;
  while (const dirent* entry = ::readdir(dir))
    if (entry->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n;
}

}  // namespace testsupport
