#pragma once

namespace p2p {

// The whole program behind main(): flags, settings, logging, the io_context
// threads and the lifecycle. Returns the process exit code.
int run_application(int argc, char** argv);

}  // namespace p2p
