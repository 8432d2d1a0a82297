//! PostgreSQL rows, and decoding their columns into Rust types.
//!
//! Integers decode from any integer column when the value fits (a `count(*)` into an
//! `i32` works; a value out of range is an error, never a truncation), and from a `numeric`
//! holding a whole number, as `SUM(bigint)` returns (a fraction is an error that says to
//! decode into `Decimal` or cast). `String` decodes from text columns, native enum types,
//! `json`/`jsonb` and `numeric` (its exact digits). `Decimal` decodes from `numeric` only
//! when every digit fits (28 after the point, 96 bits in all), never rounded. Floats,
//! bytes, booleans and the other column types decode only from their own types (see the
//! crate's type table). Every error names the column.

use std::any::type_name;

use std::fmt::Write;
use tethered_core::{ColumnRef, Decodes, Error, FromRow, Result, Row};

use tokio_postgres::types::{FromSql, Kind, Type};

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
            .ok_or_else(|| Error::missing_column(column, rust_type))?;
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

impl Row for PgRow {
    fn column_name(&self, column: ColumnRef<'_>) -> Option<&str> {
        let columns = self.0.columns();
        let index = column.locate(columns.len(), |i, name| columns[i].name() == name)?;
        Some(columns[index].name())
    }
}

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

/// Any integer column, or a whole `numeric`, as the widest integer.
fn integer(ty: &Type, bytes: &[u8]) -> Result<i128, BoxError> {
    Ok(match *ty {
        Type::NUMERIC => {
            let text = numeric_text(bytes)?;
            let whole = match text.split_once('.') {
                Some((whole, fraction)) if fraction.bytes().all(|digit| digit == b'0') => whole,
                Some(_) => {
                    return Err(format!(
                        "the numeric value {text} is not a whole number: decode it into a \
                         Decimal (feature `decimal`) or cast it in SQL"
                    )
                    .into());
                }
                None => &text,
            };
            whole
                .parse()
                .map_err(|_| format!("the numeric value {text} does not fit in an integer"))?
        }
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

exact!(bool, f32, Vec<u8>);

#[cfg(feature = "chrono")]
exact!(
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::FixedOffset>,
    chrono::NaiveDateTime,
    chrono::NaiveDate,
    chrono::NaiveTime
);

#[cfg(feature = "time")]
exact!(
    time::OffsetDateTime,
    time::PrimitiveDateTime,
    time::Date,
    time::Time
);

#[cfg(feature = "uuid")]
exact!(uuid::Uuid);

#[cfg(feature = "json")]
exact!(serde_json::Value);

impl FromPg for String {
    fn from_pg(ty: &Type, bytes: &[u8]) -> Result<String, BoxError> {
        match (ty, ty.kind()) {
            // A native enum's label, and JSON's text, arrive as UTF-8 (jsonb after its
            // format version).
            (_, Kind::Enum(_)) | (&Type::JSON, _) => Ok(std::str::from_utf8(bytes)?.to_owned()),
            (&Type::JSONB, _) => match bytes.split_first() {
                Some((1, json)) => Ok(std::str::from_utf8(json)?.to_owned()),
                _ => Err("a jsonb value in an unknown format".into()),
            },
            (&Type::NUMERIC, _) => numeric_text(bytes),
            _ if <String as FromSql>::accepts(ty) => String::from_sql(ty, bytes),
            _ => Err(not_from(ty)),
        }
    }
}

/// Parsed from the exact digits, so a value with more than `Decimal` holds is refused,
/// never rounded (as rust_decimal's own decoding would).
#[cfg(feature = "decimal")]
impl FromPg for rust_decimal::Decimal {
    fn from_pg(ty: &Type, bytes: &[u8]) -> Result<rust_decimal::Decimal, BoxError> {
        if *ty != Type::NUMERIC {
            return Err(not_from(ty));
        }
        tethered_core::decimal_from_text(&numeric_text(bytes)?)
    }
}

/// A `numeric` in PostgreSQL's binary form, as its exact decimal text (`-12.50`): a sign,
/// a weight (the power of 10000 of the first digit), the display scale and base-10000
/// digits. NaN and the infinities have no number to give.
fn numeric_text(bytes: &[u8]) -> Result<String, BoxError> {
    let word = |index: usize| -> Result<u16, BoxError> {
        bytes
            .get(2 * index..2 * index + 2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
            .ok_or_else(|| "a truncated numeric value".into())
    };
    let (count, weight, sign, scale) = (
        usize::from(word(0)?),
        i32::from(word(1)? as i16),
        word(2)?,
        usize::from(word(3)?),
    );
    let digit = |position: i32| -> Result<u16, BoxError> {
        match usize::try_from(position) {
            Ok(index) if index < count => word(4 + index),
            _ => Ok(0),
        }
    };
    let mut text = String::new();
    match sign {
        0x0000 => {}
        0x4000 => text.push('-'),
        0xC000 => return Err("the numeric value is NaN".into()),
        _ => return Err("the numeric value is infinite".into()),
    }
    if weight < 0 {
        text.push('0');
    }
    for position in 0..=weight {
        let value = digit(position)?;
        let _ = if position == 0 {
            write!(text, "{value}")
        } else {
            write!(text, "{value:04}")
        };
    }
    if scale > 0 {
        let mut fraction = String::new();
        let mut position = weight + 1;
        while fraction.len() < scale {
            let _ = write!(fraction, "{:04}", digit(position)?);
            position += 1;
        }
        fraction.truncate(scale);
        text.push('.');
        text.push_str(&fraction);
    }
    Ok(text)
}

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

tethered_core::column_types!(decode);

#[cfg(test)]
mod tests {
    use super::numeric_text;

    /// PostgreSQL's binary form of a numeric: count, weight, sign, scale, digits.
    fn numeric(weight: i16, sign: u16, scale: u16, digits: &[u16]) -> Vec<u8> {
        let count = u16::try_from(digits.len()).expect("few digits");
        [count, weight as u16, sign, scale]
            .iter()
            .chain(digits)
            .flat_map(|word| word.to_be_bytes())
            .collect()
    }

    #[test]
    fn numerics_become_their_exact_text() {
        let text = |weight, sign, scale, digits: &[u16]| {
            numeric_text(&numeric(weight, sign, scale, digits)).expect("a number")
        };
        assert_eq!(text(0, 0, 0, &[]), "0");
        assert_eq!(text(0, 0, 0, &[42]), "42");
        assert_eq!(text(1, 0x4000, 2, &[12, 3456, 7800]), "-123456.78");
        assert_eq!(text(2, 0, 0, &[1]), "100000000");
        assert_eq!(text(-2, 0, 6, &[1200]), "0.000012");
        assert_eq!(text(-1, 0, 4, &[12]), "0.0012");
        assert_eq!(text(0, 0, 3, &[1]), "1.000");
        assert!(numeric_text(&numeric(0, 0xC000, 0, &[])).is_err(), "NaN");
        assert!(numeric_text(&[0, 1]).is_err(), "truncated");
    }
}
