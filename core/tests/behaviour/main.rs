//! Core's behaviour: the Ctx semantics, and the cancellation protocol against an
//! in-process double of a connection. One binary, so one link.

mod ctx;
mod double;
mod healing;
mod pool;
mod protocol;
mod stream;
mod transaction;
