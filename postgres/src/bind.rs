//! Binding sea-query values to the parameter types PostgreSQL inferred for a statement.
//!
//! The statement is prepared first, so the server has said what each placeholder is.
//! A value is converted to exactly that type: integers are widened or narrowed only when
//! the value fits, floats only when exact, and anything else is refused with an error
//! naming both types. Nothing is truncated or silently re-typed: a time with nanoseconds
//! (PostgreSQL keeps microseconds) is refused, not rounded. When the value's kind does not
//! fit the inferred type the error suggests casting the placeholder, unless it already is.

use std::fmt;

use bytes::{BufMut, BytesMut};
use tethered_core::sea_query::{OptionEnum, Value};
use tokio_postgres::types::{IsNull, Kind, ToSql, Type, to_sql_checked};

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// Why a value could not be bound; becomes [`tethered_core::Error::InvalidInput`].
#[derive(Debug)]
pub(crate) struct BindError {
    message: String,
    /// The value's kind does not fit the parameter's type: a cast of the placeholder
    /// would let the server infer another type.
    kind_mismatch: bool,
}

impl BindError {
    fn new(message: String) -> BindError {
        BindError {
            message,
            kind_mismatch: false,
        }
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BindError {}

fn refuse(value: &str, ty: &Type) -> BoxError {
    Box::new(BindError {
        message: format!("cannot bind {value} to a parameter of type {ty}"),
        kind_mismatch: true,
    })
}

/// A sea-query value on its way to placeholder `$number` of `sql`.
#[derive(Debug)]
pub(crate) struct PgValue<'a> {
    value: &'a Value,
    sql: &'a str,
    number: usize,
}

/// The values of `sql`, ready to bind.
pub(crate) fn pg_values<'a>(
    sql: &'a str,
    values: &'a [Value],
) -> impl ExactSizeIterator<Item = PgValue<'a>> {
    values
        .iter()
        .enumerate()
        .map(move |(index, value)| PgValue {
            value,
            sql,
            number: index + 1,
        })
}

/// Whether `$number` is cast in `sql` (`$1::timestamptz`, `CAST($1 AS ...)`): then its type
/// is the one the caller wrote, and only another value can fit it.
fn is_cast(sql: &str, number: usize) -> bool {
    let placeholder = format!("${number}");
    sql.match_indices(&placeholder).any(|(at, _)| {
        let before = sql[..at].trim_end();
        let after = &sql[at + placeholder.len()..];
        !after.starts_with(|c: char| c.is_ascii_digit())
            && (after.trim_start().starts_with("::")
                || (before.ends_with('(')
                    && before[..before.len() - 1]
                        .trim_end()
                        .to_ascii_lowercase()
                        .ends_with("cast")))
    })
}

impl ToSql for PgValue<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        bind_value(self.value, ty, out).map_err(|mut error| {
            if let Some(refused) = error.downcast_mut::<BindError>()
                && refused.kind_mismatch
            {
                refused.message.push_str(if is_cast(self.sql, self.number) {
                    "; bind a value of that type"
                } else {
                    "; cast the placeholder or bind another type"
                });
            }
            error
        })
    }

    fn accepts(_: &Type) -> bool {
        // Every type is considered: `to_sql` refuses, with a clear error, what it cannot bind.
        true
    }

    to_sql_checked!();
}

/// A value of a row of a binary `COPY`: written as a parameter of its column's type is
/// bound, so a model copies exactly what `insert_many` would insert.
#[derive(Debug)]
pub(crate) struct CopyValue<'a>(pub(crate) &'a Value);

impl ToSql for CopyValue<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        bind_value(self.0, ty, out)
    }

    fn accepts(_: &Type) -> bool {
        // As for `PgValue`: `to_sql` refuses what it cannot write.
        true
    }

    to_sql_checked!();
}

/// The values of one row of a binary `COPY`, as [`CopyValue`]s.
///
/// A type of its own rather than `row.iter().map(CopyValue)`: the writer holds the iterator
/// across an await, and a future holding a map's function is not `Send` for every lifetime
/// of its rows, as the protocol's landing must be (rustc's "implementation of `FnOnce` is
/// not general enough").
pub(crate) struct CopyRow<'a>(std::slice::Iter<'a, Value>);

impl<'a> CopyRow<'a> {
    pub(crate) fn new(row: &'a [Value]) -> CopyRow<'a> {
        CopyRow(row.iter())
    }
}

impl<'a> Iterator for CopyRow<'a> {
    type Item = CopyValue<'a>;

