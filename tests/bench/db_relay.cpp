// db_relay: tests/support/tcp_relay.* as a process, for scripts/soak (a
// tool, not a test). It sits between the service and PostgreSQL, so the
// soak can freeze the database socket: no byte moves either way, every
// socket stays open (a partition or a failover, not a refused connection).
//
//   db_relay TARGET_PORT PORT_FILE
//
// Relays a free 127.0.0.1 port to 127.0.0.1:TARGET_PORT and, once listening,
// writes that port and a newline to PORT_FILE (PORT_FILE.tmp, then rename).
//   SIGUSR1  freeze      SIGUSR2  resume (everything held back is forwarded)
//   SIGTERM/SIGINT       close every socket and exit 0
// Each change is acknowledged on stdout ("frozen N" / "resumed N", N the
// relayed connections open), so the caller can wait for it.
//
// Exit codes: 0 done, 1 could not listen or write PORT_FILE, 2 bad arguments.

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/support/tcp_relay.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: db_relay TARGET_PORT PORT_FILE\n");
    return 2;
  }
  char* end = nullptr;
  const long target = std::strtol(argv[1], &end, 10);
  if (*end != '\0' || target < 1 || target > 65535) {
    std::fprintf(stderr, "db_relay: TARGET_PORT must be 1-65535\n");
    return 2;
  }
  // Blocked before the relay's thread starts, so that it inherits the mask
  // and sigwait() below is the only place these signals arrive.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGUSR1, SIGUSR2, SIGTERM, SIGINT}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  try {
    testsupport::TcpRelay relay(static_cast<int>(target));
    const std::string file = argv[2], tmp = file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr || std::fprintf(f, "%d\n", relay.port()) < 0 || std::fclose(f) != 0 ||
        std::rename(tmp.c_str(), file.c_str()) != 0) {
      std::fprintf(stderr, "db_relay: cannot write %s\n", file.c_str());
      return 1;
    }
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGUSR1) {
        relay.freeze();
        std::printf("frozen %zu\n", relay.connections());
      } else if (sig == SIGUSR2) {
        relay.resume();
        std::printf("resumed %zu\n", relay.connections());
      } else {
        return 0;
      }
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "db_relay: %s\n", e.what());
    return 1;
  }
}
