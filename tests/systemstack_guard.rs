//! `systemstack!` and the runtime guard: the chain of active annotated calls is suspended
//! while the closure runs on the system stack (so a slow path does not count against the
//! caller's budget) and restored afterwards, also when the closure panics.

use std::hint::black_box;
use std::panic::{catch_unwind, AssertUnwindSafe};

use nosplit::{guard, nosplit, systemstack};

/// True when annotated functions of this crate carry the guard (debug build or feature).
fn guard_on() -> bool {
    let on = cfg!(debug_assertions) || guard::FORCED;
    if !on {
        eprintln!("skipped: the guard is off in this build (release without the `guard` feature)");
    }
    // Literal budgets (the same value everywhere, so the tests may run in parallel).
    nosplit::set_unoptimized_multiplier(1);
    on
}

/// A slow path: 32 KiB of locals, far over its callers' budgets.
#[nosplit(budget = 65536)]
fn heavy(seed: u64) -> u64 {
    let mut buf = [0u8; 32 * 1024];
    black_box(&mut buf);
    buf[100] = seed as u8;
    black_box(&buf)[100] as u64 + guard::depth() as u64 * 1000
}

/// The control: the slow path called directly overflows this function's budget.
#[nosplit(budget = 2048)]
fn direct(seed: u64) -> u64 {
    heavy(seed)
}

/// The fix: the same slow path inside systemstack!. Returns the chain depths seen before,
/// inside the closure, inside `heavy` (through its value) and after.
#[nosplit(budget = 2048)]
fn switched(seed: u64) -> (usize, usize, u64, usize) {
    let before = guard::depth();
    let (inside, v) = systemstack!(|| (guard::depth(), heavy(seed)));
    (before, inside, v, guard::depth())
}

#[nosplit(budget = 2048)]
fn switched_panics() -> (usize, usize) {
    let before = guard::depth();
    let r = catch_unwind(|| {
        systemstack!(|| {
            heavy(1);
            panic!("slow path failed")
        })
    });
    // The closure's own panic, not a guard report about `heavy` (which a chain left active
    // would have produced).
    let payload = r.expect_err("the closure panics");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"slow path failed"));
    (before, guard::depth())
}

#[nosplit(budget = 2048)]
fn nested() -> (usize, usize) {
    systemstack!(|| {
        let outer = guard::depth();
        // An annotated call on the system stack starts a new chain; a nested systemstack!
        // inside it (no switch: already on the system stack) suspends that chain too.
        (outer, inner_on_system_stack())
    })
}

#[nosplit(budget = 4096)]
fn inner_on_system_stack() -> usize {
    assert_eq!(guard::depth(), 1);
    systemstack!(guard::depth)
}

#[test]
fn the_control_overflows_without_systemstack() {
    if !guard_on() {
        return;
    }
    let e = catch_unwind(AssertUnwindSafe(|| direct(3))).expect_err("the guard did not fire");
    let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("direct"), "report names the root: {msg}");
}

#[test]
fn chain_is_suspended_during_the_closure_and_restored() {
    if !guard_on() {
        return;
    }
    let (before, inside, v, after) = switched(3);
    assert_eq!(before, 1, "switched is on the chain");
    assert_eq!(inside, 0, "suspended in the closure");
    // heavy ran as the root of a new chain (depth 1), within its own budget.
    assert_eq!(v, 3 + 1000);
    assert_eq!(after, 1, "restored");
    assert_eq!(guard::depth(), 0);
}

#[test]
fn chain_is_restored_after_a_panic() {
    if !guard_on() {
        return;
    }
    assert_eq!(switched_panics(), (1, 1));
    assert_eq!(guard::depth(), 0);
}

#[test]
fn nested_systemstack_suspends_the_new_chain() {
    if !guard_on() {
        return;
    }
    assert_eq!(nested(), (0, 0));
    assert_eq!(guard::depth(), 0);
}
