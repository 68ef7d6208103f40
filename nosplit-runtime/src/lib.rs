//! Runtime support of the `nosplit` toolkit: the registry of `#[nosplit]` functions, the
//! runtime guard, and the system stack behind `systemstack!`.
//!
//! Users depend on the facade crate `nosplit`, which re-exports this crate's API.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

pub mod config;
pub mod guard;
pub mod registry;
pub mod systemstack;

pub use registry::{find, registry, Entry};

/// Items used by macro expansions. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::registry::{Entry, NOSPLIT_REGISTRY};
    pub use linkme;
}

/// Expands to the guard of an annotated function; nothing when the guard is off.
///
/// The guard is on when this crate's `guard` feature is on, or when the *annotated
/// function's* crate is compiled with `debug_assertions` (the `cfg` below is evaluated
/// where the macro expands).
#[cfg(not(feature = "guard"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __nosplit_guard {
    ($entry:expr) => {};
}
#[cfg(feature = "guard")]
#[doc(hidden)]
#[macro_export]
macro_rules! __nosplit_guard {
    ($entry:expr) => {};
}
