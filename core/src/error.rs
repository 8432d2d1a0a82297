//! One error type for every backend, with accessors so callers never match on strings.

use std::fmt;
use std::time::Duration;

use crate::cause::Cause;
use crate::row::{ColumnRef, short_type_name};

/// A boxed error from a driver or decoder, kept as the `source` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `Result` with tethered's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between a caller and the database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The context ended before or while the operation ran. `outcome` says what became of
    /// the statement on the server.
    #[error("{cause}; {outcome}")]
    Canceled {
        /// Why the context ended.
        cause: Cause,
        /// What the server did with the statement.
        outcome: StatementOutcome,
    },

    /// The server rejected or aborted the statement.
    #[error(transparent)]
    Database(Box<DatabaseError>),

    /// No pooled connection became free within the pool's own acquire timeout (the
    /// context was still live; had it ended first, the error would be
    /// [`Error::Canceled`]).
    #[error("no pooled connection became free within {waited:?}")]
    PoolTimedOut {
        /// How long the caller waited.
        waited: Duration,
    },

    /// The pool was closed.
    #[error("the connection pool is closed")]
    PoolClosed,

    /// Connecting failed, or an established connection was lost or had to be closed.
    #[error("connection: {message}")]
    Connection {
        /// What happened, in words.
        message: String,
        /// The driver's error, when there is one.
        #[source]
        source: Option<BoxError>,
        /// The statement certainly did not reach the server: the connection was found
        /// closed before it was sent, or sending it failed. Trying it again cannot run it
        /// twice; the pool does so once, on another connection ([`Error::is_retry_safe`]).
        unsent: bool,
    },

    /// A column's value could not be decoded into the requested Rust type.
    #[error("cannot decode column `{column}` as {}: {source}", short_type_name(.rust_type))]
    Decode {
        /// The column's name as the server reported it.
        column: String,
        /// The Rust type that was asked for, with its module paths (the message leaves
        /// them out).
        rust_type: &'static str,
        /// Why decoding failed.
        #[source]
        source: BoxError,
    },

    /// A query that must return a row returned none.
    #[error("{}", match table {
        Some(table) => format!("no row of `{table}` matched"),
        None => "the query returned no rows".to_owned(),
    })]
    RowNotFound {
        /// The table the row was read from, when the query was a model's (`one`, a
        /// read-back after a write); `None` for raw SQL and report rows.
        table: Option<&'static str>,
    },

    /// The caller's input was refused before anything was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

/// What became of a statement whose context ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatementOutcome {
    /// Nothing reached the server: the context had already ended.
    NotSent,
    /// The server confirmed it stopped the statement: it took no effect.
    Stopped,
    /// The statement ran to completion before the stop reached it: its effects stand.
    /// The connection was closed, since the stop request could still be pending.
    Completed,
    /// Whether the statement took effect is unknown (the stop request failed, or the
    /// statement did not end within the grace period). The connection was closed.
    Unknown,
    /// The server was asked to stop the statement and had not confirmed it when the
    /// caller's wait ended ([`PoolOptions::stop_wait`](crate::PoolOptions)). The stop goes
    /// on in the background, owning the connection, for up to the pool's cancel grace:
    /// the connection is reused only if the server confirms it, and a statement on the
    /// pool meanwhile gets another connection.
    Stopping,
}

impl fmt::Display for StatementOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StatementOutcome::NotSent => "nothing was sent to the server",
            StatementOutcome::Stopped => "the server confirmed the statement stopped",
            StatementOutcome::Completed => "the statement completed before it could be stopped",
            StatementOutcome::Unknown => "whether the statement took effect is unknown",
            StatementOutcome::Stopping => {
                "the server was asked to stop the statement and had not yet confirmed it"
            }
        })
    }
}

impl Error {
    /// Whether the context ended this operation (whatever became of the statement).
    pub fn is_cancellation(&self) -> bool {
        matches!(self, Error::Canceled { .. })
    }

    /// Whether the context's deadline ended this operation.
    pub fn is_deadline_exceeded(&self) -> bool {
        self.cause() == Some(&Cause::DeadlineExceeded)
    }

