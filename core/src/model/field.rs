//! The types a model field may have, and the values a column compares with.

use sea_query::Value;

use crate::error::Result;
use crate::row::{ColumnRef, Decodes, Row};

/// A Rust type a model field may have: integers, `bool`, `f32`, `f64`, `String`,
/// `Vec<u8>`; with their features, chrono's and time's date and time types, `Uuid`,
/// `serde_json::Value` and [`Json<T>`](crate::Json), `Decimal`; a `#[derive(Enum)]` enum;
/// and `Option` of any of these (SQL NULL).
///
/// A field both becomes a statement's value and is read from any backend's [`Row`]: code
/// generic over the backend needs no bounds for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a model field",
    label = "not a supported field type",
    note = "a model field is one of i8, i16, i32, i64, u8, u16, u32, u64, bool, f32, f64, \
            String, Vec<u8>, a type of an enabled column feature (chrono, time, uuid, \
            json, decimal), a #[derive(Enum)] enum, or an Option of one of them (NULL)",
    note = "a field that is not stored can be marked #[tethered(skip)]"
)]
pub trait Field: Clone + Send + Sync + 'static {
    /// The type a column of this type is compared with: the field's own type, or `T` for
    /// `Option<T>` (compare with NULL through [`Column::is_null`](crate::Column::is_null)).
    type Compare;

    /// The value for a statement; [`Error::InvalidInput`](crate::Error::InvalidInput) for
    /// one that cannot be represented (a [`Json<T>`](crate::Json) serde cannot serialize).
    fn to_value(&self) -> Result<Value>;

    /// Reads `column` of `row` as this type; errors name the column.
    fn decode<R: Row>(row: &R, column: ColumnRef<'_>) -> Result<Self>;
}

/// A field's value for a statement. Called by generated code, where an unsupported field
/// type fails this bound with [`Field`]'s explanation.
#[doc(hidden)]
pub fn field_value<T: Field>(value: &T) -> Result<Value> {
    value.to_value()
}

/// A field's value read from a row. Called by generated code, like [`field_value`].
#[doc(hidden)]
pub fn field_from_row<T: Field, R: Row>(row: &R, column: ColumnRef<'_>) -> Result<T> {
    T::decode(row, column)
}

/// Types that every [`Row`] decodes directly and sea-query takes as they are.
macro_rules! fields {
    ($($t:ty),*) => {$(
        impl Field for $t {
            type Compare = $t;

            fn to_value(&self) -> Result<Value> {
                Ok(self.clone().into())
            }

            fn decode<R: Row>(row: &R, column: ColumnRef<'_>) -> Result<$t> {
                Decodes::<$t>::decode(row, column)
            }
        }

        impl Field for Option<$t> {
            type Compare = $t;

            fn to_value(&self) -> Result<Value> {
                Ok(self.clone().into())
            }

            fn decode<R: Row>(row: &R, column: ColumnRef<'_>) -> Result<Option<$t>> {
                Decodes::<Option<$t>>::decode(row, column)
            }
        }
    )*};
}

crate::column_types!(fields);

/// A value a column of Rust type `T` can be compared with: a `T`, and for text and bytes
/// their borrowed forms too (`&str` for a `String` column, `&[u8]` for a `Vec<u8>` one).
/// Numbers compare only with their own type, so a literal takes the column's type.
#[diagnostic::on_unimplemented(
    message = "a `{T}` column cannot be compared with `{Self}`",
    label = "not a `{T}`",
    note = "a filter compares a column with a value of the column's own Rust type"
)]
pub trait Comparable<T> {
    /// The value, for the statement.
    fn into_value(self) -> Value;
}

macro_rules! comparable_to_itself {
    ($($t:ty),*) => {$(
        impl Comparable<$t> for $t {
            fn into_value(self) -> Value {
                self.into()
            }
        }
    )*};
}

crate::column_types!(comparable_to_itself);

impl Comparable<String> for &str {
    fn into_value(self) -> Value {
        self.into()
    }
}

impl Comparable<String> for &String {
    fn into_value(self) -> Value {
        self.as_str().into()
    }
}

impl Comparable<Vec<u8>> for &[u8] {
    fn into_value(self) -> Value {
        self.to_vec().into()
    }
}

impl<const N: usize> Comparable<Vec<u8>> for &[u8; N] {
    fn into_value(self) -> Value {
        self.to_vec().into()
    }
}
