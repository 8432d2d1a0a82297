//! The derive's input, parsed into a model of the row it reads.

use syn::{Data, DeriveInput, Fields, Generics, Ident, Type};

use crate::errors::Errors;
use crate::from_row::attr::{self, FieldAttrs, StructAttrs};

pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    pub(crate) attrs: StructAttrs,
    pub(crate) fields: Vec<Field<'a>>,
}

pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: FieldAttrs,
}

impl Field<'_> {
    /// The field's name without a raw-identifier prefix.
    pub(crate) fn name(&self) -> String {
        let name = self.ident.to_string();
        name.strip_prefix("r#").map_or(name.clone(), str::to_owned)
    }

    /// The column it is read from: the `rename`, or the field's name.
    pub(crate) fn column(&self) -> String {
        match &self.attrs.rename {
            Some(rename) => rename.value(),
            None => self.name(),
        }
    }
}

/// Parses `input`; `None` (with the reasons in `errors`) if it is not a struct with named
/// fields.
pub(crate) fn parse<'a>(input: &'a DeriveInput, errors: &mut Errors) -> Option<Input<'a>> {
    let attrs = attr::struct_attrs(&input.attrs, errors);
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named,
            Fields::Unnamed(unnamed) => {
                errors.at(
                    unnamed,
                    "FromRow reads each field from the column of its name, so it needs named \
                     fields: for columns by position, read a tuple such as `(i64, String)`",
                );
                return None;
            }
            Fields::Unit => {
                errors.at(
                    input.ident.clone(),
                    "FromRow needs named fields: each is read from the column of its name",
                );
                return None;
            }
        },
        Data::Enum(data) => {
            errors.push(syn::Error::new(
                data.enum_token.span,
                "FromRow reads a row into a struct with named fields, not an enum",
            ));
            return None;
        }
        Data::Union(data) => {
            errors.push(syn::Error::new(
                data.union_token.span,
                "FromRow reads a row into a struct with named fields, not a union",
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