    fn next(&mut self) -> Option<CopyValue<'a>> {
        self.0.next().map(CopyValue)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for CopyRow<'_> {}

/// Writes `value` as a parameter of type `ty`.
fn bind_value(value: &Value, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match value {
        Value::Bool(v) => bind(*v, ty, out, |v, ty, out| match *ty {
            Type::BOOL => v.to_sql(ty, out),
            _ => Err(refuse("a bool", ty)),
        }),
        Value::TinyInt(v) => bind(v.map(i128::from), ty, out, integer),
        Value::SmallInt(v) => bind(v.map(i128::from), ty, out, integer),
        Value::Int(v) => bind(v.map(i128::from), ty, out, integer),
        Value::BigInt(v) => bind(v.map(i128::from), ty, out, integer),
        Value::TinyUnsigned(v) => bind(v.map(i128::from), ty, out, integer),
        Value::SmallUnsigned(v) => bind(v.map(i128::from), ty, out, integer),
        Value::Unsigned(v) => bind(v.map(i128::from), ty, out, integer),
        Value::BigUnsigned(v) => bind(v.map(i128::from), ty, out, integer),
        Value::Float(v) => bind(v.map(f64::from), ty, out, float),
        Value::Double(v) => bind(*v, ty, out, float),
        Value::String(v) => bind(v.as_deref(), ty, out, text),
        Value::Char(v) => bind(*v, ty, out, |c, ty, out| {
            text(c.encode_utf8(&mut [0; 4]), ty, out)
        }),
        Value::Bytes(v) => bind(v.as_deref(), ty, out, |bytes, ty, out| match *ty {
            Type::BYTEA => bytes.to_sql(ty, out),
            _ => Err(refuse("bytes", ty)),
        }),
        Value::Enum(OptionEnum::None(_)) => Ok(IsNull::Yes),
        Value::Enum(OptionEnum::Some(_)) => Err(refuse("a sea-query enum", ty)),
        #[cfg(feature = "chrono")]
        Value::ChronoDateTimeUtc(v) => bind(v.as_ref(), ty, out, |v, ty, out| {
            whole_microseconds(v.timestamp_subsec_nanos(), v)?;
            exactly(v, &[Type::TIMESTAMPTZ], "a DateTime<Utc>", ty, out)
        }),
        #[cfg(feature = "chrono")]
        Value::ChronoDateTimeWithTimeZone(v) => bind(v.as_ref(), ty, out, |v, ty, out| {
            whole_microseconds(v.timestamp_subsec_nanos(), v)?;
            exactly(v, &[Type::TIMESTAMPTZ], "a DateTime<FixedOffset>", ty, out)
        }),
        #[cfg(feature = "chrono")]
        Value::ChronoDateTime(v) => bind(v.as_ref(), ty, out, |v, ty, out| {
            whole_microseconds(v.and_utc().timestamp_subsec_nanos(), v)?;
            exactly(v, &[Type::TIMESTAMP], "a NaiveDateTime", ty, out)
        }),
        #[cfg(feature = "chrono")]
        Value::ChronoDate(v) => bind(v.as_ref(), ty, out, |v, ty, out| {
            exactly(v, &[Type::DATE], "a NaiveDate", ty, out)
        }),
        #[cfg(feature = "chrono")]
        Value::ChronoTime(v) => bind(v.as_ref(), ty, out, |v, ty, out| {
            whole_microseconds(chrono::Timelike::nanosecond(v), v)?;
            exactly(v, &[Type::TIME], "a NaiveTime", ty, out)
        }),
        #[cfg(feature = "time")]
        Value::TimeDateTimeWithTimeZone(v) => bind(v.as_ref(), ty, out, |v, ty, out| {
            whole_microseconds(v.nanosecond(), v)?;
            exactly(v, &[Type::TIMESTAMPTZ], "an OffsetDateTime", ty, out)
        }),
        #[cfg(feature = "time")]
        Value::TimeDateTime(v) => bind(v.as_ref(), ty, out, |v, ty, out| {
            whole_microseconds(v.nanosecond(), v)?;
            exactly(v, &[Type::TIMESTAMP], "a PrimitiveDateTime", ty, out)
        }),
        #[cfg(feature = "time")]
        Value::TimeDate(v) => bind(v.as_ref(), ty, out, |v, ty, out| {
            exactly(v, &[Type::DATE], "a Date", ty, out)
        }),
        #[cfg(feature = "time")]
        Value::TimeTime(v) => bind(v.as_ref(), ty, out, |v, ty, out| {
            whole_microseconds(v.nanosecond(), v)?;
            exactly(v, &[Type::TIME], "a Time", ty, out)
        }),
        #[cfg(feature = "uuid")]
        Value::Uuid(v) => bind(v.as_ref(), ty, out, |v, ty, out| {
            exactly(v, &[Type::UUID], "a Uuid", ty, out)
        }),
        #[cfg(feature = "json")]
        Value::Json(v) => bind(v.as_deref(), ty, out, |v, ty, out| {
            exactly(v, &[Type::JSON, Type::JSONB], "a JSON value", ty, out)
        }),
        #[cfg(feature = "decimal")]
        Value::Decimal(v) => bind(v.as_ref(), ty, out, |v, ty, out| {
            exactly(v, &[Type::NUMERIC], "a Decimal", ty, out)
        }),
        // Kinds only present when another crate enables more sea-query features.
        #[allow(unreachable_patterns)]
        other => Err(refuse(&format!("{other:?}"), ty)),
    }
}

/// Binds `value` through its tokio-postgres encoding, to one of the `accepted` types only.
#[cfg(any(
    feature = "chrono",
    feature = "time",
    feature = "uuid",
    feature = "json",
    feature = "decimal"
))]
fn exactly<T: ToSql>(
    value: &T,
    accepted: &[Type],
    what: &str,
    ty: &Type,
    out: &mut BytesMut,
) -> Result<IsNull, BoxError> {
    if accepted.contains(ty) {
        value.to_sql(ty, out)
    } else {
        Err(refuse(what, ty))
    }
}

