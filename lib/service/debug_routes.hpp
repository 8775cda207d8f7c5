#pragma once
// GET /debug/db (API key): the pool's state and counters, the database's own
// view (server time, recovery, its backends of this service) through one
// statement on the statement path, and the effective pool profile. The URL's
// password never appears.

#include "lib/http/api_key.hpp"
#include "lib/http/router.hpp"
#include "lib/pg/lease.hpp"
#include "lib/pg/pool.hpp"
#include "lib/pg/schema_migrator.hpp"
#include "lib/service/settings.hpp"

namespace svc::service {

void add_debug_db_route(http::Router& router, const http::ApiKeyAuth& auth, const Settings& settings, pg::Pool& pool,
                        const pg::SchemaMigrator& migrator);

// GET /debug/leases (API key): who holds what, as the database says
// (every replica's leases, not only ours), and which holder this process is.
void add_debug_leases_route(http::Router& router, const http::ApiKeyAuth& auth, pg::LeaseTable& leases);

}  // namespace svc::service
