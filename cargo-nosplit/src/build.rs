//! Building the target to check through cargo (`cargo nosplit --bin NAME` and friends).
//!
//! Runs `cargo build --message-format=json` (or `cargo test --no-run` for `--lib`, whose
//! artifact is the library's test binary) with the target selection of the command line, and
//! takes the executable from cargo's `compiler-artifact` messages.
//!
//! The build's own output (progress, the compiler's warnings and errors) is shown only with
//! `-v`, as it happens: a checker's stderr is its verdict, and a failed build is reported as
//! one line naming the first error (the compiler's, with its file and line, or cargo's, such as
//! an unknown target or package), so that scripts and CI logs get one reason, not a page.

use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::cli::Args;

/// The executable to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    /// Path of the ELF file.
    pub path: PathBuf,
    /// Whether the profile optimises (`opt-level` other than 0): budgets of unoptimised builds
    /// are multiplied.
    pub optimized: bool,
    /// Manifest of the package that owns the target, as cargo resolved it (with `-p`, the
    /// selected package's, not the workspace root's): where its configuration is read.
    pub manifest_path: Option<PathBuf>,
}

/// Why the build gave nothing to check. Displays as one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError(pub String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

/// The cargo command line for `args` (without the program): exposed for tests.
pub fn cargo_args(args: &Args) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    if args.lib {
        v.extend(["test", "--no-run", "--lib"].map(String::from));
    } else {
        v.push("build".into());
    }
    v.push("--message-format=json".into());
    v.extend(["--profile".into(), args.profile_name().to_string()]);
    for (flag, value) in [
        ("--bin", &args.bin),
        ("--example", &args.example),
        ("--test", &args.test),
    ] {
        if let Some(name) = value {
            v.extend([flag.to_string(), name.clone()]);
        }
    }
    if let Some(p) = &args.package {
        v.extend(["--package".into(), p.clone()]);
    }
    let features = args.feature_list();
    if !features.is_empty() {
        v.extend(["--features".into(), features.join(",")]);
    }
    if args.no_default_features {
        v.push("--no-default-features".into());
    }
    if let Some(m) = &args.manifest_path {
        v.extend(["--manifest-path".into(), m.display().to_string()]);
    }
    v
}

/// Builds the selected target and returns its executable.
///
/// With `-v`, cargo's output and the compiler's diagnostics are echoed on stderr as they come;
/// otherwise a failure is summed up in the one line of the [`BuildError`].
pub fn build(args: &Args) -> Result<Built, BuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let argv = cargo_args(args);
    let verbose = args.verbose > 0;
    let cannot_run = |e: std::io::Error| {
        BuildError(format!(
            "cannot run cargo ({}): {e}; is it installed and on PATH?",
            cargo.to_string_lossy()
        ))
    };
    let mut child = Command::new(&cargo)
        .args(&argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(cannot_run)?;
    // Cargo's stderr is drained on its own thread so that neither pipe fills up while the
    // other is read.
    let stderr = child.stderr.take().map(|err| {
        std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if verbose {
                    eprintln!("{line}");
                }
                lines.push(line);
            }
            lines
        })
    });
    let mut messages = String::new();
    let mut errors: Vec<CompilerError> = Vec::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                if v["reason"] == "compiler-message" {
                    if verbose {
                        if let Some(text) = v["message"]["rendered"].as_str() {
                            eprint!("{text}");
                        }
                    }
                    errors.extend(CompilerError::from_message(&v["message"]));
                    continue;
                }
            }
            messages.push_str(&line);
            messages.push('\n');
        }
    }
    let status = child.wait().map_err(cannot_run)?;
    let cargo_stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if status.success() {
        return pick_artifact(&messages, args);
    }
    // The compiler's first error, located; else cargo's own (unknown target or package, bad
    // manifest...); else the command line.
    let spanned: Vec<&CompilerError> = errors.iter().filter(|e| e.located).collect();
    let first = spanned.first().copied().or(errors.first());
    let reason = if let Some(e) = first {
        let more = match spanned.len() {
            0 | 1 => String::new(),
            2 => " (and 1 more error)".into(),
            n => format!(" (and {} more errors)", n - 1),
        };
        format!(
            "the build failed: {}{more}; fix it and rerun (-v shows the compiler's output)",
            e.text
        )
    } else if let Some(e) = cargo_error(&cargo_stderr) {
        e
    } else {
        format!(
            "`cargo {}` failed ({status}); rerun with -v to see its output",
            argv.join(" ")
        )
    };
    Err(BuildError(reason))
}

