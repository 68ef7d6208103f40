//! Prints the registry of `#[nosplit]` functions: one line per entry, then its callees.
//!
//! `cargo run --release --example registry`. `never_called` is in the output although nothing
//! calls it: registering a function keeps it, and its code, in the final binary
//! (`tests/registry_release.rs` checks this on a release build).

use nosplit::nosplit;

/// A leaf with a declared budget.
#[nosplit(512)]
fn leaf(x: u64) -> u64 {
    x.wrapping_mul(3)
}

/// Generic: one entry for all its copies, no single address.
#[nosplit]
fn generic<T: Copy>(x: T) -> T {
    x
}

/// Never called, yet present in the release binary's registry.
#[nosplit(budget = 1024)]
#[inline(never)]
pub fn never_called(x: u64) -> u64 {
    leaf(x) ^ 0x5a
}

struct Ring {
    head: u32,
}

#[nosplit(budget = 256)]
impl Ring {
    #[nosplit]
    fn push(&mut self) -> u32 {
        self.head = self.head.wrapping_add(1);
        self.head
    }
}

fn main() {
    let mut ring = Ring { head: 0 };
    println!("{}", leaf(3) + generic(1) + u64::from(ring.push()));
    println!(
        "{} build, {} registered function(s):",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        nosplit::registry().len()
    );
    for e in nosplit::registry() {
        let addr = match e.address() {
            Some(a) => format!("{a:p}"),
            None => "none".to_owned(),
        };
        println!("{e} addr={addr}");
        for callee in e.callees() {
            println!("    calls {callee}");
        }
    }
}
