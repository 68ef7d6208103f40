//! Defaults shared by the runtime guard and the checker (which reads the same keys from
//! `[package.metadata.nosplit]`; see `docs/CONFIG.md`).

/// Budget of `#[nosplit]` without a number, in bytes (`default-budget`).
pub const DEFAULT_BUDGET_BYTES: u32 = 2048;

/// Factor applied to budgets in builds without optimisation (`unoptimized-multiplier`):
/// opt-level 0 keeps every local in its own stack slot, so frames are several times larger.
pub const UNOPTIMIZED_MULTIPLIER: u32 = 4;
