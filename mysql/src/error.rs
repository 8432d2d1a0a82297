//! mysql_async errors, mapped to tethered's.

use mysql_async::{DriverError, ServerError};
use tethered_core::{DatabaseError, DatabaseErrorKind, Error};

use crate::flavour::Flavour;

/// ER_QUERY_INTERRUPTED: `KILL QUERY` stopped the statement (both servers).
const QUERY_INTERRUPTED: u16 = 1317;

/// Server errors after which the session is gone, whatever the statement was.
const SESSION_ENDED: [u16; 5] = [
    // ER_SERVER_SHUTDOWN
    1053, // ER_CONNECTION_KILLED (MariaDB: `KILL CONNECTION` from elsewhere)
    1927, // CR_SERVER_GONE_ERROR and CR_SERVER_LOST, as proxies may relay them
    2006, 2013, // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8: wait_timeout passed)
    4031,
];

/// A failure to open a connection, saying why once: the server's message with its error
/// number and SQLSTATE (`Access denied for user ...`, `Unknown database ...`), or the
/// socket's error (`Connection refused (os error 111)`), without mysql_async's doubled
/// "Input/output error: Input/output error:" prefix. The server's messages never contain
/// the password.
pub(crate) fn connect_error(error: mysql_async::Error) -> Error {
    let reason = match &error {
        mysql_async::Error::Server(server) => format!(
            "{} (error {}, SQLSTATE {})",
            server.message, server.code, server.state
        ),
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => io.to_string(),
        other => other.to_string(),
    };
    Error::connection(
        format!("could not connect to MySQL/MariaDB: {reason}"),
        Some(error.into()),
    )
}

/// A statement's failure on a `flavour` server.
pub(crate) fn statement_error(error: mysql_async::Error, flavour: Flavour) -> Error {
    match error {
        mysql_async::Error::Server(error) => server_error(error, flavour),
        mysql_async::Error::Driver(
            DriverError::Params(_)
            | DriverError::MixedParams
            | DriverError::StmtParamsMismatch { .. }
            | DriverError::StmtParamsNumberExceedsLimit { .. },
        ) => Error::InvalidInput(error.to_string()),
        // EPIPE comes only from a write, and only once the peer has reset the connection:
        // the server had closed the session (a kill, `wait_timeout`, a restart) before this
        // request reached it, so no part of it can run.
        mysql_async::Error::Io(mysql_async::IoError::Io(ref io))
            if io.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Error::unsent(
                format!(
                    "the server had closed the connection before the statement was sent: {error}"
                ),
                Some(error.into()),
            )
        }
        other => Error::connection(
            format!("the connection failed: {other}"),
            Some(other.into()),
        ),
    }
}

/// A statement refused before it was sent: it is larger than the server takes in one
/// packet, and sending it would make the server close the connection.
pub(crate) fn too_large(size: usize, max_packet: usize) -> Error {
    Error::InvalidInput(format!(
        "the statement and its values take at least {size} bytes, more than the server's \
         max_allowed_packet of {max_packet} bytes: send less, or raise max_allowed_packet"
    ))
}

/// A statement stopped between its prepare and its execute, reported as the server
/// reports one it interrupted.
pub(crate) fn interrupted_before_execution() -> Error {
    DatabaseError::new(
        "70100",
        "the statement was cancelled after it was prepared and was not executed",
    )
    .with_number(QUERY_INTERRUPTED)
    .with_kind(DatabaseErrorKind::Interrupted)
    .into()
}

fn server_error(error: ServerError, flavour: Flavour) -> Error {
    let number = error.code;
    if SESSION_ENDED.contains(&number) {
        return Error::connection(
            format!("the server ended the connection: {error}"),
            Some(error.into()),
        );
    }
    let kind = kind_of(number, flavour);
    let mut database = DatabaseError::new(error.state.clone(), error.message.clone())
        .with_number(number)
        .with_kind(kind);
    if let Some(constraint) = constraint_in(kind, &error.message, flavour) {
        database = database.with_constraint(constraint);
    }
    if let Some(column) = null_column_in(number, &error.message) {
        database = database.with_column(column);
    }
    database.with_source(error).into()
}

