//! The per-thread system stack of std builds: allocated lazily, reused, freed at thread
//! exit.

use core::cell::Cell;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::{os, switch, SizeError, DEFAULT_SIZE, ENV_VAR, MAX_SIZE, MIN_SIZE};

/// What the fast path reads: a const thread-local without a destructor, so that reading it
/// is a plain thread-pointer-relative load, safe even in a signal handler.
struct Hot {
    /// High end of the usable stack; null until allocated.
    top: Cell<*mut u8>,
    /// Low end of the usable stack (just above the guard page).
    base: Cell<*mut u8>,
    /// Guard page `[guard_lo, base)`, read by the overflow handler.
    guard_lo: Cell<usize>,
    /// A closure is running on the system stack.
    in_use: Cell<bool>,
    /// The stack is being allocated (a signal handler that calls `systemstack!` then must
    /// not wait for the allocation lock its own thread holds).
    allocating: Cell<bool>,
}

thread_local! {
    static HOT: Hot = const {
        Hot {
            top: Cell::new(null_mut()),
            base: Cell::new(null_mut()),
            guard_lo: Cell::new(0),
            in_use: Cell::new(false),
            allocating: Cell::new(false),
        }
    };
    static OWNER: Owner = const { Owner { map: Cell::new(None), alt: Cell::new(None) } };
}

