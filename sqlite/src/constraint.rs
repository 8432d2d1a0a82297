//! The names of the constraints a violation is about. SQLite's messages name the columns of
//! a unique violation (`UNIQUE constraint failed: parents.email`) and nothing of a foreign
//! key's; the names are read back from the schema (a table's `CONSTRAINT name ...` clauses,
//! its unique indexes), only when a violation happened, and only when they are unambiguous.

use rusqlite::Connection;

/// A word of SQL text: lowercased for matching, and as written (unquoted) for names.
struct Token {
    lower: String,
    text: String,
}

fn tokens(sql: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let text = match c {
            '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                chars.by_ref().take_while(|&d| d != close).collect()
            }
            '\'' => {
                // A string literal: skipped whole.
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                }
                continue;
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut word = String::from(c);
                while let Some(&d) = chars.peek() {
                    if !(d.is_alphanumeric() || d == '_') {
                        break;
                    }
                    word.push(d);
                    chars.next();
                }
                word
            }
            '(' | ')' | ',' => c.to_string(),
            _ => continue,
        };
        out.push(Token {
            lower: text.to_lowercase(),
            text,
        });
    }
    out
}

/// A named table constraint.
struct Named {
    name: String,
    kind: String,
    columns: Vec<String>,
    references: Option<String>,
}

/// The `CONSTRAINT name KIND (columns) [REFERENCES table]` clauses of a table's SQL.
fn named_constraints(sql: &str) -> Vec<Named> {
    let tokens = tokens(sql);
    let mut found = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if token.lower != "constraint" {
            continue;
        }
        let (Some(name), Some(kind)) = (tokens.get(i + 1), tokens.get(i + 2)) else {
            continue;
        };
        let mut at = i + 3;
        if matches!(kind.lower.as_str(), "primary" | "foreign") {
            at += 1; // KEY
        }
        let mut columns = Vec::new();
        let keyed = matches!(kind.lower.as_str(), "primary" | "foreign" | "unique");
        if keyed && tokens.get(at).is_some_and(|t| t.lower == "(") {
            at += 1;
            while let Some(t) = tokens.get(at) {
                at += 1;
                match t.lower.as_str() {
                    ")" => break,
                    "," => {}
                    column => columns.push(column.to_owned()),
                }
            }
        }
        let references = (tokens.get(at).is_some_and(|t| t.lower == "references"))
            .then(|| tokens.get(at + 1).map(|t| t.lower.clone()))
            .flatten();
        found.push(Named {
            name: name.text.clone(),
            kind: kind.lower.clone(),
            columns,
            references,
        });
    }
    found
}

fn table_sql(conn: &Connection, table: &str) -> Option<String> {
    conn.query_row(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
        [table],
        |row| row.get(0),
    )
    .ok()
}

/// The unique constraint or index over `subject`'s columns (`t.a, t.b`).
pub(crate) fn unique(conn: &Connection, subject: &str) -> Option<String> {
    let mut table = None;
    let mut columns = Vec::new();
    for part in subject.split(',') {
        let (t, column) = part.trim().split_once('.')?;
        table = Some(t.to_owned());
        columns.push(column.to_lowercase());
    }
    let table = table?;
    if let Some(named) = named_constraints(&table_sql(conn, &table)?)
        .into_iter()
        .find(|named| named.kind == "unique" && named.columns == columns)
    {
        return Some(named.name);
    }
    // A `CREATE UNIQUE INDEX name ON t (columns)`.
    let mut indexes = conn
        .prepare("SELECT name FROM pragma_index_list(?1) WHERE \"unique\" AND origin = 'c'")
        .ok()?;
    let names: Vec<String> = indexes
        .query_map([&table], |row| row.get(0))
        .ok()?
        .filter_map(Result::ok)
        .collect();
    names.into_iter().find(|index| {
        let indexed: Option<Vec<String>> = conn
            .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
            .ok()
            .and_then(|mut info| {
                info.query_map([index], |row| row.get::<_, String>(0))
                    .ok()
                    .map(|rows| {
                        rows.filter_map(Result::ok)
                            .map(|c| c.to_lowercase())
                            .collect()
                    })
            });
        indexed.as_ref() == Some(&columns)
    })
}

/// The one named foreign key the statement `sql` can have broken: those of the table it
/// writes to, and (for a delete or an update) those of other tables referring to it.
pub(crate) fn foreign_key(conn: &Connection, sql: &str) -> Option<String> {
    let tokens = tokens(sql);
    let verb = tokens.first()?.lower.clone();
    let table = tokens
        .iter()
        .skip(1)
        .map(|t| t.lower.as_str())
        .find(|word| {
            !matches!(
                *word,
                "or" | "into" | "from" | "rollback" | "abort" | "replace" | "fail" | "ignore"
            )
        })?
        .to_owned();
    let mut candidates: Vec<String> = Vec::new();
    if matches!(verb.as_str(), "insert" | "replace" | "update") {
        candidates.extend(
            named_constraints(&table_sql(conn, &table)?)
                .into_iter()
                .filter(|named| named.kind == "foreign")
                .map(|named| named.name),
        );
    }
    if matches!(verb.as_str(), "delete" | "update") {
        let mut others = conn
            .prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND sql IS NOT NULL")
            .ok()?;
        let sqls: Vec<String> = others
            .query_map([], |row| row.get(0))
            .ok()?
            .filter_map(Result::ok)
            .collect();
        for other in sqls {
            candidates.extend(
                named_constraints(&other)
                    .into_iter()
                    .filter(|named| {
                        named.kind == "foreign" && named.references.as_deref() == Some(&table)
                    })
                    .map(|named| named.name),
            );
        }
    }
    candidates.dedup();
    match candidates.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_constraints_are_read_from_a_tables_sql() {
        let found = named_constraints(
            "CREATE TABLE children (id BIGINT PRIMARY KEY, parent_id BIGINT NOT NULL, \
             CONSTRAINT children_parent_fk FOREIGN KEY (parent_id) REFERENCES \"parents\" (id), \
             CONSTRAINT \"positive\" CHECK (quantity > 0), CONSTRAINT u UNIQUE (a, b))",
        );
        let summary: Vec<_> = found
            .iter()
            .map(|n| {
                (
                    n.name.as_str(),
                    n.kind.as_str(),
                    n.columns.join(","),
                    n.references.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "children_parent_fk",
                    "foreign",
                    "parent_id".to_owned(),
                    Some("parents".to_owned())
                ),
                ("positive", "check", String::new(), None),
                ("u", "unique", "a,b".to_owned(), None),
            ]
        );
    }
}
