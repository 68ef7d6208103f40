//! Every argument form, through the imported name and the full path.
use nosplit::nosplit;

#[nosplit]
fn default_budget() {}

#[nosplit(4096)]
fn positional() {}

#[nosplit(budget = 8192)]
fn keyed() {}

#[nosplit(budget = 0x2000,)]
fn hex_trailing_comma() {}

#[nosplit(40_960usize)]
fn underscores_suffix() {}

#[nosplit::nosplit(4294967295)]
fn largest() {}

fn main() {
    default_budget();
    positional();
    keyed();
    hex_trailing_comma();
    underscores_suffix();
    largest();
    let b = |p: &str| nosplit::find(p).expect(p).budget();
    assert_eq!(b("default_budget"), None);
    assert_eq!(b("positional"), Some(4096));
    assert_eq!(b("keyed"), Some(8192));
    assert_eq!(b("hex_trailing_comma"), Some(0x2000));
    assert_eq!(b("underscores_suffix"), Some(40_960));
    assert_eq!(b("largest"), Some(u32::MAX));
    assert_eq!(nosplit::registry().len(), 6);
}
