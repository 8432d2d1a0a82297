//! Generates a valid stored enum's code: the `Enum` impl (which makes it a field, a filter
//! value and a decoded column) and its conversion into a bound value. Never fails.

use proc_macro2::TokenStream;
use quote::quote;

use crate::enums::ast::Input;

pub(crate) fn expand(input: &Input) -> TokenStream {
    let ident = input.ident;
    let variants: Vec<_> = input.variants.iter().map(|variant| variant.ident).collect();
    let body = match &input.repr {
        // Stored as the discriminant, compared through constants: a pattern cannot name
        // `Self::A as i32`.
        Some(repr) => quote! {
            type Stored = #repr;

            fn to_stored(&self) -> #repr {
                match self {
                    #(#ident::#variants => #ident::#variants as #repr,)*
                }
            }

            fn from_stored(stored: &#repr) -> ::std::option::Option<Self> {
                #(
                    if *stored == #ident::#variants as #repr {
                        return ::std::option::Option::Some(#ident::#variants);
                    }
                )*
                ::std::option::Option::None
            }
        },
        None => {
            let labels = input.labels();
            quote! {
                type Stored = ::std::string::String;

                fn to_stored(&self) -> ::std::string::String {
                    let label = match self {
                        #(#ident::#variants => #labels,)*
                    };
                    ::std::borrow::ToOwned::to_owned(label)
                }

                fn from_stored(stored: &::std::string::String) -> ::std::option::Option<Self> {
                    match stored.as_str() {
                        #(#labels => ::std::option::Option::Some(#ident::#variants),)*
                        _ => ::std::option::Option::None,
                    }
                }
            }
        }
    };
    quote! {
        const _: () = {
            use ::tethered::__private as __t;

            #[automatically_derived]
            impl __t::Enum for #ident {
                #body
            }

            /// Binds the variant's stored value.
            #[automatically_derived]
            impl ::std::convert::From<#ident> for __t::Value {
                fn from(variant: #ident) -> __t::Value {
                    ::std::convert::Into::into(__t::Enum::to_stored(&variant))
                }
            }
        };
    }
}

/// What an invalid enum expands to besides its errors: the impls, without a body that could
/// fail again, so uses of the enum elsewhere report nothing more.
pub(crate) fn stub(input: &Input) -> TokenStream {
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let ident = input.ident;
    quote! {
        const _: () = {
            use ::tethered::__private as __t;

            impl __t::Enum for #ident {
                type Stored = ::std::string::String;

                fn to_stored(&self) -> ::std::string::String {
                    ::std::unreachable!()
                }

                fn from_stored(_: &::std::string::String) -> ::std::option::Option<Self> {
                    ::std::unreachable!()
                }
            }
        };
    }
}
