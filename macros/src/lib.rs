//! The macros of tethered (filled in by issue 5).
