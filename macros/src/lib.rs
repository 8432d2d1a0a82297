//! The macros of tethered. Not for direct use: depend on `tethered`, which re-exports them
//! and documents what they generate.
//!
//! Each macro parses its input into a model, validates it (reporting every mistake at once,
//! each at the attribute or field at fault), then generates code that never fails.

mod context_first;
mod enums;
mod errors;
mod from_row;
mod model;

use proc_macro::TokenStream;

/// See `tethered::Model`.
#[proc_macro_derive(Model, attributes(tethered))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    model::derive(&input).into()
}

/// See `tethered::FromRow`.
#[proc_macro_derive(FromRow, attributes(tethered))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    from_row::derive(&input).into()
}

/// See `tethered::Enum`.
#[proc_macro_derive(Enum, attributes(tethered))]
pub fn derive_enum(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    enums::derive(&input).into()
}

/// See `tethered::context_first`.
#[proc_macro_attribute]
pub fn context_first(args: TokenStream, item: TokenStream) -> TokenStream {
    context_first::check(args.into(), item.into()).into()
}
