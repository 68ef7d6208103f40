//! Go's shadow write barrier overflow (golang/go#9721), modelled in Rust.
//!
//! Go's linker rejected the chain
//! `cgocall → cgocall_errno → exitsyscall → exitsyscallfast → writebarrierptr →
//! writebarrierptr_nostore1 → acquirem` because `writebarrierptr` built the shadow-check
//! closure in its own frame: every byte the slow path needed was reserved on entry, and the
//! fast path's call to `writebarrierptr_nostore1` then ran below it. The fix moved the slow
//! path into `writebarrierptr_shadow`, which runs it through `systemstack`: the two callees
//! of `writebarrierptr` now start at the same depth, so their frames overlap instead of
//! stacking, and the slow path's locals are on the system stack, not on the budgeted one.
//!
//! This example is that chain with `#[nosplit]` functions doing work of the same shape: a
//! heap of words with a shadow copy, a write barrier that checks the shadow and composes a
//! diagnostic in a stack buffer when they disagree (as Go's `print` does), and an
//! `acquirem`-like counter. Two variants:
//!
//! - `--features shadow-before`: the slow path is written inline in `writebarrierptr`, as Go
//!   had it. Its message buffer and the registers it spills make `writebarrierptr` 344 bytes
//!   deep on that path, on top of the 176 bytes the chain above has used on entry to it:
//!   worst(cgocall) = 520 > 504, and `cargo nosplit --example shadow_barrier --features
//!   shadow-before` prints the Go-format trace and exits 1.
//! - default: the slow path is in `writebarrierptr_shadow`, run through `systemstack!`.
//!   `writebarrierptr` is 24 bytes deep; its two callees start at the same depth, so their
//!   frames overlap instead of stacking, and the slow path's frames are on the system stack.
//!   The deepest chain left is the cold first use of the system stack (which maps it from a
//!   bootstrap stack): worst(cgocall) = 408 ≤ 504, and `cargo nosplit --example
//!   shadow_barrier` prints the table of roots and exits 0.
//!
//! (Release build, stable 1.95, x86_64; frames agree with LLVM's `.stack_sizes`, and the
//! painted peak of the failing path agrees with the trace: `cargo-nosplit/tests/e2e_examples.rs`.)
//!
//! The runtime guard checks the same chain while a debug build runs:
//! `cargo run --example shadow_barrier --features shadow-before` panics with the guard's
//! trace, the default variant runs clean. Unoptimised, the guard measures the chain at 7 096
//! bytes before the fix and 6 056 after it (`cgocall` alone: 936 instead of 72), so `main` sets
//! the unoptimised-build multiplier to 13 (504 × 13 = 6 552 lies between) rather than 4.
//!
//! `--measure` runs the failing path on a painted stack (`nosplit::measure`) and prints its
//! peak, the run-time oracle of the end-to-end test.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering::Relaxed};
use nosplit::nosplit;

const HEAP_WORDS: usize = 64;
/// A shadow word that has not been written yet.
const NO_SHADOW: usize = usize::MAX;

static HEAP: [AtomicUsize; HEAP_WORDS] = [const { AtomicUsize::new(0) }; HEAP_WORDS];
static SHADOW: [AtomicUsize; HEAP_WORDS] = [const { AtomicUsize::new(NO_SHADOW) }; HEAP_WORDS];
static SHADOW_ENABLED: AtomicBool = AtomicBool::new(true);
/// Card table of the write barrier: one byte per heap word, set when a pointer is stored.
static CARDS: [AtomicU8; HEAP_WORDS] = [const { AtomicU8::new(0) }; HEAP_WORDS];
/// The `m.locks` count of Go's `acquirem`: preemption is off while it is non-zero.
static M_LOCKS: AtomicU32 = AtomicU32::new(0);
/// The last "missed write barrier" diagnostic, written by the slow path.
static DIAGNOSTIC: [AtomicU8; 128] = [const { AtomicU8::new(0) }; 128];

