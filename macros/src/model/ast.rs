//! The derive's input, parsed into a model of the table it maps.

use proc_macro2::Span;
use syn::{Data, DeriveInput, Fields, Generics, Ident, Type};

use crate::errors::Errors;
use crate::model::attr::{self, FieldAttrs, StructAttrs};

pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    /// Refused (a model maps one table), but kept: the fallback must not cascade from them.
    pub(crate) generics: &'a Generics,
    pub(crate) attrs: StructAttrs,
    pub(crate) fields: Vec<Field<'a>>,
}

pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: FieldAttrs,
}

impl Input<'_> {
    /// The table's name: the attribute's, or the struct's name in snake case.
    pub(crate) fn table(&self) -> String {
        match &self.attrs.table {
            Some(table) => table.value(),
            None => snake_case(&self.ident.to_string()),
        }
    }

    /// The fields stored in columns (all but the skipped ones).
    pub(crate) fn stored(&self) -> impl Iterator<Item = &Field<'_>> {
        self.fields
            .iter()
            .filter(|field| field.attrs.skip.is_none())
    }

    /// The primary key field, if exactly one is marked (validation reports the rest).
    pub(crate) fn primary_key(&self) -> Option<&Field<'_>> {
        self.stored()
            .find(|field| field.attrs.primary_key.is_some())
    }
}

impl Field<'_> {
    /// The field's name without a raw-identifier prefix.
    pub(crate) fn name(&self) -> String {
        let name = self.ident.to_string();
        name.strip_prefix("r#").map_or(name.clone(), str::to_owned)
    }

    /// The column's name: the attribute's, or the field's.
    pub(crate) fn column(&self) -> String {
        match &self.attrs.column {
            Some(column) => column.value(),
            None => self.name(),
        }
    }

    /// The name of the typed column handle: the field's name in upper case.
    pub(crate) fn handle(&self) -> Ident {
        Ident::new(&self.name().to_uppercase(), self.ident.span())
    }

    /// Whether the database fills the column in (never inserted or updated).
    pub(crate) fn generated(&self) -> bool {
        self.attrs.auto_increment.is_some()
    }
}

/// Parses `input`; `None` (with the reasons in `errors`) if it is not a struct with named
/// fields.
pub(crate) fn parse<'a>(input: &'a DeriveInput, errors: &mut Errors) -> Option<Input<'a>> {
    let attrs = attr::struct_attrs(&input.attrs, errors);
    if !input.generics.params.is_empty() {
        errors.at(
            &input.generics,
            "a model cannot be generic: it maps one table",
        );
    }
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named,
            other => {
                errors.at(other, "a model needs named fields: each is a column");
                return None;
            }
        },
        Data::Enum(data) => {
            errors.push(syn::Error::new(
                data.enum_token.span,
                "a model must be a struct, not an enum",
            ));
            return None;
        }
        Data::Union(data) => {
            errors.push(syn::Error::new(
                data.union_token.span,
                "a model must be a struct, not a union",
            ));
            return None;
        }
    };
    let fields = named
        .named
        .iter()
        .filter_map(|field| {
            Some(Field {
                ident: field.ident.as_ref()?,
                ty: &field.ty,
                attrs: attr::field_attrs(&field.attrs, errors),
            })
        })
        .collect();
    Some(Input {
        ident: &input.ident,
        generics: &input.generics,
        attrs,
        fields,
    })
}

fn snake_case(name: &str) -> String {
    let mut snake = String::new();
    for (index, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if index > 0 {
                snake.push('_');
            }
            snake.extend(c.to_lowercase());
        } else {
            snake.push(c);
        }
    }
    snake
}

/// A span for errors about the whole struct.
pub(crate) fn struct_span(input: &Input) -> Span {
    input.ident.span()
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn struct_names_become_snake_case_tables() {
        assert_eq!(snake_case("User"), "user");
        assert_eq!(snake_case("UserAccount"), "user_account");
    }
}