    /// Whether the pool had no connection to give within its acquire timeout.
    pub fn is_pool_timeout(&self) -> bool {
        matches!(self, Error::PoolTimedOut { .. })
    }

    /// Why the context ended, for [`Error::Canceled`].
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            Error::Canceled { cause, .. } => Some(cause),
            _ => None,
        }
    }

    /// What became of the statement, for [`Error::Canceled`].
    pub fn outcome(&self) -> Option<StatementOutcome> {
        match self {
            Error::Canceled { outcome, .. } => Some(*outcome),
            _ => None,
        }
    }

    /// The server's error, for [`Error::Database`].
    pub fn as_database_error(&self) -> Option<&DatabaseError> {
        match self {
            Error::Database(error) => Some(error),
            _ => None,
        }
    }

    /// The SQLSTATE of a server error, as the server sent it.
    ///
    /// Not portable for telling errors apart: PostgreSQL's SQLSTATEs are precise (`23505`
    /// for a unique violation), while MySQL/MariaDB use a few broad classes (`23000` for a
    /// duplicate key, a foreign key, a NULL into `NOT NULL` alike; `40001` for a deadlock,
    /// `HY000` for much else) and tell errors apart by number
    /// ([`DatabaseError::number`]). Match on [`DatabaseError::kind`] or the helpers
    /// ([`Error::is_unique_violation`], [`Error::is_retryable`], ...), which read both.
    pub fn code(&self) -> Option<&str> {
        self.as_database_error().map(DatabaseError::code)
    }

    /// The kind of a server error, for [`Error::Database`].
    pub fn database_kind(&self) -> Option<DatabaseErrorKind> {
        self.as_database_error().map(DatabaseError::kind)
    }

    /// Whether the server refused a duplicate in a unique index or primary key
    /// ([`DatabaseErrorKind::UniqueViolation`]).
    pub fn is_unique_violation(&self) -> bool {
        self.database_kind() == Some(DatabaseErrorKind::UniqueViolation)
    }

    /// Whether the server refused a write that breaks a foreign key
    /// ([`DatabaseErrorKind::ForeignKeyViolation`]).
    pub fn is_foreign_key_violation(&self) -> bool {
        self.database_kind() == Some(DatabaseErrorKind::ForeignKeyViolation)
    }

    /// Whether the server refused a NULL in a `NOT NULL` column
    /// ([`DatabaseErrorKind::NotNullViolation`]).
    pub fn is_not_null_violation(&self) -> bool {
        self.database_kind() == Some(DatabaseErrorKind::NotNullViolation)
    }

    /// Whether the server refused a row that fails a `CHECK` constraint
    /// ([`DatabaseErrorKind::CheckViolation`]).
    pub fn is_check_violation(&self) -> bool {
        self.database_kind() == Some(DatabaseErrorKind::CheckViolation)
    }

    /// Whether the server rolled the transaction back to break a deadlock
    /// ([`DatabaseErrorKind::Deadlock`]).
    pub fn is_deadlock(&self) -> bool {
        self.database_kind() == Some(DatabaseErrorKind::Deadlock)
    }

    /// Whether the server refused the transaction because a concurrent one changed what it
    /// read ([`DatabaseErrorKind::SerializationFailure`]).
    pub fn is_serialization_failure(&self) -> bool {
        self.database_kind() == Some(DatabaseErrorKind::SerializationFailure)
    }

    /// Whether running the whole transaction again may succeed: a deadlock or a
    /// serialization failure ([`DatabaseErrorKind::is_retryable`]), which
    /// [`Pool::transaction`](crate::Pool::transaction) retries.
    ///
    /// Not [`Error::is_retry_safe`], which says a single statement never reached the server.
    pub fn is_retryable(&self) -> bool {
        self.database_kind()
            .is_some_and(DatabaseErrorKind::is_retryable)
    }

    /// The constraint a server error names, where the server gives it (see
    /// [`DatabaseError::constraint`]).
    pub fn constraint(&self) -> Option<&str> {
        self.as_database_error().and_then(DatabaseError::constraint)
    }

    /// Whether a column asked for by name is not in the row at all (as opposed to NULL or
    /// of another type): an [`Error::Decode`] made by [`Error::missing_column`].
    pub fn is_missing_column(&self) -> bool {
        matches!(self, Error::Decode { source, .. } if source.is::<MissingColumn>())
    }

    /// A failure to decode `column` into `rust_type`.
    pub fn decode(
        column: ColumnRef<'_>,
        rust_type: &'static str,
        source: impl Into<BoxError>,
    ) -> Error {
        Error::Decode {
            column: match column {
                ColumnRef::Name(name) | ColumnRef::NameAt(name, _) => name.to_owned(),
                ColumnRef::Index(index) => format!("#{index}"),
            },
            rust_type,
            source: source.into(),
        }
    }

    /// A failure to decode `column` into `rust_type` because the row has no such column
    /// (see [`Error::is_missing_column`]). Backends report a missing column with it, so
    /// that `#[tethered(default)]` fields of a `FromRow` struct can tell it apart.
    pub fn missing_column(column: ColumnRef<'_>, rust_type: &'static str) -> Error {
        Error::decode(column, rust_type, MissingColumn)
    }

    /// A lost or failed connection, with the driver's error as its source. Whether the
    /// statement reached the server is not known.
    pub fn connection(message: impl Into<String>, source: impl Into<Option<BoxError>>) -> Error {
        Error::Connection {
            message: message.into(),
            source: source.into(),
            unsent: false,
        }
    }

    /// A connection found closed, or lost while the statement was being sent, before any
    /// of the statement can have reached the server (see [`Error::is_retry_safe`]).
    pub fn unsent(message: impl Into<String>, source: impl Into<Option<BoxError>>) -> Error {
        Error::Connection {
            message: message.into(),
            source: source.into(),
            unsent: true,
        }
    }

    /// Whether the statement certainly did not reach the server, so that sending it again
    /// cannot run it twice: a connection error marked so by the backend. A statement run
    /// on a [`Pool`](crate::Pool) that fails this way is sent once more on another
    /// connection before the caller sees the error; one on a held connection or in a
    /// transaction is not (the session and its state are gone).
    pub fn is_retry_safe(&self) -> bool {
        matches!(self, Error::Connection { unsent: true, .. })
    }
}

