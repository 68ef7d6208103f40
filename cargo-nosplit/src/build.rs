//! Building the target to check through cargo (`cargo nosplit --bin NAME` and friends).
//!
//! Runs `cargo build --message-format=json-render-diagnostics` (or `cargo test --no-run` for
//! `--lib`, whose artifact is the library's test binary) with the target selection of the
//! command line, and takes the executable from cargo's `compiler-artifact` messages. The build's
//! own diagnostics go to stderr as usual.

use std::fmt;
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
    v.push("--message-format=json-render-diagnostics".into());
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
pub fn build(args: &Args) -> Result<Built, BuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let argv = cargo_args(args);
    let out = Command::new(&cargo)
        .args(&argv)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| {
            BuildError(format!(
                "cannot run cargo ({}): {e}",
                cargo.to_string_lossy()
            ))
        })?;
    if !out.status.success() {
        return Err(BuildError(format!(
            "`cargo {}` failed ({}); fix the build first",
            argv.join(" "),
            out.status
        )));
    }
    pick_artifact(&String::from_utf8_lossy(&out.stdout), args)
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
            "build --message-format=json-render-diagnostics --profile release --bin app --package pkg --features a,b"
        );
        assert_eq!(
            cargo_args(&args(&["--lib", "--profile", "dev"])).join(" "),
            "test --no-run --lib --message-format=json-render-diagnostics --profile dev"
        );
    }

    const MESSAGES: &str = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"fix"},"profile":{"opt_level":"3","test":false},"executable":null}
{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"fix"},"profile":{"opt_level":"3","test":false},"executable":"/t/release/fix"}
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
                optimized: true
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
}
