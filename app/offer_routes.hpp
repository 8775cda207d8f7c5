#pragma once

namespace p2p {

struct AppState;

// The P2P API under /api/v1 (exchange fetches, stored history, stats).
void add_offer_routes(AppState& app);

}  // namespace p2p
