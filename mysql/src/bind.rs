//! Binding sea-query values to MySQL/MariaDB statement parameters.
//!
//! Every value travels in the binary protocol with its own type and signedness: integers
//! as 64-bit signed or unsigned (so `u64::MAX` arrives as itself), floats as FLOAT or
//! DOUBLE, text and bytes as strings. Nothing is narrowed here: the server converts a value
//! to the column's type, and in strict mode (which tethered's sessions run in) refuses one
//! that does not fit with error 1264 rather than truncating it.
//!
//! Dates and times travel as the protocol's DATETIME and TIME values, UUIDs as their
//! hyphenated text (for `CHAR(36)` and MariaDB's `UUID`; bind `uuid.as_bytes().to_vec()`
//! for a `BINARY(16)`), JSON and decimals as text. A value the server could not keep is
//! refused here: a time with nanoseconds (the server keeps microseconds), a year outside
//! 1 to 9999, a `DateTime<FixedOffset>` whose offset is not UTC (a DATETIME keeps no zone,
//! and tethered's sessions run in UTC).

use mysql_async::{Params, Value as MyValue};
use tethered_core::sea_query::{OptionEnum, Value, Values};
use tethered_core::{Error, Result};

/// The statement parameters for `values`, in placeholder order.
pub(crate) fn params(values: &Values) -> Result<Params> {
    if values.0.is_empty() {
        return Ok(Params::Empty);
    }
    values
        .0
        .iter()
        .map(value)
        .collect::<Result<_>>()
        .map(Params::Positional)
}

