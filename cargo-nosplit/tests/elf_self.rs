//! The checker's own release binary against LLVM's `.stack_sizes` (every function of the
//! workspace's crates and their dependencies; the prebuilt standard library has no entries).
//! Slow (a nightly release build of the checker): `cargo test -p cargo-nosplit --test elf_self
//! -- --ignored --nocapture` prints the agreement figures quoted in the docs.

mod elf_common;

use std::process::Command;

use cargo_nosplit::elf::{self, eh_frame, Options};

#[test]
#[ignore = "builds the checker with nightly in release (minutes)"]
fn own_binary_agrees_with_stack_sizes() {
    let root = elf_common::workspace();
    let target = root.join("target/nosplit-fixtures/nightly-self");
    let probe = Command::new("cargo")
        .args(["+nightly", "--version"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: nightly not found");
        return;
    }
    let st = Command::new("cargo")
        .args([
            "+nightly",
            "build",
            "--release",
            "-p",
            "cargo-nosplit",
            "--bin",
            "cargo-nosplit",
        ])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env("RUSTFLAGS", "-Z emit-stack-sizes")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTUP_TOOLCHAIN")
        .status()
        .unwrap();
    assert!(st.success());
    let bin = target.join("release/cargo-nosplit");
    let sizes = elf_common::stack_sizes(&bin);
    let g = elf::load(&bin, &Options::default()).unwrap();
    let data = std::fs::read(&bin).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let cfa: std::collections::HashMap<u64, u64> =
        eh_frame::max_cfa_offsets(&file).into_iter().collect();
    let (mut equal, mut pushes, mut red_zone, mut below) = (0, 0, 0, 0);
    for f in &g.graph.functions {
        let Some(a) = f.address else { continue };
        let Some(&ss) = sizes.get(&a) else { continue };
        if f.frame == ss {
            equal += 1;
            continue;
        }
        if f.frame < ss {
            below += 1;
            eprintln!("BELOW: {} frame {} stack_sizes {ss}", f.name, f.frame);
            continue;
        }
        // Deeper SP than the fixed frame (stack arguments pushed before a call) shows in the
        // unwind table; the rest is memory touched below SP.
        let sp_max = cfa.get(&a).map_or(ss, |c| c.saturating_sub(8));
        if sp_max > ss {
            pushes += 1;
        } else {
            red_zone += 1;
        }
        eprintln!(
            "larger: {} frame {} stack_sizes {ss} (.eh_frame SP depth {sp_max})",
            f.name, f.frame
        );
    }
    let total = equal + pushes + red_zone + below;
    eprintln!(
        "{total} functions with .stack_sizes: {equal} equal, {pushes} larger by pushed stack \
         arguments, {red_zone} larger by memory touched below SP (red zone, indexed \
         accesses), {below} below"
    );
    assert_eq!(below, 0, "the checker must never report less than LLVM");
    assert!(equal * 10 >= total * 9);
}
