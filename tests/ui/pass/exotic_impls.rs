//! Self types and traits of every shape an `impl` can have; inner attributes of the body.
use nosplit::nosplit;

pub trait Describe {
    fn describe(&self) -> usize;
}

pub mod shapes {
    pub struct Circle(pub u32);
}

pub struct Point(u32);

#[nosplit]
impl Describe for &Point {
    #[nosplit(8192)]
    fn describe(&self) -> usize {
        #![allow(unused_variables)]
        let unused = 1;
        self.0 as usize
    }
}

#[nosplit]
impl Describe for [u8] {
    #[nosplit(8192)]
    fn describe(&self) -> usize {
        self.len()
    }
}

#[nosplit]
impl<T> Describe for Vec<T> {
    #[nosplit(8192)]
    fn describe(&self) -> usize {
        self.len()
    }
}

#[nosplit]
impl dyn Describe {
    #[nosplit(8192)]
    pub fn twice(&self) -> usize {
        self.describe() * 2
    }
}

#[nosplit]
impl self::shapes::Circle {
    #[nosplit(8192)]
    fn radius(&self) -> u32 {
        self.0
    }
}

#[nosplit]
impl crate::Point {
    #[nosplit(8192)]
    fn x(&self) -> u32 {
        self.0
    }

    // Calls a free function of the same name: not recursion.
    #[nosplit(8192)]
    fn len(&self) -> usize {
        len(self.0)
    }
}

// A trait with a lifetime in its generic arguments: the address is taken with `'_`.
#[nosplit]
impl<'a> From<&'a str> for Point {
    #[nosplit(8192)]
    fn from(s: &'a str) -> Self {
        Point(s.len() as u32)
    }
}

fn len(x: u32) -> usize {
    x as usize
}

fn main() {
    let p = Point(3);
    let v = vec![1u8, 2];
    let d: &dyn Describe = &v;
    assert_eq!((&p).describe() + [1u8][..].describe() + vec![1, 2].describe(), 6);
    assert_eq!(d.twice() + shapes::Circle(1).radius() as usize + p.x() as usize + p.len(), 11);
    let m = module_path!();
    let find = |p: String| nosplit::find(&p).unwrap_or_else(|| panic!("{p}"));
    let e = find(format!("<&{m}::Point as Describe>::describe"));
    assert_eq!(e.address(), Some(<&Point as Describe>::describe as *const ()));
    let e = find(format!("<[u8] as Describe>::describe"));
    assert_eq!(e.address(), Some(<[u8] as Describe>::describe as *const ()));
    assert_eq!(find(format!("<{m}::Vec as Describe>::describe")).address(), None);
    let e = find(format!("<dyn Describe>::twice"));
    assert_eq!(e.address(), Some(<dyn Describe>::twice as *const ()));
    let e = find(format!("{m}::shapes::Circle::radius"));
    assert_eq!(e.address(), Some(shapes::Circle::radius as *const ()));
    assert!(find(format!("{}::Point::x", env!("CARGO_CRATE_NAME"))).address().is_some());
    assert_eq!(find(format!("{m}::Point::len")).callees().collect::<Vec<_>>(), ["len"]);
    assert_eq!(Point::from("abc").x(), 3);
    let e = find(format!("<{m}::Point as From<&'a str>>::from"));
    assert_eq!(e.address(), Some(<Point as From<&str>>::from as *const ()));
}
