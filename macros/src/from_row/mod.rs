//! `#[derive(FromRow)]`: a struct that is not a table (a report row, a join's columns)
//! read from a row by column name. Parse, validate, then generate (or, on errors, a stub).

mod ast;
mod attr;
mod expand;
mod fallback;
mod valid;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::errors::Errors;

pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let Some(row) = ast::parse(input, &mut errors) else {
        return errors.to_compile_errors();
    };
    valid::validate(&row, &mut errors);
    if errors.is_empty() {
        expand::expand(&row)
    } else {
        let mut tokens = errors.to_compile_errors();
        tokens.extend(fallback::stub(&row));
        tokens
    }
}
