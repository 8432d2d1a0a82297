//! The contestants of one backend (raw, sqlx, tethered), and running a piece of work on
//! whichever is next in turn.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::contestant::Contestant;

/// Which contestant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// The raw driver: tokio-postgres or mysql_async.
    Raw,
    /// sqlx.
    Sqlx,
    /// tethered.
    Tethered,
}

impl Who {
    /// Every contestant, in the order of the table.
    pub const ALL: [Who; 3] = [Who::Raw, Who::Sqlx, Who::Tethered];

    /// Its name in the table and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Who::Raw => "raw",
            Who::Sqlx => "sqlx",
            Who::Tethered => "tethered",
        }
    }
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Work that can run on any contestant: the workloads and the cancellation trials are
/// written once, generic over the contestant, and [`Lineup::run`] picks which.
pub trait Task {
    /// What the work yields.
    type Output;

    /// Runs the work on `contestant`.
    fn run<C: Contestant>(self, contestant: &Arc<C>) -> impl Future<Output = Self::Output> + Send;
}

/// The raw driver, sqlx and tethered, each on a pool of the same size, on the same tables.
pub struct Lineup<R, S, T> {
    /// The raw driver.
    pub raw: Arc<R>,
    /// sqlx (on SQLite, in a process of its own: `sqlx_sqlite.rs`).
    pub sqlx: Arc<S>,
    /// tethered.
    pub tethered: Arc<T>,
}

impl<R: Contestant, S: Contestant, T: Contestant> Lineup<R, S, T> {
    /// Runs `task` on contestant `who`.
    pub async fn run<K: Task>(&self, who: Who, task: K) -> K::Output {
        match who {
            Who::Raw => task.run(&self.raw).await,
            Who::Sqlx => task.run(&self.sqlx).await,
            Who::Tethered => task.run(&self.tethered).await,
        }
    }

    /// Whether contestant `who` stops its statements when their context ends.
    pub fn stops_with_ctx(&self, who: Who) -> bool {
        match who {
            Who::Raw => R::STOPS_WITH_CTX,
            Who::Sqlx => S::STOPS_WITH_CTX,
            Who::Tethered => T::STOPS_WITH_CTX,
        }
    }
}

/// Every contestant, in [`Who::ALL`] order turned by `round`, so no contestant always runs
/// first or after the same neighbour: drift on a noisy machine hits all of them alike.
pub fn order(round: usize) -> [Who; 3] {
    let mut order = Who::ALL;
    order.rotate_left(round % Who::ALL.len());
    order
}

#[cfg(test)]
mod tests {
    use super::{Who, order};

    #[test]
    fn the_order_turns_over_the_contestants() {
        assert_eq!(order(0), Who::ALL);
        assert_eq!(order(1), [Who::Sqlx, Who::Tethered, Who::Raw]);
        assert_eq!(order(3), Who::ALL);
    }
}
