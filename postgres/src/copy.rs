//! PostgreSQL's bulk load for models: `COPY ... FROM STDIN (FORMAT binary)`, under the same
//! protocol as every statement.
//!
//! A copy is one statement: the server stores all of its rows or none. It runs on the
//! executor's connection through [`Executor::run`], so a context that ends mid-copy, or a
//! copy future dropped part-way, stops it on the server like any statement, and the
//! connection is reused only once the server has confirmed the stop. The connection's side
//! (`PgConnection::copy_in`) gives the copy up in-band, with `CopyFail`, once the copy's
//! context has ended; here the copy gets a context of its own, whose scope lives in the
//! caller's future, so that dropping that future ends the copy's context too.

use std::future::Future;

use bytes::BytesMut;
use tethered_core::sea_query::{
    Alias, Expr, IntoIden, PostgresQueryBuilder, Query, QuotedBuilder, Value,
};
use tethered_core::{Ctx, Error, Executor, Model, Result};
use tokio_postgres::types::{ToSql, Type};

use crate::bind::CopyValue;
use crate::driver::Postgres;
use crate::tls::PgTls;

/// `COPY ... FROM STDIN (FORMAT binary)` for models, on PostgreSQL: the fastest way to store
/// many rows, one statement whatever their number, and all of them or none.
///
/// Implemented for every [`Model`]; bring it into scope with
/// `use tethered::postgres::CopyIn`.
pub trait CopyIn: Model {
    /// Stores every model in `models` with one `COPY ... FROM STDIN (FORMAT binary)`;
    /// returns the rows stored. Generated columns are left to the database, as
    /// [`Model::insert_many`] leaves them. An empty slice sends nothing.
    ///
    /// Each value is encoded as `insert_many` binds it, for the type the server gives its
    /// column: every value is checked before the copy starts, and one its column cannot take
    /// (a `u64` over `bigint`'s range, a time with nanoseconds) is [`Error::InvalidInput`]
    /// naming the model and the column, with no row sent (the column types are read first,
    /// in one round trip). A field that cannot be represented at all (see
    /// [`Field::to_value`](tethered_core::Field::to_value)) is refused before anything is
    /// sent. The values of every model are taken before the copy starts, so its memory
    /// holds them all once.
    ///
    /// The copy is one statement, on `db`'s connection (a pool checks one out under `ctx`;
    /// a transaction's copy is part of it): the server stores all of its rows or none,
    /// whether `db` is a pool, a connection or a transaction. When `ctx` ends mid-copy, the
    /// copy is given up before its next row and stopped on the server, nothing of it is
    /// stored, and the call returns [`Error::Canceled`] with the cause and
    /// [`StatementOutcome::Stopped`](tethered_core::StatementOutcome::Stopped); the
    /// connection is kept once the server has confirmed the stop. A context that ends after
    /// the last row has gone out races the server's commit, as any statement's stop does:
    /// the outcome says which won.
    ///
    /// Cancel safe as every statement is: dropped, the copy is given up and stopped on the
    /// server in the background, nothing of it is stored, and the connection is reused only
    /// once the server has confirmed the stop.
    fn copy_in<T, E>(ctx: &Ctx, db: E, models: &[Self]) -> impl Future<Output = Result<u64>> + Send
    where
        T: PgTls,
        E: Executor<Postgres<T>>,
    {
        copy_models(ctx, db, models, None)
    }

    /// [`CopyIn::copy_in`], with `comment` at the end of the `COPY`'s text
    /// (`/* comment */`), so that the server's view of what runs (`pg_stat_activity`) and its
    /// logs show whose copy it is: a request or trace id. A comment holding `/*` or `*/` is
    /// [`Error::InvalidInput`], before anything is sent.
    ///
    /// Cancel safe as `copy_in` is: dropped, the copy is stopped on the server and nothing
    /// of it is stored.
    fn copy_in_with_comment<T, E>(
        ctx: &Ctx,
        db: E,
        models: &[Self],
        comment: &str,
    ) -> impl Future<Output = Result<u64>> + Send
    where
        T: PgTls,
        E: Executor<Postgres<T>>,
    {
        copy_models(ctx, db, models, Some(comment))
    }
}

impl<M: Model> CopyIn for M {}

/// The copy of `models` into `M`'s table (see [`CopyIn::copy_in`]).
async fn copy_models<M, T, E>(ctx: &Ctx, db: E, models: &[M], comment: Option<&str>) -> Result<u64>
where
    M: Model,
    T: PgTls,
    E: Executor<Postgres<T>>,
{
    if models.is_empty() {
        return Ok(0);
    }
    let sql = CopySql::new::<M>(comment)?;
    let rows = models
        .iter()
        .map(stored_values)
        .collect::<Result<Vec<_>>>()?;
    // The copy's own context: it ends with `ctx`, and when this future is dropped (the
    // scope with it), so that the copy, run by the stop task from then on, gives up.
    let copy = ctx.child();
    let copy_ctx = copy.ctx().clone();
    db.run(&copy, move |connection| {
        Box::pin(async move { connection.copy_in(&copy_ctx, &sql, &rows).await })
    })
    .await
}

/// The values of `model`'s stored columns that are not generated, in column order.
fn stored_values<M: Model>(model: &M) -> Result<Vec<Value>> {
    let values = model.values()?;
    if values.len() != M::COLUMNS.len() {
        return Err(Error::InvalidInput(format!(
            "`{}` gave {} values for its {} columns",
            M::TABLE,
            values.len(),
            M::COLUMNS.len()
        )));
    }
    Ok(M::COLUMNS
        .iter()
        .zip(values)
        .filter(|(column, _)| !column.generated)
        .map(|(_, value)| value)
        .collect())
}

