//! Shared by the `elf_*` tests: building fixture crates once into
//! `<workspace>/target/nosplit-fixtures`, and LLVM's `.stack_sizes` as an oracle.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use object::{Object, ObjectSection};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

static BUILD: Mutex<()> = Mutex::new(());

fn clean(cmd: &mut Command) -> &mut Command {
    for v in [
        "CARGO_TARGET_DIR",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC",
        "RUSTC_WRAPPER",
        "RUSTDOC",
        "RUSTUP_TOOLCHAIN",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(v);
    }
    cmd
}

/// Builds the fixture crate `tests/fixtures/NAME` in release with stable (the toolchain running
/// the tests) and returns its binary.
pub fn build_fixture(name: &str) -> PathBuf {
    let _lock = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let root = workspace();
    let target = root.join("target/nosplit-fixtures");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = clean(&mut Command::new(cargo))
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(root.join(format!("tests/fixtures/{name}/Cargo.toml")))
        .arg("--target-dir")
        .arg(&target)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "building fixture {name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target.join("release").join(name)
}

/// Builds the fixture statically linked and position-dependent (`-C relocation-model=static
/// -C target-feature=+crt-static`, with an explicit `--target` so that proc macros stay
/// dynamic) into `target/nosplit-fixtures/<triple>`, sharing the host crates (proc macros)
/// with [`build_fixture`].
pub fn build_fixture_static(name: &str) -> PathBuf {
    let _lock = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let root = workspace();
    let target = root.join("target/nosplit-fixtures");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let triple = "x86_64-unknown-linux-gnu";
    let out = clean(&mut Command::new(cargo))
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            triple,
            "--manifest-path",
        ])
        .arg(root.join(format!("tests/fixtures/{name}/Cargo.toml")))
        .arg("--target-dir")
        .arg(&target)
        .env(
            "RUSTFLAGS",
            "-C relocation-model=static -C target-feature=+crt-static",
        )
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "building fixture {name} (static) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target.join(triple).join("release").join(name)
}

/// Builds the fixture with nightly and `-Z emit-stack-sizes` into
/// `target/nosplit-fixtures/nightly`; `None` (after saying so) when nightly is not installed.
pub fn build_fixture_nightly(name: &str) -> Option<PathBuf> {
    let _lock = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let probe = clean(&mut Command::new("cargo"))
        .args(["+nightly", "--version"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("NOSPLIT_REQUIRE_NIGHTLY").is_none(),
            "NOSPLIT_REQUIRE_NIGHTLY is set (CI found nightly) but it cannot be used here"
        );
        eprintln!("skipped: nightly not found (the .stack_sizes oracle needs `cargo +nightly`)");
        return None;
    }
    let root = workspace();
    let target = root.join("target/nosplit-fixtures/nightly");
    let out = clean(&mut Command::new("cargo"))
        .args([
            "+nightly",
            "build",
            "--release",
            "--quiet",
            "--manifest-path",
        ])
        .arg(root.join(format!("tests/fixtures/{name}/Cargo.toml")))
        .arg("--target-dir")
        .arg(&target)
        .env("RUSTFLAGS", "-Z emit-stack-sizes")
        .output()
        .expect("run cargo +nightly");
    assert!(
        out.status.success(),
        "building fixture {name} with nightly failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(target.join("release").join(name))
}

/// LLVM's `.stack_sizes`: function address → bytes of its fixed frame (pushes and `sub rsp`,
/// no return address). Read here from the raw section, independently of the checker.
pub fn stack_sizes(binary: &Path) -> HashMap<u64, u64> {
    let data = std::fs::read(binary).expect("read binary");
    let file = object::File::parse(&*data).expect("ELF");
    let mut out = HashMap::new();
    let Some(sec) = file.section_by_name(".stack_sizes") else {
        return out;
    };
    let d = sec.data().expect("section data");
    let mut i = 0;
    while i + 8 <= d.len() {
        let addr = u64::from_le_bytes(d[i..i + 8].try_into().unwrap());
        i += 8;
        let (mut size, mut shift) = (0u64, 0);
        loop {
            let b = d[i];
            i += 1;
            size |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        out.insert(addr, size);
    }
    out
}
