//! Why a context ended.

use std::fmt;
use std::sync::Arc;

/// Why a [`Ctx`](crate::Ctx) ended. The first cause to reach a context is the one it keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A [`Scope`](crate::Scope) was cancelled (or dropped) on this context or an ancestor.
    Canceled {
        /// The reason given to [`Scope::cancel`](crate::Scope::cancel).
        reason: Arc<str>,
    },
    /// The deadline of this context or of an ancestor passed.
    DeadlineExceeded,
}

impl Cause {
    /// The cancellation reason, or `None` for [`Cause::DeadlineExceeded`].
    pub fn reason(&self) -> Option<&str> {
        match self {
            Cause::Canceled { reason } => Some(reason),
            Cause::DeadlineExceeded => None,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Canceled { reason } => write!(f, "context canceled: {reason}"),
            Cause::DeadlineExceeded => f.write_str("context deadline exceeded"),
        }
    }
}

impl std::error::Error for Cause {}
