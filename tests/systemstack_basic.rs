//! Behaviour of `systemstack!`: values, captures, nesting, deep slow paths on small
//! threads, panics, many threads, thread-exit freeing and the static `SystemStack`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use nosplit::systemstack;
use nosplit::systemstack::SystemStack;

/// An address on the current stack (a local's address), to see which stack code runs on.
#[inline(never)]
fn sp() -> usize {
    let x = 0u8;
    std::hint::black_box(&x) as *const u8 as usize
}

/// The ranges of /proc/self/maps, independent of the runtime's own bookkeeping.
fn mapped(lo: usize, hi: usize) -> bool {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    maps.lines().any(|l| {
        let range = l.split_whitespace().next().unwrap_or("");
        let (a, b) = range.split_once('-').unwrap_or(("0", "0"));
        let a = usize::from_str_radix(a, 16).unwrap_or(0);
        let b = usize::from_str_radix(b, 16).unwrap_or(0);
        a < hi && lo < b
    })
}

#[test]
fn returns_values_of_several_types() {
    assert_eq!(systemstack!(|| 42u8), 42);
    assert_eq!(systemstack!(|| -7i128), -7);
    assert_eq!(systemstack!(|| 1.5f64), 1.5);
    systemstack!(|| ());
    assert_eq!(systemstack!(|| String::from("slow path")), "slow path");
    assert_eq!(systemstack!(|| vec![1u32, 2, 3]), [1, 2, 3]);
    assert_eq!(systemstack!(|| Some((1u16, 'x'))), Some((1, 'x')));
    let big: [u64; 512] = systemstack!(|| {
        let mut a = [0u64; 512];
        for (i, v) in a.iter_mut().enumerate() {
            *v = i as u64 * 3;
        }
        a
    });
    assert_eq!(big[511], 511 * 3);
    let r: Result<u32, std::num::ParseIntError> = systemstack!(|| "12".parse::<u32>());
    assert_eq!(r, Ok(12));
    let e: Result<u32, std::num::ParseIntError> = systemstack!(|| "x".parse::<u32>());
    assert!(e.is_err());
}

#[test]
fn runs_on_another_stack() {
    let here = sp();
    let (there, bounds) = systemstack!(|| (sp(), nosplit::systemstack::current_bounds()));
    let (lo, hi) = bounds.expect("allocated by the first use");
    assert!(
        lo <= there && there < hi,
        "closure ran at {there:#x}, outside {lo:#x}..{hi:#x}"
    );
    assert!(
        !(lo <= here && here < hi),
        "the caller is not on the system stack"
    );
    assert!(mapped(lo, hi), "the system stack is mapped");
    assert!(!nosplit::systemstack::on_system_stack());
    assert!(systemstack!(nosplit::systemstack::on_system_stack));
}

