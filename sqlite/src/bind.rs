//! Binding sea-query values to SQLite parameters.
//!
//! Integers bind as SQLite's 64-bit integers (a `u64` above `i64::MAX` is refused, never
//! wrapped), floats as REAL, text and bytes as TEXT and BLOB, booleans as 0 or 1. The types
//! SQLite has no storage class for follow its conventions, as text its date functions
//! read: times in ISO-8601 (`2024-05-06 07:08:09.123456`, instants in UTC with `+00:00`,
//! a time with nanoseconds refused like on the server backends), UUIDs hyphenated, JSON
//! and decimals as their text.

use rusqlite::types::Value as SqlValue;
use tethered_core::sea_query::{OptionEnum, Value, Values};
use tethered_core::{Error, Result};

/// The parameters for `values`, in placeholder order.
pub(crate) fn params(values: &Values) -> Result<Vec<SqlValue>> {
    values.0.iter().map(value).collect()
}

fn int(v: Option<impl Into<i64>>) -> SqlValue {
    v.map_or(SqlValue::Null, |v| SqlValue::Integer(v.into()))
}

fn text(v: Option<impl ToString>) -> SqlValue {
    v.map_or(SqlValue::Null, |v| SqlValue::Text(v.to_string()))
}

/// One sea-query value as an SQLite value; `None` of any kind is NULL.
fn value(value: &Value) -> Result<SqlValue> {
    Ok(match value {
        Value::Bool(v) => int(*v),
        Value::TinyInt(v) => int(*v),
        Value::SmallInt(v) => int(*v),
        Value::Int(v) => int(*v),
        Value::BigInt(v) => int(*v),
        Value::TinyUnsigned(v) => int(*v),
        Value::SmallUnsigned(v) => int(*v),
        Value::Unsigned(v) => int(*v),
        Value::BigUnsigned(v) => match v {
            Some(v) => SqlValue::Integer(i64::try_from(*v).map_err(|_| {
                Error::InvalidInput(format!(
                    "cannot bind {v}: SQLite integers are signed 64-bit, and it is above \
                     i64::MAX"
                ))
            })?),
            None => SqlValue::Null,
        },
        Value::Float(v) => v.map_or(SqlValue::Null, |v| SqlValue::Real(f64::from(v))),
        Value::Double(v) => v.map_or(SqlValue::Null, SqlValue::Real),
        Value::String(v) => text(v.as_ref()),
        Value::Char(v) => text(*v),
        Value::Bytes(v) => v
            .as_ref()
            .map_or(SqlValue::Null, |v| SqlValue::Blob(v.clone())),
        Value::Enum(OptionEnum::Some(v)) => SqlValue::Text(v.value.to_string()),
        Value::Enum(OptionEnum::None(_)) => SqlValue::Null,
        #[cfg(feature = "chrono")]
        Value::ChronoDateTimeUtc(v) => match v {
            Some(v) => chrono_text(v.naive_utc(), true, v)?,
            None => SqlValue::Null,
        },
        #[cfg(feature = "chrono")]
        Value::ChronoDateTimeWithTimeZone(v) => match v {
            Some(v) => chrono_text(v.naive_utc(), true, v)?,
            None => SqlValue::Null,
        },
        #[cfg(feature = "chrono")]
        Value::ChronoDateTime(v) => match v {
            Some(v) => chrono_text(*v, false, v)?,
            None => SqlValue::Null,
        },
        #[cfg(feature = "chrono")]
        Value::ChronoDate(v) => text(v.map(|v| v.format("%Y-%m-%d"))),
        #[cfg(feature = "chrono")]
        Value::ChronoTime(v) => match v {
            Some(v) => {
                use chrono::Timelike;
                micros(v.nanosecond(), v)?;
                SqlValue::Text(v.format("%H:%M:%S%.6f").to_string())
            }
            None => SqlValue::Null,
        },
        #[cfg(feature = "time")]
        Value::TimeDateTimeWithTimeZone(v) => match v {
            Some(v) => {
                let utc = v.to_offset(time::UtcOffset::UTC);
                SqlValue::Text(format!("{}+00:00", time_text(utc.date(), utc.time(), v)?))
            }
            None => SqlValue::Null,
        },
        #[cfg(feature = "time")]
        Value::TimeDateTime(v) => match v {
            Some(v) => SqlValue::Text(time_text(v.date(), v.time(), v)?),
            None => SqlValue::Null,
        },
        #[cfg(feature = "time")]
        Value::TimeDate(v) => text(v.map(date_text)),
        #[cfg(feature = "time")]
        Value::TimeTime(v) => match v {
            Some(v) => {
                micros(v.nanosecond(), v)?;
                SqlValue::Text(clock_text(*v))
            }
            None => SqlValue::Null,
        },
        #[cfg(feature = "uuid")]
        Value::Uuid(v) => text(v.map(|v| v.hyphenated())),
        #[cfg(feature = "json")]
        Value::Json(v) => text(v.as_deref()),
        #[cfg(feature = "decimal")]
        Value::Decimal(v) => text(*v),
        // Kinds only present when another crate enables more sea-query features.
        #[allow(unreachable_patterns)]
        other => {
            return Err(Error::InvalidInput(format!(
                "cannot bind {other:?} to an SQLite parameter: bind it as a string or a number"
            )));
        }
    })
}

