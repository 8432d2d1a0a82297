//! The derive's input, parsed into a model of the stored enum: its variants, how each is
//! stored (a label, or the discriminant of a `#[repr]` integer) and the attributes given.

use syn::{Attribute, Data, DeriveInput, Fields, Generics, Ident, LitStr};

use crate::errors::Errors;
use crate::model::attr::{each, key, misplaced, set, string};

pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    /// Refused (a stored enum is one type), kept so the stub is not generated for it.
    pub(crate) generics: &'a Generics,
    /// `#[repr(i32)]` and friends: the enum is stored as that integer.
    pub(crate) repr: Option<Ident>,
    pub(crate) rename_all: Option<LitStr>,
    pub(crate) variants: Vec<Variant<'a>>,
}

pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) fields: &'a Fields,
    pub(crate) rename: Option<LitStr>,
}

const ENUM_KEYS: &[&str] = &["rename_all"];
const VARIANT_KEYS: &[&str] = &["rename"];

/// The integer types an enum may be stored as: the signed ones and the unsigned ones every
/// backend stores.
pub(crate) const INTEGER_REPRS: &[&str] = &["i8", "i16", "i32", "i64", "u8", "u16", "u32"];

/// Parses `input`; `None` (with the reason in `errors`) if it is not an enum.
pub(crate) fn parse<'a>(input: &'a DeriveInput, errors: &mut Errors) -> Option<Input<'a>> {
    let Data::Enum(data) = &input.data else {
        errors.at(
            &input.ident,
            "#[derive(Enum)] maps an enum to a column: use it on an enum",
        );
        return None;
    };
    let mut rename_all = None;
    each(&input.attrs, errors, |meta, errors| {
        let key = key(&meta);
        match key.as_str() {
            "rename_all" => {
                let value = string(&meta, errors);
                set(&mut rename_all, value, &meta, errors);
            }
            _ => misplaced(&meta, &key, ENUM_KEYS, VARIANT_KEYS, "a variant", errors),
        }
    });
    let variants = data
        .variants
        .iter()
        .map(|variant| Variant {
            ident: &variant.ident,
            fields: &variant.fields,
            rename: rename(&variant.attrs, errors),
        })
        .collect();
    Some(Input {
        ident: &input.ident,
        generics: &input.generics,
        repr: repr(&input.attrs),
        rename_all,
        variants,
    })
}

fn rename(attrs: &[Attribute], errors: &mut Errors) -> Option<LitStr> {
    let mut rename = None;
    each(attrs, errors, |meta, errors| {
        let key = key(&meta);
        match key.as_str() {
            "rename" => {
                let value = string(&meta, errors);
                set(&mut rename, value, &meta, errors);
            }
            _ => misplaced(&meta, &key, VARIANT_KEYS, ENUM_KEYS, "the enum", errors),
        }
    });
    rename
}

/// The integer of `#[repr(...)]`, if one is given (validation checks which).
fn repr(attrs: &[Attribute]) -> Option<Ident> {
    let mut found = None;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("repr")) {
        // `#[repr(C)]` and the like are not ours to judge; any other form is rustc's.
        let _ = attr.parse_nested_meta(|meta| {
            if let Some(ident) = meta.path.get_ident()
                && ident != "C"
            {
                found = Some(ident.clone());
            }
            Ok(())
        });
    }
    found
}

impl Input<'_> {
    /// Each variant's stored label (for a text-backed enum): its `rename`, or its name in
    /// the `rename_all` case (unchanged without one).
    pub(crate) fn labels(&self) -> Vec<String> {
        let case = self.rename_all.as_ref().map(LitStr::value);
        self.variants
            .iter()
            .map(|variant| match &variant.rename {
                Some(rename) => rename.value(),
                None => {
                    let name = variant.ident.to_string();
                    let name = name.strip_prefix("r#").unwrap_or(&name);
                    case.as_deref()
                        .and_then(|case| rename_case(name, case))
                        .unwrap_or_else(|| name.to_owned())
                }
            })
            .collect()
    }
}

/// The cases `rename_all` accepts, as serde names them.
pub(crate) const CASES: &[&str] = &[
    "lowercase",
    "UPPERCASE",
    "PascalCase",
    "camelCase",
    "snake_case",
    "SCREAMING_SNAKE_CASE",
    "kebab-case",
    "SCREAMING-KEBAB-CASE",
];

/// `name` (a PascalCase variant) in `case`; `None` for a case not in [`CASES`].
pub(crate) fn rename_case(name: &str, case: &str) -> Option<String> {
    let words = || {
        let mut words: Vec<String> = Vec::new();
        for c in name.chars() {
            match words.last_mut() {
                Some(word) if !c.is_uppercase() => word.push(c),
                _ => words.push(c.to_string()),
            }
        }
        words.into_iter().map(|word| word.to_lowercase())
    };
    let joined = |separator: &str| words().collect::<Vec<_>>().join(separator);
    Some(match case {
        "lowercase" => name.to_lowercase(),
        "UPPERCASE" => name.to_uppercase(),
        "PascalCase" => name.to_owned(),
        "camelCase" => {
            let mut chars = name.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_lowercase().chain(chars).collect()
            })
        }
        "snake_case" => joined("_"),
        "SCREAMING_SNAKE_CASE" => joined("_").to_uppercase(),
        "kebab-case" => joined("-"),
        "SCREAMING-KEBAB-CASE" => joined("-").to_uppercase(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::rename_case;

    #[test]
    fn variants_are_renamed_in_serdes_cases() {
        let case = |case| rename_case("OnHold", case).expect("a known case");
        assert_eq!(case("lowercase"), "onhold");
        assert_eq!(case("UPPERCASE"), "ONHOLD");
        assert_eq!(case("PascalCase"), "OnHold");
        assert_eq!(case("camelCase"), "onHold");
        assert_eq!(case("snake_case"), "on_hold");
        assert_eq!(case("SCREAMING_SNAKE_CASE"), "ON_HOLD");
        assert_eq!(case("kebab-case"), "on-hold");
        assert_eq!(case("SCREAMING-KEBAB-CASE"), "ON-HOLD");
        assert_eq!(rename_case("OnHold", "Title Case"), None);
    }
}