/// One sea-query value as a MySQL value; `None` of any kind is SQL NULL.
fn value(value: &Value) -> Result<MyValue> {
    Ok(match value {
        Value::Bool(v) => v.map_or(MyValue::NULL, |v| MyValue::Int(v.into())),
        Value::TinyInt(v) => v.map_or(MyValue::NULL, |v| MyValue::Int(v.into())),
        Value::SmallInt(v) => v.map_or(MyValue::NULL, |v| MyValue::Int(v.into())),
        Value::Int(v) => v.map_or(MyValue::NULL, |v| MyValue::Int(v.into())),
        Value::BigInt(v) => v.map_or(MyValue::NULL, MyValue::Int),
        Value::TinyUnsigned(v) => v.map_or(MyValue::NULL, |v| MyValue::UInt(v.into())),
        Value::SmallUnsigned(v) => v.map_or(MyValue::NULL, |v| MyValue::UInt(v.into())),
        Value::Unsigned(v) => v.map_or(MyValue::NULL, |v| MyValue::UInt(v.into())),
        Value::BigUnsigned(v) => v.map_or(MyValue::NULL, MyValue::UInt),
        Value::Float(v) => v.map_or(MyValue::NULL, MyValue::Float),
        Value::Double(v) => v.map_or(MyValue::NULL, MyValue::Double),
        Value::String(v) => v
            .as_ref()
            .map_or(MyValue::NULL, |v| MyValue::Bytes(v.as_bytes().to_vec())),
        Value::Char(v) => v.map_or(MyValue::NULL, |v| {
            MyValue::Bytes(v.to_string().into_bytes())
        }),
        Value::Bytes(v) => v
            .as_ref()
            .map_or(MyValue::NULL, |v| MyValue::Bytes(v.clone())),
        // A MySQL ENUM value is its label.
        Value::Enum(OptionEnum::Some(v)) => MyValue::Bytes(v.value.as_bytes().to_vec()),
        Value::Enum(OptionEnum::None(_)) => MyValue::NULL,
        #[cfg(feature = "chrono")]
        Value::ChronoDateTimeUtc(v) => v.map_or(Ok(MyValue::NULL), |v| datetime(v.naive_utc()))?,
        #[cfg(feature = "chrono")]
        Value::ChronoDateTimeWithTimeZone(v) => match v {
            Some(v) if v.offset().local_minus_utc() != 0 => {
                return Err(Error::InvalidInput(format!(
                    "cannot bind {v}: a MySQL/MariaDB DATETIME keeps no time zone; convert it \
                     to UTC (`.to_utc()`) first"
                )));
            }
            Some(v) => datetime(v.naive_utc())?,
            None => MyValue::NULL,
        },
        #[cfg(feature = "chrono")]
        Value::ChronoDateTime(v) => v.map_or(Ok(MyValue::NULL), datetime)?,
        #[cfg(feature = "chrono")]
        Value::ChronoDate(v) => v.map_or(Ok(MyValue::NULL), |v| {
            datetime(v.and_time(chrono::NaiveTime::MIN))
        })?,
        #[cfg(feature = "chrono")]
        Value::ChronoTime(v) => match v {
            Some(v) => {
                use chrono::Timelike;
                whole_microseconds(v.nanosecond(), v)?;
                MyValue::Time(
                    false,
                    0,
                    v.hour() as u8,
                    v.minute() as u8,
                    v.second() as u8,
                    v.nanosecond() / 1_000,
                )
            }
            None => MyValue::NULL,
        },
        #[cfg(feature = "time")]
        Value::TimeDateTimeWithTimeZone(v) => match v {
            Some(v) if !v.offset().is_utc() => {
                return Err(Error::InvalidInput(format!(
                    "cannot bind {v}: a MySQL/MariaDB DATETIME keeps no time zone; convert it \
                     to UTC (`.to_offset(UtcOffset::UTC)`) first"
                )));
            }
            Some(v) => time_datetime(v.date(), v.time())?,
            None => MyValue::NULL,
        },
        #[cfg(feature = "time")]
        Value::TimeDateTime(v) => match v {
            Some(v) => time_datetime(v.date(), v.time())?,
            None => MyValue::NULL,
        },
        #[cfg(feature = "time")]
        Value::TimeDate(v) => match v {
            Some(v) => time_datetime(*v, time::Time::MIDNIGHT)?,
            None => MyValue::NULL,
        },
        #[cfg(feature = "time")]
        Value::TimeTime(v) => match v {
            Some(v) => {
                whole_microseconds(v.nanosecond(), v)?;
                MyValue::Time(false, 0, v.hour(), v.minute(), v.second(), v.microsecond())
            }
            None => MyValue::NULL,
        },
        #[cfg(feature = "uuid")]
        Value::Uuid(v) => v.map_or(MyValue::NULL, |v| text(v.hyphenated())),
        #[cfg(feature = "json")]
        Value::Json(v) => v.as_deref().map_or(MyValue::NULL, text),
        #[cfg(feature = "decimal")]
        Value::Decimal(v) => v.map_or(MyValue::NULL, text),
        // Kinds only present when another crate enables more sea-query features.
        #[allow(unreachable_patterns)]
        other => {
            return Err(Error::InvalidInput(format!(
                "cannot bind {other:?} to a MySQL/MariaDB parameter: bind it as a string or a \
                 number"
            )));
        }
    })
}

/// A value the server converts from its text.
#[cfg(any(feature = "uuid", feature = "json", feature = "decimal"))]
fn text(value: impl std::fmt::Display) -> MyValue {
    MyValue::Bytes(value.to_string().into_bytes())
}

/// A DATETIME (a DATE when the time is midnight is the same value to the server), refused
/// outside the years and precision the server keeps.
#[cfg(feature = "chrono")]
fn datetime(value: chrono::NaiveDateTime) -> Result<MyValue> {
    use chrono::{Datelike, Timelike};
    whole_microseconds(value.nanosecond(), &value)?;
    let year = u16::try_from(value.year())
        .ok()
        .filter(|year| (1..=9999).contains(year))
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "cannot bind {value}: MySQL/MariaDB keep the years 1 to 9999"
            ))
        })?;
    Ok(MyValue::Date(
        year,
        value.month() as u8,
        value.day() as u8,
        value.hour() as u8,
        value.minute() as u8,
        value.second() as u8,
        value.nanosecond() / 1_000,
    ))
}

