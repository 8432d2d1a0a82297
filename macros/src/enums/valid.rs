//! What a stored enum must satisfy beyond parsing; every violation reported, each at its
//! place.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use syn::Fields;

use crate::enums::ast::{CASES, INTEGER_REPRS, Input};
use crate::errors::Errors;

pub(crate) fn validate(input: &Input, errors: &mut Errors) {
    if !input.generics.params.is_empty() {
        errors.at(
            input.generics,
            "a stored enum cannot be generic: its variants are the column's values",
        );
    }
    if input.variants.is_empty() {
        errors.at(
            input.ident,
            "a stored enum needs at least one variant: a column of it could hold nothing",
        );
    }
    for variant in &input.variants {
        if !matches!(variant.fields, Fields::Unit) {
            errors.at(
                variant.fields,
                format!(
                    "variant `{}` has fields: a stored enum's variants are plain names, \
                     each one value of the column",
                    variant.ident
                ),
            );
        }
    }
    if let Some(repr) = &input.repr {
        if !INTEGER_REPRS.contains(&repr.to_string().as_str()) {
            errors.at(
                repr,
                format!(
                    "an enum stored as an integer needs one of: {}",
                    INTEGER_REPRS.join(", ")
                ),
            );
        }
        // An integer-backed enum stores its discriminants: names play no part.
        if let Some(rename_all) = &input.rename_all {
            errors.at(
                rename_all,
                "`rename_all` names labels, and this enum is stored as its `#[repr]` integer",
            );
        }
        for rename in input.variants.iter().filter_map(|v| v.rename.as_ref()) {
            errors.at(
                rename,
                "`rename` names a label, and this enum is stored as its `#[repr]` integer",
            );
        }
        return;
    }
    if let Some(rename_all) = &input.rename_all
        && !CASES.contains(&rename_all.value().as_str())
    {
        errors.at(
            rename_all,
            format!("unknown case; expected one of: {}", CASES.join(", ")),
        );
        return;
    }
    // Each label, with the variant stored as it first.
    let mut labels = HashMap::new();
    for (variant, label) in input.variants.iter().zip(input.labels()) {
        match labels.entry(label) {
            Entry::Vacant(slot) => {
                slot.insert(variant.ident);
            }
            Entry::Occupied(first) => {
                let message = format!(
                    "variant `{}` is stored as \"{}\", like variant `{}`: each variant needs \
                     a label of its own",
                    variant.ident,
                    first.key(),
                    first.get()
                );
                match &variant.rename {
                    Some(rename) => errors.at(rename, message),
                    None => errors.at(variant.ident, message),
                }
            }
        }
    }
}
