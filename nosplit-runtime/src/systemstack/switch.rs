//! The stack switch itself: the `nosplit_systemstack_switch` routine and the generic code
//! that moves a closure and its result across it.

use core::mem::ManuallyDrop;

#[cfg(all(
    target_arch = "x86_64",
    not(nosplit_psm_switch),
    not(windows),
    not(target_vendor = "apple")
))]
core::arch::global_asm!(include_str!("switch_x86_64.s"), options(att_syntax));

#[cfg(all(
    target_arch = "aarch64",
    not(nosplit_psm_switch),
    not(windows),
    not(target_vendor = "apple")
))]
core::arch::global_asm!(include_str!("switch_aarch64.s"));

#[cfg(all(
    any(target_arch = "x86_64", target_arch = "aarch64"),
    not(nosplit_psm_switch),
    not(windows),
    not(target_vendor = "apple")
))]
extern "C" {
    /// The stack switch: calls `f(data)` with the stack pointer set to `top`, then returns
    /// on the caller's stack. When `top` is null, calls `f(data)` on the current stack.
    ///
    /// This symbol is a stable interface: `cargo nosplit` treats it as a stack boundary
    /// (`grows`), counting only the bytes it uses on the caller's stack (16 on x86_64 and
    /// AArch64, return address included) and not what `f` does on the other stack.
    /// Implemented in assembly for x86_64 and AArch64 (`src/systemstack/switch_*.s`) and
    /// on top of `psm` elsewhere (or with `--cfg nosplit_psm_switch`).
    ///
    /// # Safety
    ///
    /// `top` must be null or the 16-byte-aligned high end of writable memory that extends
    /// down from it far enough for `f`, used by nothing else while `f` runs; `base` is the
    /// low end of that memory. `f` must not unwind.
    pub fn nosplit_systemstack_switch(
        data: *mut u8,
        f: unsafe extern "C" fn(*mut u8),
        top: *mut u8,
        base: *mut u8,
    );
}

/// Portable fallback of the switch, on top of `psm` (same contract as the assembly one).
///
/// # Safety
///
/// See the assembly version's contract: `top` null or the aligned high end of a free stack
/// whose low end is `base`; `f` must not unwind.
#[cfg(not(all(
    any(target_arch = "x86_64", target_arch = "aarch64"),
    not(nosplit_psm_switch),
    not(windows),
    not(target_vendor = "apple")
)))]
#[no_mangle]
#[inline(never)]
pub unsafe extern "C" fn nosplit_systemstack_switch(
    data: *mut u8,
    f: unsafe extern "C" fn(*mut u8),
    top: *mut u8,
    base: *mut u8,
) {
    if top.is_null() {
        f(data)
    } else {
        // SAFETY: the caller guarantees [base, top) is a free stack.
        psm::on_stack(base, top as usize - base as usize, || f(data))
    }
}

#[cfg(feature = "std")]
pub(crate) type Outcome<R> = std::thread::Result<R>;
#[cfg(not(feature = "std"))]
pub(crate) type Outcome<R> = R;

/// The closure on the way in, its outcome on the way back: one slot, so that the bytes this
/// costs on the caller's stack are max(closure, outcome), not their sum.
union Slot<F, R> {
    f: ManuallyDrop<F>,
    out: ManuallyDrop<Outcome<R>>,
}

/// Runs on the other stack: takes the closure out of the slot, runs it with the runtime
/// guard's chain suspended, catches a panic, and leaves the outcome in the slot.
///
/// `GUARD` is false where no annotated function carries the guard (the expansion site of
/// `systemstack!` is built without `debug_assertions` and without the `guard` feature):
/// the chain is then always empty and suspending it would change nothing.
unsafe extern "C" fn trampoline<const GUARD: bool, F: FnOnce() -> R, R>(data: *mut u8) {
    let slot = data as *mut Slot<F, R>;
    // SAFETY: `call_on` put a live closure in the slot and does not touch it until we return.
    let f = unsafe { ManuallyDrop::take(&mut (*slot).f) };
    // Suspending an empty chain changes nothing: skip it, since the token's round trip
    // through memory costs more than the whole switch.
    let chain = (GUARD && crate::guard::depth() != 0).then(crate::guard::suspend);
    #[cfg(feature = "std")]
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    #[cfg(not(feature = "std"))]
    let out = f();
    drop(chain);
    // SAFETY: the closure was moved out above, the slot is ours to overwrite.
    unsafe { (*slot).out = ManuallyDrop::new(out) };
}

/// Calls `f` through [`nosplit_systemstack_switch`] on the stack `[base, top)` (on the
/// current stack when `top` is null) and returns its outcome.
///
/// # Safety
///
/// As for [`nosplit_systemstack_switch`].
#[inline(always)]
pub(crate) unsafe fn call_on<const GUARD: bool, F: FnOnce() -> R, R>(
    f: F,
    top: *mut u8,
    base: *mut u8,
) -> Outcome<R> {
    let mut slot = Slot::<F, R> {
        f: ManuallyDrop::new(f),
    };
    // SAFETY: forwarded to the caller; the slot outlives the call.
    unsafe {
        nosplit_systemstack_switch(
            &mut slot as *mut Slot<F, R> as *mut u8,
            trampoline::<GUARD, F, R>,
            top,
            base,
        );
        ManuallyDrop::take(&mut slot.out)
    }
}

/// Turns an outcome back into a value, resuming a panic caught on the other stack.
#[inline(always)]
pub(crate) fn finish<R>(out: Outcome<R>) -> R {
    #[cfg(feature = "std")]
    match out {
        Ok(r) => r,
        Err(payload) => resume(payload),
    }
    #[cfg(not(feature = "std"))]
    out
}

/// Resumes a panic caught on the system stack, on the caller's stack (out of line: it is the
/// panic path, like `core::panicking`).
#[cfg(feature = "std")]
#[cold]
#[inline(never)]
pub fn resume(payload: Box<dyn core::any::Any + Send>) -> ! {
    std::panic::resume_unwind(payload)
}
