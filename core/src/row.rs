//! Reading typed values out of a backend's rows.

use crate::error::Result;

/// Which column to read: by name (as the server reports it) or by position from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnRef<'a> {
    /// The column with this name.
    Name(&'a str),
    /// The column with this name, expected at this position: a model's columns come in
    /// the order its queries select them, so the name is checked there first and searched
    /// for only when the row is laid out otherwise.
    NameAt(&'a str, usize),
    /// The column at this position.
    Index(usize),
}

impl ColumnRef<'_> {
    /// Where this column is in a row of `count` columns, `is_named(i, name)` telling
    /// whether column `i` is called `name`; `None` if the row has no such column.
    pub fn locate(self, count: usize, is_named: impl Fn(usize, &str) -> bool) -> Option<usize> {
        let search = |name| (0..count).find(|&i| is_named(i, name));
        match self {
            ColumnRef::Index(index) => (index < count).then_some(index),
            ColumnRef::Name(name) => search(name),
            ColumnRef::NameAt(name, at) if at < count && is_named(at, name) => Some(at),
            ColumnRef::NameAt(name, _) => search(name),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::ColumnRef;

    #[test]
    fn columns_are_located_by_index_name_or_expected_position() {
        let names = ["id", "email", "age"];
        let is_named = |i: usize, name: &str| names[i] == name;
        let locate = |column: ColumnRef| column.locate(names.len(), is_named);

        assert_eq!(locate(ColumnRef::Index(2)), Some(2));
        assert_eq!(locate(ColumnRef::Index(3)), None);
        assert_eq!(locate(ColumnRef::Name("email")), Some(1));
        assert_eq!(locate(ColumnRef::Name("missing")), None);
        assert_eq!(locate(ColumnRef::NameAt("age", 2)), Some(2));
        assert_eq!(
            locate(ColumnRef::NameAt("age", 0)),
            Some(2),
            "laid out otherwise"
        );
        assert_eq!(
            locate(ColumnRef::NameAt("age", 9)),
            Some(2),
            "fewer columns"
        );
        assert_eq!(locate(ColumnRef::NameAt("missing", 1)), None);
    }
}