#[test]
fn captures_by_reference_and_by_move() {
    let mut counter = 0u32;
    let text = String::from("borrowed");
    let n = systemstack!(|| {
        counter += 1;
        text.len()
    });
    assert_eq!((n, counter), (8, 1));
    assert_eq!(text, "borrowed");

    let owned = [String::from("a"), String::from("b")];
    let joined = systemstack!(move || owned.concat());
    assert_eq!(joined, "ab");

    // Dropped on the system stack, exactly once.
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct D;
    impl Drop for D {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
    let d = D;
    systemstack!(move || drop(d));
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn nested_calls_run_directly() {
    let (outer, inner, bounds) = systemstack!(|| {
        let outer = sp();
        let inner = systemstack!(|| systemstack!(sp));
        (outer, inner, nosplit::systemstack::current_bounds())
    });
    let (lo, hi) = bounds.unwrap();
    assert!(
        lo <= inner && inner < hi,
        "nested closure stays on the system stack"
    );
    // Not switched back to the top: it runs below the outer closure's frame.
    assert!(
        inner < outer,
        "inner {inner:#x} should be deeper than outer {outer:#x}"
    );
}

/// Uses about `kib` KiB of stack, touching every page (so a too-small stack faults);
/// `lowest` gets the lowest address it touched.
#[inline(never)]
fn deep(kib: usize, lowest: &mut usize) -> u64 {
    let mut buf = [0u8; 1024];
    std::hint::black_box(&mut buf);
    *lowest = (*lowest).min(buf.as_ptr() as usize);
    if kib == 0 {
        return 1;
    }
    buf[kib % 1024] = kib as u8;
    deep(kib - 1, lowest) + std::hint::black_box(&buf)[kib % 1024] as u64
}

#[test]
fn small_thread_runs_a_512k_slow_path() {
    let r = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(|| {
            systemstack!(|| {
                let top = sp();
                let mut lowest = usize::MAX;
                let v = deep(512, &mut lowest);
                (v, top - lowest)
            })
        })
        .unwrap()
        .join()
        .unwrap();
    let expected = 1 + (1..=512u64).map(|k| k as u8 as u64).sum::<u64>();
    assert_eq!(r.0, expected);
    // Measured by addresses: the slow path really used more than 512 KiB, eight times the
    // calling thread's whole stack.
    assert!(r.1 > 512 * 1024, "slow path used only {} bytes", r.1);
}

#[test]
fn panics_propagate_with_payload() {
    let e =
        catch_unwind(|| systemstack!(|| panic!("boom {}", std::hint::black_box(7)))).unwrap_err();
    assert_eq!(
        e.downcast_ref::<String>().map(String::as_str),
        Some("boom 7")
    );

    #[derive(Debug, PartialEq)]
    struct Custom(u32);
    let e = catch_unwind(|| systemstack!(|| std::panic::panic_any(Custom(9)))).unwrap_err();
    assert_eq!(e.downcast_ref::<Custom>(), Some(&Custom(9)));

    // Nested: the inner panic crosses two closures.
    let e = catch_unwind(|| systemstack!(|| systemstack!(|| panic!("inner")))).unwrap_err();
    assert_eq!(e.downcast_ref::<&str>(), Some(&"inner"));

    // The stack is usable again and back on the caller's stack afterwards.
    assert!(!nosplit::systemstack::on_system_stack());
    assert_eq!(systemstack!(|| 5), 5);

    // Values captured by reference are intact after the unwind.
    let mut v = vec![1];
    let _ = catch_unwind(AssertUnwindSafe(|| {
        systemstack!(|| {
            v.push(2);
            panic!("after push")
        })
    }));
    assert_eq!(v, [1, 2]);
}

/// Runs the test named `name` alone in a child process (so that no other test maps memory
/// at the addresses it checks) and returns whether this is the child.
fn in_child(name: &str) -> bool {
    if std::env::var("NOSPLIT_SYSTEMSTACK_CHILD").as_deref() == Ok(name) {
        return true;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env("NOSPLIT_SYSTEMSTACK_CHILD", name)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child {name} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    false
}

#[test]
fn eight_threads_switch_100_000_times_and_free_their_stacks() {
    if !in_child("eight_threads_switch_100_000_times_and_free_their_stacks") {
        return;
    }
    const THREADS: usize = 8;
    const SWITCHES: u64 = 100_000;
    // All threads alive at once when they report their stacks, so that the ranges are
    // distinct (an exited thread's range may be reused by a later one).
    let all_alive = std::sync::Arc::new(std::sync::Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let all_alive = all_alive.clone();
            std::thread::spawn(move || {
                let mut acc = 0u64;
                for i in 0..SWITCHES {
                    acc = systemstack!(|| acc.wrapping_add(i ^ t as u64));
                }
                let bounds = nosplit::systemstack::current_bounds().unwrap();
                assert!(mapped(bounds.0, bounds.1));
                // The guard page below it is part of the mapping too.
                let bounds = (bounds.0 - 4096, bounds.1);
                all_alive.wait();
                (acc, bounds)
            })
        })
        .collect();
    let mut ranges = Vec::new();
    for (t, h) in handles.into_iter().enumerate() {
        let (acc, bounds) = h.join().unwrap();
        let want = (0..SWITCHES).fold(0u64, |a, i| a.wrapping_add(i ^ t as u64));
        assert_eq!(acc, want);
        ranges.push(bounds);
    }
    // Each thread had its own stack, and each one is unmapped now that it has exited.
    let mut sorted = ranges.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), THREADS);
    assert_eq!(nosplit::systemstack::live_stacks(), 0);
    for (lo, hi) in ranges {
        assert!(
            !mapped(lo, hi),
            "system stack {lo:#x}..{hi:#x} still mapped after exit"
        );
    }
}

#[test]
fn static_system_stack() {
    static SYS: SystemStack<16384> = SystemStack::new();
    let (lo, hi) = SYS.bounds();
    assert_eq!(hi - lo, 16384);
    let (at, nested) = systemstack!(SYS, || (sp(), systemstack!(SYS, sp)));
    assert!(lo <= at && at < hi);
    assert!(lo <= nested && nested < at);
    let e = catch_unwind(|| systemstack!(SYS, || panic!("on SYS"))).unwrap_err();
    assert_eq!(e.downcast_ref::<&str>(), Some(&"on SYS"));
    assert_eq!(systemstack!(SYS, move || 3 + 4), 7);
}

#[test]
fn usable_from_thread_local_destructors() {
    if !in_child("usable_from_thread_local_destructors") {
        return;
    }
    static RESULT: AtomicUsize = AtomicUsize::new(0);
    static AT: AtomicUsize = AtomicUsize::new(0);
    struct Late;
    impl Drop for Late {
        fn drop(&mut self) {
            // Runs during thread exit, before or after the runtime's own destructor.
            let (v, at) = systemstack!(|| (deep(64, &mut usize::MAX.clone()), sp()));
            RESULT.store(v as usize, Ordering::SeqCst);
            AT.store(at, Ordering::SeqCst);
        }
    }
    thread_local!(static LATE: Late = const { Late });
    std::thread::spawn(|| {
        LATE.with(|_| ());
        // The system stack is allocated after LATE registered its destructor.
        assert_eq!(systemstack!(|| 1), 1);
    })
    .join()
    .unwrap();
    let expected = 1 + (1..=64u64).map(|k| k as u8 as u64).sum::<u64>();
    assert_eq!(RESULT.load(Ordering::SeqCst) as u64, expected);
    let at = AT.load(Ordering::SeqCst);
    assert!(!mapped(at, at + 1), "the stack used at exit is unmapped");
    assert_eq!(nosplit::systemstack::live_stacks(), 0);
}

#[test]
fn static_system_stack_busy_in_another_thread_panics() {
    static SHARED: SystemStack<16384> = SystemStack::new();
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        systemstack!(SHARED, || {
            entered_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        })
    });
    entered_rx.recv().unwrap();
    let e = catch_unwind(|| systemstack!(SHARED, || 1)).unwrap_err();
    let msg = e.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("SystemStack is busy"), "{msg}");
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    // Free again.
    assert_eq!(systemstack!(SHARED, || 2), 2);
}
