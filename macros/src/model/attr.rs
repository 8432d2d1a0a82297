//! The `#[tethered(...)]` attributes, on the struct and on its fields; the parsing helpers
//! (`each`, `string`, `set`, `misplaced`) serve the enum derive too.

use proc_macro2::Span;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Token};

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
pub(crate) fn each(
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

pub(crate) fn key(meta: &ParseNestedMeta) -> String {
    meta.path.get_ident().map_or_else(
        || meta.path.to_token_stream().to_string(),
        ToString::to_string,
    )
}

pub(crate) fn flag(slot: &mut Option<Span>, meta: &ParseNestedMeta, errors: &mut Errors) {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        skip_value(meta);
        // Spans the flag and its value: all of it goes.
        let key = key(meta);
        errors.push(meta.error(format!("`{key}` takes no value: write `{key}` alone")));
    }
    set(slot, Some(meta.path.span_of_ident()), meta, errors);
}

/// The string literal of `key = "..."`; an error at the value if it is anything else.
pub(crate) fn string(meta: &ParseNestedMeta, errors: &mut Errors) -> Option<LitStr> {
    let key = key(meta);
    let Ok(value) = meta.value() else {
        skip_value(meta);
        errors.push(meta.error(format!("`{key}` takes a name: `{key} = \"...\"`")));
        return None;
    };
    let expr = match value.parse::<Expr>() {
        Ok(expr) => expr,
        Err(error) => {
            errors.push(error);
            return None;
        }
    };
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(literal),
            ..
        }) if literal.value().is_empty() => {
            errors.at(&literal, format!("`{key}` cannot be empty"));
            None
        }
        Expr::Lit(ExprLit {
            lit: Lit::Str(literal),
            ..
        }) => Some(literal),
        // `table = users`: the name, unquoted.
        Expr::Path(path) if path.path.get_ident().is_some() => {
            let name = path.to_token_stream();
            errors.at(
                &path,
                format!("`{key}` takes a string: `{key} = \"{name}\"`"),
            );
            None
        }
        other => {
            errors.at(&other, format!("`{key}` takes a string: `{key} = \"...\"`"));
            None
        }
    }
}

/// Records `value` unless the attribute was given before.
pub(crate) fn set<T>(
    slot: &mut Option<T>,
    value: Option<T>,
    meta: &ParseNestedMeta,
    errors: &mut Errors,
) {
    if slot.is_some() {
        errors.push(meta.error(format!("duplicate `{}` attribute", key(meta))));
    } else if value.is_some() {
        *slot = value;
    }
}

pub(crate) fn misplaced(
    meta: &ParseNestedMeta,
    key: &str,
    here: &[&str],
    there: &[&str],
    where_it_belongs: &str,
    errors: &mut Errors,
) {
    let message = if there.contains(&key) {
        format!("`{key}` belongs on {where_it_belongs}")
    } else if let Some(meant) = closest(key, here) {
        format!("unknown attribute `{key}`: did you mean `{meant}`?")
    } else {
        format!(
            "unknown attribute `{key}`; expected one of: {}",
            here.join(", ")
        )
    };
    errors.push(meta.error(message));
    skip_value(meta);
}

/// The known attribute `key` is most likely a misspelling of: at most two edits away.
fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|candidate| (edit_distance(key, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance: insertions, deletions and substitutions of characters.
fn edit_distance(from: &str, to: &str) -> usize {
    let to: Vec<char> = to.chars().collect();
    let mut previous: Vec<usize> = (0..=to.len()).collect();
    for (i, from_char) in from.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, to_char) in to.iter().enumerate() {
            let substitution = previous[j] + usize::from(from_char != *to_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[to.len()]
}

/// Consumes `= value` or `(...)` after an attribute that will not be used, so parsing goes
/// on to the next one.
pub(crate) fn skip_value(meta: &ParseNestedMeta) {
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

#[cfg(test)]
mod tests {
    use super::{FIELD_KEYS, closest, edit_distance};

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("skip", "skip"), 0);
        assert_eq!(edit_distance("autoincrement", "auto_increment"), 1);
        assert_eq!(edit_distance("colum", "column"), 1);
        assert_eq!(edit_distance("", "key"), 3);
    }

    #[test]
    fn misspellings_suggest_the_attribute_meant() {
        assert_eq!(closest("primarykey", FIELD_KEYS), Some("primary_key"));
        assert_eq!(closest("colunm", FIELD_KEYS), Some("column"));
        assert_eq!(closest("index", FIELD_KEYS), None);
    }
}
