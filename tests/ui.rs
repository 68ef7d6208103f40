//! The compile-time interface of `#[nosplit]`: every rejected use has a message that points
//! at the offending token and says what to do (`tests/ui/fail`), every supported function kind
//! compiles and registers (`tests/ui/pass`). One trybuild run keeps the suite fast.
//!
//! The `.stderr` files depend on the exact rustc (generated on stable 1.95 with
//! `TRYBUILD=overwrite cargo test --test ui`, then reviewed).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
