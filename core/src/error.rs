//! One error type for every backend, with accessors so callers never match on strings.

use std::fmt;
use std::time::Duration;

use crate::cause::Cause;
use crate::row::ColumnRef;

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
    #[error("cannot decode column `{column}` as {rust_type}: {source}")]
    Decode {
        /// The column's name as the server reported it.
        column: String,
        /// The Rust type that was asked for.
        rust_type: &'static str,
        /// Why decoding failed.
        #[source]
        source: BoxError,
    },

    /// A query that must return a row returned none.
    #[error("the query returned no rows")]
    RowNotFound,

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

    /// The SQLSTATE of a server error (`"23505"` for a unique violation, on both backends).
    pub fn code(&self) -> Option<&str> {
        self.as_database_error().map(DatabaseError::code)
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
    source: Option<BoxError>,
}

/// The server errors the cancellation protocol must tell apart from all others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatabaseErrorKind {
    /// The statement was stopped at a client's request (PostgreSQL 57014 "canceling
    /// statement due to user request"; MySQL/MariaDB 1317 after `KILL QUERY`).
    Interrupted,
    /// The statement hit the server's own time limit (PostgreSQL `statement_timeout`,
    /// MariaDB `max_statement_time`, MySQL `MAX_EXECUTION_TIME`).
    StatementTimeout,
    /// Any other server error.
    Other,
}

impl DatabaseError {
    /// A server error with its SQLSTATE and message, of kind [`DatabaseErrorKind::Other`].
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> DatabaseError {
        DatabaseError {
            code: code.into(),
            number: None,
            message: message.into(),
            kind: DatabaseErrorKind::Other,
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
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.number {
            Some(number) => write!(
                f,
                "database error {number} ({}): {}",
                self.code, self.message
            ),
            None => write!(f, "database error {}: {}", self.code, self.message),
        }
    }
}

impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}
