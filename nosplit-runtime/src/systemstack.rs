//! The per-thread system stack behind `systemstack!` (issue 6). Placeholder until built.
