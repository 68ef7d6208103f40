//! # nosplit
//!
//! Go's `//go:nosplit` stack discipline for Rust. Annotate the functions that must fit a
//! small, fixed stack with `#[nosplit(budget = N)]`; `cargo nosplit` proves on the final
//! binary that every chain of calls from them fits, and the runtime guard checks the same
//! budgets while debug and test builds run. See the README.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

pub use nosplit_macros::nosplit;
/// Defaults shared with the checker: the default budget and the unoptimised-build multiplier.
pub use nosplit_runtime::config;
/// The runtime guard (handler, multiplier, chain inspection) and painted-stack measurement.
/// See `docs/GUARD.md`.
pub use nosplit_runtime::guard::{
    set_default_budget, set_unoptimized_multiplier, set_violation_handler, ActiveCall, Violation,
    ViolationKind,
};
#[cfg(all(feature = "std", unix))]
pub use nosplit_runtime::measure::{measure, measure_with_stack_size};
pub use nosplit_runtime::measure::{measure_on, Measured};
pub use nosplit_runtime::registry::{find, registry, Entry};
/// `systemstack!` (the macro) and `systemstack` (its module: size, `SystemStack<N>`, the
/// switch symbol): run slow paths on a large stack. See `docs/SYSTEMSTACK.md`.
pub use nosplit_runtime::systemstack;
pub use nosplit_runtime::{guard, measure};

/// Items used by macro expansions. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use nosplit_runtime::__nosplit_guard as guard;
    pub use nosplit_runtime::__private::*;
}
