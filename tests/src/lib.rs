//! The cross-backend behaviour suite of tethered (filled in by issue 6).
