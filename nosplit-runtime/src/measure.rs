//! Painted-stack measurement: the peak stack use of a closure, callees and red zone included.
//!
//! [`measure`] maps a fresh stack, fills it with a known pattern (paints it), switches to it
//! (with `psm`), runs the closure there and, back on the thread's stack, scans for the
//! deepest word that no longer holds the pattern: the high-water mark embedded developers
//! take on their boards, made safe by running on memory this module owns, below a guard page,
//! rather than below the live stack pointer.
//!
//! The peak is counted from the SP of the call instruction that enters the closure's code:
//! it includes that call's return address ([`CALLSIZE`]), the closure's own frame (where
//! the compiler inlines the closure's body, plus a few bytes that move the closure and its
//! result), everything it calls, and red-zone use below the deepest SP. It is rounded to whole
//! words: a word counts as used when any of its bytes differs from the paint. It can miss a
//! word only if the closure stores exactly [`PAINT`] there.
//!
//! The closure runs with the guard's chain suspended (see [`crate::guard::suspend`]):
//! annotated functions inside it start their own chain, as on the system stack.

use core::mem::MaybeUninit;

pub use crate::guard::CALLSIZE;

/// The paint: a word that code rarely stores.
pub const PAINT: u64 = 0x5EED_C0DE_A5A5_5A5A;

/// The stack size of [`measure`]: 1 MiB.
pub const DEFAULT_STACK_SIZE: usize = 1 << 20;

/// What [`measure`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measured<R> {
    /// The closure's result.
    pub value: R,
    /// Peak stack use in bytes (see the [module docs](self)).
    pub peak: usize,
}

/// Runs `f` on a fresh painted stack of [`DEFAULT_STACK_SIZE`] bytes and returns its result
/// with its peak stack use. A panic in `f` is resumed after switching back.
///
/// Overflowing the measuring stack hits a guard page and kills the process with `SIGSEGV`;
/// use [`measure_with_stack_size`] for closures that need more.
///
/// ```
/// # use nosplit_runtime::measure::measure;
/// let m = measure(|| core::hint::black_box([7u8; 1000]).iter().map(|&b| b as u32).sum::<u32>());
/// assert_eq!(m.value, 7000);
/// assert!(m.peak >= 1000);
/// ```
#[cfg(all(feature = "std", unix))]
pub fn measure<R>(f: impl FnOnce() -> R) -> Measured<R> {
    measure_with_stack_size(DEFAULT_STACK_SIZE, f)
}

/// [`measure`] on a stack of `size` bytes (rounded up to whole pages, at least 16 KiB).
///
/// # Panics
///
/// When the stack cannot be mapped (the message names the size), and when `f` panics.
#[cfg(all(feature = "std", unix))]
pub fn measure_with_stack_size<R>(size: usize, f: impl FnOnce() -> R) -> Measured<R> {
    let mapping = os::Mapping::new(size);
    // SAFETY: the mapping is ours, unused and alive until after `measure_on` returns.
    let result = unsafe { measure_on_raw(mapping.base(), mapping.len(), f) };
    drop(mapping);
    match result {
        Ok(m) => m,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// [`measure`] on a stack the caller provides, e.g. a `static` buffer on a `no_std` target.
/// The slice is trimmed to 16-byte alignment at both ends.
///
/// # Safety
///
/// The closure must not need more stack than `stack` has: nothing detects an overflow of it.
/// Without `std`, a panic in `f` must not unwind (build with `panic = "abort"`).
pub unsafe fn measure_on<R>(stack: &mut [MaybeUninit<u8>], f: impl FnOnce() -> R) -> Measured<R> {
    let (base, len) = (stack.as_mut_ptr() as *mut u8, stack.len());
    #[cfg(feature = "std")]
    match measure_on_raw(base, len, f) {
        Ok(m) => m,
        Err(payload) => std::panic::resume_unwind(payload),
    }
    #[cfg(not(feature = "std"))]
    measure_on_raw(base, len, f)
}

#[cfg(feature = "std")]
type Outcome<R> = Result<Measured<R>, std::boxed::Box<dyn core::any::Any + Send>>;
#[cfg(not(feature = "std"))]
type Outcome<R> = Measured<R>;

/// Paints `[base, base + len)`, runs `f` on it, scans it.
unsafe fn measure_on_raw<R>(base: *mut u8, len: usize, f: impl FnOnce() -> R) -> Outcome<R> {
    let lo = (base as usize).next_multiple_of(16);
    let hi = (base as usize + len) & !15;
    assert!(
        hi > lo + 4096,
        "nosplit::measure: a measuring stack needs more than 4 KiB, got {len} bytes"
    );
    let words = (hi - lo) / 8;
    let paint = lo as *mut u64;
    for i in 0..words {
        paint.add(i).write_volatile(PAINT);
    }

    let mut call = Call::<R, _> {
        f: MaybeUninit::new(f),
        r: MaybeUninit::uninit(),
    };
    let data = &mut call as *mut Call<R, _> as *mut u8;
    let shim = shim_of(&call);
    let mut s0 = 0usize;
    let s0_ptr = &mut s0 as *mut usize;

    let suspended = crate::guard::suspend();
    // The catch sits above the SP reading in `run`, outside the measured region.
    #[cfg(feature = "std")]
    let caught = psm::on_stack(lo as *mut u8, hi - lo, || {
        std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| run(data, shim, s0_ptr)))
    });
    #[cfg(not(feature = "std"))]
    psm::on_stack(lo as *mut u8, hi - lo, || run(data, shim, s0_ptr));
    drop(suspended);

    let mut lowest = hi;
    for i in 0..words {
        if paint.add(i).read_volatile() != PAINT {
            lowest = lo + i * 8;
            break;
        }
    }
    let peak = s0.saturating_sub(lowest);
    #[cfg(feature = "std")]
    {
        caught?;
        Ok(Measured {
            value: call.r.assume_init(),
            peak,
        })
    }
    #[cfg(not(feature = "std"))]
    Measured {
        value: call.r.assume_init(),
        peak,
    }
}