/// The portable kind of server error `number` on a `flavour` server. By number, never by
/// SQLSTATE: MySQL/MariaDB give 23000 to duplicates, foreign keys and NULLs alike, and 40001
/// to a deadlock.
fn kind_of(number: u16, flavour: Flavour) -> DatabaseErrorKind {
    match (number, flavour) {
        (QUERY_INTERRUPTED, _) => DatabaseErrorKind::Interrupted,
        (number, flavour) if number == flavour.timeout_error() => {
            DatabaseErrorKind::StatementTimeout
        }
        // ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME, ER_DUP_UNIQUE.
        (1062 | 1586 | 1169, _) => DatabaseErrorKind::UniqueViolation,
        // ER_ROW_IS_REFERENCED_2, ER_NO_REFERENCED_ROW_2, and their forms without details
        // (for a user who may not see the other table).
        (1451 | 1452 | 1216 | 1217, _) => DatabaseErrorKind::ForeignKeyViolation,
        // ER_BAD_NULL_ERROR; ER_NO_DEFAULT_FOR_FIELD, which only a NOT NULL column without a
        // default can raise (any other column defaults to NULL).
        (1048 | 1364, _) => DatabaseErrorKind::NotNullViolation,
        // ER_CONSTRAINT_FAILED (MariaDB), ER_CHECK_CONSTRAINT_VIOLATED (MySQL).
        (4025, Flavour::MariaDb) | (3819, Flavour::MySql) => DatabaseErrorKind::CheckViolation,
        // ER_LOCK_DEADLOCK.
        (1213, _) => DatabaseErrorKind::Deadlock,
        // ER_CHECKREAD: under `innodb_snapshot_isolation`, a row changed since the
        // transaction's snapshot.
        (1020, _) => DatabaseErrorKind::SerializationFailure,
        // ER_LOCK_WAIT_TIMEOUT; ER_LOCK_NOWAIT (MySQL 8).
        (1205, _) | (3572, Flavour::MySql) => DatabaseErrorKind::LockTimeout,
        _ => DatabaseErrorKind::Other,
    }
}

/// The constraint an error of `kind` names in its (English) `message`, if it is there in
/// the form the server writes it.
fn constraint_in(kind: DatabaseErrorKind, message: &str, flavour: Flavour) -> Option<String> {
    match kind {
        // "Duplicate entry '<value>' for key '<key>'": the value comes first and may contain
        // anything, so the key is after the last "for key".
        DatabaseErrorKind::UniqueViolation => {
            let (_, key) = message.rsplit_once(" for key '")?;
            let key = key.strip_suffix('\'')?;
            // MySQL 8 writes `table.key`.
            let key = match flavour {
                Flavour::MySql => key.split_once('.').map_or(key, |(_, key)| key),
                Flavour::MariaDb => key,
            };
            Some(key.to_owned())
        }
        // MySQL: "Check constraint '<name>' is violated."
        DatabaseErrorKind::CheckViolation if flavour == Flavour::MySql => message
            .strip_prefix("Check constraint '")?
            .strip_suffix("' is violated.")
            .map(str::to_owned),
        // "... fails (`db`.`child`, CONSTRAINT `<name>` FOREIGN KEY ...)" and MariaDB's
        // "CONSTRAINT `<name>` failed for `db`.`table`".
        DatabaseErrorKind::ForeignKeyViolation | DatabaseErrorKind::CheckViolation => {
            constraint_clause(message)
        }
        _ => None,
    }
}

/// The backquoted name after `CONSTRAINT ` in `message`, stepping over the other backquoted
/// names before it: a database or table may be called anything, "CONSTRAINT `x`" included.
fn constraint_clause(message: &str) -> Option<String> {
    const KEYWORD: &str = "CONSTRAINT ";
    let mut rest = message;
    loop {
        let quote = rest.find('`')?;
        let (name, after) = backquoted(&rest[quote..])?;
        if rest[..quote].ends_with(KEYWORD) {
            return Some(name);
        }
        rest = after;
    }
}