/// What a foreign call returns, as Go's `cgocall_errno` does.
#[derive(Clone, Copy, Debug, Default)]
struct SyscallRecord {
    func: usize,
    args: [usize; 4],
    ret: usize,
    errno: i32,
    ticks: u64,
}

/// Calls the foreign function `func` with `args` and stores its result in heap word `slot`.
#[nosplit(budget = 504)]
#[inline(never)]
fn cgocall(func: usize, args: [usize; 4], slot: usize) -> usize {
    let mut record = SyscallRecord {
        func,
        args,
        ..SyscallRecord::default()
    };
    cgocall_errno(&mut record, slot);
    record.ret
}

#[nosplit]
#[inline(never)]
fn cgocall_errno(record: &mut SyscallRecord, slot: usize) {
    // The "foreign call": a deterministic function of its arguments.
    let mut acc = record.func as u64;
    for a in record.args {
        acc = acc.rotate_left(7) ^ a as u64;
    }
    record.ret = acc as usize;
    record.errno = (acc % 7) as i32;
    exitsyscall(record, slot);
}

#[nosplit]
#[inline(never)]
fn exitsyscall(record: &mut SyscallRecord, slot: usize) {
    // Scheduler bookkeeping of the exit path: a snapshot of the call, kept while we re-enter.
    let snapshot = *record;
    record.ticks = record.ticks.wrapping_add(1);
    if !exitsyscallfast(&snapshot, slot) {
        record.errno = -1;
    }
}

#[nosplit]
#[inline(never)]
fn exitsyscallfast(record: &SyscallRecord, slot: usize) -> bool {
    let slot = slot % HEAP_WORDS;
    if record.errno < 0 {
        return false;
    }
    // Publish the result: a pointer store into the heap, so it goes through the barrier.
    writebarrierptr(&HEAP[slot], record.ret);
    true
}

/// Stores `src` into `dst` with the write barrier.
#[nosplit]
#[inline(never)]
fn writebarrierptr(dst: &'static AtomicUsize, src: usize) {
    if SHADOW_ENABLED.load(Relaxed) {
        #[cfg(feature = "shadow-before")]
        shadow_check(dst, src);
        #[cfg(not(feature = "shadow-before"))]
        writebarrierptr_shadow(dst, src);
    }
    dst.store(src, Relaxed);
    writebarrierptr_nostore1(dst, src);
}

/// The fix: the slow path runs on the system stack, out of this chain's frames.
#[cfg(not(feature = "shadow-before"))]
#[nosplit]
#[inline(never)]
fn writebarrierptr_shadow(dst: &'static AtomicUsize, src: usize) {
    nosplit::systemstack!(|| shadow_check(dst, src));
}

/// The shadow heap check: a store that bypassed the barrier leaves the shadow word stale.
/// Inline in `writebarrierptr` before the fix, on the system stack after it.
#[inline(always)]
fn shadow_check(dst: &'static AtomicUsize, src: usize) {
    let index = heap_index(dst);
    let shadow = &SHADOW[index];
    let (old, old_shadow) = (dst.load(Relaxed), shadow.load(Relaxed));
    if old_shadow != old && old_shadow != NO_SHADOW && old != 0 {
        SHADOW_ENABLED.store(false, Relaxed);
        // Go prints and throws; here the message is composed in a stack buffer, as Go's
        // print does, and published for the caller to report.
        let mut message = [0u8; 112];
        let mut len = 0;
        for (label, value) in [
            (&b"write barrier dst="[..], index),
            (b" old=", old),
            (b" shadow=", old_shadow),
            (b" new=", src),
        ] {
            len = put_bytes(&mut message, len, label);
            len = put_hex(&mut message, len, value);
        }
        for (cell, byte) in DIAGNOSTIC.iter().zip(message.iter().take(len)) {
            cell.store(*byte, Relaxed);
        }
    }
    shadow.store(src, Relaxed);
}

