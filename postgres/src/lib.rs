//! The PostgreSQL backend of tethered (filled in by issue 3).
