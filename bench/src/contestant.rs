//! What every contestant does: the operations the workloads are made of, on the same rows
//! and the same statement texts.

use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tethered::Ctx;

use crate::plan::{self, ItemRow, Plan, Ran};
pub use crate::plan::{BoxError, Operations, Result, Statements, Streamed};

/// A row of the benchmark's tables, as every contestant hands it back: tethered decodes it
/// through the derived model, sqlx through its `FromRow` derive, the raw drivers by hand.
///
/// The table name in the attribute is not used: each run makes tables of its own, so the
/// statements are written out (see [`Statements`]) and the model only decodes them (by
/// column name, as sqlx's derive does).
#[derive(tethered::Model, sqlx::FromRow, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[tethered(table = "items")]
pub struct Item {
    /// The primary key.
    #[tethered(primary_key)]
    pub id: i64,
    /// Some text, so each row carries a string to allocate.
    pub name: String,
    /// Some number.
    pub n: i64,
}

impl ItemRow for Item {
    fn id(&self) -> i64 {
        self.id
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn n(&self) -> i64 {
        self.n
    }
}

impl Item {
    /// The row the benchmark stores under `id` (the tables are filled with these).
    pub fn numbered(id: i64) -> Item {
        Item {
            id,
            name: format!("item {id}"),
            n: id * 7,
        }
    }
}

/// One way of talking to the database (a raw driver, sqlx or tethered) on a pool of its
/// own: its [`Operations`], which the workloads are written against once, so every
/// contestant runs the same loops, and the long statement of the cancellation workload.
pub trait Contestant: Operations<Item = Item> + Sized {
    /// Whether a statement stops on the server when the `&Ctx` it was given ends. Only
    /// tethered's do: the others ignore the context and can only be abandoned (their
    /// future dropped, as `tokio::time::timeout` does).
    const STOPS_WITH_CTX: bool;

    /// Runs one round's `plan`, timed. In this process unless the contestant lives in
    /// another (sqlx-sqlite: `sqlx_sqlite.rs`), which then times it itself, so that only
    /// the statements are timed there too.
    fn round(this: &Arc<Self>, plan: Plan<Item>) -> impl Future<Output = Result<Ran>> + Send {
        plan::run_timed(this, plan)
    }

    /// Runs `sql` (a long server-side sleep) under `request`, which only contestants that
    /// [stop with it](Contestant::STOPS_WITH_CTX) heed.
    fn long_statement(
        &self,
        request: &Ctx,
        sql: &'static str,
    ) -> impl Future<Output = Result<()>> + Send;
}