/// Like `writebarrierptr`, but the store has already been applied.
#[nosplit]
#[inline(never)]
fn writebarrierptr_nostore1(dst: &'static AtomicUsize, src: usize) {
    let locks = acquirem();
    if src != 0 {
        CARDS[heap_index(dst)].store(1 + (locks & 0x7f) as u8, Relaxed);
    }
    releasem();
}

/// Disables preemption: returns the new `m.locks` count.
#[nosplit]
#[inline(never)]
fn acquirem() -> u32 {
    M_LOCKS.fetch_add(1, Relaxed) + 1
}

#[nosplit]
#[inline(never)]
fn releasem() {
    M_LOCKS.fetch_sub(1, Relaxed);
}

fn heap_index(word: &AtomicUsize) -> usize {
    let base = HEAP.as_ptr() as usize;
    (word as *const AtomicUsize as usize - base) / core::mem::size_of::<AtomicUsize>() % HEAP_WORDS
}

fn put_bytes(buf: &mut [u8], mut at: usize, bytes: &[u8]) -> usize {
    for &b in bytes {
        if let Some(slot) = buf.get_mut(at) {
            *slot = b;
            at += 1;
        }
    }
    at
}

fn put_hex(buf: &mut [u8], at: usize, value: usize) -> usize {
    let mut digits = [0u8; 18];
    digits[0] = b'0';
    digits[1] = b'x';
    for i in 0..16 {
        digits[2 + i] = b"0123456789abcdef"[(value >> (60 - 4 * i)) & 0xf];
    }
    put_bytes(buf, at, &digits)
}

/// Unoptimised frames of this example are about 13 times their release size (see above).
const UNOPTIMIZED_MULTIPLIER: u32 = 13;

/// Arguments of the call whose barrier finds a stale shadow word: the slow path runs.
const STALE_CALL: (usize, [usize; 4], usize) = (5, [1, 2, 3, 4], 5);

/// The call whose write barrier takes the slow path (measured with `--measure`).
#[inline(never)]
fn stale_call() -> usize {
    let (func, args, slot) = STALE_CALL;
    cgocall(func, args, slot)
}

/// Touches no stack: the baseline of a painted measurement.
#[inline(never)]
fn calibrate() -> usize {
    M_LOCKS.load(Relaxed) as usize
}

fn main() {
    if cfg!(debug_assertions) {
        nosplit::guard::set_unoptimized_multiplier(UNOPTIMIZED_MULTIPLIER);
    }
    let variant = if cfg!(feature = "shadow-before") {
        "before the fix (slow path inline)"
    } else {
        "after the fix (slow path on the system stack)"
    };
    println!("shadow barrier, {variant}");
    let mut total = 0usize;
    for i in 0..1000usize {
        total = total.wrapping_add(cgocall(i, [i, i * 3, i ^ 0x55, 7], i));
    }
    // A store that bypasses the barrier: the next barrier on that word finds the shadow stale.
    HEAP[STALE_CALL.0].store(0xdead, Relaxed);
    if std::env::args().any(|a| a == "--measure") {
        // Both closures have the same shape, so the difference of their painted peaks is
        // worst(stale_call) - worst(calibrate) = worst(stale_call): calibrate touches no stack.
        let stale = nosplit::measure(stale_call);
        let calibration = nosplit::measure(calibrate);
        total = total.wrapping_add(stale.value + calibration.value);
        println!("painted peak of stale_call: {} bytes", stale.peak);
        println!("painted peak of calibrate: {} bytes", calibration.peak);
    } else {
        total = total.wrapping_add(stale_call());
    }
    let diagnostic: Vec<u8> = DIAGNOSTIC
        .iter()
        .map(|b| b.load(Relaxed))
        .take_while(|&b| b != 0)
        .collect();
    println!("checksum {total:#x}, m.locks {}", M_LOCKS.load(Relaxed));
    println!(
        "runtime: missed write barrier: {}",
        String::from_utf8_lossy(&diagnostic)
    );
}
