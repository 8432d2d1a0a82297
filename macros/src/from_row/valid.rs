//! What a `FromRow` struct must satisfy beyond parsing; every violation reported, each at
//! its place.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::errors::Errors;
use crate::from_row::ast::Input;

pub(crate) fn validate(input: &Input, errors: &mut Errors) {
    if input.fields.is_empty() {
        errors.at(
            input.ident,
            "a FromRow struct needs at least one field: each is read from a column",
        );
    }
    // Each column's name, with the field that reads it first.
    let mut columns = HashMap::new();
    for field in &input.fields {
        match columns.entry(field.column()) {
            Entry::Vacant(slot) => {
                slot.insert(field.name());
            }
            Entry::Occupied(first) => {
                let at = field
                    .attrs
                    .rename
                    .as_ref()
                    .map_or(field.ident.span(), |rename| rename.span());
                errors.push(syn::Error::new(
                    at,
                    format!(
                        "column `{}` is already read by field `{}`",
                        first.key(),
                        first.get()
                    ),
                ));
            }
        }
    }
}
