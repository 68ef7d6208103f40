//! End to end: `cargo nosplit` building each kind of target through cargo (`--lib`, `--test`,
//! `--bin`, `-p`, `--profile`, `--manifest-path`) on the fixture workspace
//! `tests/fixtures/targets`, and the one-line errors of builds that give nothing to check.
//!
//! Every target of the fixture has roots of its own, so the report's root names show which
//! executable was built and checked. Budgets and locations are read from the fixture's source
//! and manifests, never from the checker; the only worst figures asserted are those of leaves
//! without a frame (one arithmetic instruction and `ret` in an optimised build), whose worst
//! is 0 by SPEC §2.

mod elf_common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use object::{Object, ObjectSymbol, SymbolKind};
use serde_json::Value;

/// Builds of the fixture share one target dir; one at a time (cargo would block anyway).
static BUILD: Mutex<()> = Mutex::new(());

/// The fixture workspace, relative to our workspace root.
const FIXTURE: &str = "tests/fixtures/targets";
/// Its manifest, relative to our workspace root (as `--manifest-path` takes it from there).
const MANIFEST: &str = "tests/fixtures/targets/Cargo.toml";
/// `unoptimized-multiplier` of the two packages, as their manifests set it.
const MULTIPLIER: u64 = 3;
const OTHER_MULTIPLIER: u64 = 5;
/// `default-budget` of the two packages.
const DEFAULT_BUDGET: u64 = 1000;
const OTHER_DEFAULT_BUDGET: u64 = 777;

fn workspace() -> PathBuf {
    elf_common::workspace()
}

/// `cargo nosplit ARGS` run in `cwd`, building into the shared fixtures target dir.
fn cargo_nosplit_in(cwd: &Path, args: &[&str]) -> Output {
    cargo_nosplit_env(cwd, args, &[])
}

/// `cargo nosplit ARGS` run in `cwd` with `env` set over a clean build environment.
fn cargo_nosplit_env(cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let _lock = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-nosplit"));
    cmd.arg("nosplit").args(args).current_dir(cwd).env(
        "CARGO_TARGET_DIR",
        workspace().join("target/nosplit-fixtures"),
    );
    // The fixture is built as a user would build it, whatever runs these tests.
    for v in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run cargo-nosplit")
}

/// `cargo nosplit ARGS --manifest-path <fixture> --format json` from our workspace root.
fn check(args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--manifest-path", MANIFEST, "--format", "json"]);
    cargo_nosplit_in(&workspace(), &all)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

fn roots(report: &Value) -> &Vec<Value> {
    report["roots"].as_array().expect("roots")
}

fn root_names(report: &Value) -> BTreeSet<String> {
    roots(report)
        .iter()
        .map(|r| r["name"].as_str().expect("name").to_string())
        .collect()
}

fn root<'a>(report: &'a Value, name: &str) -> &'a Value {
    roots(report)
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no root {name} in {report:#}"))
}

/// What the fixture's source declares for `fn NAME`: its budget (`None` for `#[nosplit]`
/// without a number) and the 1-based line of the `fn`.
fn declared(file: &str, name: &str) -> (Option<u64>, u64) {
    let text = std::fs::read_to_string(workspace().join(FIXTURE).join(file)).expect("source");
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(&format!("fn {name}(")))
        .unwrap_or_else(|| panic!("no fn {name} in {file}"));
    let attr = lines[..at]
        .iter()
        .rev()
        .find(|l| l.trim_start().starts_with("#[nosplit"))
        .unwrap_or_else(|| panic!("fn {name} has no #[nosplit]"));
    let budget = attr.split("budget = ").nth(1).map(|rest| {
        rest.trim_end_matches([')', ']'])
            .parse()
            .expect("budget number")
    });
    (budget, at as u64 + 1)
}

/// Asserts that the report holds exactly `expected` roots (`(function, file)` of the fixture
/// package `krate`), each at its source location with `budget × multiplier`, the declared
/// budget or `default`.
fn assert_roots(
    report: &Value,
    krate: &str,
    expected: &[(&str, &str)],
    default: u64,
    multiplier: u64,
) {
    // An integration test is a crate of its own, named after its file.
    let name = |f: &str, file: &str| match file.strip_prefix("tests/") {
        Some(test) => format!("{}::{f}", test.trim_end_matches(".rs")),
        None => format!("{krate}::{f}"),
    };
    let names: BTreeSet<String> = expected.iter().map(|(f, file)| name(f, file)).collect();
    assert_eq!(root_names(report), names, "{report:#}");
    for (f, file) in expected {
        let r = root(report, &name(f, file));
        let (budget, line) = declared(file, f.rsplit("::").next().unwrap());
        assert_eq!(
            r["budget"],
            budget.unwrap_or(default) * multiplier,
            "budget of {f}: {r:#}"
        );
        assert_eq!(r["line"], line, "line of {f}: {r:#}");
        assert!(
            r["file"].as_str().unwrap().ends_with(file),
            "file of {f}: {r:#}"
        );
    }
}

