//! The PostgreSQL backend against a real server (TETHERED_POSTGRES_URL). One binary, so
//! one link. Cancellation is asserted on the server's own view, `pg_stat_activity`.

mod cancellation;
mod support;
mod transactions;
mod values;
