//! What every contestant does: the operations the workloads are made of, on the same rows
//! and the same statement texts.

use std::future::Future;

use tethered::Ctx;

/// Any error a contestant or the harness runs into; the run stops on it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `Result` with [`BoxError`].
pub type Result<T, E = BoxError> = std::result::Result<T, E>;

/// A row of the benchmark's tables, as every contestant hands it back: tethered decodes it
/// through the derived model, sqlx through its `FromRow` derive, the raw drivers by hand.
///
/// The table name in the attribute is not used: each run makes tables of its own, so the
/// statements are written out (see [`Statements`]) and the model only decodes them (by
/// column name, as sqlx's derive does).
#[derive(tethered::Model, sqlx::FromRow, Clone, Debug, PartialEq)]
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

/// The statement texts of one run, in the backend's placeholder syntax. Leaked once, as an
/// application's `const` statements would be, so no contestant copies them per call.
#[derive(Clone, Copy, Debug)]
pub struct Statements {
    /// `SELECT id, name, n FROM <items> WHERE id = <1>`.
    pub point_select: &'static str,
    /// `SELECT id, name, n FROM <items> WHERE id BETWEEN <1> AND <2> ORDER BY id`.
    pub select_range: &'static str,
    /// `INSERT INTO <inserts> (id, name, n) VALUES (<1>, <2>, <3>)`.
    pub insert: &'static str,
}

/// One way of talking to the database (a raw driver, sqlx or tethered) on a pool of its
/// own. The workloads are written once against this trait, so every contestant runs the
/// same loops.
///
/// Every operation checks out a connection for itself and gives it back when it ends, as
/// a service handling one request would.
pub trait Contestant: Send + Sync + 'static {
    /// Whether a statement stops on the server when the `&Ctx` it was given ends. Only
    /// tethered's do: the others ignore the context and can only be abandoned (their
    /// future dropped, as `tokio::time::timeout` does).
    const STOPS_WITH_CTX: bool;

    /// Reads the row with primary key `id`.
    fn point_select(&self, id: i64) -> impl Future<Output = Result<Item>> + Send;

    /// Inserts `items`, one `INSERT` each, in one transaction.
    fn insert_in_transaction(&self, items: &[Item]) -> impl Future<Output = Result<()>> + Send;

    /// Reads the rows with keys `first..=last`, in key order.
    fn select_range(&self, first: i64, last: i64)
    -> impl Future<Output = Result<Vec<Item>>> + Send;

    /// Reads the rows with keys `first..=last`, in key order, one at a time as the server
    /// sends them (each decoded into an [`Item`], checked and dropped before the next), and
    /// returns how many there were: the driver's streaming path, in bounded memory.
    fn stream_range(&self, first: i64, last: i64) -> impl Future<Output = Result<u64>> + Send;

    /// Runs `sql` (a long server-side sleep) under `request`, which only contestants that
    /// [stop with it](Contestant::STOPS_WITH_CTX) heed.
    fn long_statement(
        &self,
        request: &Ctx,
        sql: &'static str,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// What a contestant's stream has read so far: every row must be the next key's
/// [`Item::numbered`], so each is really decoded and looked at, and none is skipped.
pub struct Streamed {
    next: i64,
    count: u64,
}

impl Streamed {
    /// A stream whose first row is `first`'s.
    pub fn starting_at(first: i64) -> Streamed {
        Streamed {
            next: first,
            count: 0,
        }
    }

    /// Takes the next row: an error if it is not the one expected.
    pub fn take(&mut self, item: &Item) -> Result<()> {
        if item.id != self.next || item.n != self.next * 7 {
            return Err(format!("row {} expected, got {item:?}", self.next).into());
        }
        self.next += 1;
        self.count += 1;
        Ok(())
    }

    /// The rows taken.
    pub fn count(&self) -> u64 {
        self.count
    }
}
