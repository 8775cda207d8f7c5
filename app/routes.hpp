#pragma once

namespace p2p {

struct AppState;

// The application's own routes besides the offers (probes, /metrics and
// /debug/db come from the service kit).
void add_routes(AppState& app);

}  // namespace p2p