/// The texts of one model's copy: the `COPY` itself, and the insert of the same columns
/// whose preparation tells their types.
#[derive(Debug)]
pub(crate) struct CopySql {
    table: &'static str,
    columns: Vec<&'static str>,
    statement: String,
    probe: String,
}

impl CopySql {
    fn new<M: Model>(comment: Option<&str>) -> Result<CopySql> {
        let columns: Vec<&'static str> = M::COLUMNS
            .iter()
            .filter(|column| !column.generated)
            .map(|column| column.name)
            .collect();
        if columns.is_empty() {
            return Err(Error::InvalidInput(format!(
                "`{}` has no column to copy: every one is generated",
                M::TABLE
            )));
        }
        let mut statement = String::from("COPY ");
        quote(M::TABLE, &mut statement);
        statement.push_str(" (");
        for (n, column) in columns.iter().enumerate() {
            if n > 0 {
                statement.push_str(", ");
            }
            quote(column, &mut statement);
        }
        statement.push_str(") FROM STDIN (FORMAT binary)");
        if let Some(comment) = comment {
            if comment.contains("/*") || comment.contains("*/") {
                return Err(Error::InvalidInput(format!(
                    "a copy's comment cannot hold `/*` or `*/`: {comment:?}"
                )));
            }
            statement.push_str(" /* ");
            statement.push_str(comment);
            statement.push_str(" */");
        }
        let mut probe = Query::insert();
        probe
            .into_table(Alias::new(M::TABLE))
            .columns(columns.iter().map(|column| Alias::new(*column)))
            .values_panic(columns.iter().map(|_| Expr::val(Value::Int(None))));
        let (probe, _) = probe.build(PostgresQueryBuilder);
        Ok(CopySql {
            table: M::TABLE,
            columns,
            statement,
            probe,
        })
    }

    /// The `COPY` statement.
    pub(crate) fn statement(&self) -> &str {
        &self.statement
    }

    /// An insert of the copied columns, one placeholder each: prepared, the server says the
    /// type of each column.
    pub(crate) fn probe(&self) -> &str {
        &self.probe
    }
}

/// Writes `name` quoted as an identifier, as sea-query quotes every other one.
fn quote(name: &str, sql: &mut String) {
    PostgresQueryBuilder.prepare_iden(&Alias::new(name).into_iden(), sql);
}

/// Refuses, before the copy starts, a row whose values its columns (of `types`) cannot
/// take: each value is encoded as the copy will encode it, so the copy itself cannot fail
/// on one.
pub(crate) fn check_rows(copy: &CopySql, rows: &[Vec<Value>], types: &[Type]) -> Result<()> {
    let mut scratch = BytesMut::new();
    for (index, row) in rows.iter().enumerate() {
        if row.len() != types.len() {
            return Err(Error::InvalidInput(format!(
                "model {index} of the copy into `{}` has {} values for {} columns",
                copy.table,
                row.len(),
                types.len()
            )));
        }
        for ((value, ty), column) in row.iter().zip(types).zip(&copy.columns) {
            scratch.clear();
            CopyValue(value).to_sql(ty, &mut scratch).map_err(|error| {
                Error::InvalidInput(format!(
                    "model {index} of the copy into `{}`, column `{column}`: {error}",
                    copy.table
                ))
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tethered_core::ColumnInfo;

    use super::*;

    struct Odd;

    impl Model for Odd {
        const TABLE: &'static str = "odd \"table\"";
        const COLUMNS: &'static [ColumnInfo] = &[
            ColumnInfo {
                name: "id",
                generated: true,
            },
            ColumnInfo {
                name: "name",
                generated: false,
            },
            ColumnInfo {
                name: "at",
                generated: false,
            },
        ];

        fn values(&self) -> Result<Vec<Value>> {
            Ok(vec![
                Value::BigInt(Some(0)),
                Value::String(Some("n".into())),
                Value::BigUnsigned(Some(u64::MAX)),
            ])
        }
    }

    #[test]
    fn the_copy_names_the_stored_columns_quoted_and_its_comment() {
        let sql = CopySql::new::<Odd>(Some("request 42")).expect("sql");
        assert_eq!(
            sql.statement(),
            r#"COPY "odd ""table""" ("name", "at") FROM STDIN (FORMAT binary) /* request 42 */"#
        );
        assert_eq!(
            sql.probe(),
            r#"INSERT INTO "odd ""table""" ("name", "at") VALUES ($1, $2)"#
        );
        for comment in ["a */ DROP TABLE x; /* b", "nested /* comment"] {
            assert!(matches!(
                CopySql::new::<Odd>(Some(comment)),
                Err(Error::InvalidInput(_))
            ));
        }
    }

    #[test]
    fn a_value_its_column_cannot_take_is_refused_naming_the_model_and_column() {
        let sql = CopySql::new::<Odd>(None).expect("sql");
        let rows = vec![stored_values(&Odd).expect("values")];
        let error = check_rows(&sql, &rows, &[Type::TEXT, Type::INT8]).expect_err("refused");
        let message = error.to_string();
        assert!(
            message.contains("model 0") && message.contains("column `at`"),
            "{message}"
        );
        assert!(
            message.contains("18446744073709551615 does not fit"),
            "{message}"
        );
        assert!(
            check_rows(&sql, &rows, &[Type::TEXT]).is_err(),
            "too few columns"
        );
        let fits = vec![vec![Value::String(None), Value::Int(Some(1))]];
        check_rows(&sql, &fits, &[Type::TEXT, Type::INT8]).expect("fits");
    }
}
