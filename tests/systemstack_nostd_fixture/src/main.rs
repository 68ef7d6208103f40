//! Uses `systemstack!` on a `SystemStack<N>` static with the runtime built without `std`
//! (as firmware would), and prints the addresses and values it saw for
//! `tests/systemstack_nostd.rs` to check. The binary itself uses std only to print.

use std::hint::black_box;

use nosplit::systemstack;
use nosplit::systemstack::SystemStack;

static SYS: SystemStack<16384> = SystemStack::new();

#[inline(never)]
fn sp() -> usize {
    let x = 0u8;
    black_box(&x) as *const u8 as usize
}

/// Uses about `kib` KiB of stack.
#[inline(never)]
fn deep(kib: usize) -> u64 {
    let mut buf = [0u8; 1024];
    black_box(&mut buf);
    buf[7] = kib as u8;
    if kib == 0 {
        return 0;
    }
    deep(kib - 1) + black_box(&buf)[7] as u64
}

fn main() {
    let (lo, hi) = SYS.bounds();
    let here = sp();
    let v = black_box(20u64);
    let (at, nested, deep_v, owned) = systemstack!(SYS, move || {
        let at = sp();
        let nested = systemstack!(SYS, sp);
        (at, nested, deep(8), v * 2)
    });
    let mut counter = 0u32;
    systemstack!(SYS, || counter += 5);
    println!("bounds {lo} {hi}");
    println!("caller {here}");
    println!("closure {at}");
    println!("nested {nested}");
    println!("values {deep_v} {owned} {counter}");
}
