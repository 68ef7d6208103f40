//! The guard's chain across stack switches: `systemstack!` and `measure` suspend it, so an
//! annotated function called there starts a new chain (its budget counts from there, and a
//! report names only the new chain); the old chain is back afterwards.

use std::hint::black_box;
use std::panic::{catch_unwind, AssertUnwindSafe};

use nosplit::{guard, nosplit, systemstack};

fn guard_on() -> bool {
    let on = cfg!(debug_assertions) || guard::FORCED;
    if !on {
        eprintln!("skipped: the guard is off in this build");
    }
    nosplit::set_unoptimized_multiplier(1);
    on
}

#[nosplit(budget = 60000)]
#[inline(never)]
fn outer(f: &dyn Fn() -> (usize, Option<&'static str>)) -> (usize, Option<&'static str>) {
    let inside = f();
    assert_eq!(guard::depth(), 1, "the chain is back after the switch");
    inside
}

#[nosplit(budget = 60000)]
#[inline(never)]
fn inner() -> (usize, Option<&'static str>) {
    (guard::depth(), guard::innermost().map(|c| c.entry.path()))
}

#[nosplit(budget = 200)]
#[inline(never)]
fn small_root(x: u64) -> u64 {
    let buf = black_box([x; 4]);
    big(buf[1])
}

#[nosplit(budget = 60000)]
#[inline(never)]
fn big(x: u64) -> u64 {
    let buf = black_box([x; 256]);
    buf[3]
}

#[test]
fn systemstack_starts_a_new_chain() {
    if !guard_on() {
        return;
    }
    let (depth, innermost) = outer(&|| systemstack!(inner));
    assert_eq!(depth, 1, "only the call made on the system stack");
    assert_eq!(innermost, Some("guard_switch::inner"));

    // An overflow on the system stack reports the chain started there, not `outer`.
    let report = catch_unwind(AssertUnwindSafe(|| {
        outer(&|| {
            systemstack!(|| small_root(1));
            (0, None)
        })
    }))
    .expect_err("small_root overflows its budget");
    let report = report.downcast::<String>().unwrap();
    assert!(
        report.starts_with("guard_switch::small_root: nosplit stack overflow"),
        "{report}"
    );
    assert!(!report.contains("outer"), "{report}");
    assert_eq!(guard::depth(), 0);
}

#[test]
fn measure_starts_a_new_chain() {
    if !guard_on() {
        return;
    }
    let (depth, innermost) = outer(&|| nosplit::measure(inner).value);
    assert_eq!((depth, innermost), (1, Some("guard_switch::inner")));
}

#[test]
fn suspend_around_a_hand_made_switch() {
    if !guard_on() {
        return;
    }
    let (depth, _) = outer(&|| {
        let mut stack = vec![0u8; 256 << 10];
        let base = stack.as_mut_ptr() as usize;
        let base = base.next_multiple_of(4096);
        let _suspended = guard::suspend();
        // SAFETY: 128 KiB of our own memory, aligned; the closure needs far less.
        unsafe { psm::on_stack(base as *mut u8, 128 << 10, inner) }
    });
    assert_eq!(depth, 1);
}
