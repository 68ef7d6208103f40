//! The caller's frame does not grow with the slow path inside `systemstack!`.
//!
//! Builds `tests/systemstack_fixture` in release (once, into
//! `target/nosplit-fixtures/systemstack`) and reads frame sizes from the binary with oracles
//! independent of nosplit: the `.eh_frame` CFA offsets printed by binutils' `readelf`, and,
//! when a nightly toolchain is installed, LLVM's `.stack_sizes` (`-Z emit-stack-sizes`).
//! Each pair of functions differs only in the size of the slow path (a few bytes against a
//! 64 KiB local array); a control function runs the same 64 KiB slow path without
//! `systemstack!`, to show that the oracle does see it.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const PAIRS: [&str; 3] = ["ref", "move", "four"];

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the fixture with `cargo [+toolchain]` into `target/nosplit-fixtures/<dir>`;
/// `None` (with the reason printed) when that toolchain cannot build it.
fn build_fixture(toolchain: Option<&str>, dir: &str, rustflags: &str) -> Option<PathBuf> {
    let ws = workspace();
    let target = ws.join("target/nosplit-fixtures").join(dir);
    let mut cmd = support::fixture_cargo(toolchain, &target);
    cmd.args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(ws.join("tests/systemstack_fixture/Cargo.toml"));
    if !rustflags.is_empty() {
        cmd.env("RUSTFLAGS", rustflags);
    }
    match cmd.output() {
        Ok(out) if out.status.success() => Some(target.join("release/systemstack_fixture")),
        Ok(out) => {
            let why = String::from_utf8_lossy(&out.stderr);
            assert!(
                toolchain.is_some(),
                "building the fixture with stable failed:\n{why}"
            );
            assert!(
                std::env::var_os("NOSPLIT_REQUIRE_NIGHTLY").is_none(),
                "NOSPLIT_REQUIRE_NIGHTLY is set but the fixture does not build with {toolchain:?}:\n{why}"
            );
            println!("skipped: the fixture does not build with {toolchain:?}:\n{why}");
            None
        }
        Err(e) => {
            println!("skipped: cannot run cargo {toolchain:?}: {e}");
            None
        }
    }
}

/// Symbol name (demangled, without the hash) → address, from binutils' `nm`.
fn symbols(bin: &Path) -> BTreeMap<String, u64> {
    let out = Command::new("nm")
        .args(["-C", "--defined-only"])
        .arg(bin)
        .output()
        .expect("nm (binutils) is needed for this test");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ' ');
            let addr = u64::from_str_radix(it.next()?, 16).ok()?;
            let _kind = it.next()?;
            Some((it.next()?.to_string(), addr))
        })
        .collect()
}

/// The function's address, by exact name or, for the functions the macro generates, by
/// the path `systemstack_fixture::<caller>::__nosplit_systemstack`.
fn addr(syms: &BTreeMap<String, u64>, name: &str) -> u64 {
    if let Some(a) = syms.get(name) {
        return *a;
    }
    let path = format!("systemstack_fixture::{name}");
    let hits: Vec<u64> = syms
        .iter()
        // Legacy mangling demangles to the path; v0 adds the generic arguments.
        .filter(|(k, _)| *k == &path || k.starts_with(&format!("{path}::<")))
        .map(|(_, a)| *a)
        .collect();
    assert_eq!(hits.len(), 1, "symbol {path}: {hits:?}");
    hits[0]
}

/// Function start → largest CFA offset in its FDE (frame + return address), from
/// `readelf --debug-dump=frames-interp`.
fn eh_frame_cfa(bin: &Path) -> BTreeMap<u64, u64> {
    let out = Command::new("readelf")
        .args(["--wide", "--debug-dump=frames-interp"])
        .arg(bin)
        .output()
        .expect("readelf (binutils) is needed for this test");
    assert!(out.status.success());
    let mut map = BTreeMap::new();
    let mut current: Option<u64> = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(pc) = line.split(" pc=").nth(1) {
            current = pc
                .split("..")
                .next()
                .and_then(|s| u64::from_str_radix(s, 16).ok());
            if let Some(pc) = current {
                map.insert(pc, 0);
            }
            continue;
        }
        let Some(pc) = current else { continue };
        // A row: LOC CFA reg... ; the CFA column reads like `rsp+80` or `r11+65576`.
        let mut cols = line.split_whitespace();
        let (Some(loc), Some(cfa)) = (cols.next(), cols.next()) else {
            continue;
        };
        if u64::from_str_radix(loc, 16).is_err() {
            continue;
        }
        if let Some(off) = cfa.split('+').nth(1).and_then(|n| n.parse::<u64>().ok()) {
            let e = map.get_mut(&pc).unwrap();
            *e = (*e).max(off);
        }
    }
    map
}

