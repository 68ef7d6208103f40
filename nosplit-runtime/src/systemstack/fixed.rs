//! `SystemStack<N>`: a system stack in a user-provided static, for `no_std` targets.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, Ordering};

use super::switch;

/// A system stack of `N` bytes that lives in a `static`, for targets without `mmap` or
/// threads (firmware, kernels), or wherever the stack's placement must be chosen.
///
/// ```
/// use nosplit_runtime::systemstack::SystemStack;
///
/// static SYS: SystemStack<16384> = SystemStack::new();
///
/// let sum = nosplit_runtime::systemstack!(SYS, || (1..=10u32).sum::<u32>());
/// assert_eq!(sum, 55);
/// ```
///
/// One closure runs on it at a time. A nested use from code already running on it calls
/// the closure directly; a use from another context while it is busy (another thread, or an
/// interrupt handler that preempted a closure running on it) panics: give each context that
/// can preempt another its own `SystemStack`. There is no guard page: on targets with an MPU,
/// place a guard region below the static (see `docs/SYSTEMSTACK.md`).
#[repr(C, align(16))]
pub struct SystemStack<const N: usize> {
    mem: UnsafeCell<[MaybeUninit<u8>; N]>,
    busy: AtomicBool,
}

// SAFETY: the memory is only used by the one closure that holds `busy`.
unsafe impl<const N: usize> Sync for SystemStack<N> {}

impl<const N: usize> Default for SystemStack<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> SystemStack<N> {
    /// A new, unused stack. `N` must be at least 256 and a multiple of 16 (checked at
    /// compile time).
    pub const fn new() -> Self {
        const {
            assert!(
                N >= 256 && N % 16 == 0,
                "SystemStack<N>: N must be at least 256 and a multiple of 16"
            )
        };
        Self {
            mem: UnsafeCell::new([MaybeUninit::uninit(); N]),
            busy: AtomicBool::new(false),
        }
    }

    /// The stack's memory as `(low, high)` addresses; the stack grows down from `high`.
    pub fn bounds(&self) -> (usize, usize) {
        let lo = self.mem.get() as usize;
        (lo, lo + N)
    }

    /// Whether the current stack pointer lies in this stack.
    #[inline(always)]
    pub fn contains_current_sp(&self) -> bool {
        let marker = 0u8;
        let sp = core::ptr::addr_of!(marker) as usize;
        let (lo, hi) = self.bounds();
        lo <= sp && sp < hi
    }

    /// Runs `f` on this stack and returns its value (directly when already on it).
    ///
    /// Prefer [`systemstack!`](crate::systemstack!), which also keeps the closure out of the
    /// caller's frame. With the `std` feature a panic in `f` is caught on this stack and
    /// resumed on the caller's; without it a panic that unwinds out of `f` aborts.
    ///
    /// # Panics
    ///
    /// When the stack is busy with a closure of another context (see the type's docs).
    #[inline(always)]
    pub fn run<R, F: FnOnce() -> R>(&'static self, f: F) -> R {
        self.__run::<true, R, F>(f)
    }

    /// [`run`](Self::run) for `systemstack!`, which tells whether the guard can be on at
    /// its expansion site (`GUARD`). Not public API.
    #[doc(hidden)]
    #[inline(always)]
    pub fn __run<const GUARD: bool, R, F: FnOnce() -> R>(&'static self, f: F) -> R {
        let claimed = self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
        let (top, base) = if claimed {
            let (lo, hi) = self.bounds();
            (hi as *mut u8, lo as *mut u8)
        } else if self.contains_current_sp() {
            // Nested: already on this stack; a null top calls `f` where we are.
            (core::ptr::null_mut(), core::ptr::null_mut())
        } else {
            busy_panic()
        };
        // SAFETY: `busy` gives this call exclusive use of [base, top); top is 16-aligned
        // since the struct is 16-aligned, `mem` is its first field and N is a multiple of
        // 16. Or top is null.
        let out = unsafe { switch::call_on::<GUARD, F, R>(f, top, base) };
        if claimed {
            self.busy.store(false, Ordering::Release);
        }
        switch::finish(out)
    }
}

#[cold]
#[inline(never)]
fn busy_panic() -> ! {
    panic!(
        "nosplit: SystemStack is busy with a closure of another context (thread or \
         interrupt); give each context that can preempt another its own SystemStack"
    )
}
