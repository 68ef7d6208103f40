//! A signal handler on a small alternate stack, with a budget the checker proves fits it.
//!
//! A handler installed with `SA_ONSTACK` runs on the stack given to `sigaltstack`, typically
//! a few KiB so that a thread whose own stack overflowed can still report it. The kernel
//! first pushes its signal frame (the saved registers and the FPU/AVX state: up to
//! `AT_MINSIGSTKSZ` bytes, about 3.5 KiB on AVX-512 machines), and the handler and all it
//! calls get the rest. So the alternate stack is sized as
//! `ALT_STACK_SIZE = KERNEL_FRAME_RESERVE + handler budget`, `main` checks at run time that
//! the kernel's frame fits its reserve, and `cargo nosplit --example sigaltstack` proves the
//! handler's chain fits its budget: together, the handler cannot overflow the alternate stack.
//!
//! The handler does async-signal-safe work only: it counts the signal, records who sent it
//! and folds the record into a checksum, all in statics.

use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use nosplit::nosplit;

/// The handler's budget: must equal the `budget` of `on_signal` below.
const HANDLER_BUDGET: usize = 1024;
/// Unoptimised builds have larger frames: the runtime guard (and the checker) scale budgets
/// by the unoptimised-build multiplier there, so the alternate stack grows the same way.
const BUDGET_SCALE: usize = if cfg!(debug_assertions) {
    nosplit::config::UNOPTIMIZED_MULTIPLIER as usize
} else {
    1
};
/// Room left for the kernel's signal frame; `main` checks it against `AT_MINSIGSTKSZ`.
const KERNEL_FRAME_RESERVE: usize = 8192;
/// The alternate stack: the kernel's frame, then the handler's chain.
const ALT_STACK_SIZE: usize = KERNEL_FRAME_RESERVE + HANDLER_BUDGET * BUDGET_SCALE;

static SIGNALS: AtomicU32 = AtomicU32::new(0);
static LAST_SENDER: AtomicU32 = AtomicU32::new(0);
static CHECKSUM: AtomicU64 = AtomicU64::new(0);
/// The lowest stack address the handler was entered at, to show it ran on the alternate stack.
static HANDLER_SP: AtomicUsize = AtomicUsize::new(0);

/// The `SIGUSR1` handler. Runs on the alternate stack.
#[nosplit(budget = 1024)]
extern "C" fn on_signal(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
) {
    let marker = 0u8;
    HANDLER_SP.store(core::ptr::addr_of!(marker) as usize, Relaxed);
    SIGNALS.fetch_add(1, Relaxed);
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
    let sender = unsafe { (*info).si_pid() } as u32;
    LAST_SENDER.store(sender, Relaxed);
    record(signal as u32, sender);
}

/// Folds one delivery into the checksum (FNV-1a over the record's bytes).
#[nosplit]
#[inline(never)]
fn record(signal: u32, sender: u32) {
    let mut entry = [0u8; 16];
    entry[..4].copy_from_slice(&signal.to_le_bytes());
    entry[4..8].copy_from_slice(&sender.to_le_bytes());
    entry[8..12].copy_from_slice(&SIGNALS.load(Relaxed).to_le_bytes());
    let mut hash = CHECKSUM.load(Relaxed) ^ 0xcbf2_9ce4_8422_2325;
    for byte in entry {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    CHECKSUM.store(hash, Relaxed);
}

fn main() {
    // SAFETY: getauxval only reads the auxiliary vector.
    let kernel_frame = unsafe { libc::getauxval(libc::AT_MINSIGSTKSZ) } as usize;
    assert!(
        kernel_frame <= KERNEL_FRAME_RESERVE,
        "the kernel's signal frame ({kernel_frame} B) exceeds the reserve ({KERNEL_FRAME_RESERVE} B)"
    );
    let alt_stack = vec![0u8; ALT_STACK_SIZE].into_boxed_slice();
    let alt_range = alt_stack.as_ptr() as usize..alt_stack.as_ptr() as usize + ALT_STACK_SIZE;
    // SAFETY: the alternate stack outlives every delivery (it is freed after the handler is
    // uninstalled), and the sigaction struct is fully initialised.
    unsafe {
        let stack = libc::stack_t {
            ss_sp: alt_stack.as_ptr() as *mut libc::c_void,
            ss_flags: 0,
            ss_size: ALT_STACK_SIZE,
        };
        assert_eq!(libc::sigaltstack(&stack, core::ptr::null_mut()), 0);
        let mut action: libc::sigaction = core::mem::zeroed();
        action.sa_sigaction = on_signal as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, core::ptr::null_mut()),
            0
        );
        for _ in 0..3 {
            libc::raise(libc::SIGUSR1);
        }
        libc::signal(libc::SIGUSR1, libc::SIG_DFL);
        let disable = libc::stack_t {
            ss_sp: core::ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        libc::sigaltstack(&disable, core::ptr::null_mut());
    }
    let handler_sp = HANDLER_SP.load(Relaxed);
    println!(
        "{} signals from pid {}, checksum {:#x}",
        SIGNALS.load(Relaxed),
        LAST_SENDER.load(Relaxed),
        CHECKSUM.load(Relaxed)
    );
    println!(
        "handler ran on the alternate stack: {} (kernel frame ≤ {kernel_frame} B, handler budget {HANDLER_BUDGET} B of {ALT_STACK_SIZE} B)",
        alt_range.contains(&handler_sp)
    );
}
