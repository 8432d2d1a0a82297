//! The metrics, through the `metrics` facade (feature `metrics`; without it, each of these
//! is empty). Nothing is exported by tethered: install a recorder (an exporter such as
//! `metrics-exporter-prometheus`) before opening pools.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `db.client.operation.duration` (seconds) | histogram | `db.system.name`, `db.namespace`, `db.operation.name`, `error.type` on failure |
//! | `tethered_query_deadline_remaining_seconds` | histogram | `backend` |
//! | `tethered_queries_cancelled_total` | counter | `backend`, `cause`, `outcome` |
//! | `tethered_stop_confirmation_seconds` | histogram | `backend` |
//! | `tethered_connections_closed_after_stop_total` | counter | `backend`, `outcome` |
//! | `tethered_pool_connections` | gauge | `backend`, `db.namespace`, `state` (`open`, `idle`, `in_use`) |
//! | `tethered_pool_waiting` | gauge | `backend`, `db.namespace` |
//! | `tethered_pool_acquire_wait_seconds` | histogram | `backend`, `db.namespace` |

use std::time::Duration;

use super::Endpoint;

/// A statement's caller got its answer `elapsed` after the statement started.
pub(super) fn statement_ended(
    endpoint: &Endpoint,
    operation: &'static str,
    elapsed: Duration,
    error_type: Option<&'static str>,
) {
    #[cfg(feature = "metrics")]
    {
        let mut labels = vec![
            metrics::Label::from_static_parts("db.system.name", endpoint.system),
            metrics::Label::from_static_parts("db.operation.name", operation),
        ];
        if let Some(namespace) = &endpoint.namespace {
            labels.push(metrics::Label::new("db.namespace", namespace.clone()));
        }
        if let Some(error_type) = error_type {
            labels.push(metrics::Label::from_static_parts("error.type", error_type));
        }
        metrics::histogram!("db.client.operation.duration", labels).record(elapsed);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (endpoint, operation, elapsed, error_type);
}

/// A statement started with `remaining` left before its context's deadline.
pub(super) fn deadline_at_start(endpoint: &Endpoint, remaining: Option<Duration>) {
    #[cfg(feature = "metrics")]
    if let Some(remaining) = remaining {
        metrics::histogram!("tethered_query_deadline_remaining_seconds", "backend" => endpoint.system)
            .record(remaining);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (endpoint, remaining);
}

/// A statement's context ended (`cause`) and this became of it (`outcome`).
pub(super) fn cancelled(endpoint: &Endpoint, cause: &'static str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(
        "tethered_queries_cancelled_total",
        "backend" => endpoint.system,
        "cause" => cause,
        "outcome" => outcome
    )
    .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (endpoint, cause, outcome);
}

/// A background stop ended, `taken` after it began.
pub(super) fn stop_confirmed(endpoint: &Endpoint, taken: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!("tethered_stop_confirmation_seconds", "backend" => endpoint.system)
        .record(taken);
    #[cfg(not(feature = "metrics"))]
    let _ = (endpoint, taken);
}

/// A connection was closed after a stop, because what became of its statement (`outcome`)
/// left it untrustworthy.
pub(super) fn closed_after_stop(endpoint: &Endpoint, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(
        "tethered_connections_closed_after_stop_total",
        "backend" => endpoint.system,
        "outcome" => outcome
    )
    .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (endpoint, outcome);
}

/// A pool's occupancy changed: `occupancy` tells the connections open, those of them idle,
/// and the callers waiting (read only with the feature on).
pub(crate) fn pool_occupancy(
    endpoint: &Endpoint,
    occupancy: impl FnOnce() -> (usize, usize, usize),
) {
    #[cfg(feature = "metrics")]
    {
        let (open, idle, waiting) = occupancy();
        let labels = |state: &'static str| {
            let mut labels = pool_labels(endpoint);
            labels.push(metrics::Label::from_static_parts("state", state));
            labels
        };
        let in_use = open.saturating_sub(idle);
        metrics::gauge!("tethered_pool_connections", labels("open")).set(open as f64);
        metrics::gauge!("tethered_pool_connections", labels("idle")).set(idle as f64);
        metrics::gauge!("tethered_pool_connections", labels("in_use")).set(in_use as f64);
        metrics::gauge!("tethered_pool_waiting", pool_labels(endpoint)).set(waiting as f64);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (endpoint, occupancy);
}

/// A checkout waited `waited` for a free connection.
pub(crate) fn acquire_waited(endpoint: &Endpoint, waited: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!("tethered_pool_acquire_wait_seconds", pool_labels(endpoint)).record(waited);
    #[cfg(not(feature = "metrics"))]
    let _ = (endpoint, waited);
}

#[cfg(feature = "metrics")]
fn pool_labels(endpoint: &Endpoint) -> Vec<metrics::Label> {
    let mut labels = vec![metrics::Label::from_static_parts(
        "backend",
        endpoint.system,
    )];
    if let Some(namespace) = &endpoint.namespace {
        labels.push(metrics::Label::new("db.namespace", namespace.clone()));
    }
    labels
}
