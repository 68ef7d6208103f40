//! The guard's figures against the static view of the same binary: the fixture
//! `tests/fixtures/guardframes` (release, guard feature on) is built with nightly's
//! `-Z emit-stack-sizes`, run, and its report compared with LLVM's `.stack_sizes` of its
//! own functions — every "uses" figure equals that function's frame — and the runtime depth
//! must not exceed the static worst of the root. When `cargo nosplit --binary` is
//! available, its trace for the root is compared too.
//!
//! Skipped, with a message, when no nightly toolchain is installed.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSection, ObjectSymbol};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn nightly_available() -> bool {
    Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Builds the fixture with nightly and `-Z emit-stack-sizes`; returns the binary.
fn build_fixture() -> PathBuf {
    let target = root().join("target/nosplit-fixtures/nightly");
    let out = support::fixture_cargo(Some("nightly"), &target)
        .args(["build", "--release", "--manifest-path"])
        .arg(root().join("tests/fixtures/guardframes/Cargo.toml"))
        .env_remove("CARGO")
        .env("RUSTFLAGS", "-Z emit-stack-sizes")
        .output()
        .expect("run nightly cargo");
    assert!(
        out.status.success(),
        "building the guardframes fixture failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target.join("release/guardframes")
}

/// `.stack_sizes`: symbol name → LLVM's frame size (pushes + SP adjustment).
fn stack_sizes(data: &[u8]) -> HashMap<String, u64> {
    let file = object::File::parse(data).expect("parse fixture");
    let names: HashMap<u64, String> = file
        .symbols()
        .filter(|s| s.kind() == object::SymbolKind::Text)
        .filter_map(|s| Some((s.address(), s.name().ok()?.to_string())))
        .collect();
    let section = file
        .section_by_name(".stack_sizes")
        .expect("no .stack_sizes: was the fixture built with -Z emit-stack-sizes?");
    support::parse_stack_sizes(section.data().unwrap())
        .into_iter()
        .filter_map(|(addr, size)| Some((names.get(&addr)?.clone(), size)))
        .collect()
}

/// The running figures and texts of a SPEC §5 trace.
fn trace_lines(report: &str) -> Vec<(i64, String)> {
    report
        .lines()
        .filter_map(|l| {
            let mut it = l.trim_start_matches('\t').splitn(2, '\t');
            Some((it.next()?.trim().parse().ok()?, it.next()?.to_string()))
        })
        .collect()
}

#[test]
fn runtime_figures_match_the_static_frames() {
    if !nightly_available() {
        assert!(
            std::env::var_os("NOSPLIT_REQUIRE_NIGHTLY").is_none(),
            "NOSPLIT_REQUIRE_NIGHTLY is set (CI found nightly) but it cannot be used here"
        );
        eprintln!("skipped: nightly not found (needed for -Z emit-stack-sizes)");
        return;
    }
    let exe = build_fixture();
    let ss = stack_sizes(&std::fs::read(&exe).unwrap());
    let frame = |f: &str| {
        *ss.get(f)
            .unwrap_or_else(|| panic!("{f} not in .stack_sizes"))
    };
    let (a, b, c, leaf) = (
        frame("gf_a"),
        frame("gf_b"),
        frame("gf_c"),
        frame("gf_leaf"),
    );

    let out = Command::new(&exe).output().expect("run fixture");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    let report = stdout
        .split("REPORT-BEGIN\n")
        .nth(1)
        .and_then(|r| r.split("\nREPORT-END").next())
        .unwrap_or_else(|| panic!("no report:\n{stdout}"));
    let depth: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("DEPTH guardframes::gf_a "))
        .unwrap_or_else(|| panic!("no depth:\n{stdout}"))
        .parse()
        .unwrap();

    let budget = 1200i64;
    let (ai, bi, ci) = (a as i64, b as i64, c as i64);
    let expected = vec![
        (
            budget,
            "assumed on entry to guardframes::gf_a (src/main.rs:10)".to_string(),
        ),
        (budget - ai, format!("after guardframes::gf_a uses {a}")),
        (budget - ai - 8, "on entry to guardframes::gf_b".to_string()),
        (
            budget - ai - 8 - bi,
            format!("after guardframes::gf_b uses {b}"),
        ),
        (
            budget - ai - 16 - bi,
            "on entry to guardframes::gf_c".to_string(),
        ),
        (
            budget - ai - 16 - bi - ci,
            format!("after guardframes::gf_c uses {c}"),
        ),
    ];
    assert_eq!(
        trace_lines(report),
        expected,
        "report:\n{report}\n.stack_sizes: a {a} b {b} c {c}"
    );

    // The runtime's deepest figure against the static worst of the root: the chain down to
    // gf_leaf's frame (its red zone, if any, only adds to the static side).
    let static_worst = a + 8 + b + 8 + c + 8 + leaf;
    assert_eq!(depth, a + 8 + b + 8 + c);
    assert!(depth <= static_worst, "{depth} > {static_worst}");
    eprintln!(
        "runtime depth {depth} at gf_c's guard; static worst of gf_a ≥ {static_worst} \
         (.stack_sizes a {a} b {b} c {c} leaf {leaf})"
    );

    compare_with_checker(&exe, &expected, depth);
}

/// `cargo nosplit --binary` on the same fixture: its frames of the chain's functions are the
/// guard's "uses" figures, and where it bounds the root, the runtime depth is within it.
fn compare_with_checker(exe: &Path, runtime: &[(i64, String)], depth: u64) {
    let main_rs = std::fs::read_to_string(root().join("cargo-nosplit/src/main.rs")).unwrap();
    if main_rs.contains("binary input is not supported yet") {
        eprintln!("checker comparison skipped: `cargo nosplit --binary` is not available yet");
        return;
    }
    let target = root().join("target/nosplit-fixtures");
    let built = Command::new(cargo())
        .args(["build", "-q", "-p", "cargo-nosplit", "--manifest-path"])
        .arg(root().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .expect("build cargo-nosplit");
    assert!(built.success(), "building cargo-nosplit failed");
    let out = Command::new(target.join("debug/cargo-nosplit"))
        .arg("--binary")
        .arg(exe)
        .args(["--format", "json", "--all"])
        .output()
        .expect("run cargo-nosplit");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "checker output is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let frame = |name: &str| {
        json["functions"]
            .as_array()
            .expect("functions (--all)")
            .iter()
            .find(|f| f["name"] == name)
            .and_then(|f| f["frame"].as_i64())
            .unwrap_or_else(|| panic!("{name} not among the checker's functions"))
    };
    let uses: Vec<i64> = runtime
        .iter()
        .filter_map(|(_, t)| t.rsplit_once(" uses ").map(|(_, n)| n.parse().unwrap()))
        .collect();
    let checker = vec![frame("gf_a"), frame("gf_b"), frame("gf_c")];
    assert_eq!(
        uses, checker,
        "the guard's figures against cargo nosplit's frames"
    );
    let root = json["roots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "guardframes::gf_a")
        .expect("gf_a among the checker's roots");
    match root["worst"].as_u64() {
        Some(worst) => {
            assert!(depth <= worst, "runtime {depth} > checker's worst {worst}");
            eprintln!("cargo nosplit: worst of gf_a {worst}; runtime depth {depth}");
        }
        None => eprintln!(
            "cargo nosplit: gf_a unbounded in this guard-on build ({}); frames agree",
            root["reason"]
        ),
    }
}
