//! Every function kind `#[nosplit]` supports is found in `nosplit::registry()` with the right
//! path, file, line, budget, callees and address.
//!
//! The expected lines come from this file's own text (the line holding the function's name),
//! not from the macro.

use nosplit::{nosplit, Entry};

const SOURCE: &str = include_str!("registry_kinds.rs");

/// 1-based line of the only code line containing `needle` (a function's `fn name(`); the
/// test's own needles, in quotes, do not count.
fn line_of(needle: &str) -> u32 {
    let hits: Vec<usize> = SOURCE
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle) && !l.contains(&format!("\"{needle}")))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(hits.len(), 1, "needle {needle:?} must occur once: {hits:?}");
    hits[0] as u32
}

fn entry(path: &str) -> &'static Entry {
    let all: Vec<&Entry> = nosplit::registry()
        .iter()
        .filter(|e| e.path() == path)
        .collect();
    assert_eq!(all.len(), 1, "one entry for {path}, found {all:?}");
    all[0]
}

/// Checks one entry; `name_line` is text found only on the line of the function's name.
#[track_caller]
fn check(
    path: &str,
    name_line: &str,
    budget: Option<u32>,
    callees: &[&str],
    addr: Option<*const ()>,
) {
    let e = entry(path);
    assert_eq!(e.file(), "tests/registry_kinds.rs", "{path}");
    assert_eq!(e.line(), line_of(name_line), "{path}");
    assert_eq!(e.budget(), budget, "{path}");
    assert_eq!(e.callees().collect::<Vec<_>>(), callees, "{path}");
    assert_eq!(e.address(), addr, "{path}");
    assert_eq!(e.magic, nosplit_runtime_magic());
}

fn nosplit_runtime_magic() -> u32 {
    u32::from_le_bytes(*b"NSPL")
}

// ---- free functions -------------------------------------------------------------------------

fn helper(x: u64) -> u64 {
    x + 1
}

#[nosplit(8192)]
fn free_private(x: u64) -> u64 {
    let v = format!("{x}"); // a macro call: not a callee
    helper(x) + a::b::c::deep(x) + v.len() as u64
}

#[nosplit(budget = 0x2000)]
pub fn free_pub(x: u64) -> u64 {
    free_private(x)
}

#[nosplit(40_960)]
pub(crate) fn free_crate() {}

mod a {
    pub mod b {
        pub mod c {
            use nosplit::nosplit;

            #[nosplit]
            pub fn deep(x: u64) -> u64 {
                x.rotate_left(3)
            }
        }
    }
}

#[nosplit(6400)]
unsafe fn raw_read(p: *const u8) -> u8 {
    p.read_volatile()
}

#[nosplit(9600)]
extern "C" fn c_abi(x: u32) -> u32 {
    x ^ 1
}

#[nosplit(12800)]
#[no_mangle]
pub extern "C" fn nosplit_test_no_mangle(x: u32) -> u32 {
    x + 2
}

/// # Safety
/// Always safe; `unsafe` only to test the form.
#[nosplit(12800)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nosplit_test_unsafe_no_mangle(x: u32) -> u32 {
    x + 3
}

#[nosplit(3200)]
const fn const_double(x: u32) -> u32 {
    x * 2
}

/// Evaluated at compile time: the annotated `const fn` still works in const context.
const DOUBLED: u32 = const_double(21);

#[nosplit(4800)]
fn first<'a, 'b: 'a>(x: &'a str, _y: &'b str) -> &'a str {
    x.split(',').next().unwrap_or(x)
}

#[nosplit(8000)]
fn generic_id<T: Copy>(x: T) -> T {
    core::convert::identity::<T>(x)
}

#[nosplit(8000)]
fn const_generic<const N: usize>() -> usize {
    N
}

#[nosplit(8000)]
fn impl_arg(x: impl Into<u64>) -> u64 {
    x.into()
}

#[nosplit]
fn r#match(r#match: u32) -> u32 {
    r#match + 1
}

fn outer() -> (u32, *const ()) {
    #[nosplit(4000)]
    fn inner_item() -> u32 {
        7
    }
    (inner_item(), inner_item as *const ())
}

#[nosplit(100_000)]
fn with_callees(v: &mut Vec<u32>) -> u32 {
    fn nested_not_listed() -> u32 {
        helper(1) as u32
    }
    let c = |x: u32| u32::from_be(x).count_ones();
    let d = <u32 as Default>::default();
    let s: Option<u32> = Some(d); // a constructor, not a call
    v.push(c(3));
    println!("{}", free_crate_call()); // inside a macro: not listed
    let n = Vec::<u8>::with_capacity(4).capacity() as u32;
    let _ = ::core::hint::black_box(s);
    nested_not_listed() + generic_id::<u32>(n) + Counter::new().bump()
}