/// PostgreSQL keeps microseconds: a time with a finer part is refused, not rounded.
#[cfg(any(feature = "chrono", feature = "time"))]
fn whole_microseconds(nanoseconds: u32, value: &dyn fmt::Display) -> Result<(), BoxError> {
    tethered_core::whole_microseconds(nanoseconds, value, "PostgreSQL")
        .map_err(|message| -> BoxError { Box::new(BindError::new(message)) })
}

/// Binds `value`, or SQL NULL (which every type accepts) when it is `None`.
fn bind<T>(
    value: Option<T>,
    ty: &Type,
    out: &mut BytesMut,
    write: impl FnOnce(T, &Type, &mut BytesMut) -> Result<IsNull, BoxError>,
) -> Result<IsNull, BoxError> {
    match value {
        Some(value) => write(value, ty, out),
        None => Ok(IsNull::Yes),
    }
}

fn out_of_range(value: i128, ty: &Type) -> BoxError {
    Box::new(BindError::new(format!(
        "the integer {value} does not fit in a parameter of type {ty}"
    )))
}

fn integer(value: i128, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    let range = |_| out_of_range(value, ty);
    match *ty {
        Type::INT2 => i16::try_from(value).map_err(range)?.to_sql(ty, out),
        Type::INT4 => i32::try_from(value).map_err(range)?.to_sql(ty, out),
        Type::INT8 => i64::try_from(value).map_err(range)?.to_sql(ty, out),
        Type::CHAR => i8::try_from(value).map_err(range)?.to_sql(ty, out),
        Type::OID => u32::try_from(value).map_err(range)?.to_sql(ty, out),
        // Integers convert to floats only where every digit survives.
        Type::FLOAT4 if value.unsigned_abs() <= 1 << f32::MANTISSA_DIGITS => {
            (value as f32).to_sql(ty, out)
        }
        Type::FLOAT8 if value.unsigned_abs() <= 1 << f64::MANTISSA_DIGITS => {
            (value as f64).to_sql(ty, out)
        }
        Type::FLOAT4 | Type::FLOAT8 => Err(out_of_range(value, ty)),
        _ => Err(refuse(&format!("the integer {value}"), ty)),
    }
}

fn float(value: f64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::FLOAT8 => value.to_sql(ty, out),
        Type::FLOAT4 if value.is_nan() || f64::from(value as f32) == value => {
            (value as f32).to_sql(ty, out)
        }
        Type::FLOAT4 => Err(Box::new(BindError::new(format!(
            "the float {value} cannot be bound to a parameter of type real without losing precision"
        )))),
        _ => Err(refuse(&format!("the float {value}"), ty)),
    }
}