#[cfg(any(feature = "chrono", feature = "time"))]
fn micros(nanoseconds: u32, value: &dyn std::fmt::Display) -> Result<()> {
    tethered_core::whole_microseconds(nanoseconds, value, "tethered's SQLite time text")
        .map_err(Error::InvalidInput)
}

#[cfg(feature = "chrono")]
fn chrono_text(
    v: chrono::NaiveDateTime,
    utc: bool,
    shown: &dyn std::fmt::Display,
) -> Result<SqlValue> {
    use chrono::{Datelike, Timelike};
    micros(v.nanosecond(), shown)?;
    if !(1..=9999).contains(&v.year()) {
        return Err(Error::InvalidInput(format!(
            "cannot bind {shown}: SQLite's date text holds the years 1 to 9999"
        )));
    }
    let zone = if utc { "+00:00" } else { "" };
    Ok(SqlValue::Text(format!(
        "{}{zone}",
        v.format("%Y-%m-%d %H:%M:%S%.6f")
    )))
}

#[cfg(feature = "time")]
fn date_text(date: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

#[cfg(feature = "time")]
fn clock_text(clock: time::Time) -> String {
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        clock.hour(),
        clock.minute(),
        clock.second(),
        clock.microsecond()
    )
}

#[cfg(feature = "time")]
fn time_text(date: time::Date, clock: time::Time, shown: &dyn std::fmt::Display) -> Result<String> {
    micros(clock.nanosecond(), shown)?;
    if !(1..=9999).contains(&date.year()) {
        return Err(Error::InvalidInput(format!(
            "cannot bind {shown}: SQLite's date text holds the years 1 to 9999"
        )));
    }
    Ok(format!("{} {}", date_text(date), clock_text(clock)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_bind_whole_and_big_unsigned_is_refused() {
        assert_eq!(
            value(&Value::BigInt(Some(i64::MIN))).unwrap(),
            SqlValue::Integer(i64::MIN)
        );
        assert_eq!(
            value(&Value::BigUnsigned(Some(i64::MAX as u64))).unwrap(),
            SqlValue::Integer(i64::MAX)
        );
        assert!(value(&Value::BigUnsigned(Some(u64::MAX))).is_err());
        assert_eq!(
            value(&Value::Bool(Some(true))).unwrap(),
            SqlValue::Integer(1)
        );
        assert_eq!(value(&Value::Int(None)).unwrap(), SqlValue::Null);
    }
}