/// In an optimised build a frameless leaf's worst is 0 and it is within any budget.
fn assert_frameless(report: &Value, name: &str) {
    let r = root(report, name);
    assert_eq!(r["status"], "ok", "{r:#}");
    assert_eq!(r["worst"], 0, "{name} is a leaf without a frame: {r:#}");
}

/// Exit 0 exactly when every root is ok (SPEC §4), and the report says the same.
fn assert_verdict(out: &Output, report: &Value) {
    let ok = roots(report).iter().all(|r| r["status"] == "ok");
    assert_eq!(
        out.status.code(),
        Some(if ok { 0 } else { 1 }),
        "{}",
        stderr(out)
    );
    assert_eq!(report["accepted"], ok);
}

const LIB_ROOTS: [(&str, &str); 2] = [("lib_leaf", "src/lib.rs"), ("lib_chain", "src/lib.rs")];

#[test]
fn lib_checks_the_library_test_binary() {
    let out = check(&["--lib"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    // The unit test's own root proves the executable is the library's test binary.
    let mut expected = LIB_ROOTS.to_vec();
    expected.push(("tests::unit_only", "src/lib.rs"));
    assert_roots(&report, "targets", &expected, DEFAULT_BUDGET, 1);
    assert_frameless(&report, "targets::lib_leaf");
    assert_frameless(&report, "targets::tests::unit_only");
    assert_eq!(root(&report, "targets::lib_chain")["status"], "ok");
}

#[test]
fn test_checks_the_integration_test() {
    let out = check(&["--test", "integration"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    let mut expected = LIB_ROOTS.to_vec();
    expected.push(("integration_leaf", "tests/integration.rs"));
    assert_roots(&report, "targets", &expected, DEFAULT_BUDGET, 1);
    assert_frameless(&report, "integration::integration_leaf");
}

#[test]
fn bin_checks_the_binary() {
    let out = check(&["--bin", "targets"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    let mut expected = LIB_ROOTS.to_vec();
    expected.push(("bin_leaf", "src/main.rs"));
    assert_roots(&report, "targets", &expected, DEFAULT_BUDGET, 1);
    assert_frameless(&report, "targets::bin_leaf");
    assert_frameless(&report, "targets::lib_leaf");
}

/// `-p` builds the other package, whose roots are checked with its own configuration (its
/// `default-budget`), not that of the manifest given.
#[test]
fn package_selects_the_other_package_and_its_configuration() {
    let expected = [
        ("other_leaf", "other/src/main.rs"),
        ("other_small", "other/src/main.rs"),
    ];
    for args in [
        &["-p", "targets-other"][..],
        &["-p", "targets-other", "--bin", "targets-other"],
    ] {
        let out = check(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let report = json(&out);
        assert_roots(&report, "targets_other", &expected, OTHER_DEFAULT_BUDGET, 1);
        assert_frameless(&report, "targets_other::other_leaf");
        assert_frameless(&report, "targets_other::other_small");
    }
}

/// `--profile dev` builds without optimisation: every budget is multiplied by the package's
/// `unoptimized-multiplier`.
#[test]
fn dev_profile_multiplies_budgets() {
    let out = check(&["--lib", "--profile", "dev"]);
    let report = json(&out);
    let mut expected = LIB_ROOTS.to_vec();
    expected.push(("tests::unit_only", "src/lib.rs"));
    assert_roots(&report, "targets", &expected, DEFAULT_BUDGET, MULTIPLIER);
    assert_verdict(&out, &report);

    let out = check(&["-p", "targets-other", "--profile", "dev"]);
    let report = json(&out);
    let expected = [
        ("other_leaf", "other/src/main.rs"),
        ("other_small", "other/src/main.rs"),
    ];
    assert_roots(
        &report,
        "targets_other",
        &expected,
        OTHER_DEFAULT_BUDGET,
        OTHER_MULTIPLIER,
    );
    assert_verdict(&out, &report);
}

/// `--manifest-path` from an unrelated directory, and no `--manifest-path` from inside the
/// fixture (cargo's nearest `Cargo.toml`): the same package, built and configured.
#[test]
fn manifest_path_and_current_directory() {
    let elsewhere = std::env::temp_dir();
    let manifest = workspace().join(MANIFEST);
    let out = cargo_nosplit_in(
        &elsewhere,
        &[
            "--bin",
            "targets",
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut expected = LIB_ROOTS.to_vec();
    expected.push(("bin_leaf", "src/main.rs"));
    assert_roots(&json(&out), "targets", &expected, DEFAULT_BUDGET, 1);

    let out = cargo_nosplit_in(
        &workspace().join(FIXTURE).join("src"),
        &["--lib", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut expected = LIB_ROOTS.to_vec();
    expected.push(("tests::unit_only", "src/lib.rs"));
    assert_roots(&json(&out), "targets", &expected, DEFAULT_BUDGET, 1);
}

/// Exit 2, nothing on stdout, and one line on stderr that contains `needles`.
fn assert_one_line_error(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{needles:?}: {err}");
    assert!(
        out.stdout.is_empty(),
        "{needles:?}: a partial report on stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(err.lines().count(), 1, "{needles:?}: not one line:\n{err}");
    assert!(err.starts_with("cargo nosplit: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
}

#[test]
fn unknown_targets_and_packages_are_one_line_errors() {
    for (args, needles) in [
        (
            &["--bin", "nope"][..],
            &["no bin target named `nope`", "targets"][..],
        ),
        (
            &["--test", "nope"],
            &["no test target named `nope`", "integration"],
        ),
        (&["--example", "nope"], &["no example target named `nope`"]),
        (&["-p", "nope"], &["`nope`", "did not match any packages"]),
        (
            &["-p", "targets-other", "--lib"],
            &["no library", "targets-other"],
        ),
        (&["--profile", "nope"], &["profile `nope`"]),
    ] {
        assert_one_line_error(&check(args), needles);
    }
}

/// A compile error: one line naming the compiler's error and where it is; `-v` shows the
/// compiler's own output before that line.
#[test]
fn a_build_that_fails_to_compile_is_a_one_line_error() {
    let text = std::fs::read_to_string(workspace().join(FIXTURE).join("src/lib.rs")).unwrap();
    let line = 1 + text
        .lines()
        .position(|l| l.contains("\"not a number\""))
        .unwrap();
    let location = format!("src/lib.rs:{line}:");
    let out = check(&["--lib", "--features", "broken"]);
    assert_one_line_error(&out, &[&location, "error[E0308]", "mismatched types"]);

    let out = check(&["--lib", "--features", "broken", "-v"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    assert!(err.contains("expected `u64`"), "no compiler output:\n{err}");
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("cargo nosplit: ") && last.contains(&location),
        "{err}"
    );
}

/// Address of the function `targets::NAME` in `binary`, from its symbol table (legacy or v0
/// mangling).
fn function_address(binary: &Path, name: &str) -> u64 {
    let data = std::fs::read(binary).expect("read binary");
    let file = object::File::parse(&*data).expect("ELF");
    let tail = format!("7targets{}{name}", name.len());
    let found: Vec<u64> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text)
        .filter(|s| {
            // v0 mangling ends with the path; legacy follows it with the hash.
            s.name()
                .is_ok_and(|n| n.ends_with(&tail) || n.contains(&format!("{tail}17h")))
        })
        .map(|s| s.address())
        .collect();
    assert_eq!(found.len(), 1, "symbols of targets::{name}: {found:x?}");
    found[0]
}

/// The checker's own build (`--bin`, release) with nightly and `-Z emit-stack-sizes`, against
/// LLVM's `.stack_sizes` of the binary it built: frameless leaves have a frame of 0, and
/// `lib_chain`, which calls the frameless `lib_helper` from its full frame (no red zone: it
/// makes a call), has worst = .stack_sizes(lib_chain) + 8 + .stack_sizes(lib_helper).
#[test]
fn worst_through_the_build_equals_llvm_stack_sizes() {
    // Builds the fixture once with nightly, or says it is skipped (and fails when
    // NOSPLIT_REQUIRE_NIGHTLY is set).
    let Some(binary) = elf_common::build_fixture_nightly("targets") else {
        return;
    };
    let target = workspace().join("target/nosplit-fixtures/nightly");
    // `cargo` through rustup's proxy, told to use nightly: the same build as above, so cargo
    // finds it fresh and the checker checks exactly `binary`.
    let out = cargo_nosplit_env(
        &workspace(),
        &[
            "--bin",
            "targets",
            "--manifest-path",
            MANIFEST,
            "--format",
            "json",
        ],
        &[
            ("CARGO", Path::new("cargo")),
            ("RUSTUP_TOOLCHAIN", Path::new("nightly")),
            ("RUSTFLAGS", Path::new("-Z emit-stack-sizes")),
            ("CARGO_TARGET_DIR", &target),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    let sizes = elf_common::stack_sizes(&binary);
    let size = |name: &str| -> u64 {
        let addr = function_address(&binary, name);
        *sizes
            .get(&addr)
            .unwrap_or_else(|| panic!("no .stack_sizes entry for {name} at {addr:#x}"))
    };
    for leaf in ["lib_leaf", "bin_leaf", "lib_helper"] {
        assert_eq!(size(leaf), 0, "{leaf} is a leaf without a frame");
    }
    assert_frameless(&report, "targets::lib_leaf");
    assert_frameless(&report, "targets::bin_leaf");
    let chain = root(&report, "targets::lib_chain");
    assert!(
        size("lib_chain") > 0,
        "lib_chain keeps its array in a frame"
    );
    assert_eq!(
        chain["worst"],
        size("lib_chain") + 8 + size("lib_helper"),
        "{chain:#}"
    );
}
