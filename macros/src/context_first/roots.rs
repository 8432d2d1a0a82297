//! The body rule of `#[context_first]`: code that was handed a context derives from it, and
//! never starts one from nothing.
//!
//! Go's `contextcheck` lint finds a function that has a context yet calls
//! `context.Background()`: the request's cancellation and deadline stop there, and the
//! work below outlives the request. Here it is a compile error at the call. The named way
//! out, for work that must outlive a request, is `ctx.without_cancel()`: it keeps the
//! request's values, and says what it does.

use syn::visit::Visit;
use syn::{Block, ExprPath};

use crate::errors::Errors;

/// The constructors of a root context, by name: a path ending `Ctx::<name>`.
const ROOT_CONSTRUCTORS: &[&str] = &["background"];

/// Reports every use of a root constructor in `body`, called or passed as a function
/// (`.unwrap_or_else(Ctx::background)`), closures and async blocks included.
pub(crate) fn refuse_in(body: &Block, errors: &mut Errors) {
    let mut finder = Roots { errors };
    finder.visit_block(body);
}

struct Roots<'e> {
    errors: &'e mut Errors,
}

impl Visit<'_> for Roots<'_> {
    fn visit_expr_path(&mut self, path: &ExprPath) {
        let segments: Vec<_> = path.path.segments.iter().collect();
        if let [.., ty, constructor] = segments.as_slice()
            && ty.ident == "Ctx"
            && ROOT_CONSTRUCTORS
                .iter()
                .any(|name| constructor.ident == name)
        {
            self.errors.at(
                path,
                format!(
                    "`Ctx::{}()` starts a context from nothing inside #[context_first] code: \
                     derive from the `&Ctx` parameter (`ctx.child()`, `ctx.with_timeout(..)`), \
                     or, for work that must outlive the request, `ctx.without_cancel()`\n\
                     #[context_first]: a context made here would drop the request's \
                     cancellation and deadline, and its work would outlive the request",
                    constructor.ident
                ),
            );
        }
        syn::visit::visit_expr_path(self, path);
    }
}
