//! What an operator sees of statements: a tracing span for each statement (and one for each
//! background stop), metrics through the `metrics` facade (feature `metrics`), and each
//! pool's in-flight board.
//!
//! Spans and events are `tracing`'s: with no subscriber they cost a load and a branch each.
//! Field names follow the stable OpenTelemetry database conventions; tethered's own are
//! under `tethered.`. Bound values never appear in any field or message: statement texts
//! carry placeholders, and values travel apart from them.

mod board;
mod endpoint;
mod measures;
mod summary;

use std::time::Duration;

use tokio::time::Instant;
use tracing::{Level, Span, field};

use crate::cause::Cause;
use crate::ctx::Ctx;
use crate::error::{DatabaseErrorKind, Error, StatementOutcome};
use crate::request_id::RequestId;
pub(crate) use board::{Board, OnBoard};
pub use board::{InFlightStatement, StatementState};
pub use endpoint::Endpoint;
use measures::Meters;

/// The target of every span and event tethered emits about statements: filter on it
/// (`RUST_LOG=tethered::statement=debug`).
pub const STATEMENT_TARGET: &str = "tethered::statement";

/// What a pool knows to describe its statements: where they go, the board of those in
/// flight, and when one is slow.
pub(crate) struct Observer {
    pub(crate) endpoint: Endpoint,
    pub(crate) board: Board,
    pub(crate) meters: Meters,
    slow_after: Option<Duration>,
}

impl Observer {
    pub(crate) fn new(endpoint: Endpoint, slow_after: Option<Duration>) -> Observer {
        Observer {
            meters: Meters::register(&endpoint),
            endpoint,
            board: Board::default(),
            slow_after,
        }
    }

    /// Starts watching one statement (`text`: `None` for an operation without one) under
    /// `ctx`: its span, and the clock for its duration.
    pub(crate) fn watch(&self, ctx: &Ctx, text: Option<&str>) -> Watch {
        let endpoint = &self.endpoint;
        // Only for a subscriber: not for `log` (with tracing's `log` feature, a span nobody
        // subscribes to would still be formatted for it, and its end logged).
        let span = if !tracing::enabled!(target: STATEMENT_TARGET, Level::DEBUG) {
            Span::none()
        } else {
            tracing::debug_span!(
            target: STATEMENT_TARGET,
            "db.statement",
            otel.name = field::Empty,
            otel.kind = "client",
            db.system.name = endpoint.system,
            db.namespace = endpoint.namespace.as_deref(),
            db.operation.name = field::Empty,
            db.query.summary = field::Empty,
            db.query.text = field::Empty,
            server.address = endpoint.address.as_deref(),
            server.port = endpoint.port,
            request.id = field::Empty,
            tethered.deadline_remaining_ms = field::Empty,
            db.response.returned_rows = field::Empty,
            tethered.rows_affected = field::Empty,
            db.response.status_code = field::Empty,
            error.type = field::Empty,
            tethered.cause = field::Empty,
            tethered.outcome = field::Empty,
            tethered.stop_confirm_ms = field::Empty,
            )
        };
        // Read off the text only for those who will see it.
        let operation = if !span.is_disabled() || Meters::want_operations() {
            text.map_or(summary::OPERATIONS.len(), summary::operation_index)
        } else {
            summary::OPERATIONS.len()
        };
        // Read always: the board shows the statement's age.
        let started = Instant::now();
        // Nobody to tell how long was left: not even the subtraction is made.
        let remaining = (!span.is_disabled() || Meters::want_operations())
            .then(|| ctx.deadline())
            .flatten()
            .map(|deadline| deadline.saturating_duration_since(started));
        if !span.is_disabled() {
            if let Some(text) = text {
                let summary = summary::summary(text);
                span.record("otel.name", summary.as_str());
                span.record("db.query.summary", summary.as_str());
                span.record("db.query.text", text);
            }
            let name = summary::OPERATIONS
                .get(operation)
                .copied()
                .unwrap_or("OTHER");
            span.record("db.operation.name", name);
            if let Some(id) = ctx.value::<RequestId>() {
                span.record("request.id", id.as_str());
            }
            if let Some(remaining) = remaining {
                span.record("tethered.deadline_remaining_ms", millis(remaining));
            }
        }
        self.meters.deadline_at_start(remaining);
        Watch {
            span,
            operation,
            started,
        }
    }

