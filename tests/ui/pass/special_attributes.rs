//! Attributes that change how a function is compiled: the entry adapts to each.
use nosplit::nosplit;

// A naked function's body must be one `naked_asm!`: it gets its entry, but no guard.
#[nosplit(64)]
#[unsafe(naked)]
extern "C" fn naked_one() -> u32 {
    core::arch::naked_asm!("mov eax, 1", "ret")
}

// The pointer of a `#[track_caller]` function is a shim: no address.
#[nosplit(8192)]
#[track_caller]
fn tracked() -> u32 {
    std::panic::Location::caller().line()
}

#[nosplit(8192)]
#[target_feature(enable = "sse2")]
fn with_feature() -> u32 {
    2
}

#[nosplit(8192)]
#[inline(always)]
#[must_use]
#[cold]
fn attributed() -> u32 {
    3
}

fn main() {
    assert_eq!(naked_one(), 1);
    assert!(tracked() > 0);
    assert_eq!(unsafe { with_feature() } + attributed(), 5);
    let addr = |p: &str| nosplit::find(p).expect(p).address();
    assert_eq!(addr("naked_one"), Some(naked_one as *const ()));
    assert_eq!(addr("tracked"), None);
    assert_eq!(addr("with_feature"), Some(with_feature as *const ()));
    assert_eq!(addr("attributed"), Some(attributed as *const ()));
}
