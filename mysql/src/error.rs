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
    let kind = if number == QUERY_INTERRUPTED {
        DatabaseErrorKind::Interrupted
    } else if number == flavour.timeout_error() {
        DatabaseErrorKind::StatementTimeout
    } else {
        DatabaseErrorKind::Other
    };
    DatabaseError::new(error.state.clone(), error.message.clone())
        .with_number(number)
        .with_kind(kind)
        .with_source(error)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16, state: &str) -> mysql_async::Error {
        mysql_async::Error::Server(ServerError {
            code,
            message: format!("error {code}"),
            state: state.to_owned(),
        })
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
    fn other_server_errors_keep_their_number_and_sqlstate() {
        let duplicate = statement_error(server(1062, "23000"), Flavour::MariaDb);
        let database = duplicate.as_database_error().expect("a server error");
        assert_eq!(database.number(), Some(1062));
        assert_eq!(database.code(), "23000");
        assert_eq!(database.kind(), DatabaseErrorKind::Other);
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
