//! The checker against independent oracles on a real binary (`tests/fixtures/stackfix`, built
//! in release): the stack peak measured at run time by painting a fresh stack under each root,
//! and LLVM's `.stack_sizes` for every function's frame.

mod elf_common;

use std::collections::HashMap;
use std::process::Command;

use cargo_nosplit::analysis::{analyze, Status};
use cargo_nosplit::config::Assumptions;
use cargo_nosplit::elf::{self, Options, PanicMode};

/// `(peak, label)` by the root's code address, as the fixture measured them.
fn painted(binary: &std::path::Path) -> HashMap<u64, (u64, String)> {
    let out = Command::new(binary).output().expect("run fixture");
    assert!(out.status.success(), "fixture failed: {out:?}");
    let mut m = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let addr = u64::from_str_radix(f[0].trim_start_matches("0x"), 16).unwrap();
        m.insert(addr, (f[1].parse().unwrap(), f[2].to_string()));
    }
    m
}

#[test]
fn worst_equals_painted_peak() {
    check_painted(&elf_common::build_fixture("stackfix"));
}

/// The same fixture linked statically and position-dependent (`ET_EXEC`, no dynamic
/// relocations: GOT slots hold link-time values, libc is in the file).
#[test]
fn worst_equals_painted_peak_static_non_pie() {
    check_painted(&elf_common::build_fixture_static("stackfix"));
}

fn check_painted(bin: &std::path::Path) {
    let peaks = painted(bin);
    assert_eq!(peaks.len(), 12, "{peaks:?}");
    let opts = Options {
        panic: PanicMode::Stop,
        ..Options::default()
    };
    let g = elf::load(bin, &opts).expect("load fixture");
    let a = analyze(&g.graph, &Assumptions::default());
    let mut seen = 0;
    for v in &a.roots {
        let root = &g.graph.roots[v.root];
        let f = root.function.expect("every fixture root has code");
        let addr = g.graph.function(f).address.unwrap();
        let (peak, label) = &peaks[&addr];
        seen += 1;
        match label.as_str() {
            "dynamic" | "recursive" => {
                assert_eq!(v.status, Status::Unbounded, "{label}: {v:?}");
            }
            "switching" => {
                // The closure's 16 000-byte frame is on the system stack: not counted. The
                // worst path before the switch (the fallback when the system stack cannot be
                // mapped) is not the one that runs: at least the painted peak.
                let worst = v.worst.expect("a switch bounds the root");
                eprintln!("{label:10} worst {worst:6} painted {peak:6}");
                assert!(worst >= *peak && worst < 1000, "{label}: {worst} vs {peak}");
            }
            _ => {
                let worst = v
                    .worst
                    .unwrap_or_else(|| panic!("{label} unbounded: {v:?}"));
                eprintln!("{label:10} worst {worst:6} painted {peak:6}");
                assert_eq!(
                    worst, *peak,
                    "{label} ({}): checker vs painted stack",
                    root.name
                );
                let expect = if label == "tight" {
                    Status::Over
                } else {
                    Status::Ok
                };
                assert_eq!(v.status, expect, "{label}");
            }
        }
    }
    assert_eq!(seen, 12, "every measured root is a registered root");
}

#[test]
fn cli_reports_the_same_figures() {
    let bin = elf_common::build_fixture("stackfix");
    let peaks = painted(&bin);
    let manifest = elf_common::workspace().join("tests/fixtures/stackfix/Cargo.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-nosplit"))
        .arg("--binary")
        .arg(&bin)
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "over and unbounded roots reject: {out:?}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let by_label: HashMap<&str, u64> = peaks.values().map(|(p, l)| (l.as_str(), *p)).collect();
    let roots = v["roots"].as_array().unwrap();
    let worst = |name: &str| -> Vec<Option<u64>> {
        roots
            .iter()
            .filter(|r| r["name"].as_str().unwrap().starts_with(name))
            .map(|r| r["worst"].as_u64())
            .collect()
    };
    assert_eq!(worst("stackfix::chain"), [Some(by_label["chain"])]);
    assert_eq!(worst("stackfix::tail"), [Some(by_label["tail"])]);
    assert_eq!(worst("stackfix::big"), [Some(by_label["big"])]);
    assert_eq!(worst("stackfix::cross"), [Some(by_label["cross"])]);
    assert_eq!(worst("stackfix::Acc::step"), [Some(by_label["step"])]);
    assert_eq!(
        worst("<stackfix::Acc as Shape>::area"),
        [Some(by_label["area"])]
    );
    let mut gens = worst("stackfix::gen");
    gens.sort();
    let mut want = vec![Some(by_label["gen_u32"]), Some(by_label["gen_u64"])];
    want.sort();
    assert_eq!(gens, want, "one root per monomorphization");
    assert_eq!(worst("stackfix::dynamic"), [None]);
    assert_eq!(worst("stackfix::recursive"), [None]);
}

