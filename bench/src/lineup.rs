//! The contestants of one backend (raw, sqlx where it can be built, tethered), and running
//! a piece of work on whichever is next in turn.

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
    /// sqlx; `None` where it cannot be built beside tethered (SQLite: see `sqlite.rs`).
    pub sqlx: Option<Arc<S>>,
    /// tethered.
    pub tethered: Arc<T>,
}

impl<R: Contestant, S: Contestant, T: Contestant> Lineup<R, S, T> {
    /// The contestants present, in [`Who::ALL`] order.
    pub fn present(&self) -> Vec<Who> {
        Who::ALL
            .into_iter()
            .filter(|who| *who != Who::Sqlx || self.sqlx.is_some())
            .collect()
    }

    /// Runs `task` on contestant `who`, one of the [present](Lineup::present) ones.
    pub async fn run<K: Task>(&self, who: Who, task: K) -> K::Output {
        match who {
            Who::Raw => task.run(&self.raw).await,
            Who::Sqlx => {
                let sqlx = self.sqlx.as_ref().expect("only present contestants run");
                task.run(sqlx).await
            }
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

/// `present` turned by `round`, so no contestant always runs first or after the same
/// neighbour: drift on a noisy machine hits all of them alike.
pub fn order(round: usize, present: &[Who]) -> Vec<Who> {
    let mut order = present.to_vec();
    order.rotate_left(round % present.len());
    order
}

#[cfg(test)]
mod tests {
    use super::{Who, order};

    #[test]
    fn the_order_turns_over_the_contestants_present() {
        assert_eq!(order(0, &Who::ALL), Who::ALL.to_vec());
        assert_eq!(
            order(1, &Who::ALL),
            vec![Who::Sqlx, Who::Tethered, Who::Raw]
        );
        // Without sqlx (SQLite), raw and tethered take turns.
        let without_sqlx = [Who::Raw, Who::Tethered];
        assert_eq!(order(1, &without_sqlx), vec![Who::Tethered, Who::Raw]);
        assert_eq!(order(2, &without_sqlx), without_sqlx.to_vec());
    }
}
