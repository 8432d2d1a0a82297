//! MySQL/MariaDB rows, and decoding their columns into Rust types.
//!
//! A value arrives as text (statements without bound values use the text protocol) or in
//! binary form; either decodes the same way, directed by the column's type:
//!
//! - integers (and `bool`, from 0 or 1) from integer columns, and from DECIMAL columns
//!   holding a whole number (`SUM` of integers is a DECIMAL); a value out of the type's range
//!   is an error, never a truncation;
//! - `f32` from FLOAT columns, `f64` from FLOAT and DOUBLE columns;
//! - `String` from text columns (not binary ones), JSON and DECIMAL columns;
//! - `Vec<u8>` from text and binary string columns, BIT and GEOMETRY;
//! - chrono's `NaiveDateTime`, `DateTime<Utc>` and `DateTime<FixedOffset>` (in UTC) from
//!   DATETIME and TIMESTAMP columns, `NaiveDate` from DATE, `NaiveTime` from a TIME between
//!   0 and 24 hours (a duration beyond is an error);
//! - `Uuid` from its text (`CHAR(36)`, MariaDB's `UUID`) or its 16 bytes (`BINARY(16)`);
//! - `serde_json::Value` from JSON and text columns;
//! - `Decimal` from DECIMAL and integer columns, only when every digit fits (never
//!   rounded).
//!
//! Every error names the column.

use std::any::type_name;
use std::str::FromStr;

use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::{Column as MyColumn, Value as MyValue};
use tethered_core::{BoxError, ColumnRef, Decodes, Error, FromRow, Result, Row};

/// The character set number MySQL gives binary strings.
const BINARY_CHARSET: u16 = 63;

/// A row returned by MySQL/MariaDB.
#[derive(Debug)]
pub struct MyRow(mysql_async::Row);

impl MyRow {
    pub(crate) fn new(row: mysql_async::Row) -> MyRow {
        MyRow(row)
    }

    /// The mysql_async row, for what tethered does not decode.
    pub fn as_mysql_async(&self) -> &mysql_async::Row {
        &self.0
    }

    /// The column's description and value.
    fn field(&self, column: ColumnRef<'_>, rust_type: &'static str) -> Result<Field<'_>> {
        let columns = self.0.columns_ref();
        let index = column
            .locate(columns.len(), |i, name| {
                columns[i].name_ref() == name.as_bytes()
            })
            .ok_or_else(|| Error::missing_column(column, rust_type))?;
        let value = self
            .0
            .as_ref(index)
            .ok_or_else(|| Error::decode(column, rust_type, "the value was already taken"))?;
        Ok(Field {
            column: &columns[index],
            value,
        })
    }
}

impl Row for MyRow {
    fn column_name(&self, column: ColumnRef<'_>) -> Option<&str> {
        let columns = self.0.columns_ref();
        let index = column.locate(columns.len(), |i, name| {
            columns[i].name_ref() == name.as_bytes()
        })?;
        std::str::from_utf8(columns[index].name_ref()).ok()
    }
}

impl FromRow<MyRow> for MyRow {
    fn from_row(row: MyRow) -> Result<MyRow> {
        Ok(row)
    }
}

struct Field<'r> {
    column: &'r MyColumn,
    value: &'r MyValue,
}

impl Field<'_> {
    fn error(&self, rust_type: &'static str, source: impl Into<BoxError>) -> Error {
        Error::decode(ColumnRef::Name(&self.column.name_str()), rust_type, source)
    }
}

/// What a column holds, as far as decoding is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Integer,
    Decimal,
    Float,
    Double,
    Text,
    Binary,
    Date,
    DateTime,
    Time,
    Other,
}

impl Kind {
    fn of(column: &MyColumn) -> Kind {
        use ColumnType::*;
        match column.column_type() {
            MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG
            | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => Kind::Integer,
            MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => Kind::Decimal,
            MYSQL_TYPE_FLOAT => Kind::Float,
            MYSQL_TYPE_DOUBLE => Kind::Double,
            // MySQL 8 reports JSON with the binary character set; it is text all the same.
            MYSQL_TYPE_JSON => Kind::Text,
            MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_STRING
            | MYSQL_TYPE_ENUM
            | MYSQL_TYPE_SET
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_BLOB => {
                if column.character_set() == BINARY_CHARSET {
                    Kind::Binary
                } else {
                    Kind::Text
                }
            }
            MYSQL_TYPE_BIT | MYSQL_TYPE_GEOMETRY => Kind::Binary,
            MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => Kind::Date,
            MYSQL_TYPE_DATETIME
            | MYSQL_TYPE_DATETIME2
            | MYSQL_TYPE_TIMESTAMP
            | MYSQL_TYPE_TIMESTAMP2 => Kind::DateTime,
            MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => Kind::Time,
            _ => Kind::Other,
        }
    }
}