/// The source of [`Error::missing_column`]'s decode error.
#[derive(Debug)]
struct MissingColumn;

impl fmt::Display for MissingColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the row has no such column")
    }
}

impl std::error::Error for MissingColumn {}

impl From<Cause> for Error {
    /// A context found ended before anything was sent.
    fn from(cause: Cause) -> Error {
        Error::Canceled {
            cause,
            outcome: StatementOutcome::NotSent,
        }
    }
}

impl From<DatabaseError> for Error {
    fn from(error: DatabaseError) -> Error {
        Error::Database(Box::new(error))
    }
}

/// An error the database server returned.
#[derive(Debug)]
pub struct DatabaseError {
    code: String,
    number: Option<u16>,
    message: String,
    kind: DatabaseErrorKind,
    constraint: Option<String>,
    column: Option<String>,
    attempts: u32,
    source: Option<BoxError>,
}

/// What a server error means, the same on every backend: classified from PostgreSQL's
/// SQLSTATE and MySQL/MariaDB's error number, so callers never match on codes or messages.
///
/// | kind | PostgreSQL SQLSTATE | MySQL/MariaDB error number (SQLSTATE) |
/// |---|---|---|
/// | [`Interrupted`](Self::Interrupted) | 57014 (a cancel request) | 1317 (70100) |
/// | [`StatementTimeout`](Self::StatementTimeout) | 57014 (`statement_timeout`) | MariaDB 1969, MySQL 3024 |
/// | [`UniqueViolation`](Self::UniqueViolation) | 23505 | 1062, 1586 (23000), 1169 |
/// | [`ForeignKeyViolation`](Self::ForeignKeyViolation) | 23503 | 1451, 1452, 1216, 1217 (23000) |
/// | [`NotNullViolation`](Self::NotNullViolation) | 23502 | 1048 (23000), 1364 (HY000, strict mode) |
/// | [`CheckViolation`](Self::CheckViolation) | 23514 | MariaDB 4025 (23000), MySQL 3819 (HY000) |
/// | [`Deadlock`](Self::Deadlock) | 40P01 | 1213 (40001) |
/// | [`SerializationFailure`](Self::SerializationFailure) | 40001 | MariaDB 1020 (HY000, with `innodb_snapshot_isolation`) |
/// | [`LockTimeout`](Self::LockTimeout) | 55P03 | 1205 (HY000), MySQL 3572 |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatabaseErrorKind {
    /// The statement was stopped at a client's request (PostgreSQL 57014 "canceling
    /// statement due to user request"; MySQL/MariaDB 1317 after `KILL QUERY`).
    Interrupted,
    /// The statement hit the server's own time limit (PostgreSQL `statement_timeout`,
    /// MariaDB `max_statement_time`, MySQL `MAX_EXECUTION_TIME`).
    StatementTimeout,
    /// A duplicate value in a unique index or primary key (PostgreSQL 23505; MySQL/MariaDB
    /// 1062, whose SQLSTATE is the broad 23000).
    UniqueViolation,
    /// A row referring to a missing parent, or a parent still referred to (PostgreSQL
    /// 23503; MySQL/MariaDB 1452 and 1451).
    ForeignKeyViolation,
    /// A NULL into a `NOT NULL` column (PostgreSQL 23502; MySQL/MariaDB 1048, and 1364 for a
    /// `NOT NULL` column without a default left out of an insert in strict mode).
    NotNullViolation,
    /// A row failing a `CHECK` constraint (PostgreSQL 23514; MariaDB 4025, enforced since
    /// 10.2; MySQL 3819, enforced since 8.0.16).
    CheckViolation,
    /// The server rolled the transaction back to break a deadlock (PostgreSQL 40P01;
    /// MySQL/MariaDB 1213). Retryable: run the whole transaction again.
    Deadlock,
    /// A concurrent transaction changed what this one read, and its isolation level cannot
    /// let both commit (PostgreSQL 40001 under `REPEATABLE READ` or `SERIALIZABLE`; MariaDB
    /// 1020 "Record has changed since last read" under `innodb_snapshot_isolation`).
    /// Retryable: run the whole transaction again. MariaDB without
    /// `innodb_snapshot_isolation` (its default before 11.6) never reports one: its writes
    /// read the latest committed row instead.
    SerializationFailure,
    /// A lock was not granted within the server's lock wait limit (PostgreSQL 55P03 after
    /// `lock_timeout` or `NOWAIT`; MySQL/MariaDB 1205 after `innodb_lock_wait_timeout`, MySQL
    /// 3572 after `NOWAIT`). Not retryable: the lock is held by a transaction that has been
    /// busy for the whole wait (MySQL/MariaDB's default is 50 s), so running again mostly
    /// waits as long again; and on MySQL/MariaDB only the statement was rolled back, not the
    /// transaction.
    LockTimeout,
    /// Any other server error.
    Other,
}

