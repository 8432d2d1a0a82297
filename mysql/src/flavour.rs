//! Which server is on the other end, and what differs between MariaDB and MySQL 8: how a
//! statement carries its own time limit, and which error says that limit passed.

use std::borrow::Cow;
use std::time::Duration;

use tethered_core::server_deadline::limit_for;

/// The kind of server a connection talks to, read from its version string at connect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavour {
    /// MariaDB: `SET STATEMENT max_statement_time=<seconds> FOR <statement>`, error 1969.
    MariaDb,
    /// MySQL: the `/*+ MAX_EXECUTION_TIME(<ms>) */` hint, on `SELECT` only, error 3024.
    MySql,
}

/// How long after the context's deadline the server's own limit fires. Larger than
/// PostgreSQL's: MariaDB runs every session's `max_statement_time` on one timer thread,
/// and a timer that fires while a `KILL QUERY` of the same statement is being processed
/// makes both wait on the session's locks (up to 2 s each for a statement in `SLEEP()`),
/// holding up the timers and the ends of other sessions' statements behind it. In a
/// storm of 100,000 stops with a 20 ms margin, a few sleeps stopped by their deadline sat
/// in `Killed` for 8 s. Half a second leaves the timer to statements whose client-side
/// stop failed, which is what a backstop is for.
pub const SERVER_LIMIT_MARGIN: Duration = Duration::from_millis(500);

/// MariaDB's largest `max_statement_time`, a year in seconds.
const MARIADB_MAX_LIMIT: Duration = Duration::from_secs(31_536_000);

/// MySQL's largest `MAX_EXECUTION_TIME`, in milliseconds.
const MYSQL_MAX_LIMIT: Duration = Duration::from_millis(u32::MAX as u64);

impl Flavour {
    /// The flavour of a server whose `@@version` is `version` (MariaDB says so in it).
    pub(crate) fn from_version(version: &str) -> Flavour {
        if version.to_ascii_lowercase().contains("mariadb") {
            Flavour::MariaDb
        } else {
            Flavour::MySql
        }
    }

    /// The error number the server's own time limit ends a statement with.
    pub(crate) fn timeout_error(self) -> u16 {
        match self {
            // ER_STATEMENT_TIMEOUT
            Flavour::MariaDb => 1969,
            // ER_QUERY_TIMEOUT
            Flavour::MySql => 3024,
        }
    }

    /// The server-side time limit for a statement with `remaining` time, if it has a
    /// deadline: bucketed ([`limit_for`]), so a statement run under many deadlines has few
    /// distinct texts and prepared statements.
    pub(crate) fn limit(self, remaining: Option<Duration>) -> Option<Duration> {
        let max = match self {
            Flavour::MariaDb => MARIADB_MAX_LIMIT,
            Flavour::MySql => MYSQL_MAX_LIMIT,
        };
        remaining.map(|remaining| limit_for(remaining, SERVER_LIMIT_MARGIN, max))
    }

    /// `sql`, carrying `limit` (from [`Flavour::limit`]). No limit, no change: the text is
    /// the caller's own.
    pub(crate) fn limited(self, sql: &str, limit: Option<Duration>) -> Cow<'_, str> {
        let Some(limit) = limit else {
            return Cow::Borrowed(sql);
        };
        let millis = limit.as_millis();
        match self {
            Flavour::MariaDb => Cow::Owned(format!(
                "SET STATEMENT max_statement_time={}.{:03} FOR {sql}",
                millis / 1000,
                millis % 1000
            )),
            Flavour::MySql => {
                with_execution_time_hint(sql, millis).map_or(Cow::Borrowed(sql), Cow::Owned)
            }
        }
    }
}

