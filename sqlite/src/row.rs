//! SQLite rows, and decoding their values into Rust types.
//!
//! SQLite stores each value in one of five classes (NULL, INTEGER, REAL, TEXT, BLOB),
//! whatever a column's declared type; decoding goes by the value's class:
//!
//! - integers from INTEGER when the value fits (never truncated), `bool` from 0 or 1;
//! - `f64` from REAL, and from INTEGER when exact; `f32` from REAL within its range;
//! - `String` from TEXT; `Vec<u8>` from BLOB and TEXT;
//! - times from their ISO-8601 text (`YYYY-MM-DD HH:MM:SS[.ffffff][Z|±HH:MM]`, a `T`
//!   between date and time too), the text SQLite's date functions write and read; an
//!   instant without an offset is taken as UTC;
//! - `Uuid` from its text or its 16 bytes; JSON from text; `Decimal` from text or INTEGER,
//!   only when every digit fits.
//!
//! Every error names the column.

use std::any::type_name;
use std::sync::Arc;

use rusqlite::types::Value;
use tethered_core::{BoxError, ColumnRef, Decodes, Error, FromRow, Result, Row};

/// A row returned by SQLite: its column names and values, read off the connection's
/// thread.
#[derive(Clone, Debug)]
pub struct SqliteRow {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl SqliteRow {
    pub(crate) fn new(columns: Arc<[String]>, values: Vec<Value>) -> SqliteRow {
        SqliteRow { columns, values }
    }

    /// The values, in column order, as rusqlite holds them.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The column names, as SQLite reports them.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    fn locate(&self, column: ColumnRef<'_>) -> Option<usize> {
        column.locate(self.columns.len(), |i, name| self.columns[i] == name)
    }
}

impl Row for SqliteRow {
    fn column_name(&self, column: ColumnRef<'_>) -> Option<&str> {
        self.locate(column).map(|i| self.columns[i].as_str())
    }
}

impl FromRow<SqliteRow> for SqliteRow {
    fn from_row(row: SqliteRow) -> Result<SqliteRow> {
        Ok(row)
    }
}

fn class(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Integer(_) => "INTEGER",
        Value::Real(_) => "REAL",
        Value::Text(_) => "TEXT",
        Value::Blob(_) => "BLOB",
    }
}

fn not_from(value: &Value) -> BoxError {
    format!(
        "an SQLite {} value cannot be decoded into this type",
        class(value)
    )
    .into()
}

/// A Rust type read from a non-NULL SQLite value.
trait FromSqlite: Sized {
    fn from_sqlite(value: &Value) -> Result<Self, BoxError>;
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl FromSqlite for $t {
            fn from_sqlite(value: &Value) -> Result<$t, BoxError> {
                match value {
                    Value::Integer(v) => <$t>::try_from(*v).map_err(|_| {
                        format!("the value {v} does not fit in {}", type_name::<$t>()).into()
                    }),
                    other => Err(not_from(other)),
                }
            }
        }
    )*};
}

integers!(i8, i16, i32, i64, u8, u16, u32, u64);

impl FromSqlite for bool {
    fn from_sqlite(value: &Value) -> Result<bool, BoxError> {
        match value {
            Value::Integer(0) => Ok(false),
            Value::Integer(1) => Ok(true),
            Value::Integer(other) => {
                Err(format!("the value {other} is not a boolean (0 or 1)").into())
            }
            other => Err(not_from(other)),
        }
    }
}

impl FromSqlite for f64 {
    fn from_sqlite(value: &Value) -> Result<f64, BoxError> {
        match value {
            Value::Real(v) => Ok(*v),
            #[allow(clippy::cast_precision_loss)]
            Value::Integer(v) if (*v as f64) as i64 == *v && v.unsigned_abs() <= 1 << 53 => {
                Ok(*v as f64)
            }
            Value::Integer(v) => Err(format!("the value {v} is not exact as an f64").into()),
            other => Err(not_from(other)),
        }
    }
}

impl FromSqlite for f32 {
    fn from_sqlite(value: &Value) -> Result<f32, BoxError> {
        let v = f64::from_sqlite(value)?;
        if v.is_finite() && v.abs() > f64::from(f32::MAX) {
            return Err(format!("the value {v} does not fit in f32").into());
        }
        #[allow(clippy::cast_possible_truncation)]
        Ok(v as f32)
    }
}