/// An error diagnostic of the compiler, on one line.
struct CompilerError {
    /// `FILE:LINE:COL: error[CODE]: message`, or without the location.
    text: String,
    /// Whether it points at source (rather than, say, "aborting due to 2 previous errors").
    located: bool,
}

impl CompilerError {
    /// The error in a `compiler-message`'s `message`, if it is one.
    fn from_message(m: &serde_json::Value) -> Option<CompilerError> {
        let level = m["level"].as_str()?;
        if !level.starts_with("error") {
            return None;
        }
        let message = m["message"].as_str()?.lines().next().unwrap_or("");
        let head = match m["code"]["code"].as_str() {
            Some(code) => format!("{level}[{code}]: {message}"),
            None => format!("{level}: {message}"),
        };
        let span = m["spans"]
            .as_array()
            .and_then(|spans| spans.iter().find(|s| s["is_primary"] == true));
        Some(match span {
            Some(s) => CompilerError {
                text: format!(
                    "{}:{}:{}: {head}",
                    s["file_name"].as_str().unwrap_or("?"),
                    s["line_start"],
                    s["column_start"]
                ),
                located: true,
            },
            None => CompilerError {
                text: head,
                located: false,
            },
        })
    }
}

/// Cargo's own first error on one line: `error: X` with its causes (`Caused by:`) and its first
/// `help:` (a list of available targets joined by commas).
pub fn cargo_error(stderr: &[String]) -> Option<String> {
    let start = stderr.iter().position(|l| l.starts_with("error"))?;
    let mut text = stderr[start]
        .strip_prefix("error: ")
        .unwrap_or(&stderr[start])
        .trim()
        .to_string();
    let mut help: Option<String> = None;
    let mut lines = stderr[start + 1..].iter().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with("error") || line.starts_with("warning") {
            break;
        }
        if line.trim() == "Caused by:" {
            while let Some(cause) = lines.next_if(|l| l.starts_with(' ') || l.is_empty()) {
                if !cause.trim().is_empty() {
                    text.push_str(": ");
                    text.push_str(cause.trim());
                }
            }
        } else if let Some(h) = line.strip_prefix("help: ") {
            if help.is_some() {
                continue;
            }
            let mut h = h.trim().to_string();
            if h.ends_with(':') {
                let mut items = Vec::new();
                while let Some(item) = lines.next_if(|l| l.starts_with(' ')) {
                    items.push(item.trim().to_string());
                }
                h.push(' ');
                h.push_str(&items.join(", "));
            }
            help = Some(h);
        }
    }
    if let Some(h) = help {
        text.push_str(&format!(" ({h})"));
    }
    Some(text)
}

