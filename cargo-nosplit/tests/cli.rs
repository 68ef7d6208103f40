//! The `cargo-nosplit` binary on descriptions: exit codes, error lines, and golden reports.
//!
//! Golden files live in `tests/golden/`; after a deliberate change of format, regenerate them
//! with `NOSPLIT_BLESS=1 cargo test -p cargo-nosplit --test cli` and review the diff by hand.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod elf_common;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the checker in the crate directory, the way cargo would (`cargo-nosplit nosplit ...`).
fn nosplit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-nosplit"))
        .arg("nosplit")
        .args(args)
        .current_dir(crate_dir())
        .output()
        .expect("run cargo-nosplit")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn golden(name: &str, actual: &str) {
    let path = crate_dir().join("tests/golden").join(name);
    if std::env::var_os("NOSPLIT_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (bless with NOSPLIT_BLESS=1)", path.display()));
    assert_eq!(actual, want, "report differs from {}", path.display());
}

fn check_golden(graph: &str, extra: &[&str], name: &str, code: i32) {
    let path = format!("tests/graphs/{graph}.graph");
    let mut args = vec!["--graph", path.as_str()];
    args.extend_from_slice(extra);
    let o = nosplit(&args);
    assert_eq!(o.status.code(), Some(code), "{name}: {}", stderr(&o));
    golden(name, &stdout(&o));
}

#[test]
fn spec_example_is_rejected_with_the_go_trace() {
    let o = nosplit(&["--graph", "tests/graphs/spec_example.graph"]);
    assert_eq!(o.status.code(), Some(1));
    // SPEC §3: f's worst is 24 + 8 + 40 = 72 > 64; the running figure is the budget left.
    assert_eq!(
        stdout(&o),
        "f: nosplit stack overflow\n\
         \t64\tassumed on entry to f (tests/graphs/spec_example.graph:5)\n\
         \t40\tafter f uses 24\n\
         \t32\ton entry to g\n\
         \t-8\tafter g uses 40\n"
    );
    assert_eq!(stderr(&o), "");
}