impl FromSqlite for String {
    fn from_sqlite(value: &Value) -> Result<String, BoxError> {
        match value {
            Value::Text(text) => Ok(text.clone()),
            other => Err(not_from(other)),
        }
    }
}

impl FromSqlite for Vec<u8> {
    fn from_sqlite(value: &Value) -> Result<Vec<u8>, BoxError> {
        match value {
            Value::Blob(bytes) => Ok(bytes.clone()),
            Value::Text(text) => Ok(text.as_bytes().to_vec()),
            other => Err(not_from(other)),
        }
    }
}

/// The parts of an ISO-8601 text: `YYYY-MM-DD`, then optionally `[T ]HH:MM[:SS[.f]]`,
/// then optionally `Z` or `±HH:MM`.
#[cfg(any(feature = "chrono", feature = "time"))]
#[derive(Debug, Default, PartialEq, Eq)]
struct Parts {
    date: Option<(i32, u8, u8)>,
    clock: Option<(u8, u8, u8, u32)>,
    /// Seconds east of UTC.
    offset: Option<i32>,
}

#[cfg(any(feature = "chrono", feature = "time"))]
fn number<T: std::str::FromStr>(text: &str, digits: usize) -> Option<T> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

#[cfg(any(feature = "chrono", feature = "time"))]
fn parse_clock(text: &str) -> Option<(u8, u8, u8, u32)> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let mut fields = whole.split(':');
    let hour = number(fields.next()?, 2)?;
    let minute = number(fields.next()?, 2)?;
    let second = fields.next().map_or(Some(0), |s| number(s, 2))?;
    if fields.next().is_some() {
        return None;
    }
    let nanos = match fraction {
        None => 0,
        Some(f) if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return None;
        }
        Some(f) => f.parse::<u32>().ok()? * 10u32.pow(9 - f.len() as u32),
    };
    Some((hour, minute, second, nanos))
}

#[cfg(any(feature = "chrono", feature = "time"))]
fn parse_iso(text: &str) -> Option<Parts> {
    let text = text.trim();
    let mut parts = Parts::default();
    let (rest, offset) = if let Some(rest) = text.strip_suffix('Z') {
        (rest, Some(0))
    } else if text.len() > 6
        && matches!(text.as_bytes()[text.len() - 6], b'+' | b'-')
        && text.as_bytes()[text.len() - 3] == b':'
        && text.len() > 10
    {
        let (rest, zone) = text.split_at(text.len() - 6);
        let hours: i32 = number(&zone[1..3], 2)?;
        let minutes: i32 = number(&zone[4..6], 2)?;
        let seconds = hours * 3600 + minutes * 60;
        (
            rest,
            Some(if zone.starts_with('-') {
                -seconds
            } else {
                seconds
            }),
        )
    } else {
        (text, None)
    };
    parts.offset = offset;
    let (date, clock) = if rest.len() >= 10 && rest.as_bytes().get(4) == Some(&b'-') {
        match rest.get(10..11) {
            Some("T" | " ") => (Some(&rest[..10]), Some(&rest[11..])),
            None => (Some(rest), None),
            Some(_) => return None,
        }
    } else {
        (None, Some(rest))
    };
    if let Some(date) = date {
        let year = number(&date[0..4], 4)?;
        let month = number(date.get(5..7)?, 2)?;
        let day = number(date.get(8..10)?, 2)?;
        if date.as_bytes().get(7) != Some(&b'-') {
            return None;
        }
        parts.date = Some((year, month, day));
    }
    if let Some(clock) = clock {
        parts.clock = Some(parse_clock(clock)?);
    }
    Some(parts)
}

#[cfg(any(feature = "chrono", feature = "time"))]
fn iso(value: &Value, what: &str) -> Result<Parts, BoxError> {
    match value {
        Value::Text(text) => {
            parse_iso(text).ok_or_else(|| format!("the text {text:?} is not {what}").into())
        }
        other => Err(not_from(other)),
    }
}