fn not_from(column: &MyColumn) -> BoxError {
    let ty = format!("{:?}", column.column_type());
    let ty = ty.trim_start_matches("MYSQL_TYPE_").to_ascii_lowercase();
    let unsigned = if column.flags().contains(ColumnFlags::UNSIGNED_FLAG) {
        " unsigned"
    } else {
        ""
    };
    let binary =
        if Kind::of(column) == Kind::Binary && column.column_type() != ColumnType::MYSQL_TYPE_BIT {
            " (binary)"
        } else {
            ""
        };
    format!("a column of type {ty}{unsigned}{binary} cannot be decoded into this type").into()
}

/// A value sent as text, parsed as `T`.
fn parse<T: FromStr>(text: &[u8], what: &str) -> Result<T, BoxError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| {
            format!(
                "the value {:?} is not {what}",
                String::from_utf8_lossy(text)
            )
            .into()
        })
}

/// A Rust type read from a non-NULL MySQL value.
trait FromMy: Sized {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<Self, BoxError>;
}

/// Any integer value, or a whole DECIMAL, as the widest integer.
fn integer(column: &MyColumn, value: &MyValue) -> Result<i128, BoxError> {
    match (Kind::of(column), value) {
        (Kind::Integer, MyValue::Int(v)) => Ok((*v).into()),
        (Kind::Integer, MyValue::UInt(v)) => Ok((*v).into()),
        (Kind::Integer | Kind::Decimal, MyValue::Bytes(text)) => parse(text, "an integer"),
        _ => Err(not_from(column)),
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl FromMy for $t {
            fn from_my(column: &MyColumn, value: &MyValue) -> Result<$t, BoxError> {
                let value = integer(column, value)?;
                <$t>::try_from(value)
                    .map_err(|_| format!("the value {value} does not fit in {}", type_name::<$t>()).into())
            }
        }
    )*};
}

integers!(i8, i16, i32, i64, u8, u16, u32, u64);

impl FromMy for bool {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<bool, BoxError> {
        match integer(column, value)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!("the value {other} is not a boolean (0 or 1)").into()),
        }
    }
}

impl FromMy for f32 {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<f32, BoxError> {
        match (Kind::of(column), value) {
            (Kind::Float, MyValue::Float(v)) => Ok(*v),
            (Kind::Float, MyValue::Bytes(text)) => parse(text, "a float"),
            _ => Err(not_from(column)),
        }
    }
}

impl FromMy for f64 {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<f64, BoxError> {
        match (Kind::of(column), value) {
            (Kind::Float, _) => f32::from_my(column, value).map(f64::from),
            (Kind::Double, MyValue::Double(v)) => Ok(*v),
            (Kind::Double, MyValue::Bytes(text)) => parse(text, "a double"),
            _ => Err(not_from(column)),
        }
    }
}

impl FromMy for String {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<String, BoxError> {
        match (Kind::of(column), value) {
            (Kind::Text | Kind::Decimal, MyValue::Bytes(bytes)) => {
                Ok(String::from_utf8(bytes.clone())?)
            }
            _ => Err(not_from(column)),
        }
    }
}

impl FromMy for Vec<u8> {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<Vec<u8>, BoxError> {
        match (Kind::of(column), value) {
            (Kind::Text | Kind::Binary, MyValue::Bytes(bytes)) => Ok(bytes.clone()),
            _ => Err(not_from(column)),
        }
    }
}

/// A date or time value, through mysql_common's own conversion, from the column kind
/// `kind` only (a DATETIME is not silently cut to its date).
#[cfg(any(feature = "chrono", feature = "time"))]
fn temporal<T: mysql_async::prelude::FromValue>(
    column: &MyColumn,
    value: &MyValue,
    kind: Kind,
    what: &str,
) -> Result<T, BoxError> {
    if Kind::of(column) != kind {
        return Err(not_from(column));
    }
    mysql_async::from_value_opt(value.clone())
        .map_err(|_| format!("the value {} is not {what}", value.as_sql(true)).into())
}