#[test]
fn frames_agree_with_stack_sizes() {
    let Some(bin) = elf_common::build_fixture_nightly("stackfix") else {
        return;
    };
    let sizes = elf_common::stack_sizes(&bin);
    assert!(
        sizes.len() > 20,
        "too few .stack_sizes entries: {}",
        sizes.len()
    );
    let g = elf::load(&bin, &Options::default()).expect("load");
    let (mut equal, mut larger, mut compared) = (0, 0, 0);
    for f in &g.graph.functions {
        let Some(&ss) = f.address.and_then(|a| sizes.get(&a)) else {
            continue;
        };
        compared += 1;
        assert!(
            f.frame >= ss,
            "{}: frame {} below LLVM's stack size {ss}: the checker under-reports",
            f.name,
            f.frame
        );
        if f.frame == ss {
            equal += 1;
        } else {
            larger += 1;
            // Larger only by the red zone (≤ 128) or pushes of stack arguments before a call.
            assert!(
                f.frame - ss <= 128 + 64,
                "{}: frame {} vs {ss}",
                f.name,
                f.frame
            );
            eprintln!("larger: {} frame {} stack_sizes {ss}", f.name, f.frame);
        }
    }
    eprintln!("{compared} functions compared: {equal} equal, {larger} larger");
    assert_eq!(
        compared,
        sizes.len(),
        "every .stack_sizes function is in the graph"
    );
    assert!(equal * 10 >= compared * 9, "{equal} of {compared} equal");
    // The fixture's own leaves use the red zone and nothing else: exact figures.
    for (name, rz) in [("stackfix::leaf_rz", true), ("stackfix::chain_b", false)] {
        let f = g
            .graph
            .functions
            .iter()
            .find(|f| f.name == name)
            .expect(name);
        let ss = sizes[&f.address.unwrap()];
        if rz {
            assert!(
                f.frame > ss,
                "{name}: red-zone leaf frame {} vs {ss}",
                f.frame
            );
        } else {
            assert_eq!(f.frame, ss, "{name}");
        }
    }
}

#[test]
fn builds_through_cargo() {
    // Same fixture, built by `cargo nosplit --bin` itself (cargo's JSON messages name the
    // executable); the shared target dir makes it a no-op rebuild.
    let _ = elf_common::build_fixture("stackfix");
    let root = elf_common::workspace();
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-nosplit"))
        .args([
            "nosplit",
            "--bin",
            "stackfix",
            "--format",
            "json",
            "--manifest-path",
        ])
        .arg(root.join("tests/fixtures/stackfix/Cargo.toml"))
        .env("CARGO_TARGET_DIR", root.join("target/nosplit-fixtures"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let chain = v["roots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "stackfix::chain")
        .expect("chain root");
    let peaks = painted(&root.join("target/nosplit-fixtures/release/stackfix"));
    let peak = peaks.values().find(|(_, l)| l == "chain").unwrap().0;
    assert_eq!(chain["worst"].as_u64(), Some(peak));

    // A target that does not exist: cargo fails, exit 2 with one line of ours.
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-nosplit"))
        .args(["--bin", "no-such-bin", "--manifest-path"])
        .arg(root.join("tests/fixtures/stackfix/Cargo.toml"))
        .env("CARGO_TARGET_DIR", root.join("target/nosplit-fixtures"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("cargo nosplit: no bin target named `no-such-bin`"));
}