/// The identifier `text` starts with, quoted in backquotes (a backquote inside doubled), and
/// what follows it; `None` if it is not closed.
fn backquoted(text: &str) -> Option<(String, &str)> {
    let mut name = String::new();
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((at, c)) = chars.next() {
        if c != '`' {
            name.push(c);
        } else if chars.next_if(|&(_, next)| next == '`').is_some() {
            name.push('`');
        } else {
            return Some((name, &text[at + 1..]));
        }
    }
    None
}

/// The column of a NOT NULL violation, from its (English) message: "Column '<name>' cannot
/// be null" (1048), "Field '<name>' doesn't have a default value" (1364).
fn null_column_in(number: u16, message: &str) -> Option<String> {
    let (prefix, suffix) = match number {
        1048 => ("Column '", "' cannot be null"),
        1364 => ("Field '", "' doesn't have a default value"),
        _ => return None,
    };
    message
        .strip_prefix(prefix)?
        .strip_suffix(suffix)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16, state: &str) -> mysql_async::Error {
        said(code, state, &format!("error {code}"))
    }

    fn said(code: u16, state: &str, message: &str) -> mysql_async::Error {
        mysql_async::Error::Server(ServerError {
            code,
            message: message.to_owned(),
            state: state.to_owned(),
        })
    }

    /// The kind, constraint and column of error `code` saying `message` on `flavour`.
    fn classified(
        code: u16,
        message: &str,
        flavour: Flavour,
    ) -> (DatabaseErrorKind, Option<String>, Option<String>) {
        let error = statement_error(said(code, "23000", message), flavour);
        let database = error.as_database_error().expect("a server error");
        (
            database.kind(),
            database.constraint().map(str::to_owned),
            database.column().map(str::to_owned),
        )
    }

    fn named(name: &str) -> Option<String> {
        Some(name.to_owned())
    }

    #[test]
    fn integrity_errors_are_classified_with_their_constraint() {
        use DatabaseErrorKind::*;
        let maria = Flavour::MariaDb;
        let cases = [
            (
                classified(1062, "Duplicate entry 'a' for key 'email_uq'", maria),
                (UniqueViolation, named("email_uq"), None),
            ),
            (
                // A value shaped like the message itself does not fool it.
                classified(
                    1062,
                    "Duplicate entry 'x' for key 'fake'-y' for key 'PRIMARY'",
                    maria,
                ),
                (UniqueViolation, named("PRIMARY"), None),
            ),
            (
                classified(
                    1062,
                    "Duplicate entry '1' for key 'users.PRIMARY'",
                    Flavour::MySql,
                ),
                (UniqueViolation, named("PRIMARY"), None),
            ),
            (
                classified(
                    1452,
                    "Cannot add or update a child row: a foreign key constraint fails \
                     (`test`.`c`, CONSTRAINT `c_fk_p` FOREIGN KEY (`p_id`) REFERENCES `p` (`id`))",
                    maria,
                ),
                (ForeignKeyViolation, named("c_fk_p"), None),
            ),
            (
                // A table named like the clause, and a constraint with a backquote.
                classified(
                    1451,
                    "Cannot delete or update a parent row: a foreign key constraint fails \
                     (`test`.`CONSTRAINT `` x`, CONSTRAINT `fk``1` FOREIGN KEY (`p`) REFERENCES `p` (`id`))",
                    maria,
                ),
                (ForeignKeyViolation, named("fk`1"), None),
            ),
            (
                classified(1217, "Cannot delete or update a parent row", maria),
                (ForeignKeyViolation, None, None),
            ),
            (
                classified(1048, "Column 'n' cannot be null", maria),
                (NotNullViolation, None, named("n")),
            ),
            (
                classified(1364, "Field 'n' doesn't have a default value", maria),
                (NotNullViolation, None, named("n")),
            ),
            (
                classified(4025, "CONSTRAINT `v_pos` failed for `test`.`c`", maria),
                (CheckViolation, named("v_pos"), None),
            ),
            (
                classified(
                    3819,
                    "Check constraint 'v_pos' is violated.",
                    Flavour::MySql,
                ),
                (CheckViolation, named("v_pos"), None),
            ),
            (
                // Another language: the kind still, the name not.
                classified(
                    1062,
                    "Doppelter Eintrag 'a' für Schlüssel 'email_uq'",
                    maria,
                ),
                (UniqueViolation, None, None),
            ),
            (
                classified(4025, "CONSTRAINT `unclosed failed", maria),
                (CheckViolation, None, None),
            ),
        ];
        for (seen, expected) in cases {
            assert_eq!(seen, expected);
        }
    }

    #[test]
    fn conflicts_are_classified_and_only_deadlocks_and_serialization_failures_retry() {
        use DatabaseErrorKind::*;
        let cases = [
            (1213, Flavour::MariaDb, Deadlock, true),
            (1020, Flavour::MariaDb, SerializationFailure, true),
            (1205, Flavour::MariaDb, LockTimeout, false),
            (3572, Flavour::MySql, LockTimeout, false),
            (3572, Flavour::MariaDb, Other, false),
            (4025, Flavour::MySql, Other, false),
        ];
        for (code, flavour, kind, retryable) in cases {
            let error = statement_error(server(code, "40001"), flavour);
            assert_eq!(error.database_kind(), Some(kind), "{code}");
            assert_eq!(error.is_retryable(), retryable, "{code}");
        }
    }

    fn kind(error: &Error) -> Option<DatabaseErrorKind> {
        error.as_database_error().map(DatabaseError::kind)
    }

    #[test]
    fn interruption_and_timeouts_are_told_apart_per_flavour() {
        let interrupted = statement_error(server(1317, "70100"), Flavour::MariaDb);
        assert_eq!(kind(&interrupted), Some(DatabaseErrorKind::Interrupted));
        let mariadb_timeout = statement_error(server(1969, "70100"), Flavour::MariaDb);
        assert_eq!(
            kind(&mariadb_timeout),
            Some(DatabaseErrorKind::StatementTimeout)
        );
        let mysql_timeout = statement_error(server(3024, "HY000"), Flavour::MySql);
        assert_eq!(
            kind(&mysql_timeout),
            Some(DatabaseErrorKind::StatementTimeout)
        );
        let elsewhere = statement_error(server(3024, "HY000"), Flavour::MariaDb);
        assert_eq!(kind(&elsewhere), Some(DatabaseErrorKind::Other));
    }

    #[test]
    fn server_errors_keep_their_number_and_sqlstate() {
        let duplicate = statement_error(server(1062, "23000"), Flavour::MariaDb);
        let database = duplicate.as_database_error().expect("a server error");
        assert_eq!(database.number(), Some(1062));
        assert_eq!(database.code(), "23000");
        assert_eq!(database.kind(), DatabaseErrorKind::UniqueViolation);
        let syntax = statement_error(server(1064, "42000"), Flavour::MariaDb);
        assert_eq!(syntax.database_kind(), Some(DatabaseErrorKind::Other));
    }

    #[test]
    fn a_session_the_server_ended_is_a_connection_error() {
        for code in SESSION_ENDED {
            let error = statement_error(server(code, "HY000"), Flavour::MariaDb);
            assert!(matches!(error, Error::Connection { .. }), "{code}: {error}");
        }
        let io = mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed",
        )));
        assert!(matches!(
            statement_error(io, Flavour::MariaDb),
            Error::Connection { .. }
        ));
    }

    #[test]
    fn parameter_mistakes_are_invalid_input() {
        let mismatch = mysql_async::Error::Driver(DriverError::StmtParamsMismatch {
            required: 1,
            supplied: 2,
        });
        assert!(matches!(
            statement_error(mismatch, Flavour::MySql),
            Error::InvalidInput(_)
        ));
    }
}
