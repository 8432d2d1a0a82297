//! The MySQL/MariaDB backend of tethered (filled in by issue 4).