    /// Records how the caller's wait for the statement ended (`stop_waited`: how long it
    /// waited for a stop to be confirmed, if it asked for one).
    pub(crate) fn finish(
        &self,
        watch: &Watch,
        error: Option<&Error>,
        stop_waited: Option<Duration>,
    ) {
        let warnings = tracing::enabled!(target: STATEMENT_TARGET, Level::WARN);
        // Nobody to tell: not even the clock is read.
        if error.is_none() && !warnings && !Meters::want_operations() {
            return;
        }
        let elapsed = watch.started.elapsed();
        let span = &watch.span;
        let error_type = error.map(error_type);
        self.meters
            .statement_ended(watch.operation, elapsed, error_type);
        if let Some(error) = error {
            span.record("error.type", error_type);
            if let Some(code) = error.code() {
                span.record("db.response.status_code", code);
            }
        }
        let mut uncertain = false;
        if let Some(Error::Canceled { cause, outcome }) = error {
            span.record("tethered.cause", cause_label(Some(cause)));
            span.record("tethered.outcome", outcome_label(*outcome));
            if let Some(waited) = stop_waited {
                span.record("tethered.stop_confirm_ms", millis(waited));
            } else {
                // Stopped before it was sent, or by the server's own limit: no stop task
                // will count it.
                self.meters
                    .cancelled(cause_label(Some(cause)), outcome_label(*outcome));
            }
            uncertain = matches!(
                outcome,
                StatementOutcome::Unknown | StatementOutcome::Stopping
            );
        }
        let slow = self.slow_after.is_some_and(|limit| elapsed >= limit);
        if !warnings {
            return;
        }
        if uncertain {
            tracing::event!(
                target: STATEMENT_TARGET,
                parent: span,
                Level::WARN,
                elapsed_ms = millis(elapsed),
                "the statement's context ended and the server has not confirmed it stopped"
            );
        } else if slow {
            tracing::event!(
                target: STATEMENT_TARGET,
                parent: span,
                Level::WARN,
                elapsed_ms = millis(elapsed),
                "slow statement"
            );
        }
    }

    /// The span of the background stop of the statement `watched`, abandoned for `cause`
    /// (`None`: its future was dropped): a root of its own that follows from the
    /// statement's.
    pub(crate) fn stop_span(&self, watched: &Span, cause: Option<&Cause>) -> Span {
        let span = tracing::debug_span!(
            target: STATEMENT_TARGET,
            parent: None,
            "db.statement.stop",
            db.system.name = self.endpoint.system,
            tethered.cause = cause_label(cause),
            tethered.outcome = field::Empty,
            tethered.stop_confirm_ms = field::Empty,
        );
        span.follows_from(watched);
        span
    }

    /// Records how a background stop ended, `taken` after it began.
    pub(crate) fn stopped(
        &self,
        span: &Span,
        cause: Option<&Cause>,
        outcome: Option<StatementOutcome>,
        connection_kept: bool,
        taken: Duration,
    ) {
        let outcome = outcome.map_or("error", outcome_label);
        span.record("tethered.outcome", outcome);
        span.record("tethered.stop_confirm_ms", millis(taken));
        self.meters.cancelled(cause_label(cause), outcome);
        self.meters.stopped(outcome, connection_kept, taken);
        if outcome == "unknown" {
            tracing::event!(
                target: STATEMENT_TARGET,
                parent: span,
                Level::WARN,
                "a statement whose context ended may still have taken effect: the server did \
                 not confirm the stop, and its connection was closed"
            );
        }
    }
}

/// One statement being watched: its span (ended when the caller's call returns) and when it
/// started.
pub(crate) struct Watch {
    pub(crate) span: Span,
    /// Its operation's place in `summary::OPERATIONS` (past its end: `OTHER`).
    operation: usize,
    started: Instant,
}

impl Watch {
    /// When the statement was started.
    pub(crate) fn started(&self) -> Instant {
        self.started
    }
}

/// The label of a cause: `canceled`, `deadline_exceeded`, or `dropped` (the caller dropped
/// the statement's future).
fn cause_label(cause: Option<&Cause>) -> &'static str {
    match cause {
        Some(Cause::Canceled { .. }) => "canceled",
        Some(Cause::DeadlineExceeded) => "deadline_exceeded",
        None => "dropped",
    }
}

/// The label of an outcome: `not_sent`, `stopped`, `completed`, `unknown`, `stopping`.
fn outcome_label(outcome: StatementOutcome) -> &'static str {
    match outcome {
        StatementOutcome::NotSent => "not_sent",
        StatementOutcome::Stopped => "stopped",
        StatementOutcome::Completed => "completed",
        StatementOutcome::Unknown => "unknown",
        StatementOutcome::Stopping => "stopping",
    }
}

/// The conventions' `error.type` of an error: a fixed list, safe as a metric label.
fn error_type(error: &Error) -> &'static str {
    match error {
        Error::Canceled { cause, .. } => cause_label(Some(cause)),
        Error::Database(database) => match database.kind() {
            DatabaseErrorKind::Interrupted => "interrupted",
            DatabaseErrorKind::StatementTimeout => "statement_timeout",
            DatabaseErrorKind::UniqueViolation => "unique_violation",
            DatabaseErrorKind::ForeignKeyViolation => "foreign_key_violation",
            DatabaseErrorKind::NotNullViolation => "not_null_violation",
            DatabaseErrorKind::CheckViolation => "check_violation",
            DatabaseErrorKind::Deadlock => "deadlock",
            DatabaseErrorKind::SerializationFailure => "serialization_failure",
            DatabaseErrorKind::LockTimeout => "lock_timeout",
            DatabaseErrorKind::Other => "database",
        },
        Error::PoolTimedOut { .. } => "pool_timed_out",
        Error::PoolClosed => "pool_closed",
        Error::Connection { .. } => "connection",
        Error::Decode { .. } => "decode",
        Error::RowNotFound { .. } => "row_not_found",
        Error::InvalidInput(_) => "invalid_input",
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