#[test]
fn a_description_can_come_from_standard_input() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-nosplit"))
        .args(["nosplit", "--graph", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // f = 8 + 8 + 40 = 56 ≤ 64; then a malformed second run.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"f 8 budget=64 call g\ng 40\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("<stdin>:1"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-nosplit"))
        .args(["nosplit", "--graph", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"f\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "<stdin>:1: missing frame of `f`\n");
}

#[test]
fn direct_invocation_without_the_cargo_argument() {
    let o = Command::new(env!("CARGO_BIN_EXE_cargo-nosplit"))
        .args(["--graph", "tests/graphs/chain.graph"])
        .current_dir(crate_dir())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn golden_reports() {
    check_golden("spec_example", &[], "spec_example.txt", 1);
    check_golden(
        "spec_example",
        &["--format", "json"],
        "spec_example.json",
        1,
    );
    check_golden("several_failing", &[], "several_failing.txt", 1);
    check_golden(
        "several_failing",
        &["--format", "json"],
        "several_failing.json",
        1,
    );
    check_golden("diamond", &[], "diamond.txt", 0);
    check_golden("diamond", &["--format", "json"], "diamond.json", 0);
    check_golden("diamond", &["--all"], "diamond_all.txt", 0);
    check_golden(
        "diamond",
        &["--all", "--format", "json"],
        "diamond_all.json",
        0,
    );
    check_golden("zero_cost_cycle", &[], "zero_cost_cycle.txt", 0);
    check_golden("external", &[], "external.txt", 1);
    check_golden("recursion_mutual", &[], "recursion_mutual.txt", 1);
    check_golden("many_causes", &[], "many_causes.txt", 1);
    let assume = ["--manifest-path", "tests/manifests/assume.toml"];
    check_golden("assumed_over", &assume, "assumed_over.txt", 1);
    let mut json = assume.to_vec();
    json.extend(["--format", "json"]);
    check_golden("assumed_over", &json, "assumed_over.json", 1);
}

#[test]
fn json_is_version_1_with_the_spec_fields() {
    let o = nosplit(&[
        "--graph",
        "tests/graphs/several_failing.graph",
        "--format",
        "json",
        "--all",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["callsize"], 8);
    let roots = v["roots"].as_array().unwrap();
    assert_eq!(roots.len(), 4);
    for r in roots {
        for key in [
            "name", "file", "line", "budget", "worst", "status", "reason", "path",
        ] {
            assert!(r.get(key).is_some(), "root lacks {key}: {r}");
        }
    }
    let over = roots.iter().find(|r| r["name"] == "over_root").unwrap();
    assert_eq!(over["worst"], 72);
    assert_eq!(over["status"], "over");
    let cyc = roots.iter().find(|r| r["name"] == "cyc").unwrap();
    assert!(cyc["worst"].is_null());
    assert_eq!(cyc["status"], "unbounded");
    assert!(cyc["reason"]
        .as_str()
        .unwrap()
        .contains("recursion cyc -> cyc"));
    let functions = v["functions"].as_array().unwrap();
    assert_eq!(functions.len(), 5);
    for key in ["name", "address", "frame", "worst"] {
        assert!(functions[0].get(key).is_some());
    }
    // Without --all there is no "functions".
    let o = nosplit(&[
        "--graph",
        "tests/graphs/several_failing.graph",
        "--format=json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.get("functions").is_none());
    // A description knows nothing of panics: no panic setting, no per-root flag.
    assert!(v.get("panic").is_none(), "{v}");
    for r in v["roots"].as_array().unwrap() {
        assert!(r.get("panic_path").is_none(), "{r}");
    }
}

/// Runs the checker on a description piped to standard input.
fn nosplit_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-nosplit"))
        .args(["nosplit", "--graph", "-"])
        .args(args)
        .current_dir(crate_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_long_name_does_not_pad_every_line_of_the_tables() {
    // A 150-character name, as C++ and generic Rust produce.
    let long = format!("std::collections::hash::map::HashMap::{}", "x".repeat(112));
    assert_eq!(long.len(), 150);
    let text = format!(
        "short_root 8 budget=4096 call {long}\n{long}_root 16 budget=4096 call leaf\n\
         {long} 40\nleaf 24\n"
    );
    let o = nosplit_stdin(&["--all"], &text);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    golden("long_names_all.txt", &out);
    // Lines of short names stay short; the long names overflow their own line only.
    for line in out.lines().filter(|l| !l.contains(&long)) {
        assert!(line.len() <= 60, "padded line: {line:?}");
    }
    for line in out.lines().filter(|l| l.contains(&long)) {
        // What follows the name is no wider than on a short name's line.
        let rest = line.split_once(' ').unwrap().1;
        assert!(rest.len() <= 60, "padded: {line:?}");
    }
}

#[test]
fn binary_reports_say_the_panic_setting_and_list_panic_paths_apart() {
    let bin = elf_common::build_fixture("stackfix");
    let dir = std::env::temp_dir().join(format!("nosplit-panic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("Cargo.toml");
    for (mode, line) in [
        ("count", "panic paths: counted (panic = \"count\")"),
        (
            "stop",
            "panic paths: end at the panic entry (panic = \"stop\")",
        ),
    ] {
        std::fs::write(
            &manifest,
            format!("[package]\nname = \"m\"\n[package.metadata.nosplit]\npanic = \"{mode}\"\n"),
        )
        .unwrap();
        let run = |extra: &[&str]| {
            let mut args = vec![
                "--binary",
                bin.to_str().unwrap(),
                "--manifest-path",
                manifest.to_str().unwrap(),
            ];
            args.extend_from_slice(extra);
            nosplit(&args)
        };
        let o = run(&["--format", "json"]);
        assert_eq!(o.status.code(), Some(1), "{mode}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["panic"]["mode"], mode);
        let roots = v["roots"].as_array().unwrap();
        let mut flagged = Vec::new();
        for r in roots {
            let name = r["name"].as_str().unwrap();
            let panics = r["path"].as_array().unwrap().iter().any(|s| {
                let f = s["function"].as_str().unwrap();
                f.starts_with("core::panicking::")
                    || f.starts_with("std::panicking::")
                    || f.ends_with("rust_begin_unwind")
            });
            // Whatever the front end takes as panic entries, a path into the panic
            // machinery proper is a panic path.
            if panics {
                assert_eq!(r["panic_path"], true, "{mode}: {name}");
            }
            if r["panic_path"].as_bool().expect("panic_path on every root") {
                flagged.push(name);
            }
        }
        assert_eq!(v["panic"]["roots"], serde_json::json!(flagged), "{mode}");
        if mode == "count" {
            // switching's closure resumes a caught panic (resume_unwind), whose worst path
            // runs the panic hook: followed, it is the root's worst path.
            assert!(flagged.contains(&"stackfix::switching"), "{flagged:?}");
        }

        let o = run(&[]);
        assert_eq!(o.status.code(), Some(1));
        let text = stdout(&o);
        // The traces come first, as before; the setting and the list after them.
        assert!(text.ends_with('\n'));
        assert!(
            text.lines()
                .next()
                .unwrap()
                .ends_with(": nosplit stack overflow"),
            "{text}"
        );
        let (_, tail) = text
            .split_once(&format!("\n\n{line}\n"))
            .unwrap_or_else(|| panic!("{mode}: no setting line in {text}"));
        let listed: Vec<&str> = tail
            .lines()
            .skip(1)
            // A closing `hint:` line may follow the list.
            .take_while(|l| l.starts_with("  "))
            .map(|l| {
                l.strip_prefix("  ")
                    .unwrap()
                    .split(" (through ")
                    .next()
                    .unwrap()
            })
            .collect();
        if flagged.is_empty() {
            assert_eq!(tail, "no root's worst path is a panic path\n");
        } else {
            assert_eq!(
                tail.lines().next(),
                Some("roots whose worst path is a panic path:")
            );
            assert_eq!(listed, flagged, "{mode}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes `text` to a fresh file and checks it with the binary.
fn check_text(name: &str, text: &str) -> Output {
    let dir = std::env::temp_dir().join(format!("nosplit-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let o = nosplit(&["--graph", path.to_str().unwrap()]);
    std::fs::remove_file(&path).unwrap();
    o
}

#[test]
fn malformed_descriptions_exit_2_with_file_and_line() {
    for (text, reason) in [
        ("", "1: no functions"),
        ("f 1\ng 2 frob\n", "2: unknown token `frob`"),
        ("f\n", "1: missing frame of `f`"),
        ("f -1\n", "1: negative number `-1`"),
        ("f ten\n", "1: missing frame of `f`"),
        ("f 1 budget=x\n", "1: `x` is not a number"),
        ("f 1 call g\n", "1: `f` calls undeclared function `g`"),
        ("f 1\n\nf 2\n", "3: function `f` is declared twice"),
    ] {
        let o = check_text("bad.graph", text);
        assert_eq!(o.status.code(), Some(2), "{text:?}");
        assert_eq!(stdout(&o), "", "no partial results for {text:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "one line: {err:?}");
        assert!(
            err.contains(&format!("bad.graph:{reason}")),
            "{text:?}: {err:?}"
        );
    }
}

#[test]
fn unusable_input_and_bad_usage_exit_2() {
    let o = nosplit(&["--graph", "tests/graphs/no-such-file.graph"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such-file.graph: cannot read"));
    let o = nosplit(&["--graph", "g", "--bin", "x"]);
    assert_eq!(o.status.code(), Some(2));
    let o = nosplit(&["--format", "yaml", "--graph", "g"]);
    assert_eq!(o.status.code(), Some(2));
    let o = Command::new(env!("CARGO_BIN_EXE_cargo-nosplit"))
        .args(["nosplit", "--help"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("--graph"));
}

#[test]
fn manifest_metadata_applies_to_graphs_when_asked() {
    let dir = std::env::temp_dir().join(format!("nosplit-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("Cargo.toml");
    std::fs::write(
        &manifest,
        "[package]\nname = \"m\"\n[package.metadata.nosplit.indirect]\nmid = 200\n",
    )
    .unwrap();
    let graph = Path::new("tests/graphs/indirect_unbounded.graph");
    // Without --manifest-path: mid's indirect call is unbounded.
    let o = nosplit(&["--graph", graph.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let o = nosplit(&[
        "--graph",
        graph.to_str().unwrap(),
        "--manifest-path",
        manifest.to_str().unwrap(),
    ]);
    // top = 16 + 8 + (24 + 8 + 200) = 256 ≤ 1000.
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    let row: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("top "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(row[..4], ["top", "1000", "256", "744"]);
    std::fs::write(&manifest, "[package.metadata.nosplit]\npanic = 3\n").unwrap();
    let o = nosplit(&[
        "--graph",
        graph.to_str().unwrap(),
        "--manifest-path",
        manifest.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Cargo.toml: metadata.nosplit.panic"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn binary_input_is_refused_until_the_elf_front_end_lands() {
    let o = nosplit(&["--binary", "/bin/true"]);
    // Either the ELF front end is there (any verdict) or it refuses with exit 2; never a panic.
    assert!(matches!(o.status.code(), Some(0..=2)), "{o:?}");
}