#[cfg(feature = "chrono")]
impl FromMy for chrono::NaiveDateTime {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<Self, BoxError> {
        temporal(column, value, Kind::DateTime, "a date and time")
    }
}

#[cfg(feature = "chrono")]
impl FromMy for chrono::DateTime<chrono::Utc> {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<Self, BoxError> {
        chrono::NaiveDateTime::from_my(column, value).map(|value| value.and_utc())
    }
}

#[cfg(feature = "chrono")]
impl FromMy for chrono::DateTime<chrono::FixedOffset> {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<Self, BoxError> {
        chrono::NaiveDateTime::from_my(column, value).map(|value| value.and_utc().fixed_offset())
    }
}

#[cfg(feature = "chrono")]
impl FromMy for chrono::NaiveDate {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<Self, BoxError> {
        temporal(column, value, Kind::Date, "a date")
    }
}

#[cfg(feature = "chrono")]
impl FromMy for chrono::NaiveTime {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<Self, BoxError> {
        temporal(column, value, Kind::Time, "a time of day (0 to 24 hours)")
    }
}

#[cfg(feature = "time")]
impl FromMy for time::PrimitiveDateTime {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<Self, BoxError> {
        temporal(column, value, Kind::DateTime, "a date and time")
    }
}

#[cfg(feature = "time")]
impl FromMy for time::OffsetDateTime {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<Self, BoxError> {
        time::PrimitiveDateTime::from_my(column, value).map(time::PrimitiveDateTime::assume_utc)
    }
}

#[cfg(feature = "time")]
impl FromMy for time::Date {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<Self, BoxError> {
        temporal(column, value, Kind::Date, "a date")
    }
}

#[cfg(feature = "time")]
impl FromMy for time::Time {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<Self, BoxError> {
        temporal(column, value, Kind::Time, "a time of day (0 to 24 hours)")
    }
}

#[cfg(feature = "uuid")]
impl FromMy for uuid::Uuid {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<Self, BoxError> {
        match (Kind::of(column), value) {
            (Kind::Text, MyValue::Bytes(text)) => Ok(uuid::Uuid::try_parse_ascii(text)?),
            (Kind::Binary, MyValue::Bytes(bytes)) => Ok(uuid::Uuid::from_slice(bytes)?),
            _ => Err(not_from(column)),
        }
    }
}

#[cfg(feature = "json")]
impl FromMy for serde_json::Value {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<Self, BoxError> {
        match (Kind::of(column), value) {
            (Kind::Text, MyValue::Bytes(text)) => Ok(serde_json::from_slice(text)?),
            _ => Err(not_from(column)),
        }
    }
}

/// Parsed from the exact digits, so a value with more than `Decimal` holds is refused,
/// never rounded.
#[cfg(feature = "decimal")]
impl FromMy for rust_decimal::Decimal {
    fn from_my(column: &MyColumn, value: &MyValue) -> Result<Self, BoxError> {
        let text = match (Kind::of(column), value) {
            (Kind::Integer, MyValue::Int(v)) => return Ok((*v).into()),
            (Kind::Integer, MyValue::UInt(v)) => return Ok((*v).into()),
            (Kind::Integer | Kind::Decimal, MyValue::Bytes(text)) => std::str::from_utf8(text)?,
            _ => return Err(not_from(column)),
        };
        tethered_core::decimal_from_text(text)
    }
}

macro_rules! decode {
    ($($t:ty),*) => {$(
        impl Decodes<$t> for MyRow {
            fn decode(&self, column: ColumnRef<'_>) -> Result<$t> {
                let rust_type = type_name::<$t>();
                let field = self.field(column, rust_type)?;
                if *field.value == MyValue::NULL {
                    return Err(field.error(rust_type, "the value is NULL; decode into an Option"));
                }
                <$t as FromMy>::from_my(field.column, field.value)
                    .map_err(|error| field.error(rust_type, error))
            }
        }

        impl Decodes<Option<$t>> for MyRow {
            fn decode(&self, column: ColumnRef<'_>) -> Result<Option<$t>> {
                let rust_type = type_name::<Option<$t>>();
                let field = self.field(column, rust_type)?;
                if *field.value == MyValue::NULL {
                    return Ok(None);
                }
                <$t as FromMy>::from_my(field.column, field.value)
                    .map(Some)
                    .map_err(|error| field.error(rust_type, error))
            }
        }
    )*};
}

tethered_core::column_types!(decode);