impl DatabaseErrorKind {
    /// Whether running the whole transaction again may succeed: a
    /// [`Deadlock`](Self::Deadlock) or a [`SerializationFailure`](Self::SerializationFailure).
    /// The server has rolled the transaction back; nothing of it stands.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            DatabaseErrorKind::Deadlock | DatabaseErrorKind::SerializationFailure
        )
    }
}

impl DatabaseError {
    /// A server error with its SQLSTATE and message, of kind [`DatabaseErrorKind::Other`].
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> DatabaseError {
        DatabaseError {
            code: code.into(),
            number: None,
            message: message.into(),
            kind: DatabaseErrorKind::Other,
            constraint: None,
            column: None,
            attempts: 1,
            source: None,
        }
    }

    /// Sets the server's own error number (MySQL/MariaDB).
    pub fn with_number(mut self, number: u16) -> DatabaseError {
        self.number = Some(number);
        self
    }

    /// Sets the kind.
    pub fn with_kind(mut self, kind: DatabaseErrorKind) -> DatabaseError {
        self.kind = kind;
        self
    }

    /// Sets the name of the constraint the error is about.
    pub fn with_constraint(mut self, constraint: impl Into<String>) -> DatabaseError {
        self.constraint = Some(constraint.into());
        self
    }

    /// Sets the name of the column the error is about.
    pub fn with_column(mut self, column: impl Into<String>) -> DatabaseError {
        self.column = Some(column.into());
        self
    }