/// Chooses the executable among cargo's JSON messages.
pub fn pick_artifact(messages: &str, args: &Args) -> Result<Built, BuildError> {
    let wanted_kind = if args.bin.is_some() {
        Some(("bin", args.bin.as_deref()))
    } else if args.example.is_some() {
        Some(("example", args.example.as_deref()))
    } else if args.test.is_some() {
        Some(("test", args.test.as_deref()))
    } else {
        None
    };
    let mut found: Vec<Built> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for line in messages.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(exe) = v["executable"].as_str() else {
            continue;
        };
        let kinds: Vec<&str> = v["target"]["kind"]
            .as_array()
            .map(|a| a.iter().filter_map(|k| k.as_str()).collect())
            .unwrap_or_default();
        let name = v["target"]["name"].as_str().unwrap_or("");
        let test = v["profile"]["test"].as_bool().unwrap_or(false);
        let ok = match wanted_kind {
            Some((kind, n)) => kinds.contains(&kind) && n.is_none_or(|n| n == name),
            // `--lib`: the library's test harness.
            None if args.lib => test && !kinds.contains(&"bin") && !kinds.contains(&"test"),
            None => kinds.contains(&"bin"),
        };
        if !ok {
            continue;
        }
        let opt = &v["profile"]["opt_level"];
        let optimized = opt.as_str() != Some("0");
        names.push(format!("{name} ({exe})"));
        found.push(Built {
            path: PathBuf::from(exe),
            optimized,
            manifest_path: v["manifest_path"].as_str().map(PathBuf::from),
        });
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(BuildError(
            "the build produced no executable to check: select one with --bin, --example, --test or --lib".into(),
        )),
        _ => Err(BuildError(format!(
            "the build produced several executables ({}): select one with --bin, --example, --test, --lib or -p",
            names.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(a: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("cargo-nosplit").chain(a.iter().copied())).unwrap()
    }

    #[test]
    fn command_lines() {
        assert_eq!(
            cargo_args(&args(&["--bin", "app", "-p", "pkg", "--features", "a b"])).join(" "),
            "build --message-format=json --profile release --bin app --package pkg --features a,b"
        );
        assert_eq!(
            cargo_args(&args(&["--lib", "--profile", "dev"])).join(" "),
            "test --no-run --lib --message-format=json --profile dev"
        );
    }

    const MESSAGES: &str = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"fix"},"profile":{"opt_level":"3","test":false},"executable":null}
{"reason":"compiler-artifact","manifest_path":"/w/fix/Cargo.toml","target":{"kind":["bin"],"name":"fix"},"profile":{"opt_level":"3","test":false},"executable":"/t/release/fix"}
{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"other"},"profile":{"opt_level":"0","test":false},"executable":"/t/debug/other"}
{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"fix"},"profile":{"opt_level":"3","test":true},"executable":"/t/release/deps/fix-123"}
{"reason":"build-finished","success":true}"#;

    #[test]
    fn picks_the_selected_artifact() {
        let b = pick_artifact(MESSAGES, &args(&["--bin", "fix"])).unwrap();
        assert_eq!(
            b,
            Built {
                path: "/t/release/fix".into(),
                optimized: true,
                manifest_path: Some("/w/fix/Cargo.toml".into()),
            }
        );
        let b = pick_artifact(MESSAGES, &args(&["--bin", "other"])).unwrap();
        assert!(!b.optimized);
        let b = pick_artifact(MESSAGES, &args(&["--lib"])).unwrap();
        assert_eq!(b.path, PathBuf::from("/t/release/deps/fix-123"));
        let e = pick_artifact(MESSAGES, &args(&[])).unwrap_err();
        assert!(e.0.contains("several executables"), "{e}");
        let e = pick_artifact(MESSAGES, &args(&["--example", "x"])).unwrap_err();
        assert!(e.0.contains("no executable"), "{e}");
    }

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    #[test]
    fn cargo_errors_on_one_line() {
        let e = cargo_error(&lines(
            "warning: unused manifest key: x\nerror: no bin target named `nope` in default-run packages\nhelp: available bin targets:\n    a\n    b\n",
        ));
        assert_eq!(
            e.as_deref(),
            Some(
                "no bin target named `nope` in default-run packages (available bin targets: a, b)"
            )
        );
        let e = cargo_error(&lines(
            "error: failed to parse manifest at `/x/Cargo.toml`\n\nCaused by:\n  TOML parse error at line 3\n",
        ));
        assert_eq!(
            e.as_deref(),
            Some("failed to parse manifest at `/x/Cargo.toml`: TOML parse error at line 3")
        );
        assert_eq!(cargo_error(&lines("   Compiling x\n")), None);
    }

    #[test]
    fn compiler_errors_on_one_line() {
        let m: serde_json::Value = serde_json::from_str(
            r#"{"level":"error","message":"mismatched types","code":{"code":"E0308"},
                "spans":[{"file_name":"src/a.rs","line_start":3,"column_start":5,"is_primary":true}]}"#,
        )
        .unwrap();
        let e = CompilerError::from_message(&m).unwrap();
        assert_eq!(e.text, "src/a.rs:3:5: error[E0308]: mismatched types");
        assert!(e.located);
        let m: serde_json::Value = serde_json::from_str(
            r#"{"level":"error","message":"aborting due to 1 previous error","code":null,"spans":[]}"#,
        )
        .unwrap();
        assert!(!CompilerError::from_message(&m).unwrap().located);
        let m: serde_json::Value =
            serde_json::from_str(r#"{"level":"warning","message":"unused","spans":[]}"#).unwrap();
        assert!(CompilerError::from_message(&m).is_none());
    }
}
