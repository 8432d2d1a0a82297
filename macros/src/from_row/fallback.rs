//! What an invalid `FromRow` struct expands to besides its errors: a stub impl, so code
//! reading it type-checks and the user sees the real mistakes, not a cascade from them.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse_quote;

use crate::from_row::ast::Input;

pub(crate) fn stub(input: &Input) -> TokenStream {
    let ident = input.ident;
    let (_, type_generics, where_clause) = input.generics.split_for_impl();
    let mut generics = input.generics.clone();
    generics.params.insert(0, parse_quote!(__R: __t::Row));
    let (impl_generics, _, _) = generics.split_for_impl();
    quote! {
        const _: () = {
            use ::tethered::__private as __t;

            impl #impl_generics __t::FromRow<__R> for #ident #type_generics #where_clause {
                fn from_row(_: __R) -> __t::Result<Self> {
                    ::std::unreachable!()
                }
            }
        };
    }
}
