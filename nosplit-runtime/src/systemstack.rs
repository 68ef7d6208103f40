//! The system stack behind [`systemstack!`](crate::systemstack!): run a slow path on a large
//! stack so that it does not count against a small stack's budget, as Go's runtime does
//! with `systemstack(func() { ... })`.
//!
//! - With the `std` feature every thread gets its own system stack, mapped on first use
//!   ([`DEFAULT_SIZE`] bytes unless [`set_size`] or the `NOSPLIT_SYSTEM_STACK_SIZE`
//!   environment variable says otherwise) below a guard page, reused by every switch of
//!   that thread and unmapped when the thread exits. Overflowing it aborts the process with
//!   a message that names the system stack.
//! - Without `std`, [`SystemStack<N>`] is a system stack in a user-provided `static`.
//!
//! The switch goes through one routine, [`nosplit_systemstack_switch`], a stable symbol that
//! `cargo nosplit` treats as a stack boundary (`grows`). See `docs/SYSTEMSTACK.md`.

mod fixed;
#[cfg(feature = "std")]
mod os;
mod switch;
#[cfg(feature = "std")]
mod thread;

pub use fixed::SystemStack;
pub use switch::nosplit_systemstack_switch;
#[cfg(feature = "std")]
pub use switch::resume;
#[cfg(feature = "std")]
pub use thread::{__run, current_bounds, live_stacks, on_system_stack, run, set_size, size};

/// The name of the stack-switch routine in the binary: `cargo nosplit` counts a call to it
/// as the 16 bytes it uses on the caller's stack and does not follow it (`grows`).
pub const SWITCH_SYMBOL: &str = "nosplit_systemstack_switch";

/// Default size of a thread's system stack: 1 MiB, mapped lazily (pages the slow path never
/// touches cost no memory).
pub const DEFAULT_SIZE: usize = 1 << 20;

/// Smallest accepted size of a thread's system stack: 16 KiB.
pub const MIN_SIZE: usize = 16 << 10;

/// Largest accepted size of a thread's system stack: 1 GiB.
pub const MAX_SIZE: usize = 1 << 30;

/// The environment variable that sets the size of the per-thread system stacks, in bytes
/// or with a `K`, `M` or `G` suffix (powers of 1024): `NOSPLIT_SYSTEM_STACK_SIZE=4M`.
pub const ENV_VAR: &str = "NOSPLIT_SYSTEM_STACK_SIZE";

/// Why [`set_size`] refused a size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SizeError {
    /// Below [`MIN_SIZE`].
    TooSmall {
        /// The size asked for.
        requested: usize,
    },
    /// Above [`MAX_SIZE`].
    TooLarge {
        /// The size asked for.
        requested: usize,
    },
    /// A system stack has already been allocated with the current size.
    AlreadyAllocated {
        /// The size in force.
        current: usize,
    },
}

impl core::fmt::Display for SizeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            SizeError::TooSmall { requested } => write!(
                f,
                "system stack size {requested} is below the minimum of {MIN_SIZE} bytes"
            ),
            SizeError::TooLarge { requested } => write!(
                f,
                "system stack size {requested} is above the maximum of {MAX_SIZE} bytes"
            ),
            SizeError::AlreadyAllocated { current } => write!(
                f,
                "a system stack of {current} bytes is already in use; call \
                 nosplit::systemstack::set_size at the start of main, before any systemstack!"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SizeError {}

/// Runs a closure on the system stack and returns its value.
///
/// `systemstack!(|| expr)` (or `move || expr`) runs the closure on the current thread's
/// system stack (`std` builds); `systemstack!(STACK, || expr)` runs it on a
/// [`SystemStack<N>`] static. Code already running on that system stack calls the closure
/// directly, without switching.
///
/// The macro generates a `#[cold] #[inline(never)]` function that receives the closure and
/// performs the switch, so that the caller's frame grows by that call alone: by the closure
/// object (for `||`, one pointer per captured variable, passed in registers up to two; for
/// `move ||`, the captured values) and the return value, never by the closure's body, its
/// locals or the switch machinery. The slow path's own frames are on the system stack.
///
/// A panic in the closure is caught on the system stack and resumed on the caller's, with
/// its payload (`std` builds). The runtime guard's chain is suspended while the closure
/// runs and restored afterwards, also when it panics.
///
/// ```
/// let v = vec![1u64, 2, 3];
/// let total = nosplit_runtime::systemstack!(|| v.iter().sum::<u64>());
/// assert_eq!(total, 6);
/// ```
#[macro_export]
macro_rules! systemstack {
    ($stack:expr, $f:expr $(,)?) => {{
        #[cold]
        #[inline(never)]
        fn __nosplit_systemstack<const __N: usize, __R, __F: ::core::ops::FnOnce() -> __R>(
            stack: &'static $crate::systemstack::SystemStack<__N>,
            f: __F,
        ) -> __R {
            stack.__run::<{ ::core::cfg!(debug_assertions) || $crate::guard::FORCED }, __R, __F>(f)
        }
        __nosplit_systemstack(&$stack, $f)
    }};
    ($f:expr $(,)?) => {{
        #[cold]
        #[inline(never)]
        fn __nosplit_systemstack<__R, __F: ::core::ops::FnOnce() -> __R>(f: __F) -> __R {
            $crate::systemstack::__run::<
                { ::core::cfg!(debug_assertions) || $crate::guard::FORCED },
                __R,
                __F,
            >(f)
        }
        __nosplit_systemstack($f)
    }};
}