fn text(value: &str, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        // JSON arrives as text; the server validates it.
        Type::JSON => {
            out.put_slice(value.as_bytes());
            Ok(IsNull::No)
        }
        Type::JSONB => {
            out.put_u8(1);
            out.put_slice(value.as_bytes());
            Ok(IsNull::No)
        }
        // A native enum type takes its labels as text.
        _ if <&str as ToSql>::accepts(ty) || matches!(ty.kind(), Kind::Enum(_)) => {
            out.put_slice(value.as_bytes());
            Ok(IsNull::No)
        }
        _ => Err(refuse("a string", ty)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: Value, ty: &Type) -> Result<Option<Vec<u8>>, String> {
        let mut out = BytesMut::new();
        let bound = PgValue {
            value: &value,
            sql: "SELECT $1",
            number: 1,
        };
        match bound.to_sql(ty, &mut out) {
            Ok(IsNull::Yes) => Ok(None),
            Ok(IsNull::No) => Ok(Some(out.to_vec())),
            Err(error) => Err(error.to_string()),
        }
    }

    #[test]
    fn integers_fit_their_parameter_or_are_refused() {
        assert_eq!(
            encode(Value::Int(Some(7)), &Type::INT8),
            Ok(Some(7i64.to_be_bytes().to_vec()))
        );
        assert_eq!(
            encode(Value::BigInt(Some(-2)), &Type::INT2),
            Ok(Some((-2i16).to_be_bytes().to_vec()))
        );
        assert_eq!(
            encode(Value::BigUnsigned(Some(40_000)), &Type::INT4),
            Ok(Some(40_000i32.to_be_bytes().to_vec()))
        );
        assert_eq!(
            encode(Value::TinyInt(Some(-3)), &Type::CHAR),
            Ok(Some(vec![0xfd]))
        );
        let too_big = encode(Value::BigInt(Some(i64::from(i32::MAX) + 1)), &Type::INT4);
        assert!(
            too_big
                .expect_err("refused")
                .contains("2147483648 does not fit")
        );
        let unsigned = encode(Value::BigUnsigned(Some(u64::MAX)), &Type::INT8);
        assert!(
            unsigned
                .expect_err("refused")
                .contains("18446744073709551615 does not fit")
        );
        let to_text = encode(Value::Int(Some(1)), &Type::TEXT);
        assert!(to_text.expect_err("refused").contains("type text"));
    }

    #[test]
    fn integers_become_floats_only_when_exact() {
        assert_eq!(
            encode(Value::Int(Some(3)), &Type::FLOAT8),
            Ok(Some(3f64.to_be_bytes().to_vec()))
        );
        assert!(encode(Value::BigInt(Some((1 << 53) + 1)), &Type::FLOAT8).is_err());
        assert!(encode(Value::Int(Some((1 << 24) + 1)), &Type::FLOAT4).is_err());
    }

    #[test]
    fn floats_narrow_only_when_exact() {
        assert_eq!(
            encode(Value::Double(Some(0.5)), &Type::FLOAT4),
            Ok(Some(0.5f32.to_be_bytes().to_vec()))
        );
        assert!(encode(Value::Double(Some(0.1)), &Type::FLOAT4).is_err());
        assert_eq!(
            encode(Value::Float(Some(0.1)), &Type::FLOAT8),
            Ok(Some(f64::from(0.1f32).to_be_bytes().to_vec()))
        );
    }

    #[test]
    fn a_cast_placeholder_is_recognised() {
        assert!(is_cast("SELECT $1::timestamptz", 1));
        assert!(is_cast("SELECT $2 :: int, $1", 2));
        assert!(is_cast("SELECT CAST($1 AS date)", 1));
        assert!(is_cast("SELECT cast ( $1 AS date)", 1));
        assert!(!is_cast("SELECT $1 + 1", 1));
        assert!(
            !is_cast("SELECT $10::int, $1", 1),
            "$10 is another placeholder"
        );
    }

    #[test]
    fn nulls_bind_to_any_type() {
        for value in [
            Value::Int(None),
            Value::String(None),
            Value::Bool(None),
            Value::Bytes(None),
        ] {
            assert_eq!(encode(value, &Type::INT4), Ok(None));
        }
    }

    #[test]
    fn strings_bind_to_text_and_json() {
        let sql = "'); DROP TABLE users; --".to_owned();
        assert_eq!(
            encode(Value::String(Some(sql.clone())), &Type::TEXT),
            Ok(Some(sql.into_bytes()))
        );
        assert_eq!(
            encode(Value::String(Some("{}".into())), &Type::JSONB),
            Ok(Some(b"\x01{}".to_vec()))
        );
        assert!(encode(Value::String(Some("1".into())), &Type::INT4).is_err());
        assert!(encode(Value::Bool(Some(true)), &Type::TEXT).is_err());
    }
}
