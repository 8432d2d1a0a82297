//! `#[derive(Model)]`: parse, validate, then generate (or, on errors, a stub).

mod ast;
pub(crate) mod attr;
mod expand;
mod fallback;
mod valid;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::errors::Errors;

pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let Some(model) = ast::parse(input, &mut errors) else {
        return errors.to_compile_errors();
    };
    valid::validate(&model, &mut errors);
    if errors.is_empty() {
        expand::expand(&model)
    } else {
        let mut tokens = errors.to_compile_errors();
        tokens.extend(fallback::stub(&model));
        tokens
    }
}
