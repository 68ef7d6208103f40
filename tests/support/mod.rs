//! Shared by the root package's integration tests: building fixture crates.
//!
//! Fixtures are crates of their own (each with a `[workspace]` table) built into
//! `<workspace>/target/nosplit-fixtures/...` so that every test reuses one set of builds.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (this package's directory).
pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `<workspace>/target/nosplit-fixtures/<dir>` (`dir` may be empty).
pub fn fixtures_target(dir: &str) -> PathBuf {
    workspace().join("target/nosplit-fixtures").join(dir)
}

/// A `cargo` command for a fixture: `toolchain` (`None`: the one running the tests) building
/// into `target`, with none of the outer build's settings (its target dir, flags, compiler,
/// toolchain override) leaking in. `RUSTFLAGS` is cleared; set it again for an oracle build.
pub fn fixture_cargo(toolchain: Option<&str>, target: &Path) -> Command {
    let mut cmd = match toolchain {
        None => Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())),
        Some(t) => {
            let mut c = Command::new("cargo");
            c.arg(format!("+{t}"));
            c
        }
    };
    for var in [
        "CARGO_TARGET_DIR",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC",
        "RUSTDOC",
        "RUSTC_WRAPPER",
        "RUSTUP_TOOLCHAIN",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("CARGO_TARGET_DIR", target);
    cmd
}