#[cfg(feature = "chrono")]
mod chrono_decode {
    use super::*;
    use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};

    fn date(parts: &Parts) -> Option<NaiveDate> {
        let (y, m, d) = parts.date?;
        NaiveDate::from_ymd_opt(y, m.into(), d.into())
    }

    fn clock(parts: &Parts) -> Option<NaiveTime> {
        let (h, mi, s, n) = parts.clock?;
        NaiveTime::from_hms_nano_opt(h.into(), mi.into(), s.into(), n)
    }

    fn date_time(value: &Value) -> Result<(NaiveDateTime, Option<i32>), BoxError> {
        let what = "a date and time";
        let parts = iso(value, what)?;
        match (date(&parts), clock(&parts)) {
            (Some(d), Some(t)) => Ok((d.and_time(t), parts.offset)),
            (Some(d), None) if parts.clock.is_none() => {
                Ok((d.and_time(NaiveTime::MIN), parts.offset))
            }
            _ => Err(format!("{value:?} is not {what}").into()),
        }
    }

    impl FromSqlite for NaiveDateTime {
        fn from_sqlite(value: &Value) -> Result<Self, BoxError> {
            match date_time(value)? {
                (naive, None | Some(0)) => Ok(naive),
                (_, Some(_)) => Err("the text has a UTC offset: decode into a DateTime".into()),
            }
        }
    }

    impl FromSqlite for DateTime<Utc> {
        fn from_sqlite(value: &Value) -> Result<Self, BoxError> {
            DateTime::<FixedOffset>::from_sqlite(value).map(|v| v.to_utc())
        }
    }

    impl FromSqlite for DateTime<FixedOffset> {
        fn from_sqlite(value: &Value) -> Result<Self, BoxError> {
            let (naive, offset) = date_time(value)?;
            let offset = FixedOffset::east_opt(offset.unwrap_or(0)).ok_or("a bad offset")?;
            naive
                .and_local_timezone(offset)
                .single()
                .ok_or_else(|| "not an instant".into())
        }
    }

    impl FromSqlite for NaiveDate {
        fn from_sqlite(value: &Value) -> Result<Self, BoxError> {
            let parts = iso(value, "a date")?;
            match (date(&parts), parts.clock) {
                (Some(d), None) => Ok(d),
                _ => Err(format!("{value:?} is not a date").into()),
            }
        }
    }

    impl FromSqlite for NaiveTime {
        fn from_sqlite(value: &Value) -> Result<Self, BoxError> {
            let parts = iso(value, "a time of day")?;
            match (parts.date, clock(&parts)) {
                (None, Some(t)) => Ok(t),
                _ => Err(format!("{value:?} is not a time of day").into()),
            }
        }
    }
}

#[cfg(feature = "time")]
mod time_decode {
    use super::*;
    use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

    fn date(parts: &Parts) -> Option<Date> {
        let (y, m, d) = parts.date?;
        Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
    }

    fn clock(parts: &Parts) -> Option<Time> {
        let (h, mi, s, n) = parts.clock?;
        Time::from_hms_nano(h, mi, s, n).ok()
    }

    fn date_time(value: &Value) -> Result<(PrimitiveDateTime, Option<i32>), BoxError> {
        let what = "a date and time";
        let parts = iso(value, what)?;
        match (date(&parts), clock(&parts)) {
            (Some(d), Some(t)) => Ok((PrimitiveDateTime::new(d, t), parts.offset)),
            (Some(d), None) if parts.clock.is_none() => {
                Ok((PrimitiveDateTime::new(d, Time::MIDNIGHT), parts.offset))
            }
            _ => Err(format!("{value:?} is not {what}").into()),
        }
    }

    impl FromSqlite for PrimitiveDateTime {
        fn from_sqlite(value: &Value) -> Result<Self, BoxError> {
            match date_time(value)? {
                (naive, None | Some(0)) => Ok(naive),
                (_, Some(_)) => {
                    Err("the text has a UTC offset: decode into an OffsetDateTime".into())
                }
            }
        }
    }

    impl FromSqlite for OffsetDateTime {
        fn from_sqlite(value: &Value) -> Result<Self, BoxError> {
            let (naive, offset) = date_time(value)?;
            let offset = UtcOffset::from_whole_seconds(offset.unwrap_or(0))?;
            Ok(naive.assume_offset(offset).to_offset(UtcOffset::UTC))
        }
    }

    impl FromSqlite for Date {
        fn from_sqlite(value: &Value) -> Result<Self, BoxError> {
            let parts = iso(value, "a date")?;
            match (date(&parts), parts.clock) {
                (Some(d), None) => Ok(d),
                _ => Err(format!("{value:?} is not a date").into()),
            }
        }
    }