fn free_crate_call() -> u32 {
    0
}

// ---- methods ----------------------------------------------------------------------------------

pub struct Counter(u32);

impl Default for Counter {
    fn default() -> Self {
        Self::new()
    }
}

pub trait Tick {
    fn tick(&mut self) -> u32;

    #[nosplit(7200)]
    fn tick_twice(&mut self) -> u32 {
        self.tick() + self.tick()
    }
}

#[nosplit]
impl Counter {
    #[nosplit]
    pub fn new() -> Self {
        Counter(0)
    }

    #[nosplit(25600)]
    fn bump(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(1);
        Self::new().0 + self.0
    }

    fn not_registered(&self) -> u32 {
        self.0
    }
}

#[nosplit]
impl Tick for Counter {
    #[nosplit(30000)]
    fn tick(&mut self) -> u32 {
        self.bump()
    }
}

#[nosplit(budget = 10240)]
impl From<u8> for Counter {
    #[nosplit]
    fn from(x: u8) -> Self {
        Counter(u32::from(x))
    }
}

pub struct Wrapper<T>(T);

#[nosplit(20000)]
impl<T: Copy> Wrapper<T> {
    #[nosplit]
    fn get(&self) -> T {
        self.0
    }
}

pub struct View<'a>(&'a [u8]);

#[nosplit]
impl<'a> View<'a> {
    #[nosplit(2400)]
    fn head(&self) -> Option<&'a u8> {
        self.0.first()
    }
}

mod shapes {
    pub struct Square(pub u32);
}

#[nosplit]
impl crate::shapes::Square {
    #[nosplit(1600)]
    fn area(&self) -> u32 {
        self.0 * self.0
    }
}

pub struct Plain(u32);

impl Plain {
    // Without `#[nosplit]` on the impl: registered, type unknown.
    #[nosplit(5600)]
    fn alone(&self) -> u32 {
        self.0
    }
}

