//! A custom violation handler (one test: the handler is process-wide): it sees the
//! violation with the measured figures, the program continues, and the chain stays
//! consistent.

mod guard_oracle;

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use guard_oracle::Oracle;
use nosplit::{guard, nosplit, Violation, ViolationKind};

static COUNT: AtomicUsize = AtomicUsize::new(0);
/// (kind, report, violated roots with their depth below entry)
type Seen = (ViolationKind, String, Vec<(&'static str, usize, usize)>);
static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

fn counting(v: &Violation<'_>) {
    COUNT.fetch_add(1, Ordering::Relaxed);
    let roots = v
        .violated()
        .map(|c| (c.entry.path(), c.budget, v.depth_below(&c)))
        .collect();
    SEEN.lock().unwrap().push((v.kind(), v.to_string(), roots));
}

#[nosplit(budget = 10000)]
#[inline(never)]
fn h_a(x: u64) -> u64 {
    let buf = black_box([x; 4]);
    h_b(buf[1]) + buf[2]
}

#[nosplit(budget = 60000)]
#[inline(never)]
fn h_b(x: u64) -> u64 {
    let buf = black_box([x; 256]);
    buf[1] + buf[2] + h_c(x)
}

#[nosplit(budget = 60000)]
#[inline(never)]
fn h_c(x: u64) -> u64 {
    let buf = black_box([x; 1024]);
    buf[1] + 1
}

#[nosplit(budget = 60000)]
#[inline(never)]
fn ping(n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    pong(n) + 1
}

#[nosplit(budget = 60000)]
#[inline(never)]
fn pong(n: u32) -> u32 {
    ping(black_box(n - 1)) + 1
}

#[test]
fn a_custom_handler_sees_violations_and_the_program_continues() {
    if !(cfg!(debug_assertions) || guard::FORCED) {
        eprintln!("skipped: the guard is off in this build");
        return;
    }
    nosplit::set_unoptimized_multiplier(1);
    let o = Oracle::load();
    let fa = o.frame("guard_handler::h_a") as usize;
    let fb = o.frame("guard_handler::h_b") as usize;
    let fc = o.frame("guard_handler::h_c") as usize;
    assert!(
        fa + 8 + fb <= 10000 && fa + 8 + fb + 8 + fc > 10000,
        "{fa} {fb} {fc}"
    );

    let previous = nosplit::set_violation_handler(counting);
    assert_eq!(
        previous as usize,
        guard::default_violation_handler as *const () as usize,
        "the default handler was in place"
    );

    // The overflow is reported once (at h_c's entry) and h_a returns normally.
    assert_eq!(h_a(1), 1 + 1 + 1 + 2);
    assert_eq!(COUNT.load(Ordering::Relaxed), 1);
    assert_eq!(guard::depth(), 0);
    {
        let seen = SEEN.lock().unwrap();
        let (kind, report, roots) = &seen[0];
        assert_eq!(*kind, ViolationKind::Overflow);
        assert_eq!(
            roots,
            &vec![("guard_handler::h_a", 10000, fa + 8 + fb + 8 + fc)],
            "{report}"
        );
        assert!(report.starts_with("guard_handler::h_a: nosplit stack overflow\n"));
    }

    // Recursion through ping/pong: reported, and the calls still complete.
    assert_eq!(ping(2), 4);
    let n = COUNT.load(Ordering::Relaxed);
    assert!(n > 1, "recursion not reported");
    assert!(SEEN.lock().unwrap()[1..]
        .iter()
        .all(|(k, _, _)| *k == ViolationKind::Recursion));
    assert_eq!(guard::depth(), 0);

    // Putting the default back returns ours.
    let ours = nosplit::set_violation_handler(previous);
    assert_eq!(ours as usize, counting as *const () as usize);
    let err = std::panic::catch_unwind(|| h_a(2)).expect_err("default handler panics again");
    assert!(err
        .downcast_ref::<String>()
        .is_some_and(|s| s.starts_with("guard_handler::h_a: nosplit stack overflow")));
    assert_eq!(COUNT.load(Ordering::Relaxed), n);
}