/// Function address → LLVM's stack size (pushes + `sub rsp`), from `.stack_sizes`.
fn stack_sizes(bin: &Path) -> Option<BTreeMap<u64, u64>> {
    let dump = bin.with_extension("stack_sizes");
    let ok = Command::new("objcopy")
        .arg(format!("--dump-section=.stack_sizes={}", dump.display()))
        .arg(bin)
        .arg(bin.with_extension("objcopy-out"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        println!("skipped: no .stack_sizes section in {}", bin.display());
        return None;
    }
    let bytes = std::fs::read(&dump).ok()?;
    Some(support::parse_stack_sizes(&bytes).into_iter().collect())
}

/// Checks the pairs with one oracle; `ret` is what the oracle counts beyond the frame
/// itself (8 for the return address in the CFA, 0 for `.stack_sizes`).
fn check(oracle: &str, bin: &Path, sizes: &BTreeMap<u64, u64>, ret: u64) {
    let syms = symbols(bin);
    let size = |name: &str| -> u64 {
        let a = addr(&syms, name);
        *sizes
            .get(&a)
            .unwrap_or_else(|| panic!("{oracle}: no entry for {name} at {a:#x}"))
    };
    let control = size("ref_huge_inline");
    println!("{oracle}: ref_huge_inline (64 KiB slow path, no systemstack!) = {control}");
    assert!(
        control >= 65536,
        "{oracle} does not see the control's 64 KiB frame ({control}): it cannot judge"
    );
    let switch = size("nosplit_systemstack_switch");
    println!("{oracle}: nosplit_systemstack_switch = {switch}");
    assert_eq!(
        switch,
        8 + ret,
        "the switch uses 16 bytes of the caller's stack"
    );
    for pair in PAIRS {
        let (small, huge) = (format!("{pair}_small"), format!("{pair}_huge"));
        let (cs, ch) = (size(&small), size(&huge));
        let (gs, gh) = (
            size(&format!("{small}::__nosplit_systemstack")),
            size(&format!("{huge}::__nosplit_systemstack")),
        );
        println!(
            "{oracle}: {pair}: caller {cs} vs {ch}; generated fn {gs} vs {gh}; \
             worst from the caller's entry SP to the switch (SPEC §2): {} vs {}",
            cs + gs + switch + 16 - 3 * ret,
            ch + gh + switch + 16 - 3 * ret
        );
        assert_eq!(cs, ch, "{oracle}: {small} and {huge} frames differ");
        assert_eq!(
            gs, gh,
            "{oracle}: generated functions of {small}/{huge} differ"
        );
        // Small in absolute terms too: the closure object and alignment, not the slow path.
        assert!(ch <= 96 + ret, "{oracle}: {huge} frame {ch}");
        assert!(
            gh <= 64 + ret,
            "{oracle}: generated fn of {huge} frame {gh}"
        );
    }
}

#[test]
fn caller_frame_does_not_grow_with_the_slow_path_eh_frame() {
    let bin = build_fixture(None, "systemstack", "").unwrap();
    check(".eh_frame", &bin, &eh_frame_cfa(&bin), 8);
}

#[test]
fn caller_frame_does_not_grow_with_the_slow_path_stack_sizes() {
    let nightly = Command::new("cargo")
        .args(["+nightly", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !nightly {
        assert!(
            std::env::var_os("NOSPLIT_REQUIRE_NIGHTLY").is_none(),
            "NOSPLIT_REQUIRE_NIGHTLY is set (CI found nightly) but it cannot be used here"
        );
        println!("skipped: nightly not found (needed for -Z emit-stack-sizes)");
        return;
    }
    let Some(bin) = build_fixture(
        Some("nightly"),
        "systemstack-nightly",
        "-Z emit-stack-sizes",
    ) else {
        return;
    };
    let Some(sizes) = stack_sizes(&bin) else {
        return;
    };
    // The switch is assembly: LLVM emits no .stack_sizes entry for it; give it the value
    // the .eh_frame oracle reads (16 with the return address), so `check` can run.
    let mut sizes = sizes;
    let syms = symbols(&bin);
    let cfa = eh_frame_cfa(&bin);
    let sw = addr(&syms, "nosplit_systemstack_switch");
    sizes.entry(sw).or_insert(cfa[&sw] - 8);
    check(".stack_sizes", &bin, &sizes, 0);
}
