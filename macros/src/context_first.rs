//! `#[context_first]`: refuses to compile an async function (or an impl block's or a
//! trait's async functions) whose first parameter, after `self`, is not `&Ctx`.
//!
//! Functions that cannot await (no `async`, no `impl Future` return) are left alone: they
//! cannot run a query.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{FnArg, ImplItem, Item, ReturnType, Signature, TraitItem, Type, TypeParamBound};

use crate::errors::Errors;

const WHY: &str = "every operation that can reach the database is tethered to a context: \
                   taking `&Ctx` first is how cancellation and deadlines reach the server";

pub(crate) fn check(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.at(&args, "#[context_first] takes no arguments");
    }
    match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(function)) => signature(&function.sig, &mut errors),
        Ok(Item::Impl(block)) => {
            for item in &block.items {
                if let ImplItem::Fn(function) = item {
                    signature(&function.sig, &mut errors);
                }
            }
        }
        Ok(Item::Trait(definition)) => {
            for item in &definition.items {
                if let TraitItem::Fn(function) = item {
                    signature(&function.sig, &mut errors);
                }
            }
        }
        Ok(other) => errors.at(
            other,
            "#[context_first] applies to functions, impl blocks and traits",
        ),
        Err(error) => errors.push(error),
    }
    let mut tokens = item;
    tokens.extend(errors.to_compile_errors());
    tokens
}

/// Checks one function: if it can await, its first parameter after `self` is `&Ctx`.
fn signature(sig: &Signature, errors: &mut Errors) {
    if sig.asyncness.is_none() && !returns_future(&sig.output) {
        return;
    }
    let name = &sig.ident;
    let first = sig.inputs.iter().find_map(|input| match input {
        FnArg::Typed(typed) => Some(typed),
        FnArg::Receiver(_) => None,
    });
    let Some(first) = first else {
        errors.at(
            &sig.ident,
            format!("`{name}` takes no `&Ctx`: add `ctx: &Ctx` as its first parameter; {WHY}"),
        );
        return;
    };
    let problem = match &*first.ty {
        Type::Reference(reference) if is_ctx(&reference.elem) => match reference.mutability {
            None => return,
            Some(_) => format!("`{name}` takes `&mut Ctx`: take `&Ctx`"),
        },
        ty if is_ctx(ty) => format!("`{name}` takes `Ctx` by value: take `&Ctx`"),
        ty => format!(
            "the first parameter of `{name}` must be `&Ctx`, not `{}`",
            ty.to_token_stream()
        ),
    };
    errors.at(first, format!("{problem}; {WHY}"));
}

fn is_ctx(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => {
            path.qself.is_none()
                && path
                    .path
                    .segments
                    .last()
                    .is_some_and(|segment| segment.ident == "Ctx")
        }
        Type::Paren(paren) => is_ctx(&paren.elem),
        Type::Group(group) => is_ctx(&group.elem),
        _ => false,
    }
}

fn returns_future(output: &ReturnType) -> bool {
    let ReturnType::Type(_, ty) = output else {
        return false;
    };
    let Type::ImplTrait(bounds) = &**ty else {
        return false;
    };
    bounds.bounds.iter().any(|bound| {
        matches!(bound, TypeParamBound::Trait(bound)
            if bound.path.segments.last().is_some_and(|segment| segment.ident == "Future"))
    })
}
