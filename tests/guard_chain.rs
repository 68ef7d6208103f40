//! The runtime guard in this (debug) test binary: chains within budget, overflow reports
//! whose figures match the frames in the binary's `.eh_frame` (see `guard_oracle`), nested
//! budgets, recursion, unwinding and threads.
//!
//! Every test here sets the unoptimised multiplier to 1 (the same value, so the tests may
//! run in parallel), so that the budgets below are the literal ones.

mod guard_oracle;

use std::hint::black_box;
use std::panic::{catch_unwind, AssertUnwindSafe};

use guard_oracle::Oracle;
use nosplit::{guard, nosplit};

/// True when annotated functions of this crate carry the guard (debug build or the feature).
fn guard_on() -> bool {
    let on = cfg!(debug_assertions) || guard::FORCED;
    if !on {
        eprintln!("skipped: the guard is off in this build (release without the `guard` feature)");
    }
    nosplit::set_unoptimized_multiplier(1);
    on
}

/// Runs `f`, expecting the guard's default handler to panic; returns the report.
fn report_of(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("the guard did not fire");
    match err.downcast::<String>() {
        Ok(s) => *s,
        Err(e) => panic!(
            "panic payload is not a report: {:?}",
            e.downcast_ref::<&str>()
        ),
    }
}

/// The 1-based line of this file that contains `text` (the oracle of report locations).
fn line_of(text: &str) -> usize {
    let src = include_str!("guard_chain.rs");
    1 + src
        .lines()
        .position(|l| l.contains(text) && !l.contains("line_of"))
        .expect("text in this file")
}

/// One report line: the running figure and the text.
fn lines(report: &str) -> Vec<(i64, String)> {
    report
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut it = l.trim_start_matches('\t').splitn(2, '\t');
            Some((it.next()?.parse().ok()?, it.next()?.to_string()))
        })
        .collect()
}

// --- A chain that overflows its root's budget at its third function. -------------------

#[nosplit(budget = 6000)]
#[inline(never)]
fn over_a(x: u64) -> u64 {
    let buf = black_box([x; 4]);
    over_b(buf[1]) + buf[2]
}

#[nosplit(budget = 60000)]
#[inline(never)]
fn over_b(x: u64) -> u64 {
    let buf = black_box([x; 128]);
    over_c(buf[1]) + buf[2]
}

#[nosplit(budget = 60000)]
#[inline(never)]
fn over_c(x: u64) -> u64 {
    let buf = black_box([x; 512]);
    leaf(buf[1]) + buf[2]
}

#[inline(never)]
fn leaf(x: u64) -> u64 {
    black_box(x) + 1
}

#[test]
fn over_budget_reports_the_measured_chain() {
    if !guard_on() {
        return;
    }
    let o = Oracle::load();
    let fa = o.frame("guard_chain::over_a") as i64;
    let fb = o.frame("guard_chain::over_b") as i64;
    let fc = o.frame("guard_chain::over_c") as i64;
    // The fixture is meant to pass at over_b's entry and fail at over_c's.
    assert!(
        fa + 8 + fb <= 6000 && fa + 8 + fb + 8 + fc > 6000,
        "{fa} {fb} {fc}"
    );

    let report = report_of(|| {
        over_a(1);
    });
    let first = report.lines().next().unwrap();
    assert_eq!(
        first, "guard_chain::over_a: nosplit stack overflow",
        "{report}"
    );
    const B: i64 = 6000;
    let expected = vec![
        (
            B,
            format!(
                "assumed on entry to guard_chain::over_a (tests/guard_chain.rs:{})",
                line_of("fn over_a(")
            ),
        ),
        (
            B - fa,
            "after guard_chain::over_a uses ".to_string() + &fa.to_string(),
        ),
        (B - fa - 8, "on entry to guard_chain::over_b".to_string()),
        (
            B - fa - 8 - fb,
            format!("after guard_chain::over_b uses {fb}"),
        ),
        (
            B - fa - 16 - fb,
            "on entry to guard_chain::over_c".to_string(),
        ),
        (
            B - fa - 16 - fb - fc,
            format!("after guard_chain::over_c uses {fc}"),
        ),
    ];
    assert_eq!(lines(&report), expected, "report:\n{report}");
    assert_eq!(guard::depth(), 0, "unwinding left links behind");
}

// --- Within budget. ---------------------------------------------------------------------

#[nosplit(budget = 60000)]
#[inline(never)]
fn ok_a(x: u64) -> (u64, usize) {
    let buf = black_box([x; 4]);
    let (v, d) = ok_b(buf[1]);
    (v + buf[2], d)
}

#[nosplit(budget = 60000)]
#[inline(never)]
fn ok_b(x: u64) -> (u64, usize) {
    let buf = black_box([x; 128]);
    (buf[1] + leaf(buf[2]), guard::depth())
}

#[test]
fn chain_within_budget_passes() {
    if !guard_on() {
        return;
    }
    assert_eq!(guard::depth(), 0);
    let (v, depth) = ok_a(5);
    assert_eq!(v, 5 + 6 + 5);
    assert_eq!(depth, 2, "two active annotated calls inside ok_b");
    assert_eq!(guard::depth(), 0);
}

// --- Nested budgets: an inner function's own budget applies from its entry. --------------

