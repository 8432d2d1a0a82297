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
        let (name, ty) = (field.ident, field.ty);
        if field.attrs.primary_key.is_some() {
            // Through `Keyed`, which checks the key's type; spanned like it (see below).
            quote_spanned! {ty.span()=>
                ::std::convert::Into::into(<Self as __t::Keyed>::key(self))
            }
        } else {
            // Spanned at the field's type: an unsupported type is reported there, once.
            quote_spanned!(ty.span()=> __t::field_value::<#ty>(&self.#name)?)
        }
    });
    let keyed = input.primary_key().map(|key| {
        let (name, ty) = (key.ident, key.ty);
        let info = column_info(key);
        // `Compare` is the key's own type (a key is never an `Option`). Reaching it through
        // `Field` reports an unsupported key type with `Field`'s explanation; spanning every
        // use of the key at its type makes those reports identical, so rustc shows one.
        let key_type = quote_spanned!(ty.span()=> <#ty as __t::Field>::Compare);
        let key_fn = quote_spanned! {ty.span()=>
            fn key(&self) -> #ty {
                ::std::clone::Clone::clone(&self.#name)
            }
        };
        quote! {
            impl __t::Keyed for #ident {
                type Key = #key_type;
                const KEY: __t::ColumnInfo = #info;

                #key_fn
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

                fn values(&self) -> __t::Result<::std::vec::Vec<__t::Value>> {
                    ::std::result::Result::Ok(::std::vec![#(#values),*])
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
    // Each field reads itself through `Field`, which every `Row` serves: generic code over
    // any backend needs no bounds, and an unsupported type fails there with `Field`'s
    // explanation, at the field's type.
    // A stored field's column is expected where the model's own queries select it: the
    // field's position among the stored ones.
    let mut position = 0_usize;
    let fields = input.fields.iter().map(|field| {
        let (name, ty) = (field.ident, field.ty);
        if field.attrs.skip.is_some() {
            return quote_spanned!(field.ty.span()=> #name: ::std::default::Default::default());
        }
        let column = field.column();
        let at = position;
        position += 1;
        quote_spanned! {ty.span()=>
            #name: __t::field_from_row::<#ty, R>(&row, __t::ColumnRef::NameAt(#column, #at))?
        }
    });
    quote! {
        impl<R: __t::Row> __t::FromRow<R> for #ident {
            const FROM_TABLE: ::std::option::Option<&'static str> =
                ::std::option::Option::Some(<Self as __t::Model>::TABLE);

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
