//! Binding sea-query values to MySQL/MariaDB statement parameters.
//!
//! Every value travels in the binary protocol with its own type and signedness: integers
//! as 64-bit signed or unsigned (so `u64::MAX` arrives as itself), floats as FLOAT or
//! DOUBLE, text and bytes as strings. Nothing is narrowed here: the server converts a value
//! to the column's type, and in strict mode (which tethered's sessions run in) refuses one
//! that does not fit with error 1264 rather than truncating it.

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
