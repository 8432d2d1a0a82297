//! What a statement is, read off its text: the conventions' `db.operation.name` (its first
//! keyword) and `db.query.summary` (that keyword and the table it works on).
//!
//! Both are read from the text, which carries placeholders, never bound values; the
//! operation is one of a fixed list, so it is safe as a metric label.

/// The statement keywords reported as operations; anything else is `OTHER`.
pub(crate) const OPERATIONS: [&str; 26] = [
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "WITH",
    "VALUES",
    "BEGIN",
    "START",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "SET",
    "SHOW",
    "CREATE",
    "DROP",
    "ALTER",
    "TRUNCATE",
    "COPY",
    "EXPLAIN",
    "CALL",
    "PRAGMA",
    "KILL",
    "LOCK",
    "REPLACE",
    "MERGE",
];

/// The longest summary kept (the conventions' advice).
const SUMMARY_AT_MOST: usize = 255;

/// The statement's first keyword, upper case, or `OTHER`.
pub(crate) fn operation(text: &str) -> &'static str {
    OPERATIONS
        .get(operation_index(text))
        .copied()
        .unwrap_or("OTHER")
}

/// Where the statement's first keyword is in [`OPERATIONS`]; past its end for `OTHER`.
pub(crate) fn operation_index(text: &str) -> usize {
    let first = words(text).next().unwrap_or("");
    OPERATIONS
        .iter()
        .position(|operation| operation.eq_ignore_ascii_case(first))
        .unwrap_or(OPERATIONS.len())
}

/// The operation and the first table it names: `SELECT items`, `INSERT orders`,
/// `CREATE TABLE t`; the operation alone where no table follows.
pub(crate) fn summary(text: &str) -> String {
    let operation = operation(text);
    let mut words = words(text).skip(1);
    let target = match operation {
        "SELECT" | "DELETE" => after(&mut words, "FROM"),
        "INSERT" | "REPLACE" => after(&mut words, "INTO"),
        "UPDATE" | "COPY" | "TRUNCATE" | "LOCK" => words.find(|word| !is_keyword(word)),
        "CREATE" | "DROP" | "ALTER" => {
            let mut words =
                words.filter(|word| !is_keyword(word) || word.eq_ignore_ascii_case("TABLE"));
            match (words.next(), words.find(|word| !is_keyword(word))) {
                (Some(kind), Some(name)) => {
                    return cut(format!("{operation} {} {name}", kind.to_ascii_uppercase()));
                }
                _ => None,
            }
        }
        _ => None,
    };
    match target {
        Some(target) => cut(format!("{operation} {target}")),
        None => operation.to_owned(),
    }
}

/// The first name after `keyword` (skipping words such as `ONLY`).
fn after<'t>(words: &mut impl Iterator<Item = &'t str>, keyword: &str) -> Option<&'t str> {
    words.find(|word| word.eq_ignore_ascii_case(keyword))?;
    words.find(|word| !is_keyword(word))
}

/// Words that come between an operation and its table (`DELETE FROM ONLY t`,
/// `CREATE TABLE IF NOT EXISTS t`, `TRUNCATE TABLE t`).
fn is_keyword(word: &str) -> bool {
    [
        "ONLY",
        "IF",
        "NOT",
        "EXISTS",
        "TABLE",
        "IGNORE",
        "LOW_PRIORITY",
        "TEMPORARY",
    ]
    .iter()
    .any(|keyword| keyword.eq_ignore_ascii_case(word))
}

/// The words of `text`: keywords and (possibly qualified, possibly quoted) names, as they
/// are written; comments, strings, numbers and punctuation are skipped.
fn words(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        loop {
            rest = rest.trim_start();
            let first = rest.chars().next()?;
            if let Some(after) = rest.strip_prefix("--") {
                rest = after.split_once('\n').map_or("", |(_, next)| next);
            } else if let Some(after) = rest.strip_prefix("/*") {
                rest = after.split_once("*/").map_or("", |(_, next)| next);
            } else if first == '\'' {
                rest = rest[1..].split_once('\'').map_or("", |(_, next)| next);
            } else if first.is_alphabetic() || matches!(first, '_' | '"' | '`') {
                let end = name_end(rest);
                let word = &rest[..end];
                rest = &rest[end..];
                return Some(word);
            } else {
                rest = &rest[first.len_utf8()..];
            }
        }
    })
}

/// Where the name at the start of `text` ends: parts, bare or quoted, joined by dots.
fn name_end(text: &str) -> usize {
    let mut end = 0;
    loop {
        let part = &text[end..];
        let length = match part.chars().next() {
            Some(quote @ ('"' | '`')) => part[1..].find(quote).map_or(part.len(), |at| at + 2),
            _ => part
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(part.len()),
        };
        end += length;
        if length == 0 || !text[end..].starts_with('.') {
            return end;
        }
        end += 1;
    }
}

/// `summary`, without identifier quotes, at most [`SUMMARY_AT_MOST`] bytes long.
fn cut(summary: String) -> String {
    let mut summary = summary.replace(['"', '`'], "");
    if summary.len() > SUMMARY_AT_MOST {
        let mut end = SUMMARY_AT_MOST;
        while !summary.is_char_boundary(end) {
            end -= 1;
        }
        summary.truncate(end);
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_summarised_by_operation_and_table() {
        for (text, expected) in [
            (
                "SELECT \"id\", \"name\" FROM \"items\" WHERE \"id\" = $1",
                "SELECT items",
            ),
            (
                "select count(*) from orders o join lines l on o.id = l.order_id",
                "SELECT orders",
            ),
            ("/* request abc */ SELECT pg_sleep($1)", "SELECT"),
            (
                "-- note\nINSERT INTO `shop`.`orders` (`a`) VALUES (?)",
                "INSERT shop.orders",
            ),
            ("UPDATE items SET price = ? WHERE id = ?", "UPDATE items"),
            ("DELETE FROM ONLY logs WHERE at < $1", "DELETE logs"),
            (
                "CREATE TABLE IF NOT EXISTS t_1 (id INT)",
                "CREATE TABLE t_1",
            ),
            ("COPY items (id, name) FROM STDIN", "COPY items"),
            ("BEGIN", "BEGIN"),
            ("  ", "OTHER"),
            ("SELECT 'FROM secret' FROM t", "SELECT t"),
        ] {
            assert_eq!(summary(text), expected, "{text}");
        }
        assert_eq!(operation("commit"), "COMMIT");
        assert_eq!(operation("VACUUM"), "OTHER");
    }

    #[test]
    fn a_long_name_is_cut_on_a_character_boundary() {
        let text = format!("SELECT * FROM \"{}\"", "é".repeat(300));
        let summary = summary(&text);
        assert!(summary.len() <= SUMMARY_AT_MOST);
        assert!(summary.starts_with("SELECT é"));
    }
}
