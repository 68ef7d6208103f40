//! A `const fn` keeps working in const context; it is registered without a guard.
use nosplit::nosplit;

#[nosplit(4096)]
const fn square(x: u32) -> u32 {
    x * x
}

#[nosplit]
pub const unsafe fn unchecked(x: u32) -> u32 {
    x
}

const NINE: u32 = square(3);
const TWO: u32 = unsafe { unchecked(2) };

fn main() {
    assert_eq!(NINE + TWO, 11);
    assert_eq!(square(4), 16);
    let e = nosplit::find("square").unwrap();
    assert_eq!(e.address(), Some(square as *const ()));
    assert!(nosplit::find("unchecked").is_some());
}
