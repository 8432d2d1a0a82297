//! `#[derive(Enum)]`: parse, validate, then generate (or, on errors, a stub).

mod ast;
mod expand;
mod valid;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::errors::Errors;

pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let Some(parsed) = ast::parse(input, &mut errors) else {
        return errors.to_compile_errors();
    };
    valid::validate(&parsed, &mut errors);
    if errors.is_empty() {
        expand::expand(&parsed)
    } else {
        let mut tokens = errors.to_compile_errors();
        tokens.extend(expand::stub(&parsed));
        tokens
    }
}
