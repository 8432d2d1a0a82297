//! One statement per text, as on PostgreSQL.
//!
//! mysql_async always asks for multi-statement support (`CLIENT_MULTI_STATEMENTS`), with no
//! option to turn it off, so `SELECT 1; SELECT SLEEP(3)` would run both. The server-side
//! time limit (`SET STATEMENT max_statement_time=... FOR`) covers only the first of them,
//! and a client that vanished could leave the rest running. So a text is scanned for a `;`
//! outside strings, quoted identifiers and comments, and refused if another statement
//! follows it.

use tethered_core::{Error, Result};

/// Refuses `sql` if it holds more than one statement. A trailing `;` is allowed.
///
/// Strings follow MySQL's defaults (backslash escapes, doubled quotes); under
/// `NO_BACKSLASH_ESCAPES` a backslash before a quote ends the string, which this scan does
/// not know, so a second statement hidden that way is not seen.
pub(crate) fn refuse_several(sql: &str) -> Result<()> {
    match second_statement(sql.as_bytes()) {
        None => Ok(()),
        Some(at) => Err(Error::InvalidInput(format!(
            "one statement per call: the text holds another statement after byte {at} (a \
             server-side time limit would cover only the first); send them one by one"
        ))),
    }
}

/// Where the statement after the first `;` begins, if anything but white space and
/// comments follows it.
fn second_statement(sql: &[u8]) -> Option<usize> {
    let mut at = 0;
    // A `;` has been seen outside strings and comments.
    let mut separated = false;
    while let Some(&byte) = sql.get(at) {
        let rest = &sql[at..];
        // White space and comments neither start a statement nor end one. `--` starts a
        // comment only before white space; `/*!` and `/*M!` comments are code to MySQL
        // and MariaDB, so they are read on as code.
        let ignorable = match byte {
            b'#' => Some(line_comment(rest)),
            b'-' if rest.get(1) == Some(&b'-')
                && rest.get(2).is_none_or(|next| next.is_ascii_whitespace()) =>
            {
                Some(line_comment(rest))
            }
            b'/' if rest.starts_with(b"/*")
                && !rest[2..].starts_with(b"!")
                && !rest[2..].starts_with(b"M!") =>
            {
                Some(block_comment(rest))
            }
            _ if byte.is_ascii_whitespace() => Some(1),
            _ => None,
        };
        if let Some(length) = ignorable {
            at += length;
        } else if byte == b';' {
            separated = true;
            at += 1;
        } else if separated {
            return Some(at);
        } else {
            at += match byte {
                quote @ (b'\'' | b'"' | b'`') => quoted(rest, quote),
                _ => 1,
            };
        }
    }
    None
}

/// The length of the quoted run at the start of `text` (to its end if it is unclosed).
fn quoted(text: &[u8], quote: u8) -> usize {
    let mut at = 1;
    while at < text.len() {
        match text[at] {
            b'\\' if quote != b'`' => at += 2,
            byte if byte == quote => {
                // A doubled quote stands for itself.
                if text.get(at + 1) == Some(&quote) {
                    at += 2;
                } else {
                    return at + 1;
                }
            }
            _ => at += 1,
        }
    }
    text.len()
}

fn line_comment(text: &[u8]) -> usize {
    text.iter()
        .position(|&byte| byte == b'\n')
        .map_or(text.len(), |end| end + 1)
}

fn block_comment(text: &[u8]) -> usize {
    text.windows(2)
        .skip(2)
        .position(|pair| pair == b"*/")
        .map_or(text.len(), |end| end + 4)
}

#[cfg(test)]
mod tests {
    use super::second_statement;

    #[test]
    fn one_statement_with_or_without_a_trailing_semicolon_passes() {
        for sql in [
            "SELECT 1",
            "SELECT 1;",
            "SELECT 1 ;  \n",
            "SELECT 1; -- done",
            "SELECT 1; # done",
            "SELECT 1; /* done */",
            "SELECT ';' AS a, \";\" AS b, `;` AS c",
            "SELECT 'it''s; fine', 'back\\'slash; too'",
            "SELECT 1 /* ; */ + 2 -- ;\n + 3",
            "SELECT 1 # ; SELECT 2",
            "SELECT 1 -- ; SELECT 2",
            "SELECT 1 /*+ MAX_EXECUTION_TIME(5) */",
            "",
        ] {
            assert_eq!(second_statement(sql.as_bytes()), None, "{sql:?}");
        }
    }

    #[test]
    fn a_second_statement_is_found_wherever_it_hides() {
        for (sql, at) in [
            ("SELECT 1; SELECT SLEEP(3)", 10),
            ("SELECT 1;SELECT 2", 9),
            ("SELECT 1; 'x'", 10),
            ("SELECT 1; /* c */ DROP TABLE t", 18),
            ("SELECT ';'; SELECT 2", 12),
            ("SELECT 1 /*! ; SELECT 2 */", 15),
            ("SELECT 1 /*M!100000 ; SELECT 2 */", 22),
            ("SELECT 1;\n-- c\nSELECT 2", 15),
            // `--` before anything but white space is two minus signs.
            ("SELECT 1 --; SELECT 2", 13),
        ] {
            assert_eq!(second_statement(sql.as_bytes()), Some(at), "{sql:?}");
        }
    }
}
