//! `measure`'s painted peak against an independent oracle: the frames of the measured call
//! path read from this test binary's `.eh_frame` with `gimli` (`guard_oracle`), the path
//! itself (closure glue included) taken from a backtrace in an identical earlier run.
//!
//! Expected peak = callsize (the call into the closure's code) + Σ over the path's
//! functions of (frame + callsize) + what the last callee writes: nothing for the chain
//! (it ends in a naked `ret`), the red zone for the leaf test.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod guard_oracle;

use std::hint::black_box;
use std::sync::Mutex;

use guard_oracle::Oracle;

/// Set during the capturing run. A `static mut` read by value: no call, even in a debug
/// build, so the measured run's deepest path is the one the capture saw.
static mut CAPTURE: bool = false;
static PATH: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static SERIAL: Mutex<()> = Mutex::new(());

/// Keeps a value alive in memory without a call (debug builds call `black_box`).
macro_rules! keep {
    ($e:expr) => {
        unsafe { core::arch::asm!("/* {0} */", in(reg) &$e, options(nostack, preserves_flags)) }
    };
}

/// Called, in the capturing run only, where the deepest call of a measured path is made.
#[inline(never)]
fn capture() {
    *PATH.lock().unwrap() = guard_oracle::return_addresses();
}

#[unsafe(naked)]
extern "C" fn bare_leaf() {
    core::arch::naked_asm!("ret")
}

#[inline(never)]
fn m_a() {
    let buf = [1u64; 40];
    keep!(buf);
    m_b(buf[3]);
    keep!(buf);
}

#[inline(never)]
fn m_b(x: u64) {
    let buf = [x; 100];
    keep!(buf);
    m_c(buf[7]);
    keep!(buf);
}

#[inline(never)]
fn m_c(x: u64) {
    let buf = [x; 13];
    keep!(buf);
    if unsafe { CAPTURE } {
        capture();
    }
    bare_leaf();
    keep!(buf);
}

/// Runs `measure(f)` twice, the first time capturing the path; returns the second run's
/// peak and the expected peak computed from the path (up to the caller of `capture`).
fn peak_and_oracle(f: fn(), o: &Oracle) -> (usize, u64, Vec<String>) {
    let bias = o.bias("measure_chain::m_a", m_a as *const () as usize);
    let shim = (nosplit::measure::__entry_address(&f) as i64 - bias) as u64;
    // SAFETY: the measure tests run one at a time (PATH's lock is held across both runs).
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    unsafe { CAPTURE = true };
    nosplit::measure(f);
    unsafe { CAPTURE = false };
    let peak = nosplit::measure(f).peak;

    let path = PATH.lock().unwrap().clone();
    // Innermost first: capture's own frame, then the measured functions up to the shim.
    let mut expected = 8u64; // the call into the shim
    let mut names = Vec::new();
    for ip in path.iter().skip(1) {
        let addr = (*ip as i64 - bias) as u64 - 1;
        let frame = o.frame_at(addr);
        expected += frame + 8;
        names.push(format!("{} {frame}", o.symbol_at(addr).unwrap_or("?")));
        if o.symbol_at(addr) == o.symbol_at(shim) {
            return (peak, expected, names);
        }
    }
    panic!("the captured path never reached the shim at {shim:#x}: {names:?}");
}

#[test]
fn peak_of_a_known_chain_matches_its_frames() {
    let o = Oracle::load();
    let (peak, expected, names) = peak_and_oracle(m_a, &o);
    // The capture call in m_c is at the same depth as the call to bare_leaf, whose `ret`
    // writes nothing: the deepest byte is that call's return address.
    eprintln!("measured peak {peak}, oracle {expected}, path {names:?}");
    assert_eq!(peak as u64, expected, "path (innermost first): {names:#?}");
    assert!(names.len() >= 4, "{names:?}");
}

#[inline(never)]
fn rz_caller() {
    let buf = [5u64; 20];
    keep!(buf);
    if unsafe { CAPTURE } {
        capture();
    }
    let r = rz_leaf(buf[1]);
    keep!(r);
    keep!(buf);
}

/// A leaf with 64 bytes of locals: LLVM keeps them in the red zone, below SP.
#[inline(never)]
fn rz_leaf(x: u64) -> u64 {
    let a = [x; 8];
    keep!(a);
    x
}

#[test]
fn peak_includes_the_red_zone() {
    let o = Oracle::load();
    let (peak, to_leaf_entry, names) = peak_and_oracle(rz_caller, &o);
    let bias = o.bias("measure_chain::m_a", m_a as *const () as usize);
    let leaf = (rz_leaf as *const () as i64 - bias) as u64;
    let leaf_frame = o.frame_at(leaf);
    // to_leaf_entry counts down to rz_leaf's entry SP (the call's return address included);
    // rz_leaf's 64-byte array lies below that, whether SP moved for it or not, within the
    // 128-byte red zone when it did not.
    let below_entry = peak as u64 - to_leaf_entry;
    eprintln!("rz_leaf: {below_entry} bytes below its entry SP, .eh_frame frame {leaf_frame}");
    assert!(
        below_entry >= 64 && below_entry <= leaf_frame + 128,
        "rz_leaf used {below_entry} bytes (frame in .eh_frame {leaf_frame}); path {names:#?}"
    );
    assert!(
        below_entry > leaf_frame,
        "the red zone below rz_leaf's SP ({leaf_frame}) was not seen: {below_entry}"
    );
}

#[test]
fn measure_returns_the_value_and_resumes_panics() {
    let m = nosplit::measure(|| black_box(21) * 2);
    assert_eq!(m.value, 42);
    let err = std::panic::catch_unwind(|| nosplit::measure(|| panic!("inside measure")));
    assert_eq!(
        *err.unwrap_err().downcast::<&str>().unwrap(),
        "inside measure"
    );
    // A bigger stack for a closure that needs it.
    let m = nosplit::measure_with_stack_size(8 << 20, || {
        let big = black_box([3u8; 3 << 20]);
        big[12345] as usize
    });
    assert_eq!(m.value, 3);
    // A debug build copies the array into `black_box`'s frame too.
    assert!(m.peak >= 3 << 20 && m.peak <= 8 << 20, "{}", m.peak);
}
