//! End to end: the checker, as installed (`cargo nosplit`), on the repository's examples built
//! in release, and the README's set-up commands.
//!
//! Figures are compared with oracles that do not come from the checker: the example's own
//! painted-stack measurement of the failing path (`shadow_barrier --measure`), LLVM's
//! `.stack_sizes` of a nightly build (skipped when nightly is absent, required when CI sets
//! `NOSPLIT_REQUIRE_NIGHTLY`), and the function names and call order read from the source.

mod elf_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;

/// Example builds share one target dir with the other release tests; one build at a time.
static BUILD: Mutex<()> = Mutex::new(());

/// The chain of the shadow-barrier overflow, as the source writes it (caller first).
const BEFORE_CHAIN: [&str; 5] = [
    "shadow_barrier::cgocall",
    "shadow_barrier::cgocall_errno",
    "shadow_barrier::exitsyscall",
    "shadow_barrier::exitsyscallfast",
    "shadow_barrier::writebarrierptr",
];

fn workspace() -> PathBuf {
    elf_common::workspace()
}

fn fixtures_target() -> PathBuf {
    workspace().join("target/nosplit-fixtures")
}

/// `cargo nosplit ARGS` from the workspace root, building into the fixtures target dir.
fn cargo_nosplit(args: &[&str]) -> Output {
    let _lock = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    Command::new(env!("CARGO_BIN_EXE_cargo-nosplit"))
        .arg("nosplit")
        .args(args)
        .current_dir(workspace())
        .env("CARGO_TARGET_DIR", fixtures_target())
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run cargo-nosplit")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn root<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["roots"]
        .as_array()
        .expect("roots")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no root {name} in {report:#}"))
}

fn path_functions(root: &Value) -> Vec<String> {
    root["path"]
        .as_array()
        .expect("path")
        .iter()
        .map(|s| s["function"].as_str().expect("function").to_string())
        .collect()
}

/// 1-based line of the first line of `file` (relative to the workspace) containing `needle`.
fn source_line(file: &str, needle: &str) -> u64 {
    let text = std::fs::read_to_string(workspace().join(file)).expect("read source");
    1 + text
        .lines()
        .position(|l| l.contains(needle))
        .expect("needle") as u64
}

/// Runs an example binary with `--measure` and returns worst(stale_call) from its painted
/// peaks (see `examples/shadow_barrier.rs`).
fn painted_worst(binary: &Path) -> u64 {
    let out = Command::new(binary)
        .arg("--measure")
        .output()
        .expect("run example");
    assert!(out.status.success(), "{binary:?} --measure failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let peak = |what: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("painted peak of {what}:")))
            .unwrap_or_else(|| panic!("no peak of {what} in:\n{text}"));
        line.split_whitespace().nth(4).unwrap().parse().unwrap()
    };
    peak("stale_call") - peak("calibrate")
}

fn example_binary(name: &str) -> PathBuf {
    fixtures_target().join("release/examples").join(name)
}

#[test]
fn shadow_barrier_before_fails_with_the_go_trace_and_after_passes() {
    // Before the fix: rejected, with the chain of the source in order.
    let out = cargo_nosplit(&[
        "--example",
        "shadow_barrier",
        "--features",
        "shadow-before",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report = json(&out);
    let cgocall = root(&report, "shadow_barrier::cgocall");
    assert_eq!(cgocall["status"], "over");
    assert_eq!(cgocall["budget"], 504);
    assert_eq!(
        cgocall["line"],
        source_line("examples/shadow_barrier.rs", "fn cgocall(")
    );
    assert_eq!(path_functions(cgocall), BEFORE_CHAIN);
    // The worst path executes on the stale call: the painted peak is the exact figure.
    let worst = cgocall["worst"].as_u64().expect("bounded");
    let painted = painted_worst(&example_binary("shadow_barrier"));
    assert_eq!(worst, painted, "checker worst vs painted peak");

    // The human report is Go's trace: budget left, entry and use lines alternating.
    let out = cargo_nosplit(&["--example", "shadow_barrier", "--features", "shadow-before"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("shadow_barrier::cgocall: nosplit stack overflow")
    );
    let first = lines.next().expect("trace");
    assert!(
        first.starts_with(
            "\t504\tassumed on entry to shadow_barrier::cgocall (examples/shadow_barrier.rs:"
        ),
        "{first}"
    );
    let trace: Vec<&str> = text
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with('\t'))
        .collect();
    let last: i64 = trace
        .last()
        .unwrap()
        .split('\t')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        last,
        504 - painted as i64,
        "the trace ends at budget - worst"
    );
    let mut named = Vec::new();
    for line in &trace[1..] {
        let step = line.split('\t').nth(2).unwrap();
        if let Some(f) = step.strip_prefix("on entry to ") {
            named.push(f);
        }
    }
    assert_eq!(named, BEFORE_CHAIN[1..]);

    // After the fix: accepted, the table lists every root within budget.
    let out = cargo_nosplit(&["--example", "shadow_barrier", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report = json(&out);
    for r in report["roots"].as_array().unwrap() {
        assert_eq!(r["status"], "ok", "{r}");
    }
    let cgocall = root(&report, "shadow_barrier::cgocall");
    let worst_after = cgocall["worst"].as_u64().unwrap();
    assert!(worst_after <= 504);
    // The run-time path is one of the paths the checker bounds: never above it.
    let painted_after = painted_worst(&example_binary("shadow_barrier"));
    assert!(
        painted_after <= worst_after,
        "painted {painted_after} > worst {worst_after}"
    );
    assert!(painted_after < painted, "the fix lowers the painted peak");
    let out = cargo_nosplit(&["--example", "shadow_barrier"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("function"), "{text}");
    assert!(text.contains("shadow_barrier::cgocall"));
}

/// On a nightly build with `.stack_sizes`, every function of the failing path has a frame
/// equal to LLVM's figure, or larger by red-zone use only (≤ 128 bytes), and the worst equals
/// the painted peak of that same binary.
#[test]
fn shadow_barrier_frames_agree_with_stack_sizes() {
    let _lock = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let nightly = Command::new("cargo")
        .args(["+nightly", "--version"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .output();
    if !nightly.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("NOSPLIT_REQUIRE_NIGHTLY").is_none(),
            "NOSPLIT_REQUIRE_NIGHTLY is set but cargo +nightly does not run"
        );
        eprintln!("skipped: nightly not found (the .stack_sizes oracle needs `cargo +nightly`)");
        return;
    }
    let target = fixtures_target().join("nightly-examples");
    let out = Command::new("cargo")
        .args(["+nightly", "rustc", "--release", "--quiet", "--example"])
        .args([
            "shadow_barrier",
            "--features",
            "shadow-before",
            "--target-dir",
        ])
        .arg(&target)
        .args(["--", "-Z", "emit-stack-sizes"])
        .current_dir(workspace())
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo +nightly");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let binary = target.join("release/examples/shadow_barrier");
    drop(_lock);
    let sizes = elf_common::stack_sizes(&binary);
    assert!(!sizes.is_empty(), "no .stack_sizes in {binary:?}");

    let out = cargo_nosplit(&[
        "--binary",
        binary.to_str().unwrap(),
        "--format",
        "json",
        "--all",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report = json(&out);
    let functions = report["functions"].as_array().expect("--all");
    let cgocall = root(&report, "shadow_barrier::cgocall");
    assert_eq!(path_functions(cgocall), BEFORE_CHAIN);
    for name in BEFORE_CHAIN {
        let f = functions
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in --all"));
        let frame = f["frame"].as_u64().unwrap();
        let llvm = sizes[&f["address"].as_u64().unwrap()];
        assert!(
            frame >= llvm && frame <= llvm + 128,
            "{name}: frame {frame} vs .stack_sizes {llvm}"
        );
    }
    assert_eq!(
        cgocall["worst"].as_u64().unwrap(),
        painted_worst(&binary),
        "worst vs painted peak of the nightly build"
    );
}

#[test]
fn handler_examples_fit_their_budgets() {
    for (example, root_name, budget) in [
        ("irq_handler", "USART1_IRQHandler", 256),
        ("sigaltstack", "sigaltstack::on_signal", 1024),
    ] {
        let out = cargo_nosplit(&["--example", example, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{example}: {out:?}");
        let report = json(&out);
        let r = report["roots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"].as_str().unwrap().ends_with(root_name))
            .unwrap_or_else(|| panic!("{example}: no root {root_name}"));
        assert_eq!(r["status"], "ok");
        assert_eq!(r["budget"], budget);
        assert!(r["worst"].as_u64().unwrap() <= budget);
        // The example itself runs (the signal example asserts it ran on the alternate stack).
        let run = Command::new(example_binary(example))
            .output()
            .expect("run example");
        assert!(run.status.success(), "{example}: {run:?}");
    }
    let run = Command::new(example_binary("sigaltstack"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&run.stdout).contains("alternate stack: true"));
}

/// Debug builds run the runtime guard: the example's `before` variant panics with the
/// guard's trace of the same chain, the `after` variant and the interrupt handler run clean.
#[test]
fn debug_runs_show_the_guard_report_before_and_run_clean_after() {
    let run = |example: &str, features: &[&str]| -> Output {
        let _lock = BUILD.lock().unwrap_or_else(|e| e.into_inner());
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        Command::new(cargo)
            .args(["run", "--quiet", "--example", example])
            .args(features)
            .current_dir(workspace())
            .env("CARGO_TARGET_DIR", fixtures_target())
            .env_remove("RUSTFLAGS")
            .env_remove("NOSPLIT_UNOPTIMIZED_MULTIPLIER")
            .env_remove("NOSPLIT_DEFAULT_BUDGET")
            .env("RUST_BACKTRACE", "0")
            .output()
            .expect("cargo run")
    };
    let before = run("shadow_barrier", &["--features", "shadow-before"]);
    assert_eq!(before.status.code(), Some(101), "{before:?}");
    let stderr = String::from_utf8_lossy(&before.stderr);
    assert!(
        stderr.contains("shadow_barrier::cgocall: nosplit stack overflow"),
        "{stderr}"
    );
    let mut entered = Vec::new();
    for line in stderr.lines().filter(|l| l.starts_with('\t')) {
        if let Some(f) = line
            .split('\t')
            .nth(2)
            .and_then(|s| s.strip_prefix("on entry to "))
        {
            entered.push(f.to_string());
        }
    }
    // The guard sees the annotated functions of the chain, in the source's order.
    assert_eq!(entered[..4], BEFORE_CHAIN[1..], "{stderr}");
    let after = run("shadow_barrier", &[]);
    assert!(after.status.success(), "{after:?}");
    let irq = run("irq_handler", &[]);
    assert!(irq.status.success(), "{irq:?}");
}

/// The README starts with exactly the two set-up commands, and they are the ones the tests
/// and CI run: the first checks the shadow-barrier example before and after the fix (the
/// test above runs the same checks), the second is the test command `.ci/run` calls.
#[test]
fn readme_commands_are_the_ones_tested_and_run_by_ci() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let block: Vec<&str> = readme
        .split("```sh\n")
        .nth(1)
        .expect("a sh block")
        .split("```")
        .next()
        .unwrap()
        .lines()
        .collect();
    assert_eq!(block.len(), 2, "exactly two set-up commands: {block:?}");
    let expected_main = "cargo run -q -p cargo-nosplit -- nosplit --example shadow_barrier \
                         --features shadow-before; \
                         cargo run -q -p cargo-nosplit -- nosplit --example shadow_barrier";
    assert_eq!(block[0], expected_main);
    assert_eq!(block[1], "cargo test --workspace");
    let ci = std::fs::read_to_string(workspace().join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim() == block[1]),
        ".ci/run does not run the README's test command"
    );
}
