//! The PostgreSQL backend's own behaviour against a real server (TETHERED_POSTGRES_URL).
//! Cancellation, transactions and the rest of what every backend shares are proved by the
//! cross-backend suite (`tests/` at the workspace root), on this server too.

mod commit;
mod multi_host;
mod support;
mod values;
