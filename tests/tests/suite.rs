//! The behaviour suite on every backend (see `tethered_tests::suite!`).

tethered_tests::suite! {
    postgres: Postgres,
    mysql: MySql,
}

tethered_tests::embedded_suite! {
    sqlite: Sqlite,
}