struct Call<R, F> {
    f: MaybeUninit<F>,
    r: MaybeUninit<R>,
}

fn shim_of<R, F: FnOnce() -> R>(_: &Call<R, F>) -> unsafe fn(*mut u8) {
    shim::<R, F>
}

/// Calls the closure in `*data` and stores its result: the code the measured call enters.
unsafe fn shim<R, F: FnOnce() -> R>(data: *mut u8) {
    let call = &mut *(data as *mut Call<R, F>);
    let f = call.f.assume_init_read();
    call.r.write(f());
}

/// Reads the SP and makes the measured call through a pointer, so that the call happens at
/// that SP and the closure's code is not inlined above it.
#[inline(never)]
unsafe fn run(data: *mut u8, shim: unsafe fn(*mut u8), s0: *mut usize) {
    *s0 = crate::guard::here().0;
    core::hint::black_box(shim)(data);
}

/// The address of the code a measured closure `f` is entered at (its shim), for tests that
/// compute the expected peak from the binary's frame tables. Not public API.
#[doc(hidden)]
pub fn __entry_address<R, F: FnOnce() -> R>(_: &F) -> usize {
    shim::<R, F> as *const () as usize
}

#[cfg(all(feature = "std", unix))]
mod os {
    /// An anonymous mapping with a guard page at its low end.
    pub(super) struct Mapping {
        ptr: *mut libc::c_void,
        total: usize,
        page: usize,
    }

    impl Mapping {
        pub(super) fn new(size: usize) -> Self {
            // SAFETY: sysconf has no preconditions.
            let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
                p if p > 0 => p as usize,
                _ => 4096,
            };
            let size = size.max(16 << 10).next_multiple_of(page);
            let total = size + page;
            // SAFETY: a fresh private anonymous mapping; checked below.
            let ptr = unsafe {
                libc::mmap(
                    core::ptr::null_mut(),
                    total,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if ptr == libc::MAP_FAILED {
                panic!(
                    "nosplit::measure: cannot map a {size}-byte measuring stack: {}",
                    std::io::Error::last_os_error()
                );
            }
            // SAFETY: the first page of our mapping becomes the guard page.
            if unsafe { libc::mprotect(ptr, page, libc::PROT_NONE) } != 0 {
                let err = std::io::Error::last_os_error();
                // SAFETY: our mapping, unused.
                unsafe { libc::munmap(ptr, total) };
                panic!("nosplit::measure: cannot protect the measuring stack's guard page: {err}");
            }
            Mapping { ptr, total, page }
        }

        pub(super) fn base(&self) -> *mut u8 {
            // SAFETY: within the mapping.
            unsafe { (self.ptr as *mut u8).add(self.page) }
        }

        pub(super) fn len(&self) -> usize {
            self.total - self.page
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: our mapping, no longer used.
            unsafe { libc::munmap(self.ptr, self.total) };
        }
    }
}
