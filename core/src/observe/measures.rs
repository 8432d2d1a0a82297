//! The metrics, through the `metrics` facade (feature `metrics`; without it, [`Meters`] is
//! empty and every method does nothing). Nothing is exported by tethered: install a
//! recorder (an exporter such as `metrics-exporter-prometheus`) before opening pools.
//!
//! The metrics of the hot path (a statement's duration, the deadline it had left, the
//! pool's gauges) are registered once, when the pool is made, and updated through their
//! handles: no label is built and no key hashed per statement, and without a recorder a
//! handle is a no-op. Those of the rare paths (failures, stops) are looked up when they
//! happen.
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

#[cfg(feature = "metrics")]
use metrics::{Gauge, Histogram, Label};

use super::Endpoint;
#[cfg(feature = "metrics")]
use super::summary::OPERATIONS;

/// A pool's metric handles.
pub(crate) struct Meters {
    #[cfg(feature = "metrics")]
    registered: Registered,
}

#[cfg(feature = "metrics")]
struct Registered {
    endpoint: Endpoint,
    /// The duration of a statement that succeeded, by operation (as `OPERATIONS`, then
    /// `OTHER`).
    durations: Vec<Histogram>,
    deadline_remaining: Histogram,
    stop_confirmation: Histogram,
    open: Gauge,
    idle: Gauge,
    in_use: Gauge,
    waiting: Gauge,
    acquire_wait: Histogram,
}

impl Meters {
    /// Registers the pool's metrics with the recorder installed now.
    pub(crate) fn register(endpoint: &Endpoint) -> Meters {
        #[cfg(feature = "metrics")]
        {
            let pool = pool_labels(endpoint);
            let state = |state: &'static str| {
                let mut labels = pool.clone();
                labels.push(Label::from_static_parts("state", state));
                metrics::gauge!("tethered_pool_connections", labels)
            };
            let backend = [Label::from_static_parts("backend", endpoint.system)];
            Meters {
                registered: Registered {
                    durations: OPERATIONS
                        .iter()
                        .chain(&["OTHER"])
                        .map(|operation| {
                            metrics::histogram!(
                                "db.client.operation.duration",
                                statement_labels(endpoint, operation, None)
                            )
                        })
                        .collect(),
                    deadline_remaining: metrics::histogram!(
                        "tethered_query_deadline_remaining_seconds",
                        backend.to_vec()
                    ),
                    stop_confirmation: metrics::histogram!(
                        "tethered_stop_confirmation_seconds",
                        backend.to_vec()
                    ),
                    open: state("open"),
                    idle: state("idle"),
                    in_use: state("in_use"),
                    waiting: metrics::gauge!("tethered_pool_waiting", pool.clone()),
                    acquire_wait: metrics::histogram!("tethered_pool_acquire_wait_seconds", pool),
                    endpoint: endpoint.clone(),
                },
            }
        }
        #[cfg(not(feature = "metrics"))]
        {
            let _ = endpoint;
            Meters {}
        }
    }

    /// Whether the statements' operations are wanted (as labels).
    pub(crate) const fn want_operations() -> bool {
        cfg!(feature = "metrics")
    }

    /// A statement's caller got its answer `elapsed` after the statement started;
    /// `operation` indexes `summary::OPERATIONS` (past its end: `OTHER`).
    pub(crate) fn statement_ended(
        &self,
        operation: usize,
        elapsed: Duration,
        error_type: Option<&'static str>,
    ) {
        #[cfg(feature = "metrics")]
        {
            let registered = &self.registered;
            match error_type {
                None => registered.durations[operation].record(elapsed),
                Some(error_type) => {
                    let name = OPERATIONS.get(operation).copied().unwrap_or("OTHER");
                    let labels = statement_labels(&registered.endpoint, name, Some(error_type));
                    metrics::histogram!("db.client.operation.duration", labels).record(elapsed);
                }
            }
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (operation, elapsed, error_type);
    }

    /// A statement started with `remaining` left before its context's deadline.
    pub(crate) fn deadline_at_start(&self, remaining: Option<Duration>) {
        #[cfg(feature = "metrics")]
        if let Some(remaining) = remaining {
            self.registered.deadline_remaining.record(remaining);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = remaining;
    }

    /// A statement's context ended (`cause`) and this became of it (`outcome`).
    pub(crate) fn cancelled(&self, cause: &'static str, outcome: &'static str) {
        #[cfg(feature = "metrics")]
        metrics::counter!(
            "tethered_queries_cancelled_total",
            "backend" => self.registered.endpoint.system,
            "cause" => cause,
            "outcome" => outcome
        )
        .increment(1);
        #[cfg(not(feature = "metrics"))]
        let _ = (cause, outcome);
    }

    /// A background stop ended, `taken` after it began; its connection was closed (not
    /// `kept`) because what became of the statement (`outcome`) left it untrustworthy.
    pub(crate) fn stopped(&self, outcome: &'static str, kept: bool, taken: Duration) {
        #[cfg(feature = "metrics")]
        {
            self.registered.stop_confirmation.record(taken);
            if !kept {
                metrics::counter!(
                    "tethered_connections_closed_after_stop_total",
                    "backend" => self.registered.endpoint.system,
                    "outcome" => outcome
                )
                .increment(1);
            }
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (outcome, kept, taken);
    }

    /// The pool's occupancy changed: `occupancy` tells the connections open, those of
    /// them idle, and the callers waiting (read only with the feature on).
    pub(crate) fn pool_occupancy(&self, occupancy: impl FnOnce() -> (usize, usize, usize)) {
        #[cfg(feature = "metrics")]
        {
            let (open, idle, waiting) = occupancy();
            let registered = &self.registered;
            registered.open.set(open as f64);
            registered.idle.set(idle as f64);
            registered.in_use.set(open.saturating_sub(idle) as f64);
            registered.waiting.set(waiting as f64);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = occupancy;
    }

    /// A checkout waited `waited` for a free connection.
    pub(crate) fn acquire_waited(&self, waited: Duration) {
        #[cfg(feature = "metrics")]
        self.registered.acquire_wait.record(waited);
        #[cfg(not(feature = "metrics"))]
        let _ = waited;
    }
}

#[cfg(feature = "metrics")]
fn statement_labels(
    endpoint: &Endpoint,
    operation: &'static str,
    error_type: Option<&'static str>,
) -> Vec<Label> {
    let mut labels = vec![
        Label::from_static_parts("db.system.name", endpoint.system),
        Label::from_static_parts("db.operation.name", operation),
    ];
    if let Some(namespace) = &endpoint.namespace {
        labels.push(Label::new("db.namespace", namespace.clone()));
    }
    if let Some(error_type) = error_type {
        labels.push(Label::from_static_parts("error.type", error_type));
    }
    labels
}

#[cfg(feature = "metrics")]
fn pool_labels(endpoint: &Endpoint) -> Vec<Label> {
    let mut labels = vec![Label::from_static_parts("backend", endpoint.system)];
    if let Some(namespace) = &endpoint.namespace {
        labels.push(Label::new("db.namespace", namespace.clone()));
    }
    labels
}
