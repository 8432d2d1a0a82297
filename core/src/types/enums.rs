//! [`Enum`]: Rust enums stored as a column's text or integer, as `#[derive(Enum)]` maps
//! them. The field, comparison and decoding rules are written once here, for every enum.

use std::any::type_name;
use std::fmt::Debug;

use sea_query::Value;

use crate::error::{Error, Result};
use crate::model::{Comparable, Field};
use crate::row::{ColumnRef, Row, short_type_name};

/// A fieldless Rust enum stored as text (one label per variant; a PostgreSQL native enum
/// type takes the labels too) or as an integer (the variants' discriminants). Implemented
/// by `#[derive(Enum)]`; it makes the enum a model field, a filter value and a bound
/// value.
pub trait Enum: Sized + Clone + Send + Sync + 'static {
    /// What is stored: `String` for a text-backed enum, its `#[repr]` integer for an
    /// integer-backed one.
    type Stored: Field + Into<Value> + Debug;

    /// This variant's stored value.
    fn to_stored(&self) -> Self::Stored;

    /// The variant stored as `stored`, if there is one.
    fn from_stored(stored: &Self::Stored) -> Option<Self>;
}

/// The variant of `E` stored as `stored`; an unknown value is a decode error naming the
/// column and the value.
fn variant<E: Enum, R: Row>(row: &R, column: ColumnRef<'_>, stored: E::Stored) -> Result<E> {
    E::from_stored(&stored).ok_or_else(|| {
        Error::decode(
            row.column_name(column).map_or(column, ColumnRef::Name),
            type_name::<E>(),
            format!(
                "the stored value {stored:?} is none of {}'s variants",
                short_type_name(type_name::<E>())
            ),
        )
    })
}

impl<E: Enum> Field for E {
    type Compare = E;

    fn to_value(&self) -> Result<Value> {
        Ok(self.to_stored().into())
    }

    fn decode<R: Row>(row: &R, column: ColumnRef<'_>) -> Result<E> {
        variant(row, column, E::Stored::decode(row, column)?)
    }
}

impl<E: Enum> Field for Option<E>
where
    Option<E::Stored>: Field,
{
    type Compare = E;

    fn to_value(&self) -> Result<Value> {
        match self {
            Some(variant) => variant.to_value(),
            // A NULL of the stored kind, so the server sees the parameter's type.
            None => None::<E::Stored>.to_value(),
        }
    }

    fn decode<R: Row>(row: &R, column: ColumnRef<'_>) -> Result<Option<E>> {
        <Option<E::Stored>>::decode(row, column)?
            .map(|stored| variant(row, column, stored))
            .transpose()
    }
}

impl<E: Enum> Comparable<E> for E {
    fn into_value(self) -> Value {
        self.to_stored().into()
    }
}