/// Frees the thread's mappings when the thread exits.
struct Owner {
    map: Cell<Option<os::Mapping>>,
    alt: Cell<Option<os::Mapping>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = HOT.try_with(|h| {
            h.top.set(null_mut());
            h.base.set(null_mut());
            h.guard_lo.set(0);
        });
        if let Some(alt) = self.alt.take() {
            os::release_altstack(alt);
        }
        if let Some(map) = self.map.take() {
            os::unmap(map);
            LIVE.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Bytes of the per-thread stacks, 0 until resolved from [`set_size`] or the environment.
static SIZE: AtomicUsize = AtomicUsize::new(0);
/// Set once the first per-thread stack has been allocated: the size is fixed from then on.
static ALLOCATED: AtomicBool = AtomicBool::new(false);
/// Per-thread stacks currently mapped.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Sets the size in bytes of the per-thread system stacks (rounded up to whole pages).
///
/// Call it at the start of `main`, before any `systemstack!`; it overrides the
/// `NOSPLIT_SYSTEM_STACK_SIZE` environment variable.
///
/// # Errors
///
/// [`SizeError::TooSmall`]/[`SizeError::TooLarge`] outside `MIN_SIZE..=MAX_SIZE`;
/// [`SizeError::AlreadyAllocated`] once a system stack has been allocated.
pub fn set_size(bytes: usize) -> Result<(), SizeError> {
    check_size(bytes)?;
    if ALLOCATED.load(Ordering::Acquire) {
        return Err(SizeError::AlreadyAllocated { current: size() });
    }
    SIZE.store(bytes, Ordering::Release);
    Ok(())
}

fn check_size(bytes: usize) -> Result<(), SizeError> {
    if bytes < MIN_SIZE {
        Err(SizeError::TooSmall { requested: bytes })
    } else if bytes > MAX_SIZE {
        Err(SizeError::TooLarge { requested: bytes })
    } else {
        Ok(())
    }
}

/// The size in bytes of the per-thread system stacks: set by [`set_size`], else the
/// `NOSPLIT_SYSTEM_STACK_SIZE` environment variable, else [`DEFAULT_SIZE`].
pub fn size() -> usize {
    let s = SIZE.load(Ordering::Acquire);
    if s != 0 {
        return s;
    }
    let resolved = match std::env::var_os(ENV_VAR) {
        None => DEFAULT_SIZE,
        Some(v) => match v.to_str().and_then(parse_size) {
            Some(n) if check_size(n).is_ok() => n,
            _ => {
                eprintln!(
                    "nosplit: ignoring {ENV_VAR}={v:?}: expected a byte count from {MIN_SIZE} \
                     to {MAX_SIZE}, such as 1048576, 512K or 2M; using the default, {DEFAULT_SIZE}"
                );
                DEFAULT_SIZE
            }
        },
    };
    match SIZE.compare_exchange(0, resolved, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => resolved,
        Err(other) => other,
    }
}

/// Parses `1048576`, `512K`/`512k`/`512KiB`, `2M`/`2MiB`, `1G` (powers of 1024).
pub(crate) fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(digits);
    let n: usize = num.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Whether the current thread is running a closure on its system stack.
pub fn on_system_stack() -> bool {
    HOT.with(|h| h.in_use.get())
}

/// The current thread's system stack as `(low, high)` addresses (guard page excluded), or
/// `None` before its first use.
pub fn current_bounds() -> Option<(usize, usize)> {
    HOT.with(|h| {
        let top = h.top.get();
        (!top.is_null()).then(|| (h.base.get() as usize, top as usize))
    })
}

/// Per-thread system stacks currently mapped in the process.
pub fn live_stacks() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Whether `addr` lies in the current thread's guard page (for the overflow handler).
pub(crate) fn in_guard_page(addr: usize) -> bool {
    HOT.try_with(|h| {
        let lo = h.guard_lo.get();
        lo != 0 && addr >= lo && addr < h.base.get() as usize
    })
    .unwrap_or(false)
}

/// Runs `f` on the current thread's system stack (directly when already on it) and returns
/// its value; a panic in `f` is resumed on the caller's stack.
///
/// Prefer [`systemstack!`](crate::systemstack!): it calls this from a cold, out-of-line
/// function, so that the caller's frame does not hold the closure's machinery.
#[inline(always)]
pub fn run<R, F: FnOnce() -> R>(f: F) -> R {
    __run::<true, R, F>(f)
}

/// [`run`] for `systemstack!`, which tells whether the guard can be on at its expansion
/// site (`GUARD`). Not public API.
#[doc(hidden)]
#[inline(always)]
pub fn __run<const GUARD: bool, R, F: FnOnce() -> R>(f: F) -> R {
    let (in_use, top) = HOT.with(|h| (h.in_use.get(), h.top.get()));
    if !in_use && top.is_null() {
        return first_use::<GUARD, R, F>(f);
    }
    on_allocated::<GUARD, R, F>(f)
}

/// The switch once the thread's stack exists (or the direct call when already on it).
/// Separate from [`__run`] so that [`first_use`] does not call back into itself: the
/// checker would see a cycle.
#[inline(always)]
fn on_allocated<const GUARD: bool, R, F: FnOnce() -> R>(f: F) -> R {
    let (in_use, top, base) = HOT.with(|h| (h.in_use.get(), h.top.get(), h.base.get()));
    // Nested (already on the system stack): a null top runs `f` where we are.
    let (top, base) = if in_use {
        (null_mut(), null_mut())
    } else {
        HOT.with(|h| h.in_use.set(true));
        (top, base)
    };
    // SAFETY: [base, top) is this thread's system stack and `in_use` keeps it ours; or top
    // is null.
    let out = unsafe { switch::call_on::<GUARD, F, R>(f, top, base) };
    if !in_use {
        HOT.with(|h| h.in_use.set(false));
    }
    switch::finish(out)
}

/// The first `systemstack!` of a thread: allocate its stack on the bootstrap stack (so that
/// `mmap`, `sigaction` and friends do not run on the caller's small stack), then switch.
#[cold]
#[inline(never)]
fn first_use<const GUARD: bool, R, F: FnOnce() -> R>(f: F) -> R {
    if HOT.with(|h| h.allocating.get()) {
        // A signal handler interrupted this thread's own allocation: do not wait for it.
        // SAFETY: a null top runs `f` on the current stack.
        return switch::finish(unsafe {
            switch::call_on::<GUARD, F, R>(f, null_mut(), null_mut())
        });
    }
    HOT.with(|h| h.allocating.set(true));
    let allocated = on_bootstrap_stack(allocate);
    HOT.with(|h| h.allocating.set(false));
    match allocated {
        Ok(Ok(true)) => on_allocated::<GUARD, R, F>(f),
        Ok(Ok(false)) => {
            // The thread is exiting and its destructors have run: use a stack for this one
            // call.
            let map = match on_bootstrap_stack(|| os::map_stack(size())) {
                Ok(Ok(map)) => map,
                Ok(Err(e)) => alloc_failed(e),
                Err(payload) => switch::resume(payload),
            };
            HOT.with(|h| h.in_use.set(true));
            // SAFETY: the mapping is ours alone until unmapped below.
            let out = unsafe { switch::call_on::<GUARD, F, R>(f, map.top(), map.base()) };
            HOT.with(|h| h.in_use.set(false));
            // munmap on the bootstrap stack too: nothing but the switch on the caller's (and
            // no drop of a panic payload there either: resume it).
            if let Err(payload) = on_bootstrap_stack(|| os::unmap(map)) {
                switch::resume(payload)
            }
            switch::finish(out)
        }
        Ok(Err(e)) => alloc_failed(e),
        Err(payload) => switch::resume(payload),
    }
}

/// Reports a failed allocation. Reads the size with a plain load (it was resolved by the
/// attempt): on the caller's stack, only the panic itself may run.
#[cold]
#[inline(never)]
fn alloc_failed(e: std::io::Error) -> ! {
    // The message is formatted and the panic raised on the bootstrap stack, then resumed
    // here: the caller's small stack never holds the formatting machinery or the panic hook.
    let raised = on_bootstrap_stack(move || -> std::convert::Infallible {
        panic!(
            "nosplit: cannot allocate the {} byte system stack of systemstack!: {e}; lower it \
             with {ENV_VAR} or nosplit::systemstack::set_size",
            SIZE.load(Ordering::Relaxed)
        )
    });
    match raised {
        Err(payload) => switch::resume(payload),
        Ok(never) => match never {},
    }
}

/// Maps the current thread's stack and registers it for freeing at thread exit; `Ok(false)`
/// when the thread's destructors have already run.
fn allocate() -> Result<bool, std::io::Error> {
    ALLOCATED.store(true, Ordering::Release);
    let size = size();
    os::install_overflow_handler();
    OWNER
        .try_with(|owner| -> Result<(), std::io::Error> {
            let map = os::map_stack(size)?;
            let alt = os::ensure_altstack()?;
            HOT.with(|h| {
                h.guard_lo.set(map.guard_lo());
                h.base.set(map.base());
                h.top.set(map.top());
            });
            owner.map.set(Some(map));
            owner.alt.set(alt);
            LIVE.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .map_or(Ok(false), |r| r.map(|()| true))
}

/// Size of the process-wide stack on which per-thread stacks are allocated.
const BOOTSTRAP_SIZE: usize = 64 * 1024;
static BOOTSTRAP: super::SystemStack<BOOTSTRAP_SIZE> = super::SystemStack::new();
static BOOTSTRAP_LOCK: AtomicBool = AtomicBool::new(false);

/// Runs `f` on the bootstrap stack, waiting for other threads' allocations; returns the
/// outcome (a panic in `f` as `Err`).
fn on_bootstrap_stack<R, F: FnOnce() -> R>(f: F) -> std::thread::Result<R> {
    // A spin lock: allocations take microseconds, and a blocking lock would make the caller
    // call into the OS on its own (small) stack.
    while BOOTSTRAP_LOCK
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
    let (lo, hi) = BOOTSTRAP.bounds();
    // SAFETY: the lock gives this call exclusive use of the bootstrap stack.
    let out = unsafe { switch::call_on::<false, F, R>(f, hi as *mut u8, lo as *mut u8) };
    BOOTSTRAP_LOCK.store(false, Ordering::Release);
    out
}

/// Usable bytes of the current thread's system stack, 0 before its first use (for the
/// overflow handler: a plain thread-local read).
pub(crate) fn current_size() -> usize {
    HOT.try_with(|h| h.top.get() as usize - h.base.get() as usize)
        .unwrap_or(0)
}
