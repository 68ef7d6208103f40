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

/// Entries of an LLVM `.stack_sizes` section (nightly `-Z emit-stack-sizes`): pairs of
/// function address (u64) and frame size (ULEB128: pushes and SP adjustment, no return
/// address). Read from the raw bytes, independently of the checker; a truncated tail is
/// ignored.
pub fn parse_stack_sizes(bytes: &[u8]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let addr = u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
        i += 8;
        let (mut size, mut shift) = (0u64, 0);
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            size |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        out.push((addr, size));
    }
    out
}
