//! Callers of `systemstack!` whose frames `tests/systemstack_frames.rs` reads from the
//! release binary. Each `*_small`/`*_huge` pair differs only in the slow path's size.

use std::hint::black_box;

use nosplit::systemstack;

/// Work on a 64 KiB local array: what a large slow path looks like.
macro_rules! huge_body {
    ($x:expr, $y:expr) => {{
        let mut buf = [0u64; 8192];
        for (i, v) in buf.iter_mut().enumerate() {
            *v = (i as u64).wrapping_mul(*$y);
        }
        black_box(&mut buf);
        *$x = buf.iter().fold(*$x, |a, v| a ^ v);
        *$x
    }};
}

/// Captures two references; small slow path.
#[no_mangle]
#[inline(never)]
pub fn ref_small(x: &mut u64, y: &u64) -> u64 {
    let r = systemstack!(|| {
        *x += *y;
        *x
    });
    r + 1
}

/// Captures two references; 64 KiB slow path.
#[no_mangle]
#[inline(never)]
pub fn ref_huge(x: &mut u64, y: &u64) -> u64 {
    let r = systemstack!(|| huge_body!(x, y));
    r + 1
}

/// The control: the same 64 KiB slow path without systemstack! (the oracle must see it).
#[no_mangle]
#[inline(never)]
pub fn ref_huge_inline(x: &mut u64, y: &u64) -> u64 {
    let r = huge_body!(x, y);
    r + 1
}

/// Moves two values in; small slow path.
#[no_mangle]
#[inline(never)]
pub fn move_small(a: u64, b: u64) -> u64 {
    let r = systemstack!(move || a.wrapping_mul(b));
    r + 1
}

/// Moves two values in; 64 KiB slow path.
#[no_mangle]
#[inline(never)]
pub fn move_huge(a: u64, b: u64) -> u64 {
    let r = systemstack!(move || {
        let (mut a, b) = (a, b);
        huge_body!(&mut a, &b)
    });
    r + 1
}

/// Captures four locals by reference (the closure object is then four pointers, passed in
/// memory): small slow path.
#[no_mangle]
#[inline(never)]
pub fn four_small(a: u64, b: u64, c: u64, d: u64) -> u64 {
    let (mut a, b, c, d) = (a, b, c, d);
    let r = systemstack!(|| {
        a ^= b.wrapping_add(c).wrapping_add(d);
        a
    });
    r + a
}

/// Four captures by reference; 64 KiB slow path.
#[no_mangle]
#[inline(never)]
pub fn four_huge(a: u64, b: u64, c: u64, d: u64) -> u64 {
    let (mut a, b, c, d) = (a, b, c, d);
    let r = systemstack!(|| {
        let e = b.wrapping_add(c).wrapping_add(d);
        huge_body!(&mut a, &e)
    });
    r + a
}

fn main() {
    let mut x = black_box(1u64);
    let y = black_box(3u64);
    let mut s = ref_small(&mut x, &y);
    s ^= ref_huge(&mut x, &y);
    s ^= ref_huge_inline(&mut x, &y);
    s ^= move_small(black_box(2), y);
    s ^= move_huge(black_box(2), y);
    s ^= four_small(black_box(2), y, 4, 5);
    s ^= four_huge(black_box(2), y, 4, 5);
    println!("{s}");
}