#[test]
fn free_functions() {
    let m = "registry_kinds";
    check(
        &format!("{m}::free_private"),
        "fn free_private(",
        Some(8192),
        &["helper", "a::b::c::deep", ".len"],
        Some(free_private as *const ()),
    );
    check(
        &format!("{m}::free_pub"),
        "fn free_pub(",
        Some(8192),
        &["free_private"],
        Some(free_pub as *const ()),
    );
    check(
        &format!("{m}::free_crate"),
        "fn free_crate(",
        Some(40960),
        &[],
        Some(free_crate as *const ()),
    );
    check(
        &format!("{m}::a::b::c::deep"),
        "fn deep(",
        None,
        &[".rotate_left"],
        Some(a::b::c::deep as *const ()),
    );
    check(
        &format!("{m}::raw_read"),
        "fn raw_read(",
        Some(6400),
        &[".read_volatile"],
        Some(raw_read as *const ()),
    );
    check(
        &format!("{m}::c_abi"),
        "fn c_abi(",
        Some(9600),
        &[],
        Some(c_abi as *const ()),
    );
    check(
        &format!("{m}::nosplit_test_no_mangle"),
        "fn nosplit_test_no_mangle(",
        Some(12800),
        &[],
        Some(nosplit_test_no_mangle as *const ()),
    );
    check(
        &format!("{m}::nosplit_test_unsafe_no_mangle"),
        "fn nosplit_test_unsafe_no_mangle(",
        Some(12800),
        &[],
        Some(nosplit_test_unsafe_no_mangle as *const ()),
    );
    check(
        &format!("{m}::const_double"),
        "fn const_double(",
        Some(3200),
        &[],
        Some(const_double as *const ()),
    );
    check(
        &format!("{m}::first"),
        "fn first<",
        Some(4800),
        &[".split", ".next", ".unwrap_or"],
        Some(first as *const ()),
    );
    // Generic functions have no single address: the checker finds their copies by path.
    check(
        &format!("{m}::generic_id"),
        "fn generic_id<",
        Some(8000),
        &["core::convert::identity"],
        None,
    );
    check(
        &format!("{m}::const_generic"),
        "fn const_generic<",
        Some(8000),
        &[],
        None,
    );
    check(
        &format!("{m}::impl_arg"),
        "fn impl_arg(",
        Some(8000),
        &[".into"],
        None,
    );
    // The parameter `r#match` shadows the function: the address is taken as `self::r#match`.
    check(
        &format!("{m}::match"),
        "fn r#match(",
        None,
        &[],
        Some(r#match as *const ()),
    );
    // An item in a block is registered under its module's path.
    check(
        &format!("{m}::inner_item"),
        "fn inner_item(",
        Some(4000),
        &[],
        Some(outer().1),
    );

    // The functions work as before.
    assert_eq!(free_pub(1), 2 + 8 + 1);
    assert_eq!(DOUBLED, 42);
    assert_eq!(const_double(4), 8);
    assert_eq!(unsafe { raw_read(&7) }, 7);
    assert_eq!(c_abi(2), 3);
    assert_eq!(first("a,b", "c"), "a");
    assert_eq!(generic_id(3u8) + generic_id(4u8), 7);
    assert_eq!(generic_id(3u16), 3);
    assert_eq!(const_generic::<5>(), 5);
    assert_eq!(impl_arg(3u8), 3);
    assert_eq!(r#match(1), 2);
    assert_eq!(outer().0, 7);
    assert_eq!(
        nosplit_test_no_mangle(1) + unsafe { nosplit_test_unsafe_no_mangle(1) },
        7
    );
}

#[test]
fn callees_follow_the_documented_rules() {
    // Closures are entered, macros and nested items are not, constructors are left out,
    // generic arguments are dropped, qualified paths keep their `<T as Trait>` form.
    check(
        "registry_kinds::with_callees",
        "fn with_callees(",
        Some(100_000),
        &[
            "u32::from_be",
            ".count_ones",
            "<u32 as Default>::default",
            "c",
            ".push",
            "Vec::with_capacity",
            ".capacity",
            "::core::hint::black_box",
            "nested_not_listed",
            "generic_id",
            "Counter::new",
            ".bump",
        ],
        Some(with_callees as *const ()),
    );
    assert_eq!(with_callees(&mut Vec::new()), 2 + 4 + 1);
}

#[test]
fn methods() {
    let m = "registry_kinds";
    check(
        &format!("{m}::Counter::new"),
        "fn new(",
        None,
        &[],
        Some(Counter::new as *const ()),
    );
    check(
        &format!("{m}::Counter::bump"),
        "fn bump(",
        Some(25600),
        &[".wrapping_add", "Self::new"],
        Some(Counter::bump as *const ()),
    );
    check(
        &format!("<{m}::Counter as Tick>::tick"),
        "fn tick(&mut self) -> u32 {",
        Some(30000),
        &[".bump"],
        Some(<Counter as Tick>::tick as *const ()),
    );
    // The impl's budget is the default of its `#[nosplit]` methods.
    check(
        &format!("<{m}::Counter as From<u8>>::from"),
        "fn from(",
        Some(10240),
        &["u32::from"],
        Some(<Counter as From<u8>>::from as *const ()),
    );
    check(
        &format!("{m}::Wrapper::get"),
        "fn get(",
        Some(20000),
        &[],
        None,
    );
    check(
        &format!("{m}::View::head"),
        "fn head(",
        Some(2400),
        &[".first"],
        Some(View::head as *const ()),
    );
    check(
        &format!("{m}::shapes::Square::area"),
        "fn area(",
        Some(1600),
        &[],
        Some(shapes::Square::area as *const ()),
    );
    // Without the impl attribute the type is unknown: `_` stands for it, no address.
    check(
        &format!("{m}::_::alone"),
        "fn alone(",
        Some(5600),
        &[],
        None,
    );
    check(
        &format!("{m}::_::tick_twice"),
        "fn tick_twice(",
        Some(7200),
        &[".tick"],
        None,
    );
    assert!(!nosplit::registry()
        .iter()
        .any(|e| e.path().ends_with("not_registered")));

    let mut c = Counter::from(4);
    assert_eq!(c.tick(), 5);
    assert_eq!(c.tick_twice(), 13);
    assert_eq!(c.not_registered(), 7);
    assert_eq!(Wrapper(3u8).get() + Wrapper(1u8).get(), 4);
    assert_eq!(View(&[9]).head(), Some(&9));
    assert_eq!(shapes::Square(3).area(), 9);
    assert_eq!(Plain(5).alone(), 5);
}

#[test]
fn find_and_display() {
    let e = nosplit::find("registry_kinds::Counter::bump").expect("full path");
    assert_eq!(e.name(), "bump");
    assert!(std::ptr::eq(
        nosplit::find("Counter::bump").expect("unique suffix"),
        e
    ));
    assert_eq!(
        e.to_string(),
        format!(
            "registry_kinds::Counter::bump (tests/registry_kinds.rs:{}) budget 25600",
            line_of("fn bump(")
        )
    );
    let d = nosplit::find("registry_kinds::a::b::c::deep").unwrap();
    assert_eq!(
        d.to_string(),
        format!(
            "registry_kinds::a::b::c::deep (tests/registry_kinds.rs:{}) budget default",
            line_of("fn deep(")
        )
    );
    // One entry per annotated function, generic or not.
    assert_eq!(
        nosplit::registry()
            .iter()
            .filter(|e| e.path() == "registry_kinds::generic_id")
            .count(),
        1
    );
}
