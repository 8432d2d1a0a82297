//! The column types behind features (`chrono`, `time`, `uuid`, `json`, `decimal`), listed once.
//!
//! Each feature has a list macro, like [`standard_types!`](crate::standard_types): with the
//! feature on it names the feature's types, with it off it names none. Core derives from
//! the lists what a model field may be, what a column compares with and what every
//! [`Row`](crate::Row) decodes; each backend derives its `Decodes` impls from the same
//! lists, so turning a feature on changes every place at once and code generic over the
//! backend needs no bounds for these types.
//!
//! A list macro takes a callback and, optionally, one identifier put before the types:
//! `chrono_types!(cb)` calls `cb!(types...)`, `chrono_types!(cb, Name)` calls
//! `cb!(Name; types...)`.

#[cfg(feature = "decimal")]
mod decimal;
mod enums;
#[cfg(feature = "json")]
mod json;
#[cfg(any(feature = "chrono", feature = "time"))]
mod time_precision;

#[cfg(feature = "decimal")]
pub use decimal::decimal_from_text;
pub use enums::Enum;
#[cfg(any(feature = "chrono", feature = "time"))]
pub use time_precision::whole_microseconds;

#[cfg(feature = "json")]
pub use json::Json;

/// Calls the callback with every type of the features that are on, after the standard
/// types: what backends implement `Decodes` for.
#[macro_export]
macro_rules! column_types {
    ($callback:ident) => {
        $crate::standard_types!($callback);
        $crate::chrono_types!($callback);
        $crate::time_types!($callback);
        $crate::uuid_types!($callback);
        $crate::json_types!($callback);
        $crate::decimal_types!($callback);
    };
}

/// The types of feature `chrono`: `DateTime<Utc>`, `DateTime<FixedOffset>`, `NaiveDateTime`, `NaiveDate`, `NaiveTime`. Empty when the feature is off.
#[cfg(feature = "chrono")]
#[macro_export]
macro_rules! chrono_types {
    ($callback:ident $(, $arg:ident)?) => {
        $callback!($($arg;)?
            $crate::chrono::DateTime<$crate::chrono::Utc>,
            $crate::chrono::DateTime<$crate::chrono::FixedOffset>,
            $crate::chrono::NaiveDateTime,
            $crate::chrono::NaiveDate,
            $crate::chrono::NaiveTime
        );
    };
}

/// The types of feature `chrono`: `DateTime<Utc>`, `DateTime<FixedOffset>`, `NaiveDateTime`, `NaiveDate`, `NaiveTime`. Empty when the feature is off.
#[cfg(not(feature = "chrono"))]
#[macro_export]
macro_rules! chrono_types {
    ($callback:ident $(, $arg:ident)?) => {
        $callback!($($arg;)?);
    };
}

/// The types of feature `uuid`: `Uuid`. Empty when the feature is off.
#[cfg(feature = "uuid")]
#[macro_export]
macro_rules! uuid_types {
    ($callback:ident $(, $arg:ident)?) => {
        $callback!($($arg;)?
            $crate::uuid::Uuid
        );
    };
}

/// The types of feature `uuid`: `Uuid`. Empty when the feature is off.
#[cfg(not(feature = "uuid"))]
#[macro_export]
macro_rules! uuid_types {
    ($callback:ident $(, $arg:ident)?) => {
        $callback!($($arg;)?);
    };
}

/// The types of feature `json`: `serde_json::Value` (and through it `Json<T>`). Empty when the feature is off.
#[cfg(feature = "json")]
#[macro_export]
macro_rules! json_types {
    ($callback:ident $(, $arg:ident)?) => {
        $callback!($($arg;)?
            $crate::serde_json::Value
        );
    };
}

/// The types of feature `json`: `serde_json::Value` (and through it `Json<T>`). Empty when the feature is off.
#[cfg(not(feature = "json"))]
#[macro_export]
macro_rules! json_types {
    ($callback:ident $(, $arg:ident)?) => {
        $callback!($($arg;)?);
    };
}

/// The types of feature `decimal`: `rust_decimal::Decimal`. Empty when the feature is off.
#[cfg(feature = "decimal")]
#[macro_export]
macro_rules! decimal_types {
    ($callback:ident $(, $arg:ident)?) => {
        $callback!($($arg;)?
            $crate::rust_decimal::Decimal
        );
    };
}

/// The types of feature `decimal`: `rust_decimal::Decimal`. Empty when the feature is off.
#[cfg(not(feature = "decimal"))]
#[macro_export]
macro_rules! decimal_types {
    ($callback:ident $(, $arg:ident)?) => {
        $callback!($($arg;)?);
    };
}

/// The types of feature `time`: `OffsetDateTime`, `PrimitiveDateTime`, `Date`, `Time`. Empty
/// when the feature is off.
#[cfg(feature = "time")]
#[macro_export]
macro_rules! time_types {
    ($callback:ident $(, $arg:ident)?) => {
        $callback!($($arg;)?
            $crate::time::OffsetDateTime,
            $crate::time::PrimitiveDateTime,
            $crate::time::Date,
            $crate::time::Time
        );
    };
}

/// The types of feature `time`: `OffsetDateTime`, `PrimitiveDateTime`, `Date`, `Time`. Empty
/// when the feature is off.
#[cfg(not(feature = "time"))]
#[macro_export]
macro_rules! time_types {
    ($callback:ident $(, $arg:ident)?) => {
        $callback!($($arg;)?);
    };
}
