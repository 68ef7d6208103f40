//! Lifetimes keep the address; type, const and `impl Trait` parameters drop it.
use nosplit::nosplit;
use std::fmt::Debug;

#[nosplit(8192)]
fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.len() >= b.len() {
        a
    } else {
        b
    }
}

#[nosplit(8192)]
fn bounded<'a, 'b: 'a>(a: &'a u8, _b: &'b u8) -> &'a u8 {
    a
}

#[nosplit(8192)]
fn generic<T: Debug + Clone>(x: &T) -> T
where
    T: PartialEq,
{
    x.clone()
}

#[nosplit(8192)]
fn array<const N: usize>(a: [u8; N]) -> usize {
    a.len()
}

#[nosplit(8192)]
fn opaque(x: impl Into<u64>) -> impl Debug {
    x.into()
}

#[nosplit(8192)]
fn returns_opaque() -> impl Debug {
    5u8
}

fn main() {
    assert_eq!(longest("ab", "c"), "ab");
    assert_eq!(*bounded(&1, &2), 1);
    assert_eq!(generic(&1u8) + generic(&2u8), 3);
    assert_eq!(generic(&"x"), "x");
    assert_eq!(array([1, 2, 3]) + array([0; 5]), 8);
    let _ = opaque(3u8);
    let _ = returns_opaque();
    let addr = |p: &str| nosplit::find(p).unwrap().address();
    assert_eq!(addr("longest"), Some(longest as *const ()));
    assert_eq!(addr("bounded"), Some(bounded as *const ()));
    assert_eq!(addr("returns_opaque"), Some(returns_opaque as *const ()));
    assert_eq!(addr("generic"), None);
    assert_eq!(addr("array"), None);
    assert_eq!(addr("opaque"), None);
}
