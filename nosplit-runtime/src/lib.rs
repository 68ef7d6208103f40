//! Runtime support of the `nosplit` toolkit: the registry of `#[nosplit]` functions, the
//! runtime guard, and the system stack behind `systemstack!`.
//!
//! Users depend on the facade crate `nosplit`, which re-exports this crate's API.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

pub mod config;
pub mod guard;
pub mod measure;
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
///
/// `cfg!(debug_assertions)`, also evaluated there, tells the guard whether to apply the
/// unoptimised-build multiplier (see `docs/GUARD.md`).
#[cfg(not(feature = "guard"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __nosplit_guard {
    ($entry:expr) => {
        #[cfg(debug_assertions)]
        static __NOSPLIT_SITE: $crate::guard::Site = $crate::guard::Site::new($entry);
        #[cfg(debug_assertions)]
        let __nosplit_token = $crate::guard::Token::new();
        #[cfg(debug_assertions)]
        let () = __nosplit_token.enter(
            &__NOSPLIT_SITE,
            const { $crate::guard::Site::budget_of($entry) },
            true,
        );
    };
}
#[cfg(feature = "guard")]
#[doc(hidden)]
#[macro_export]
macro_rules! __nosplit_guard {
    ($entry:expr) => {
        static __NOSPLIT_SITE: $crate::guard::Site = $crate::guard::Site::new($entry);
        let __nosplit_token = $crate::guard::Token::new();
        let () = __nosplit_token.enter(
            &__NOSPLIT_SITE,
            const { $crate::guard::Site::budget_of($entry) },
            ::core::cfg!(debug_assertions),
        );
    };
}
