//! What is sent: SQL text with its bound values, from raw text or a sea-query statement.

use std::borrow::Cow;

use sea_query::{
    DeleteStatement, IndexCreateStatement, IndexDropStatement, InsertStatement, SelectStatement,
    TableAlterStatement, TableCreateStatement, TableDropStatement, TableTruncateStatement,
    UpdateStatement, Value, Values, WithQuery,
};

use crate::driver::Driver;

/// SQL text and the values bound to its placeholders (`$1`, `$2`… on PostgreSQL, `?` on
/// MySQL/MariaDB). Values travel separately from the text, so they are never spliced into
/// it: an injection-shaped string is just a string.
#[derive(Clone, Debug, PartialEq)]
pub struct Sql {
    text: Cow<'static, str>,
    values: Values,
}

impl Sql {
    /// SQL text with no values bound yet. A `&'static str` is kept without a copy.
    pub fn new(text: impl Into<Cow<'static, str>>) -> Sql {
        Sql {
            text: text.into(),
            values: Values(Vec::new()),
        }
    }

    /// Binds the next placeholder to `value`.
    pub fn bind(mut self, value: impl Into<Value>) -> Sql {
        self.values.0.push(value.into());
        self
    }

    /// The SQL text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The bound values, in placeholder order.
    pub fn values(&self) -> &Values {
        &self.values
    }

    /// The text and the values.
    pub fn into_parts(self) -> (Cow<'static, str>, Values) {
        (self.text, self.values)
    }
}

/// Anything that becomes [`Sql`] for backend `D`: raw text, [`Sql`], or a sea-query
/// statement, built with `D`'s own query builder.
pub trait IntoSql<D: Driver> {
    /// The SQL for `D`.
    fn into_sql(self) -> Sql;
}

impl<D: Driver> IntoSql<D> for Sql {
    fn into_sql(self) -> Sql {
        self
    }
}

impl<D: Driver> IntoSql<D> for &str {
    fn into_sql(self) -> Sql {
        Sql::new(self.to_owned())
    }
}

impl<D: Driver> IntoSql<D> for String {
    fn into_sql(self) -> Sql {
        Sql::new(self)
    }
}

macro_rules! query_statements {
    ($($statement:ty),* $(,)?) => {$(
        impl<D: Driver> IntoSql<D> for &$statement {
            fn into_sql(self) -> Sql {
                let (text, values) = self.build(D::QueryBuilder::default());
                Sql { text: text.into(), values }
            }
        }

        impl<D: Driver> IntoSql<D> for $statement {
            fn into_sql(self) -> Sql {
                IntoSql::<D>::into_sql(&self)
            }
        }
    )*};
}

query_statements!(
    SelectStatement,
    InsertStatement,
    UpdateStatement,
    DeleteStatement,
    WithQuery
);

macro_rules! schema_statements {
    ($($statement:ty),* $(,)?) => {$(
        impl<D: Driver> IntoSql<D> for &$statement {
            fn into_sql(self) -> Sql {
                Sql::new(self.build(D::QueryBuilder::default()))
            }
        }

        impl<D: Driver> IntoSql<D> for $statement {
            fn into_sql(self) -> Sql {
                IntoSql::<D>::into_sql(&self)
            }
        }
    )*};
}

schema_statements!(
    TableCreateStatement,
    TableAlterStatement,
    TableDropStatement,
    TableTruncateStatement,
    IndexCreateStatement,
    IndexDropStatement,
);
