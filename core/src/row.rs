//! Reading typed values out of a backend's rows.

use crate::error::Result;

/// Which column to read: by name (as the server reports it) or by position from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnRef<'a> {
    /// The column with this name.
    Name(&'a str),
    /// The column at this position.
    Index(usize),
}

impl<'a> From<&'a str> for ColumnRef<'a> {
    fn from(name: &'a str) -> ColumnRef<'a> {
        ColumnRef::Name(name)
    }
}

impl From<usize> for ColumnRef<'_> {
    fn from(index: usize) -> ColumnRef<'static> {
        ColumnRef::Index(index)
    }
}

/// Calls `$callback!(i8, i16, ..., String, Vec<u8>)` with the standard field types: those a
/// model field may have (with `Option` of each), every [`Row`] decodes, and every backend
/// binds. Backends implement [`Decodes`] for them through it, so the list lives here only.
#[macro_export]
macro_rules! standard_types {
    ($callback:ident) => {
        $callback!(
            i8,
            i16,
            i32,
            i64,
            u8,
            u16,
            u32,
            u64,
            bool,
            f32,
            f64,
            String,
            Vec<u8>
        );
    };
}

/// A row as a backend returns it. Every row decodes every standard field type (those a
/// model field may have, see [`Field`](crate::Field)), so code generic over the backend
/// needs no bounds to read them.
pub trait Row:
    Send
    + Sized
    + 'static
    + Decodes<i8>
    + Decodes<i16>
    + Decodes<i32>
    + Decodes<i64>
    + Decodes<u8>
    + Decodes<u16>
    + Decodes<u32>
    + Decodes<u64>
    + Decodes<bool>
    + Decodes<f32>
    + Decodes<f64>
    + Decodes<String>
    + Decodes<Vec<u8>>
    + Decodes<Option<i8>>
    + Decodes<Option<i16>>
    + Decodes<Option<i32>>
    + Decodes<Option<i64>>
    + Decodes<Option<u8>>
    + Decodes<Option<u16>>
    + Decodes<Option<u32>>
    + Decodes<Option<u64>>
    + Decodes<Option<bool>>
    + Decodes<Option<f32>>
    + Decodes<Option<f64>>
    + Decodes<Option<String>>
    + Decodes<Option<Vec<u8>>>
{
    /// The value of `column` as `T`. Errors name the column and the type.
    fn try_get<'a, T>(&self, column: impl Into<ColumnRef<'a>>) -> Result<T>
    where
        Self: Decodes<T>,
    {
        self.decode(column.into())
    }
}

/// A row that can read a column as a `T`. Implemented by each backend's row, for the
/// standard field types and whatever else the backend supports.
pub trait Decodes<T> {
    /// Reads `column` as a `T`; a missing column, a NULL into a non-`Option`, or a type
    /// mismatch is an [`Error::Decode`](crate::Error::Decode) naming the column.
    fn decode(&self, column: ColumnRef<'_>) -> Result<T>;
}

/// A type built from a whole row: a model, a tuple of columns, or the row itself.
pub trait FromRow<R: Row>: Sized {
    /// Builds `Self` from `row`.
    fn from_row(row: R) -> Result<Self>;
}

macro_rules! tuples {
    ($(($($t:ident $i:tt),+)),+ $(,)?) => {$(
        /// The columns in order.
        impl<R: Row $(+ Decodes<$t>)+, $($t),+> FromRow<R> for ($($t,)+) {
            fn from_row(row: R) -> Result<Self> {
                Ok(($(Decodes::<$t>::decode(&row, ColumnRef::Index($i))?,)+))
            }
        }
    )+};
}

tuples!(
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, E 3),
    (A 0, B 1, C 2, E 3, F 4),
    (A 0, B 1, C 2, E 3, F 4, G 5),
);
