//! What an invalid model expands to besides its errors: stub impls, so the rest of the
//! crate type-checks and the user sees the real mistakes, not a cascade from them.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::ast::Input;

pub(crate) fn stub(input: &Input) -> TokenStream {
    // A stub for a generic struct would need bounds the user did not write, and fail on
    // them: nothing can treat it as a model anyway.
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let ident = input.ident;
    let keyed = input
        .fields
        .iter()
        .find(|field| field.attrs.primary_key.is_some())
        .map(|key| {
            let ty = key.ty;
            quote! {
                impl __t::Keyed for #ident {
                    type Key = #ty;
                    const KEY: __t::ColumnInfo = __t::ColumnInfo { name: "", generated: false };

                    fn key(&self) -> #ty {
                        ::std::unreachable!()
                    }
                }
            }
        });
    let handles = input.fields.iter().map(|field| {
        let (handle, ty) = (field.handle(), field.ty);
        quote!(pub const #handle: ::tethered::__private::Column<#ident, #ty> =
            ::tethered::__private::Column::new("");)
    });
    quote! {
        const _: () = {
            use ::tethered::__private as __t;

            impl __t::Model for #ident {
                const TABLE: &'static str = "";
                const COLUMNS: &'static [__t::ColumnInfo] = &[];

                fn values(&self) -> __t::Result<::std::vec::Vec<__t::Value>> {
                    ::std::unreachable!()
                }
            }

            impl<R: __t::Row> __t::FromRow<R> for #ident {
                fn from_row(_: R) -> __t::Result<Self> {
                    ::std::unreachable!()
                }
            }

            #keyed
        };
        impl #ident {
            #(#handles)*
        }
    }
}
