//! The signature rule of `#[context_first]`: a function that can await takes `&Ctx` first
//! (after `self`).
//!
//! Functions that cannot await (no `async`, no `impl Future` return) are left alone: they
//! cannot run a query.

use quote::ToTokens;
use syn::{FnArg, ReturnType, Signature, Type, TypeParamBound, TypeReference};

use crate::errors::Errors;

/// The second line of every error about a signature: the rule, and why it exists.
const WHY: &str = "#[context_first]: a function that can await may run queries; taking the `&Ctx` \
                   first is how their cancellation and deadline reach the server";

/// How a context is taken.
enum Taken {
    /// `&Ctx`: right.
    Shared,
    /// `&mut Ctx`.
    Mutably,
    /// `Ctx`.
    ByValue,
}

/// Checks one function: if it can await, its first parameter after `self` is `&Ctx`.
pub(crate) fn check(sig: &Signature, errors: &mut Errors) {
    if sig.asyncness.is_none() && !returns_future(&sig.output) {
        return;
    }
    let name = &sig.ident;
    let after_self = if matches!(sig.inputs.first(), Some(FnArg::Receiver(_))) {
        " (after `self`)"
    } else {
        ""
    };
    let mut parameters = sig.inputs.iter().filter_map(|input| match input {
        FnArg::Typed(typed) => Some(typed),
        FnArg::Receiver(_) => None,
    });
    let Some(first) = parameters.next() else {
        errors.at(
            name,
            format!("`{name}` takes no context: add `ctx: &Ctx` first{after_self}\n{WHY}"),
        );
        return;
    };
    let problem = match taken(&first.ty) {
        Some(Taken::Shared) => return,
        Some(Taken::Mutably) => format!(
            "`{name}` takes `&mut Ctx`: take `&Ctx`; a context is shared by all the work \
             it governs, never borrowed mutably"
        ),
        Some(Taken::ByValue) => format!(
            "`{name}` takes `Ctx` by value: borrow it, `{}: &Ctx`, as every tethered \
             operation does",
            first.pat.to_token_stream()
        ),
        None => {
            let fix = match parameters.find_map(|later| Some((later, taken(&later.ty)?))) {
                Some((later, Taken::Shared)) => format!(
                    "move `{}: {}` before it",
                    later.pat.to_token_stream(),
                    spelled(&later.ty)
                ),
                Some((later, _)) => {
                    format!(
                        "take `{}` before it, as `&Ctx`",
                        later.pat.to_token_stream()
                    )
                }
                None => "add `ctx: &Ctx` before it".to_owned(),
            };
            format!(
                "`{name}` must take `&Ctx` first{after_self}, not `{}: {}`: {fix}",
                first.pat.to_token_stream(),
                spelled(&first.ty)
            )
        }
    };
    errors.at(first, format!("{problem}\n{WHY}"));
}

/// How `ty` takes a context, if it is one.
fn taken(ty: &Type) -> Option<Taken> {
    match ty {
        Type::Reference(TypeReference {
            mutability, elem, ..
        }) if is_ctx(elem) => Some(match mutability {
            None => Taken::Shared,
            Some(_) => Taken::Mutably,
        }),
        Type::Paren(paren) => taken(&paren.elem),
        Type::Group(group) => taken(&group.elem),
        ty if is_ctx(ty) => Some(Taken::ByValue),
        _ => None,
    }
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

/// `ty` as a user would write it: token streams print `& mut Vec < u8 >`.
fn spelled(ty: &Type) -> String {
    let mut spelled = ty.to_token_stream().to_string();
    for (printed, written) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        ("& ", "&"),
        (" ,", ","),
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
        (" ;", ";"),
    ] {
        spelled = spelled.replace(printed, written);
    }
    spelled
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
