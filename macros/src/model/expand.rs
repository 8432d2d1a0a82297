//! Generates a valid model's code: the `Model`, `Keyed` and `FromRow` impls and the typed
//! column handles. Never fails: everything was checked before.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::ast::{Field, Input};

pub(crate) fn expand(input: &Input) -> TokenStream {
    let ident = input.ident;
    let table = input.table();
    let columns = input.stored().map(column_info);
    let values = input.stored().map(|field| {
        let name = field.ident;
        // Spanned at the field's type: an unsupported type is reported there.
        quote_spanned!(field.ty.span()=> __t::field_value(&self.#name))
    });
    let keyed = input.primary_key().map(|key| {
        let (name, ty) = (key.ident, key.ty);
        let info = column_info(key);
        quote! {
            impl __t::Keyed for #ident {
                type Key = #ty;
                const KEY: __t::ColumnInfo = #info;

                fn key(&self) -> #ty {
                    ::std::clone::Clone::clone(&self.#name)
                }
            }
        }
    });
    let from_row = from_row(input);
    let handles = handles(input);
    quote! {
        const _: () = {
            use ::tethered::__private as __t;

            impl __t::Model for #ident {
                const TABLE: &'static str = #table;
                const COLUMNS: &'static [__t::ColumnInfo] = &[#(#columns),*];

                fn values(&self) -> ::std::vec::Vec<__t::Value> {
                    ::std::vec![#(#values),*]
                }
            }

            #keyed
            #from_row
        };
        #handles
    }
}

fn column_info(field: &Field) -> TokenStream {
    let (column, generated) = (field.column(), field.generated());
    quote!(__t::ColumnInfo { name: #column, generated: #generated })
}

/// Decodes each stored field by column name; skipped fields get their default.
fn from_row(input: &Input) -> TokenStream {
    let ident = input.ident;
    let bounds = input.stored().map(|field| {
        let ty = field.ty;
        quote!(#ty: __t::Decode<R>)
    });
    let fields = input.fields.iter().map(|field| {
        let name = field.ident;
        if field.attrs.skip.is_some() {
            quote_spanned!(field.ty.span()=> #name: ::std::default::Default::default())
        } else {
            let column = field.column();
            quote!(#name: __t::Row::try_get(&row, #column)?)
        }
    });
    quote! {
        impl<R: __t::Row> __t::FromRow<R> for #ident
        where
            #(#bounds,)*
        {
            fn from_row(row: R) -> __t::Result<Self> {
                ::std::result::Result::Ok(#ident { #(#fields),* })
            }
        }
    }
}

/// `User::EMAIL` and friends: typed handles for filters and ordering.
fn handles(input: &Input) -> TokenStream {
    let ident = input.ident;
    let handles = input.stored().map(|field| {
        let (handle, ty, column) = (field.handle(), field.ty, field.column());
        let doc = format!("The `{column}` column, for filters and ordering.");
        quote! {
            #[doc = #doc]
            pub const #handle: ::tethered::__private::Column<#ident, #ty> =
                ::tethered::__private::Column::new(#column);
        }
    });
    quote! {
        #[automatically_derived]
        impl #ident {
            #(#handles)*
        }
    }
}