    impl FromSqlite for Time {
        fn from_sqlite(value: &Value) -> Result<Self, BoxError> {
            let parts = iso(value, "a time of day")?;
            match (parts.date, clock(&parts)) {
                (None, Some(t)) => Ok(t),
                _ => Err(format!("{value:?} is not a time of day").into()),
            }
        }
    }
}

#[cfg(feature = "uuid")]
impl FromSqlite for uuid::Uuid {
    fn from_sqlite(value: &Value) -> Result<Self, BoxError> {
        match value {
            Value::Text(text) => Ok(uuid::Uuid::try_parse(text)?),
            Value::Blob(bytes) => Ok(uuid::Uuid::from_slice(bytes)?),
            other => Err(not_from(other)),
        }
    }
}

#[cfg(feature = "json")]
impl FromSqlite for serde_json::Value {
    fn from_sqlite(value: &Value) -> Result<Self, BoxError> {
        match value {
            Value::Text(text) => Ok(serde_json::from_str(text)?),
            Value::Blob(bytes) => Ok(serde_json::from_slice(bytes)?),
            other => Err(not_from(other)),
        }
    }
}

/// From the exact digits, so a value with more than `Decimal` holds is refused, never
/// rounded.
#[cfg(feature = "decimal")]
impl FromSqlite for rust_decimal::Decimal {
    fn from_sqlite(value: &Value) -> Result<Self, BoxError> {
        match value {
            Value::Integer(v) => Ok((*v).into()),
            Value::Text(text) => tethered_core::decimal_from_text(text),
            other => Err(not_from(other)),
        }
    }
}

macro_rules! decode {
    ($($t:ty),*) => {$(
        impl Decodes<$t> for SqliteRow {
            fn decode(&self, column: ColumnRef<'_>) -> Result<$t> {
                let rust_type = type_name::<$t>();
                let index = self
                    .locate(column)
                    .ok_or_else(|| Error::missing_column(column, rust_type))?;
                let name = ColumnRef::Name(&self.columns[index]);
                match &self.values[index] {
                    Value::Null => Err(Error::decode(
                        name,
                        rust_type,
                        "the value is NULL; decode into an Option",
                    )),
                    value => <$t as FromSqlite>::from_sqlite(value)
                        .map_err(|error| Error::decode(name, rust_type, error)),
                }
            }
        }

        impl Decodes<Option<$t>> for SqliteRow {
            fn decode(&self, column: ColumnRef<'_>) -> Result<Option<$t>> {
                let rust_type = type_name::<Option<$t>>();
                let index = self
                    .locate(column)
                    .ok_or_else(|| Error::missing_column(column, rust_type))?;
                let name = ColumnRef::Name(&self.columns[index]);
                match &self.values[index] {
                    Value::Null => Ok(None),
                    value => <$t as FromSqlite>::from_sqlite(value)
                        .map(Some)
                        .map_err(|error| Error::decode(name, rust_type, error)),
                }
            }
        }
    )*};
}

tethered_core::column_types!(decode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_checked_and_floats_exact() {
        assert!(u8::from_sqlite(&Value::Integer(256)).is_err());
        assert_eq!(
            i64::from_sqlite(&Value::Integer(i64::MIN)).unwrap(),
            i64::MIN
        );
        assert!(bool::from_sqlite(&Value::Integer(2)).is_err());
        assert!(f64::from_sqlite(&Value::Integer(i64::MAX)).is_err());
        assert_eq!(f64::from_sqlite(&Value::Integer(3)).unwrap(), 3.0);
    }

    #[cfg(any(feature = "chrono", feature = "time"))]
    #[test]
    fn iso_texts_parse_with_and_without_offsets() {
        let parts = parse_iso("2024-05-06 07:08:09.123456+02:00").unwrap();
        assert_eq!(parts.date, Some((2024, 5, 6)));
        assert_eq!(parts.clock, Some((7, 8, 9, 123_456_000)));
        assert_eq!(parts.offset, Some(7200));
        assert_eq!(parse_iso("2024-05-06T07:08:09Z").unwrap().offset, Some(0));
        assert_eq!(parse_iso("2024-05-06").unwrap().clock, None);
        assert_eq!(parse_iso("23:59:59.999999").unwrap().date, None);
        assert!(parse_iso("yesterday").is_none());
    }
}
