//! Reading typed values out of a backend's rows.

use crate::error::Result;
use crate::model::Field;

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
    ///
    /// Inlined: it runs for every field of every row decoded, and a model's field is
    /// nearly always where the model expects it, which takes one comparison.
    #[inline]
    pub fn locate(self, count: usize, is_named: impl Fn(usize, &str) -> bool) -> Option<usize> {
        match self {
            ColumnRef::NameAt(name, at) if at < count && is_named(at, name) => Some(at),
            ColumnRef::Index(index) => (index < count).then_some(index),
            ColumnRef::Name(name) | ColumnRef::NameAt(name, _) => {
                (0..count).find(|&i| is_named(i, name))
            }
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

/// Declares a helper supertrait of [`Row`] for one feature's types: with the feature on,
/// the trait needs `Decodes` of each type and of its `Option`; with it off, it needs
/// nothing. Either way every type meeting it has it, so `Row` can name it unconditionally.
macro_rules! decodes_feature_types {
    ($name:ident; $($t:ty),*) => {
        /// The `Decodes` bounds of one feature's column types, part of [`Row`]; empty when
        /// the feature is off. Implemented for every type that has those bounds.
        pub trait $name: $(Decodes<$t> + Decodes<Option<$t>> +)* {}

        impl<R: $(Decodes<$t> + Decodes<Option<$t>> +)*> $name for R {}
    };
}

crate::chrono_types!(decodes_feature_types, DecodesChrono);
crate::time_types!(decodes_feature_types, DecodesTime);
crate::uuid_types!(decodes_feature_types, DecodesUuid);
crate::json_types!(decodes_feature_types, DecodesJson);
crate::decimal_types!(decodes_feature_types, DecodesDecimal);

/// A row as a backend returns it. Every row decodes every standard field type (those a
/// model field may have, see [`Field`](crate::Field)) and the types of every column-type
/// feature that is on (`chrono`, `time`, `uuid`, `json`, `decimal`), so code generic over the
/// backend needs no bounds to read them.
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
    + DecodesChrono
    + DecodesTime
    + DecodesUuid
    + DecodesJson
    + DecodesDecimal
{
    /// The server's name of `column`, if the row has it: errors of decoders built on
    /// others (a derived enum, `Json<T>`) name the column even when it was asked for by
    /// position.
    fn column_name(&self, column: ColumnRef<'_>) -> Option<&str>;

    /// The value of `column` as `T`. Errors name the column and the type.
    fn try_get<'a, T>(&self, column: impl Into<ColumnRef<'a>>) -> Result<T>
    where
        Self: Decodes<T>,
    {
        self.decode(column.into())
    }

    /// The value of `column` as any model field type, including those decoded through
    /// another (a `#[derive(Enum)]` enum reads its text or integer and maps it). Errors
    /// name the column and the type.
    fn try_get_field<'a, T: Field>(&self, column: impl Into<ColumnRef<'a>>) -> Result<T> {
        T::decode(self, column.into())
    }
}

/// A row that can read a column as a `T`. Implemented by each backend's row, for the
/// standard field types and whatever else the backend supports.
pub trait Decodes<T> {
    /// Reads `column` as a `T`; a missing column, a NULL into a non-`Option`, or a type
    /// mismatch is an [`Error::Decode`](crate::Error::Decode) naming the column.
    fn decode(&self, column: ColumnRef<'_>) -> Result<T>;
}

/// A type built from a whole row: a model, a report row (`#[derive(FromRow)]`), a tuple of
/// columns, or the row itself.
pub trait FromRow<R: Row>: Sized {
    /// The table rows of this type are read from, for a model: a query that must return
    /// one and returns none says which table in [`Error::RowNotFound`](crate::Error).
    const FROM_TABLE: Option<&'static str> = None;

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

// Up to 16 columns: report rows wider than that deserve names (`#[derive(FromRow)]`).
tuples!(
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, E 3),
    (A 0, B 1, C 2, E 3, F 4),
    (A 0, B 1, C 2, E 3, F 4, G 5),
    (A 0, B 1, C 2, E 3, F 4, G 5, H 6),
    (A 0, B 1, C 2, E 3, F 4, G 5, H 6, I 7),
    (A 0, B 1, C 2, E 3, F 4, G 5, H 6, I 7, J 8),
    (A 0, B 1, C 2, E 3, F 4, G 5, H 6, I 7, J 8, K 9),
    (A 0, B 1, C 2, E 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10),
    (A 0, B 1, C 2, E 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11),
    (A 0, B 1, C 2, E 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11, N 12),
    (A 0, B 1, C 2, E 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11, N 12, O 13),
    (A 0, B 1, C 2, E 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11, N 12, O 13, P 14),
    (A 0, B 1, C 2, E 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11, N 12, O 13, P 14, Q 15),
);

/// A type's name as written in code, without module paths: `Option<String>` for
/// `core::option::Option<alloc::string::String>`.
pub fn short_type_name(full: &str) -> String {
    let mut short = String::with_capacity(full.len());
    let mut segment = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
            continue;
        }
        short.push_str(segment.rsplit("::").next().unwrap_or_default());
        segment.clear();
        short.push(c);
    }
    short.push_str(segment.rsplit("::").next().unwrap_or_default());
    short
}

#[cfg(test)]
mod tests {
    use super::{ColumnRef, short_type_name};

    #[test]
    fn type_names_lose_their_module_paths() {
        assert_eq!(short_type_name("alloc::string::String"), "String");
        assert_eq!(
            short_type_name("core::option::Option<alloc::vec::Vec<u8>>"),
            "Option<Vec<u8>>"
        );
        assert_eq!(
            short_type_name("chrono::DateTime<chrono::offset::utc::Utc>"),
            "DateTime<Utc>"
        );
        assert_eq!(short_type_name("(i32, &str)"), "(i32, &str)");
    }

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