/// `sql` with MySQL's `MAX_EXECUTION_TIME` hint, if it is a `SELECT` (MySQL honours the
/// hint on top-level `SELECT` statements only; any other statement runs unlimited). An
/// existing hint comment right after `SELECT` gets the limit added to it, since MySQL
/// reads only the first hint comment.
fn with_execution_time_hint(sql: &str, millis: u128) -> Option<String> {
    const SELECT: &str = "select";
    let body = sql.trim_start();
    let keyword = body.get(..SELECT.len())?;
    let rest = &body[SELECT.len()..];
    let ends_word = !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
    if !keyword.eq_ignore_ascii_case(SELECT) || !ends_word {
        return None;
    }
    let hint = format!("MAX_EXECUTION_TIME({millis})");
    Some(match rest.trim_start().strip_prefix("/*+") {
        Some(hints) => format!("{keyword} /*+ {hint}{hints}"),
        None => format!("{keyword} /*+ {hint} */{rest}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Option<Duration> {
        Some(Duration::from_millis(millis))
    }

    /// The text a statement with `remaining` time is sent as.
    fn text(flavour: Flavour, sql: &str, remaining: Option<Duration>) -> Cow<'_, str> {
        flavour.limited(sql, flavour.limit(remaining))
    }

    #[test]
    fn the_version_string_tells_mariadb_from_mysql() {
        assert_eq!(
            Flavour::from_version("10.11.19-MariaDB-0+deb12u1"),
            Flavour::MariaDb
        );
        assert_eq!(
            Flavour::from_version("5.5.5-10.6.4-MariaDB-log"),
            Flavour::MariaDb
        );
        assert_eq!(Flavour::from_version("8.0.36"), Flavour::MySql);
        assert_eq!(Flavour::from_version("8.4.0-commercial"), Flavour::MySql);
    }

    #[test]
    fn no_deadline_leaves_the_text_alone() {
        for flavour in [Flavour::MariaDb, Flavour::MySql] {
            assert!(matches!(
                text(flavour, "SELECT 1", None),
                Cow::Borrowed("SELECT 1")
            ));
        }
    }

    #[test]
    fn mariadb_prefixes_every_statement_with_a_bucketed_limit_in_seconds() {
        let mariadb = Flavour::MariaDb;
        assert_eq!(
            text(mariadb, "SELECT ?", ms(100)),
            "SET STATEMENT max_statement_time=1.024 FOR SELECT ?"
        );
        assert_eq!(
            text(mariadb, "COMMIT", ms(2000)),
            "SET STATEMENT max_statement_time=4.096 FOR COMMIT"
        );
        assert_eq!(
            text(mariadb, "SELECT ?", ms(1600)),
            text(mariadb, "SELECT ?", ms(3000)),
            "one bucket, one text"
        );
        let years = Some(Duration::from_secs(200 * 365 * 24 * 3600));
        assert_eq!(
            text(mariadb, "DO 1", years),
            "SET STATEMENT max_statement_time=31536000.000 FOR DO 1"
        );
    }

    #[test]
    fn mysql_hints_selects_only_in_milliseconds() {
        let mysql = Flavour::MySql;
        assert_eq!(
            text(mysql, "SELECT id FROM t", ms(100)),
            "SELECT /*+ MAX_EXECUTION_TIME(1024) */ id FROM t"
        );
        assert_eq!(
            text(mysql, "  select\n* FROM t", ms(100)),
            "select /*+ MAX_EXECUTION_TIME(1024) */\n* FROM t"
        );
        assert_eq!(
            text(mysql, "SELECT /*+ BKA(t) */ * FROM t", ms(100)),
            "SELECT /*+ MAX_EXECUTION_TIME(1024) BKA(t) */ * FROM t"
        );
        for unlimited in [
            "INSERT INTO t VALUES (1)",
            "SELECTED",
            "WITH c AS (SELECT 1) SELECT * FROM c",
            "SEL",
        ] {
            assert_eq!(text(mysql, unlimited, ms(100)), unlimited);
        }
        let years = Some(Duration::from_secs(200 * 365 * 24 * 3600));
        assert_eq!(
            text(mysql, "SELECT 1", years),
            "SELECT /*+ MAX_EXECUTION_TIME(4294967295) */ 1"
        );
    }
}
