//! The `#[tethered(...)]` attributes, on the struct and on its fields.

use proc_macro2::Span;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr, Token};

use crate::errors::Errors;

/// `#[tethered(table = "...")]` on the struct.
#[derive(Default)]
pub(crate) struct StructAttrs {
    pub(crate) table: Option<LitStr>,
}

/// `#[tethered(primary_key, auto_increment, column = "...", skip)]` on a field. Each flag
/// keeps the span of the word, for errors about it.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) primary_key: Option<Span>,
    pub(crate) auto_increment: Option<Span>,
    pub(crate) column: Option<LitStr>,
    pub(crate) skip: Option<Span>,
}

const STRUCT_KEYS: &[&str] = &["table"];
const FIELD_KEYS: &[&str] = &["primary_key", "auto_increment", "column", "skip"];

pub(crate) fn struct_attrs(attrs: &[Attribute], errors: &mut Errors) -> StructAttrs {
    let mut parsed = StructAttrs::default();
    each(attrs, errors, |meta, errors| {
        let key = key(&meta);
        match key.as_str() {
            "table" => {
                let value = string(&meta, errors);
                set(&mut parsed.table, value, &meta, errors);
            }
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
            "primary_key" => flag(&mut parsed.primary_key, &meta, errors),
            "auto_increment" => flag(&mut parsed.auto_increment, &meta, errors),
            "skip" => flag(&mut parsed.skip, &meta, errors),
            "column" => {
                let value = string(&meta, errors);
                set(&mut parsed.column, value, &meta, errors);
            }
            _ => misplaced(&meta, &key, FIELD_KEYS, STRUCT_KEYS, "the struct", errors),
        }
    });
    parsed
}

/// Calls `visit` on every item of every `#[tethered(...)]`, collecting errors instead of
/// stopping at the first.
fn each(
    attrs: &[Attribute],
    errors: &mut Errors,
    mut visit: impl FnMut(ParseNestedMeta, &mut Errors),
) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("tethered")) {
        let parsed = attr.parse_nested_meta(|meta| {
            visit(meta, errors);
            Ok(())
        });
        if let Err(error) = parsed {
            errors.push(error);
        }
    }
}

fn key(meta: &ParseNestedMeta) -> String {
    meta.path.get_ident().map_or_else(
        || meta.path.to_token_stream().to_string(),
        ToString::to_string,
    )
}

fn flag(slot: &mut Option<Span>, meta: &ParseNestedMeta, errors: &mut Errors) {
    if meta.input.peek(Token![=]) {
        errors.push(meta.error(format!("`{}` takes no value", key(meta))));
        skip_value(meta);
    }
    set(slot, Some(meta.path.span_of_ident()), meta, errors);
}

fn string(meta: &ParseNestedMeta, errors: &mut Errors) -> Option<LitStr> {
    let parsed = meta.value().and_then(|value| value.parse::<LitStr>());
    match parsed {
        Ok(literal) if literal.value().is_empty() => {
            errors.at(&literal, format!("`{}` cannot be empty", key(meta)));
            None
        }
        Ok(literal) => Some(literal),
        Err(_) => {
            errors.push(meta.error(format!("expected `{} = \"...\"`", key(meta))));
            skip_value(meta);
            None
        }
    }
}

/// Records `value` unless the attribute was given before.
fn set<T>(slot: &mut Option<T>, value: Option<T>, meta: &ParseNestedMeta, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(meta.error(format!("duplicate `{}` attribute", key(meta))));
    } else if value.is_some() {
        *slot = value;
    }
}

fn misplaced(
    meta: &ParseNestedMeta,
    key: &str,
    here: &[&str],
    there: &[&str],
    where_it_belongs: &str,
    errors: &mut Errors,
) {
    let message = if there.contains(&key) {
        format!("`{key}` belongs on {where_it_belongs}")
    } else {
        format!(
            "unknown attribute `{key}`; expected one of: {}",
            here.join(", ")
        )
    };
    errors.push(meta.error(message));
    skip_value(meta);
}

/// Consumes `= value` or `(...)` after an attribute that will not be used, so parsing goes
/// on to the next one.
fn skip_value(meta: &ParseNestedMeta) {
    if let Ok(value) = meta.value() {
        let _ = value.parse::<syn::Expr>();
    } else if meta.input.peek(syn::token::Paren) {
        let _ = meta.parse_nested_meta(|_| Ok(()));
    }
}

trait SpanOfIdent {
    fn span_of_ident(&self) -> Span;
}

impl SpanOfIdent for syn::Path {
    fn span_of_ident(&self) -> Span {
        self.segments
            .last()
            .map_or_else(Span::call_site, |segment| segment.ident.span())
    }
}
