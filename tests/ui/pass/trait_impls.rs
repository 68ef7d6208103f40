//! Methods of trait impls, generic traits, generic and lifetime-carrying impls.
use nosplit::nosplit;
use std::fmt;

pub struct Reg(u8);

#[nosplit]
impl fmt::Display for Reg {
    #[nosplit(8192)]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

#[nosplit(budget = 8192)]
impl From<u8> for Reg {
    #[nosplit]
    fn from(x: u8) -> Self {
        Reg(x)
    }
}

pub struct Slice<'a>(&'a [u8]);

#[nosplit]
impl<'a> Iterator for Slice<'a> {
    type Item = &'a u8;

    #[nosplit(8192)]
    fn next(&mut self) -> Option<&'a u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }
}

pub struct Boxed<T>(T);

#[nosplit]
impl<T: Clone> Clone for Boxed<T> {
    #[nosplit(8192)]
    fn clone(&self) -> Self {
        Boxed(self.0.clone())
    }
}

fn main() {
    assert_eq!(Reg::from(3).to_string(), "r3");
    assert_eq!(Slice(&[1, 2]).count(), 2);
    let _ = Boxed(1u8).clone();
    let m = module_path!();
    let find = |p: String| nosplit::find(&p).expect(&p);
    let e = find(format!("<{m}::Reg as fmt::Display>::fmt"));
    assert_eq!(e.address(), Some(<Reg as fmt::Display>::fmt as *const ()));
    assert_eq!(e.callees().count(), 0);
    let e = find(format!("<{m}::Reg as From<u8>>::from"));
    assert_eq!(e.budget(), Some(8192));
    assert_eq!(e.address(), Some(<Reg as From<u8>>::from as *const ()));
    let e = find(format!("<{m}::Slice as Iterator>::next"));
    assert_eq!(e.address(), Some(<Slice as Iterator>::next as *const ()));
    assert_eq!(e.callees().collect::<Vec<_>>(), [".split_first"]);
    let e = find(format!("<{m}::Boxed as Clone>::clone"));
    assert_eq!(e.address(), None);
    assert_eq!(e.callees().collect::<Vec<_>>(), [".clone"]);
}
