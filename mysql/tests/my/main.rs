//! The MySQL/MariaDB backend against a real server (TETHERED_MYSQL_URL). One binary, so
//! one link. Cancellation is asserted on the server's own view,
//! `SHOW FULL PROCESSLIST`.

mod cancellation;
mod server_behaviour;
mod server_deadline;
mod support;
mod values;
