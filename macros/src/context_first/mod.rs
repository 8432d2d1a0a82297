//! `#[context_first]`: refuses to compile, in the async function (or the impl block's or
//! trait's functions) it marks, a signature that does not take `&Ctx` first
//! ([`signature`]) and a context made from nothing in a body ([`roots`]).

mod roots;
mod signature;

use proc_macro2::{Span, TokenStream};
use syn::{ImplItem, Item, TraitItem};

use crate::errors::Errors;

pub(crate) fn check(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.at(&args, "#[context_first] takes no arguments");
    }
    match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(function)) => {
            signature::check(&function.sig, &mut errors);
            roots::refuse_in(&function.block, &mut errors);
        }
        Ok(Item::Impl(block)) => {
            for item in &block.items {
                if let ImplItem::Fn(function) = item {
                    signature::check(&function.sig, &mut errors);
                    roots::refuse_in(&function.block, &mut errors);
                }
            }
        }
        Ok(Item::Trait(definition)) => {
            for item in &definition.items {
                if let TraitItem::Fn(function) = item {
                    signature::check(&function.sig, &mut errors);
                    if let Some(body) = &function.default {
                        roots::refuse_in(body, &mut errors);
                    }
                }
            }
        }
        // At the attribute: the item itself is fine, putting the attribute on it is not.
        Ok(other) => errors.push(syn::Error::new(
            Span::call_site(),
            format!(
                "#[context_first] checks functions, impl blocks and traits, not {}",
                kind(&other)
            ),
        )),
        Err(error) => errors.push(error),
    }
    let mut tokens = item;
    tokens.extend(errors.to_compile_errors());
    tokens
}

/// What `item` is, for the error about putting the attribute on it.
fn kind(item: &Item) -> &'static str {
    match item {
        Item::Struct(_) => "a struct",
        Item::Enum(_) => "an enum",
        Item::Union(_) => "a union",
        Item::Mod(_) => "a module",
        Item::Const(_) => "a constant",
        Item::Static(_) => "a static",
        Item::Type(_) => "a type alias",
        Item::Use(_) => "an import",
        _ => "this item",
    }
}
