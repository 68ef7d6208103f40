//! The runtime guard (issue 5). Placeholder interface until it is built.

/// Token returned by [`suspend`]; restores the suspended chain when dropped.
pub struct Suspended(());

/// Suspends the current thread's chain of active annotated calls (used by `systemstack!`
/// while a closure runs on the system stack); the chain is restored when the token drops.
pub fn suspend() -> Suspended {
    Suspended(())
}
