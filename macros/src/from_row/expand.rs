//! Generates a valid `FromRow` struct's impl. Never fails: everything was checked before.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{WhereClause, parse_quote};

use crate::from_row::ast::{Field, Input};
use crate::from_row::attr::FieldDefault;

pub(crate) fn expand(input: &Input) -> TokenStream {
    let ident = input.ident;
    let (_, type_generics, _) = input.generics.split_for_impl();
    let mut generics = input.generics.clone();
    generics.params.insert(0, parse_quote!(__R: __t::Row));
    let (impl_generics, _, _) = generics.split_for_impl();
    let mut bounds: WhereClause = input
        .generics
        .where_clause
        .clone()
        .unwrap_or_else(|| parse_quote!(where));
    // Bounds on the row, not the field types: for standard field types they follow from
    // `Row` itself, so code generic over the backend needs none; a type no backend decodes
    // is reported where the row is read.
    for field in &input.fields {
        let ty = field.ty;
        bounds.predicates.push(parse_quote!(__R: __t::Decodes<#ty>));
    }
    // The struct's own default, built once per row and only if a field may need it.
    let struct_default = input.attrs.default.filter(|_| {
        input
            .fields
            .iter()
            .any(|field| field.attrs.default.is_none())
    });
    let defaults = struct_default.map(
        |span| quote_spanned!(span=> let __default: Self = ::std::default::Default::default();),
    );
    let fields = input
        .fields
        .iter()
        .enumerate()
        .map(|(position, field)| read(field, position, struct_default.is_some()));
    quote! {
        const _: () = {
            use ::tethered::__private as __t;

            #[automatically_derived]
            impl #impl_generics __t::FromRow<__R> for #ident #type_generics #bounds {
                fn from_row(row: __R) -> __t::Result<Self> {
                    #defaults
                    ::std::result::Result::Ok(#ident { #(#fields),* })
                }
            }
        };
    }
}

/// `field: <its column's value>`. The column is expected at the field's position (report
/// queries mostly select in the struct's order) and searched for by name otherwise.
fn read(field: &Field, position: usize, struct_default: bool) -> TokenStream {
    let (name, ty, column) = (field.ident, field.ty, field.column());
    let decode = quote_spanned! {ty.span()=>
        __t::Decodes::<#ty>::decode(&row, __t::ColumnRef::NameAt(#column, #position))
    };
    let absent = match &field.attrs.default {
        Some(FieldDefault::Trait(span)) => {
            quote_spanned!(*span=> ::std::default::Default::default())
        }
        Some(FieldDefault::Function(path)) => quote_spanned!(path.span()=> #path()),
        None if struct_default => quote!(__default.#name),
        None => return quote!(#name: #decode?),
    };
    // Only a column missing from the row takes the default: a NULL into a field that is
    // not an `Option`, or a value of another type, is still an error.
    quote! {
        #name: match #decode {
            ::std::result::Result::Err(error) if error.is_missing_column() => #absent,
            decoded => decoded?,
        }
    }
}