#[nosplit(budget = 60000)]
#[inline(never)]
fn nest_outer(x: u64) -> u64 {
    let buf = black_box([x; 4]);
    nest_inner(buf[1]) + buf[2]
}

#[nosplit(budget = 3000)]
#[inline(never)]
fn nest_inner(x: u64) -> u64 {
    let buf = black_box([x; 16]);
    over_c(buf[1]) + buf[2]
}

#[test]
fn an_inner_budget_applies_from_its_own_entry() {
    if !guard_on() {
        return;
    }
    let o = Oracle::load();
    let fi = o.frame("guard_chain::nest_inner") as i64;
    let fc = o.frame("guard_chain::over_c") as i64;
    assert!(fi + 8 + fc > 3000 && fi <= 3000);
    let report = report_of(|| {
        nest_outer(1);
    });
    assert_eq!(
        report.lines().next().unwrap(),
        "guard_chain::nest_inner: nosplit stack overflow",
        "{report}"
    );
    assert!(
        !report.contains("nest_outer"),
        "the outer budget holds:\n{report}"
    );
    assert_eq!(
        lines(&report).last().unwrap(),
        &(
            3000 - fi - 8 - fc,
            format!("after guard_chain::over_c uses {fc}")
        ),
        "{report}"
    );
}

// --- Recursion through two annotated functions. ------------------------------------------

#[nosplit(budget = 60000)]
#[inline(never)]
fn rec_f(n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    rec_g(n) + 1
}

#[nosplit(budget = 60000)]
#[inline(never)]
fn rec_g(n: u32) -> u32 {
    rec_f(black_box(n - 1)) + 1
}

#[test]
fn recursion_is_detected_at_run_time() {
    if !guard_on() {
        return;
    }
    let report = report_of(|| {
        rec_f(3);
    });
    assert_eq!(
        report.lines().next().unwrap(),
        "guard_chain::rec_f: nosplit recursion (unbounded stack)",
        "{report}"
    );
    let texts: Vec<String> = lines(&report).into_iter().map(|(_, t)| t).collect();
    assert!(
        texts[0].starts_with("assumed on entry to guard_chain::rec_f"),
        "{report}"
    );
    assert_eq!(texts[2], "on entry to guard_chain::rec_g", "{report}");
    assert_eq!(texts[4], "on entry to guard_chain::rec_f", "{report}");
    assert_eq!(texts.len(), 6, "{report}");
    assert_eq!(guard::depth(), 0);
    // Without recursion the same functions pass.
    assert_eq!(rec_f(0), 0);
}

// --- Unwinding keeps the chain consistent. ------------------------------------------------

#[nosplit(budget = 60000)]
#[inline(never)]
fn unwind_outer(fail: bool) -> (usize, usize, Option<&'static str>) {
    let inside = catch_unwind(|| unwind_inner(fail));
    assert_eq!(inside.is_err(), fail);
    (
        inside.unwrap_or(0),
        guard::depth(),
        guard::innermost().map(|c| c.entry.path()),
    )
}

#[nosplit(budget = 60000)]
#[inline(never)]
fn unwind_inner(fail: bool) -> usize {
    if black_box(fail) {
        panic!("deliberate");
    }
    guard::depth()
}

#[test]
fn unwinding_pops_the_chain() {
    if !guard_on() {
        return;
    }
    assert_eq!(
        unwind_outer(false),
        (2, 1, Some("guard_chain::unwind_outer"))
    );
    assert_eq!(
        unwind_outer(true),
        (0, 1, Some("guard_chain::unwind_outer"))
    );
    assert_eq!(guard::depth(), 0);
    // A panic that leaves every annotated call, then the limits are intact: the same
    // overflow is found again with the same figures.
    let first = report_of(|| {
        over_a(2);
    });
    let again = report_of(|| {
        over_a(3);
    });
    assert_eq!(first, again);
    assert_eq!(guard::depth(), 0);
    assert!(guard::innermost().is_none());
}

// --- Threads have independent chains. -----------------------------------------------------

#[nosplit(budget = 60000)]
#[inline(never)]
fn hold(f: &dyn Fn() -> usize) -> usize {
    let d = hold_inner(f);
    black_box(d)
}

#[nosplit(budget = 60000)]
#[inline(never)]
fn hold_inner(f: &dyn Fn() -> usize) -> usize {
    f()
}

#[test]
fn threads_have_independent_chains() {
    if !guard_on() {
        return;
    }
    use std::sync::{Arc, Barrier};
    let inside = Arc::new(Barrier::new(2));
    let done = Arc::new(Barrier::new(2));
    let (i2, d2) = (inside.clone(), done.clone());
    let holder = std::thread::spawn(move || {
        nosplit::set_unoptimized_multiplier(1);
        hold(&|| {
            i2.wait(); // the other thread now runs while this chain is active
            d2.wait();
            guard::depth()
        })
    });
    inside.wait();
    // This thread sees none of the holder's links, and its own overflow reports only its
    // own chain.
    assert_eq!(guard::depth(), 0);
    let report = report_of(|| {
        over_a(4);
    });
    assert!(!report.contains("hold"), "{report}");
    assert!(report.starts_with("guard_chain::over_a:"), "{report}");
    done.wait();
    assert_eq!(holder.join().unwrap(), 2);
}
