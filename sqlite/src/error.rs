//! rusqlite errors, mapped to tethered's from SQLite's extended result codes.

use rusqlite::ffi;
use tethered_core::{DatabaseError, DatabaseErrorKind, Error};

/// How the operation that failed was stopped, if it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Nothing stopped it.
    None,
    /// A stop request for it (or the connection closing).
    Requested,
    /// The engine's own limit, the context's deadline.
    Limit,
}

/// The portable kind of an extended result code.
pub(crate) fn kind_of(extended: i32) -> DatabaseErrorKind {
    match extended {
        ffi::SQLITE_INTERRUPT => DatabaseErrorKind::Interrupted,
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            DatabaseErrorKind::UniqueViolation
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => DatabaseErrorKind::ForeignKeyViolation,
        ffi::SQLITE_CONSTRAINT_NOTNULL => DatabaseErrorKind::NotNullViolation,
        ffi::SQLITE_CONSTRAINT_CHECK => DatabaseErrorKind::CheckViolation,
        // A read transaction that would write after another connection committed (WAL):
        // running the whole transaction again may succeed.
        ffi::SQLITE_BUSY_SNAPSHOT => DatabaseErrorKind::SerializationFailure,
        code if code & 0xff == ffi::SQLITE_BUSY || code & 0xff == ffi::SQLITE_LOCKED => {
            DatabaseErrorKind::LockTimeout
        }
        _ => DatabaseErrorKind::Other,
    }
}

/// The name of an extended result code, for [`DatabaseError::code`].
fn code_name(extended: i32) -> String {
    format!("SQLITE_{extended}")
}

/// A statement's failure, knowing how it was stopped.
pub(crate) fn statement_error(error: rusqlite::Error, stop: Stop) -> Error {
    match error {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let extended = failure.extended_code;
            let message = message.unwrap_or_else(|| failure.to_string());
            let kind = match (stop, kind_of(extended)) {
                // A stop asked for ends the statement however it ends (an interrupt, a lock
                // wait given up, a registered sleep cut short): the gate guarantees nothing
                // of it reaches a later statement.
                (Stop::Requested, _) => DatabaseErrorKind::Interrupted,
                (Stop::Limit, _) => DatabaseErrorKind::StatementTimeout,
                (Stop::None, kind) => kind,
            };
            if matches!(
                failure.code,
                rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::NotADatabase
            ) {
                return Error::connection(
                    message,
                    Some(rusqlite::Error::SqliteFailure(failure, None).into()),
                );
            }
            let mut database = DatabaseError::new(code_name(extended), message.clone())
                .with_number(u16::try_from(extended).unwrap_or(u16::MAX))
                .with_kind(kind);
            if let Some(named) = constraint_subject(&message) {
                database = match kind {
                    DatabaseErrorKind::NotNullViolation => database.with_column(column_of(named)),
                    DatabaseErrorKind::UniqueViolation => database
                        .with_constraint(named)
                        .with_column(column_of(named)),
                    _ => database.with_constraint(named),
                };
            }
            database.into()
        }
        stopped if stop != Stop::None => {
            let kind = if stop == Stop::Limit {
                DatabaseErrorKind::StatementTimeout
            } else {
                DatabaseErrorKind::Interrupted
            };
            DatabaseError::new(code_name(ffi::SQLITE_INTERRUPT), stopped.to_string())
                .with_number(ffi::SQLITE_INTERRUPT as u16)
                .with_kind(kind)
                .into()
        }
        rusqlite::Error::MultipleStatement => Error::InvalidInput(
            "one statement per call: the text holds another statement after the first (the \
             engine's time limit and a stop would cover only the first); send them one by one"
                .into(),
        ),
        rusqlite::Error::InvalidParameterCount(given, expected) => Error::InvalidInput(format!(
            "the statement has {expected} placeholders but {given} values were bound"
        )),
        rusqlite::Error::SqlInputError {
            msg, sql, offset, ..
        } => Error::Database(Box::new(
            DatabaseError::new(
                code_name(ffi::SQLITE_ERROR),
                format!("{msg} in {sql:?} at {offset}"),
            )
            .with_number(ffi::SQLITE_ERROR as u16),
        )),
        other => Error::Database(Box::new(
            DatabaseError::new(code_name(ffi::SQLITE_ERROR), other.to_string())
                .with_number(ffi::SQLITE_ERROR as u16)
                .with_source(other),
        )),
    }
}

/// What a constraint failure names: `t.email` in "UNIQUE constraint failed: t.email", the
/// constraint's name in "CHECK constraint failed: positive".
fn constraint_subject(message: &str) -> Option<&str> {
    let (_, subject) = message.split_once("constraint failed: ")?;
    let subject = subject.split(',').next()?.trim();
    (!subject.is_empty()).then_some(subject)
}

/// The column of `table.column`.
fn column_of(subject: &str) -> &str {
    subject.rsplit('.').next().unwrap_or(subject)
}

/// A failure to open a database.
pub(crate) fn connect_error(path: &str, error: rusqlite::Error) -> Error {
    Error::connection(
        format!("could not open the SQLite database {path:?}: {error}"),
        Some(error.into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_codes_map_to_portable_kinds() {
        let cases = [
            (
                ffi::SQLITE_CONSTRAINT_UNIQUE,
                DatabaseErrorKind::UniqueViolation,
            ),
            (
                ffi::SQLITE_CONSTRAINT_PRIMARYKEY,
                DatabaseErrorKind::UniqueViolation,
            ),
            (
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY,
                DatabaseErrorKind::ForeignKeyViolation,
            ),
            (
                ffi::SQLITE_CONSTRAINT_NOTNULL,
                DatabaseErrorKind::NotNullViolation,
            ),
            (
                ffi::SQLITE_CONSTRAINT_CHECK,
                DatabaseErrorKind::CheckViolation,
            ),
            (ffi::SQLITE_BUSY, DatabaseErrorKind::LockTimeout),
            (
                ffi::SQLITE_BUSY_SNAPSHOT,
                DatabaseErrorKind::SerializationFailure,
            ),
            (ffi::SQLITE_INTERRUPT, DatabaseErrorKind::Interrupted),
            (ffi::SQLITE_ERROR, DatabaseErrorKind::Other),
        ];
        for (code, kind) in cases {
            assert_eq!(kind_of(code), kind, "{code}");
        }
    }

    #[test]
    fn constraint_messages_name_their_subject() {
        assert_eq!(
            constraint_subject("UNIQUE constraint failed: t.email"),
            Some("t.email")
        );
        assert_eq!(
            constraint_subject("CHECK constraint failed: positive"),
            Some("positive")
        );
        assert_eq!(column_of("t.email"), "email");
        assert_eq!(constraint_subject("no such table: x"), None);
    }
}