/// A DATETIME from time's date and time, refused outside what the server keeps.
#[cfg(feature = "time")]
fn time_datetime(date: time::Date, clock: time::Time) -> Result<MyValue> {
    let shown = time::PrimitiveDateTime::new(date, clock);
    whole_microseconds(clock.nanosecond(), &shown)?;
    let year = u16::try_from(date.year())
        .ok()
        .filter(|year| (1..=9999).contains(year))
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "cannot bind {shown}: MySQL/MariaDB keep the years 1 to 9999"
            ))
        })?;
    Ok(MyValue::Date(
        year,
        date.month() as u8,
        date.day(),
        clock.hour(),
        clock.minute(),
        clock.second(),
        clock.microsecond(),
    ))
}

/// MySQL/MariaDB keep microseconds: a time with a finer part is refused, not rounded.
#[cfg(any(feature = "chrono", feature = "time"))]
fn whole_microseconds(nanoseconds: u32, value: &dyn std::fmt::Display) -> Result<()> {
    tethered_core::whole_microseconds(nanoseconds, value, "MySQL/MariaDB")
        .map_err(Error::InvalidInput)
}

#[cfg(test)]
mod tests {
    use tethered_core::sea_query::{Enum, EnumTypeName};

    use super::*;

    fn bound(v: impl Into<Value>) -> MyValue {
        value(&v.into()).expect("binds")
    }

    #[test]
    fn signed_integers_bind_as_themselves() {
        assert_eq!(bound(i8::MIN), MyValue::Int(-128));
        assert_eq!(bound(i16::MAX), MyValue::Int(32_767));
        assert_eq!(bound(-7i32), MyValue::Int(-7));
        assert_eq!(bound(i64::MIN), MyValue::Int(i64::MIN));
        assert_eq!(bound(i64::MAX), MyValue::Int(i64::MAX));
    }

    #[test]
    fn unsigned_integers_stay_unsigned_up_to_u64_max() {
        assert_eq!(bound(u8::MAX), MyValue::UInt(255));
        assert_eq!(bound(u16::MAX), MyValue::UInt(65_535));
        assert_eq!(bound(u32::MAX), MyValue::UInt(4_294_967_295));
        assert_eq!(bound(u64::MAX), MyValue::UInt(u64::MAX));
    }

    #[test]
    fn booleans_floats_text_and_bytes_keep_their_value() {
        assert_eq!(bound(true), MyValue::Int(1));
        assert_eq!(bound(false), MyValue::Int(0));
        assert_eq!(bound(0.1f32), MyValue::Float(0.1));
        assert_eq!(bound(0.1f64), MyValue::Double(0.1));
        let injection = "'); DROP TABLE users; --";
        assert_eq!(bound(injection), MyValue::Bytes(injection.into()));
        assert_eq!(bound('é'), MyValue::Bytes("é".into()));
        assert_eq!(bound(vec![0u8, 255]), MyValue::Bytes(vec![0, 255]));
        let label = Value::Enum(OptionEnum::Some(Box::new(Enum {
            type_name: EnumTypeName::from("size"),
            value: "small".into(),
        })));
        assert_eq!(
            value(&label).expect("binds"),
            MyValue::Bytes("small".into())
        );
    }

    #[test]
    fn every_null_binds_as_null() {
        for null in [
            Value::Bool(None),
            Value::TinyInt(None),
            Value::SmallInt(None),
            Value::Int(None),
            Value::BigInt(None),
            Value::TinyUnsigned(None),
            Value::SmallUnsigned(None),
            Value::Unsigned(None),
            Value::BigUnsigned(None),
            Value::Float(None),
            Value::Double(None),
            Value::String(None),
            Value::Char(None),
            Value::Bytes(None),
            Value::Enum(OptionEnum::None(EnumTypeName::from("size"))),
        ] {
            assert_eq!(value(&null).expect("binds"), MyValue::NULL, "{null:?}");
        }
    }

    #[test]
    fn no_values_is_no_parameters() {
        assert_eq!(params(&Values(Vec::new())).expect("binds"), Params::Empty);
        assert_eq!(
            params(&Values(vec![1i32.into(), None::<u64>.into()])).expect("binds"),
            Params::Positional(vec![MyValue::Int(1), MyValue::NULL])
        );
    }
}
