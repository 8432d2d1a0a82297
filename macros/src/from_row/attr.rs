//! The `#[tethered(...)]` attributes of a `FromRow` struct and its fields, parsed with the
//! model's helpers (same syntax, same diagnostics).

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, ExprPath, LitStr, Token};

use crate::errors::Errors;
use crate::model::attr::{each, flag, key, misplaced, set, string};

/// `#[tethered(default)]` on the struct: a column missing from the row takes the field's
/// value in `Self::default()`.
#[derive(Default)]
pub(crate) struct StructAttrs {
    pub(crate) default: Option<Span>,
}

/// `#[tethered(rename = "...", default, default = "path")]` on a field.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) rename: Option<LitStr>,
    pub(crate) default: Option<FieldDefault>,
}

/// What a field whose column is missing from the row takes.
pub(crate) enum FieldDefault {
    /// `default`: `Default::default()`.
    Trait(Span),
    /// `default = "path"`: what the function at `path` returns.
    Function(ExprPath),
}

const STRUCT_KEYS: &[&str] = &["default"];
const FIELD_KEYS: &[&str] = &["rename", "default"];
/// `#[derive(Model)]`'s attributes, which mean nothing to a row that is not a table.
const MODEL_KEYS: &[&str] = &["table", "primary_key", "auto_increment", "column", "skip"];

pub(crate) fn struct_attrs(attrs: &[Attribute], errors: &mut Errors) -> StructAttrs {
    let mut parsed = StructAttrs::default();
    each(attrs, errors, |meta, errors| {
        let key = key(&meta);
        match key.as_str() {
            "default" => flag(&mut parsed.default, &meta, errors),
            _ if MODEL_KEYS.contains(&key.as_str()) => model_only(&meta, &key, errors),
            _ => misplaced(&meta, &key, STRUCT_KEYS, FIELD_KEYS, "a field", errors),
        }
    });
    parsed
}

pub(crate) fn field_attrs(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    let mut parsed = FieldAttrs::default();
    each(attrs, errors, |meta, errors| {
        let key = key(&meta);
        match key.as_str() {
            "rename" => {
                let value = string(&meta, errors);
                set(&mut parsed.rename, value, &meta, errors);
            }
            "default" => {
                let value = default(&meta, errors);
                set(&mut parsed.default, value, &meta, errors);
            }
            _ if MODEL_KEYS.contains(&key.as_str()) => model_only(&meta, &key, errors),
            _ => misplaced(&meta, &key, FIELD_KEYS, STRUCT_KEYS, "the struct", errors),
        }
    });
    parsed
}

/// `default` alone, or `default = "path::to::function"`.
fn default(meta: &ParseNestedMeta, errors: &mut Errors) -> Option<FieldDefault> {
    if !meta.input.peek(Token![=]) {
        let mut span = None;
        flag(&mut span, meta, errors);
        return span.map(FieldDefault::Trait);
    }
    let function = string(meta, errors)?;
    match function.parse::<ExprPath>() {
        Ok(path) => Some(FieldDefault::Function(path)),
        Err(_) => {
            errors.at(
                &function,
                "`default` takes the path of a function returning the field's value: \
                 `default = \"path::to::function\"`",
            );
            None
        }
    }
}

/// An error for a `#[derive(Model)]` attribute on a `FromRow` struct, saying what to write
/// instead.
fn model_only(meta: &ParseNestedMeta, key: &str, errors: &mut Errors) {
    let message = match key {
        "column" => "`column` is a Model attribute: a FromRow field reads another column with \
                     `rename = \"...\"`"
            .to_owned(),
        _ => format!(
            "`{key}` is a Model attribute: a FromRow struct is not a table; it takes: {}",
            FIELD_KEYS.join(", ")
        ),
    };
    errors.push(meta.error(message));
    crate::model::attr::skip_value(meta);
}
