//! PostgreSQL rows, and decoding their columns into Rust types.
//!
//! Integers decode from any integer column when the value fits (a `count(*)` into an
//! `i32` works; a value out of range is an error, never a truncation). Floats, text,
//! bytes and booleans decode only from their own types. Every error names the column.

use std::any::type_name;

use tethered_core::{ColumnRef, Decodes, Error, FromRow, Result, Row};
use tokio_postgres::types::{FromSql, Type};

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// A row returned by PostgreSQL.
#[derive(Debug)]
pub struct PgRow(tokio_postgres::Row);

impl PgRow {
    pub(crate) fn new(row: tokio_postgres::Row) -> PgRow {
        PgRow(row)
    }

    /// The tokio-postgres row, for what tethered does not decode.
    pub fn as_tokio_postgres(&self) -> &tokio_postgres::Row {
        &self.0
    }

    /// The column's name, type and raw bytes (`None` for NULL).
    fn field(&self, column: ColumnRef<'_>, rust_type: &'static str) -> Result<Field<'_>> {
        let columns = self.0.columns();
        let index = column
            .locate(columns.len(), |i, name| columns[i].name() == name)
            .ok_or_else(|| Error::decode(column, rust_type, "the row has no such column"))?;
        let name = columns[index].name();
        let Raw(bytes) = self
            .0
            .try_get(index)
            .map_err(|error| Error::decode(ColumnRef::Name(name), rust_type, error))?;
        Ok(Field {
            name,
            ty: columns[index].type_(),
            bytes,
        })
    }
}

impl Row for PgRow {}

impl FromRow<PgRow> for PgRow {
    fn from_row(row: PgRow) -> Result<PgRow> {
        Ok(row)
    }
}

struct Field<'r> {
    name: &'r str,
    ty: &'r Type,
    bytes: Option<&'r [u8]>,
}

/// A column's raw bytes, whatever its type.
struct Raw<'r>(Option<&'r [u8]>);

impl<'r> FromSql<'r> for Raw<'r> {
    fn from_sql(_: &Type, raw: &'r [u8]) -> Result<Raw<'r>, BoxError> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Raw<'r>, BoxError> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A Rust type read from a non-NULL PostgreSQL value.
trait FromPg: Sized {
    fn from_pg(ty: &Type, bytes: &[u8]) -> Result<Self, BoxError>;
}

fn not_from(ty: &Type) -> BoxError {
    format!("a column of type {ty} cannot be decoded into this type").into()
}

/// Any integer column, as the widest integer.
fn integer(ty: &Type, bytes: &[u8]) -> Result<i128, BoxError> {
    Ok(match *ty {
        Type::INT2 => i16::from_sql(ty, bytes)?.into(),
        Type::INT4 => i32::from_sql(ty, bytes)?.into(),
        Type::INT8 => i64::from_sql(ty, bytes)?.into(),
        Type::CHAR => i8::from_sql(ty, bytes)?.into(),
        Type::OID => u32::from_sql(ty, bytes)?.into(),
        _ => return Err(not_from(ty)),
    })
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl FromPg for $t {
            fn from_pg(ty: &Type, bytes: &[u8]) -> Result<$t, BoxError> {
                let value = integer(ty, bytes)?;
                <$t>::try_from(value)
                    .map_err(|_| format!("the value {value} does not fit in {}", type_name::<$t>()).into())
            }
        }
    )*};
}

integers!(i8, i16, i32, i64, u8, u16, u32, u64);

/// Types decoded only from the column types tokio-postgres maps them to.
macro_rules! exact {
    ($($t:ty),*) => {$(
        impl FromPg for $t {
            fn from_pg(ty: &Type, bytes: &[u8]) -> Result<$t, BoxError> {
                if !<$t as FromSql>::accepts(ty) {
                    return Err(not_from(ty));
                }
                <$t as FromSql>::from_sql(ty, bytes)
            }
        }
    )*};
}

exact!(bool, f32, String, Vec<u8>);

impl FromPg for f64 {
    fn from_pg(ty: &Type, bytes: &[u8]) -> Result<f64, BoxError> {
        match *ty {
            Type::FLOAT4 => f32::from_sql(ty, bytes).map(f64::from),
            Type::FLOAT8 => f64::from_sql(ty, bytes),
            _ => Err(not_from(ty)),
        }
    }
}

macro_rules! decode {
    ($($t:ty),*) => {$(
        impl Decodes<$t> for PgRow {
            fn decode(&self, column: ColumnRef<'_>) -> Result<$t> {
                let rust_type = type_name::<$t>();
                let field = self.field(column, rust_type)?;
                let bytes = field.bytes.ok_or_else(|| {
                    Error::decode(ColumnRef::Name(field.name), rust_type, "the value is NULL; decode into an Option")
                })?;
                <$t as FromPg>::from_pg(field.ty, bytes)
                    .map_err(|error| Error::decode(ColumnRef::Name(field.name), rust_type, error))
            }
        }

        impl Decodes<Option<$t>> for PgRow {
            fn decode(&self, column: ColumnRef<'_>) -> Result<Option<$t>> {
                let rust_type = type_name::<Option<$t>>();
                let field = self.field(column, rust_type)?;
                field
                    .bytes
                    .map(|bytes| <$t as FromPg>::from_pg(field.ty, bytes))
                    .transpose()
                    .map_err(|error| Error::decode(ColumnRef::Name(field.name), rust_type, error))
            }
        }
    )*};
}

tethered_core::standard_types!(decode);
