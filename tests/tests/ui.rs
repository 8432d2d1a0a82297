//! The compile-time guarantees, proved by the compiler itself: every case in `tests/ui/`
//! must fail to compile with exactly the error pinned in its `.stderr` (regenerate with
//! `TRYBUILD=overwrite` and read the diff), and every case in `tests/ui/pass/` must compile
//! and run.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
    cases.pass("ui/pass/*.rs");
}
