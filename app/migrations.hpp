#pragma once
// The schema migrations of app/sql/migrations, compiled into the binary.
// The definition is generated at build time (cmake/embed_migrations.cmake)
// from every NNNN_name.sql file there, in version order; it is constant data
// (no work at static-initialisation time).

#include <span>

#include "lib/pg/migrations.hpp"

namespace p2p {

std::span<const svc::pg::Migration> migrations();

}  // namespace p2p
