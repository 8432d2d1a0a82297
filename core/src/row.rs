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

/// A row as a backend returns it.
pub trait Row: Send + Sized + 'static {
    /// The value of `column` as `T`. Errors name the column and the type.
    fn try_get<'a, T: Decode<Self>>(&self, column: impl Into<ColumnRef<'a>>) -> Result<T> {
        T::decode(self, column.into())
    }
}

/// A Rust type a backend's row can be decoded into.
pub trait Decode<R: Row>: Sized {
    /// Reads `column` of `row`; a missing column or a type mismatch is an
    /// [`Error::Decode`] naming the column.
    fn decode(row: &R, column: ColumnRef<'_>) -> Result<Self>;
}

/// A type built from a whole row: a model, a tuple of columns, or the row itself.
pub trait FromRow<R: Row>: Sized {
    /// Builds `Self` from `row`.
    fn from_row(row: R) -> Result<Self>;
}

macro_rules! tuples {
    ($(($($t:ident $i:tt),+)),+ $(,)?) => {$(
        /// The columns in order.
        impl<R: Row, $($t: Decode<R>),+> FromRow<R> for ($($t,)+) {
            fn from_row(row: R) -> Result<Self> {
                Ok(($($t::decode(&row, ColumnRef::Index($i))?,)+))
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
