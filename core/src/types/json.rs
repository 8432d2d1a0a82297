//! [`Json<T>`]: a column holding any serde type as JSON.

use std::ops::{Deref, DerefMut};

use sea_query::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::model::Field;
use crate::row::{ColumnRef, Decodes, Row, short_type_name};

/// A value of a serde type `T`, stored in a JSON column (PostgreSQL `json`/`jsonb`,
/// MySQL/MariaDB `JSON`). As a model field it is serialized on the way in and deserialized
/// on the way out; a value that does not deserialize into `T` is a decode error naming the
/// column, and one that does not serialize (a map with non-string keys) is
/// [`Error::InvalidInput`], before anything is sent.
///
/// In raw SQL, bind [`Json::to_value`]'s result and read it back with `row.try_get::<Json<T>>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The wrapped value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: Serialize> Json<T> {
    /// The value as a JSON value to bind; a value serde_json cannot represent (a map with
    /// non-string keys, a serializer's own error) is [`Error::InvalidInput`].
    pub fn to_value(&self) -> Result<Value> {
        serde_json::to_value(&self.0)
            .map(Value::from)
            .map_err(|error| {
                Error::InvalidInput(format!(
                    "cannot store a {} as JSON: {error}",
                    short_type_name(std::any::type_name::<T>())
                ))
            })
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> From<T> for Json<T> {
    fn from(value: T) -> Json<T> {
        Json(value)
    }
}

/// Deserializes a decoded JSON value into `T`, or says which column did not fit.
fn deserialize<T: DeserializeOwned, R: Row>(
    row: &R,
    column: ColumnRef<'_>,
    json: serde_json::Value,
) -> Result<T> {
    serde_json::from_value(json).map_err(|error| {
        let column = row.column_name(column).map_or(column, ColumnRef::Name);
        Error::decode(column, std::any::type_name::<Json<T>>(), error)
    })
}

/// Every row that decodes JSON decodes it into any deserializable `T`.
impl<R, T> Decodes<Json<T>> for R
where
    R: Row,
    T: DeserializeOwned,
{
    fn decode(&self, column: ColumnRef<'_>) -> Result<Json<T>> {
        let json = Decodes::<serde_json::Value>::decode(self, column)?;
        deserialize(self, column, json).map(Json)
    }
}

/// NULL is `None`; JSON's own `null` is `T`'s, when `T` takes it.
impl<R, T> Decodes<Option<Json<T>>> for R
where
    R: Row,
    T: DeserializeOwned,
{
    fn decode(&self, column: ColumnRef<'_>) -> Result<Option<Json<T>>> {
        Decodes::<Option<serde_json::Value>>::decode(self, column)?
            .map(|json| deserialize(self, column, json).map(Json))
            .transpose()
    }
}

impl<T> Field for Json<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    // JSON values are compared on the server with its own operators, not with `=`.
    type Compare = Json<T>;

    fn to_value(&self) -> Result<Value> {
        Json::to_value(self)
    }

    fn decode<R: Row>(row: &R, column: ColumnRef<'_>) -> Result<Json<T>> {
        Decodes::<Json<T>>::decode(row, column)
    }
}

impl<T> Field for Option<Json<T>>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Compare = Json<T>;

    fn to_value(&self) -> Result<Value> {
        match self {
            Some(json) => json.to_value(),
            None => Ok(Value::Json(None)),
        }
    }

    fn decode<R: Row>(row: &R, column: ColumnRef<'_>) -> Result<Option<Json<T>>> {
        Decodes::<Option<Json<T>>>::decode(row, column)
    }
}
