//! tokio-postgres errors, mapped to tethered's.

use tethered_core::{DatabaseError, DatabaseErrorKind, Error};

use crate::bind::BindError;

/// A failure to open a connection, saying why: the server's message and SQLSTATE (an
/// unknown role or database, a refused password), or the driver's error with its causes
/// (`error connecting to server: Connection refused (os error 111)`). tokio-postgres's own
/// text of a server error is just "db error". Neither ever contains the password.
pub(crate) fn connect_error(error: tokio_postgres::Error) -> Error {
    let reason = match error.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => std::iter::successors(std::error::Error::source(&error), |cause| cause.source())
            .fold(error.to_string(), |reason, cause| {
                format!("{reason}: {cause}")
            }),
    };
    Error::connection(
        format!("could not connect to PostgreSQL: {reason}"),
        Some(error.into()),
    )
}

/// The portable kind of a SQLSTATE other than 57014 (which only the connection can tell
/// apart; see [`statement_error`]).
fn kind_of(code: &str) -> DatabaseErrorKind {
    match code {
        "23505" => DatabaseErrorKind::UniqueViolation,
        "23503" => DatabaseErrorKind::ForeignKeyViolation,
        "23502" => DatabaseErrorKind::NotNullViolation,
        "23514" => DatabaseErrorKind::CheckViolation,
        "40P01" => DatabaseErrorKind::Deadlock,
        "40001" => DatabaseErrorKind::SerializationFailure,
        "55P03" => DatabaseErrorKind::LockTimeout,
        _ => DatabaseErrorKind::Other,
    }
}

/// A statement's failure. `is_timeout` tells, from the server's message and what the
/// connection knows of its own `statement_timeout`, whether a 57014 came from that timer
/// rather than from a cancel request.
pub(crate) fn statement_error(
    error: tokio_postgres::Error,
    is_timeout: impl FnOnce(&str) -> bool,
) -> Error {
    if let Some(db) = error.as_db_error() {
        let code = db.code().code();
        let message = match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        };
        // Class 08 (connection exception) and 57P (the server shut the session down, as
        // pg_terminate_backend does): the connection is gone, whatever the statement.
        if code.starts_with("08") || code.starts_with("57P") {
            let message = format!("the server ended the connection: {message} (SQLSTATE {code})");
            return Error::connection(message, Some(error.into()));
        }
        let kind = match code {
            "57014" if is_timeout(db.message()) => DatabaseErrorKind::StatementTimeout,
            "57014" => DatabaseErrorKind::Interrupted,
            other => kind_of(other),
        };
        let mut database = DatabaseError::new(code, message).with_kind(kind);
        if let Some(constraint) = db.constraint() {
            database = database.with_constraint(constraint);
        }
        if let Some(column) = db.column() {
            database = database.with_column(column);
        }
        return database.with_source(error).into();
    }
    if let Some(bind) =
        std::error::Error::source(&error).and_then(|s| s.downcast_ref::<BindError>())
    {
        return Error::InvalidInput(format!("{error}: {bind}"));
    }
    if error.is_closed() {
        return Error::connection("the connection is closed", Some(error.into()));
    }
    Error::connection(error.to_string(), Some(error.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_map_to_portable_kinds() {
        let cases = [
            ("23505", DatabaseErrorKind::UniqueViolation),
            ("23503", DatabaseErrorKind::ForeignKeyViolation),
            ("23502", DatabaseErrorKind::NotNullViolation),
            ("23514", DatabaseErrorKind::CheckViolation),
            ("40P01", DatabaseErrorKind::Deadlock),
            ("40001", DatabaseErrorKind::SerializationFailure),
            ("55P03", DatabaseErrorKind::LockTimeout),
            ("23P01", DatabaseErrorKind::Other),
            ("42P01", DatabaseErrorKind::Other),
        ];
        for (code, kind) in cases {
            assert_eq!(kind_of(code), kind, "{code}");
        }
    }
}
