//! What the benchmark and its sqlx-sqlite child (`bench/sqlx-sqlite`) say to each other:
//! one JSON [`Message`] per line, requests on the child's stdin, answers on its stdout,
//! each answer carrying its request's id. Shared by both through `#[path]`.
//!
//! Generic over the row type `I`, as each side has its own (`Item` in both, with the same
//! fields: the bench's derives tethered's model too, which the child cannot build).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::plan::{Plan, Ran};

/// A request or an answer, with the request's id.
#[derive(Debug, Serialize, Deserialize)]
pub struct Message<T> {
    /// The request's id, unique in the child's life.
    pub id: u64,
    /// What is asked or answered.
    pub body: T,
}

/// What the benchmark asks of the child.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request<I> {
    /// Open the pool: `connections` connections on the database file `path`, set up as
    /// tethered-sqlite sets up its own, running these statement texts.
    Open {
        /// The database file.
        path: PathBuf,
        /// The pool's size.
        connections: usize,
        /// How long a statement waits for a writer's lock.
        busy_timeout: Duration,
        /// The point select's text.
        point_select: String,
        /// The range select's text.
        select_range: String,
        /// The insert's text.
        insert: String,
    },
    /// Run one round's plan, timed in the child: answered [`Answer::Ran`].
    Round(Plan<I>),
    /// One point select: answered [`Answer::Row`].
    PointSelect(i64),
    /// One transaction of inserts: answered [`Answer::Done`].
    InsertInTransaction(Vec<I>),
    /// One range select: answered [`Answer::Rows`].
    SelectRange(i64, i64),
    /// One range streamed: answered [`Answer::Count`].
    StreamRange(i64, i64),
    /// Run the cancellation workload's long statement: answered [`Answer::Done`] when it
    /// ends, unless abandoned first.
    Long(String),
    /// Drop the future of the [`Request::Long`] with this id, as `tokio::time::timeout`
    /// drops an in-process contestant's: never answered.
    Abandon(u64),
    /// How many statements whose marker matches the `%marker%` pattern ticked the engine
    /// view's counter lately (`sqlite_view.rs`): answered [`Answer::Count`].
    Running(String),
    /// How long ago a statement whose marker matches the pattern last ticked (`None`:
    /// never): answered [`Answer::Quiet`].
    QuietFor(String),
}

/// What the child answers.
#[derive(Debug, Serialize, Deserialize)]
pub enum Answer<I> {
    /// Done, nothing to say.
    Done,
    /// A round ran.
    Ran(Ran),
    /// A row.
    Row(I),
    /// Rows.
    Rows(Vec<I>),
    /// A count.
    Count(u64),
    /// How long a marker has been quiet.
    Quiet(Option<Duration>),
    /// The request failed: why.
    Failed(String),
}