    /// Sets how many times the transaction ran before this error ended it.
    pub(crate) fn with_attempts(mut self, attempts: u32) -> DatabaseError {
        self.attempts = attempts;
        self
    }

    /// Keeps the driver's error as the source.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> DatabaseError {
        self.source = Some(source.into());
        self
    }

    /// The five-character SQLSTATE.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The server's error number (MySQL/MariaDB), `None` on PostgreSQL.
    pub fn number(&self) -> Option<u16> {
        self.number
    }

    /// The server's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Which kind of error this is.
    pub fn kind(&self) -> DatabaseErrorKind {
        self.kind
    }

    /// The constraint the error is about, where the server names it:
    ///
    /// - PostgreSQL gives it in the error's fields, for unique, foreign key and check
    ///   violations (for a unique violation, the name of the unique index or constraint).
    /// - MySQL/MariaDB give it only in the message, read from the English text: the key of
    ///   a duplicate (`PRIMARY` for the primary key; MySQL 8's `table.key` is given as `key`),
    ///   the foreign key, the check constraint. `None` for a message in another language
    ///   (`lc_messages`) or not in the expected form, and for errors that name none (a NOT
    ///   NULL violation names a column: see [`DatabaseError::column`]).
    pub fn constraint(&self) -> Option<&str> {
        self.constraint.as_deref()
    }

    /// The column the error is about, where the server names it: a NOT NULL violation's
    /// column (PostgreSQL in its fields, MySQL/MariaDB in the English message).
    pub fn column(&self) -> Option<&str> {
        self.column.as_deref()
    }

    /// How many times the transaction ran, this error ending the last run:
    /// [`Pool::transaction`](crate::Pool::transaction) sets it when it gives up retrying a
    /// [retryable](DatabaseErrorKind::is_retryable) error (its attempts ran out, or the
    /// context's deadline left no room for another). 1 for every other error.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.number {
            Some(number) => write!(
                f,
                "database error {number} ({}): {}",
                self.code, self.message
            )?,
            None => write!(f, "database error {}: {}", self.code, self.message)?,
        }
        if self.attempts > 1 {
            write!(f, " (the transaction ran {} times)", self.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_missing_column_is_a_missing_column() {
        let missing = Error::missing_column(ColumnRef::Name("refunds"), "i64");
        let null = Error::decode(ColumnRef::Name("refunds"), "i64", "NULL into a non-Option");
        assert!(missing.is_missing_column());
        assert!(!null.is_missing_column());
        assert_eq!(
            missing.to_string(),
            "cannot decode column `refunds` as i64: the row has no such column"
        );
    }

    #[test]
    fn helpers_read_the_kind_and_the_constraint() {
        let duplicate: Error = DatabaseError::new("23000", "Duplicate entry")
            .with_kind(DatabaseErrorKind::UniqueViolation)
            .with_constraint("users_email")
            .into();
        assert!(duplicate.is_unique_violation());
        assert!(!duplicate.is_retryable());
        assert_eq!(duplicate.constraint(), Some("users_email"));
        assert!(!Error::PoolClosed.is_unique_violation());
        assert_eq!(Error::PoolClosed.constraint(), None);
    }

    #[test]
    fn a_retried_error_says_how_many_times_the_transaction_ran() {
        let deadlock =
            DatabaseError::new("40P01", "deadlock detected").with_kind(DatabaseErrorKind::Deadlock);
        assert_eq!(deadlock.attempts(), 1);
        assert_eq!(
            deadlock.to_string(),
            "database error 40P01: deadlock detected"
        );
        let retried = deadlock.with_attempts(3);
        assert_eq!(retried.attempts(), 3);
        assert_eq!(
            retried.to_string(),
            "database error 40P01: deadlock detected (the transaction ran 3 times)"
        );
    }

    #[test]
    fn row_not_found_names_the_table_when_it_is_known() {
        let model = Error::RowNotFound {
            table: Some("users"),
        };
        let raw = Error::RowNotFound { table: None };
        assert_eq!(model.to_string(), "no row of `users` matched");
        assert_eq!(raw.to_string(), "the query returned no rows");
    }
}
