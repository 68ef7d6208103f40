//! The command line of `cargo nosplit` (SPEC §4).
//!
//! Cargo runs an installed `cargo-nosplit` as `cargo-nosplit nosplit ARGS...`; run directly,
//! the binary takes `ARGS...` alone. [`Args::parse_from_env`] accepts both.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgGroup, Parser, ValueEnum};

/// Report format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Go-linker traces for failing roots, a table for passing runs.
    #[default]
    Human,
    /// JSON version 1.
    Json,
}

/// `cargo nosplit`: prove that every `#[nosplit]` function's worst stack chain fits its budget.
#[derive(Clone, Debug, Default, Parser)]
#[command(
    name = "cargo nosplit",
    bin_name = "cargo nosplit",
    version,
    about = "Checks #[nosplit] stack budgets on the final binary, Go-linker style",
    after_help = "Exit status: 0 every root within budget; 1 a root over budget or unbounded; \
                  2 bad usage or unusable input.",
    group(ArgGroup::new("target").args(["bin", "example", "test", "lib"]).multiple(false)),
    group(ArgGroup::new("input").args(["binary", "graph"]).multiple(false)),
)]
pub struct Args {
    /// Build and check this binary target.
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// Build and check this example.
    #[arg(long, value_name = "NAME")]
    pub example: Option<String>,
    /// Build and check this integration test.
    #[arg(long, value_name = "NAME")]
    pub test: Option<String>,
    /// Build and check the library's test binary.
    #[arg(long)]
    pub lib: bool,
    /// Package to build (in a workspace).
    #[arg(short = 'p', long = "package", value_name = "PKG")]
    pub package: Option<String>,
    /// Build profile (default: release).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Space or comma separated features to activate.
    #[arg(long, short = 'F', value_name = "FEATURES")]
    pub features: Vec<String>,
    /// Do not activate the `default` feature.
    #[arg(long)]
    pub no_default_features: bool,
    /// Path to Cargo.toml (also where the configuration is read; with --graph, the
    /// configuration is read only when this is given).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Check an ELF file that is already built instead of building.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["target", "package", "profile", "features", "no_default_features"])]
    pub binary: Option<PathBuf>,
    /// Check a call-graph description (SPEC §3) instead of a binary (`-`: standard input).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["target", "package", "profile", "features", "no_default_features"])]
    pub graph: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Add every function (frame and worst) to the report.
    #[arg(long)]
    pub all: bool,
    /// More output on stderr: the build's own output (cargo's progress, the compiler's
    /// diagnostics; otherwise a failed build is summed up in one line), statistics, panic paths.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl Args {
    /// Parses `argv`, dropping the `nosplit` that cargo inserts after the program name.
    pub fn try_parse_args<I, T>(argv: I) -> Result<Args, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
        if argv.get(1).is_some_and(|a| a == "nosplit") {
            argv.remove(1);
        }
        Args::try_parse_from(argv)
    }

    /// Parses the process's arguments; prints usage and exits 2 when they are bad (0 for
    /// `--help` and `--version`).
    pub fn parse_from_env() -> Args {
        Args::try_parse_args(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Features as cargo takes them: each `--features` value split on spaces and commas.
    pub fn feature_list(&self) -> Vec<String> {
        self.features
            .iter()
            .flat_map(|f| f.split([' ', ',']))
            .filter(|f| !f.is_empty())
            .map(String::from)
            .collect()
    }

    /// The profile to build, `release` unless `--profile` says otherwise.
    pub fn profile_name(&self) -> &str {
        self.profile.as_deref().unwrap_or("release")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_args(args.iter().copied())
    }

    #[test]
    fn cargo_and_direct_invocations_agree() {
        let via_cargo = parse(&["cargo-nosplit", "nosplit", "--graph", "g"]).unwrap();
        let direct = parse(&["cargo-nosplit", "--graph", "g"]).unwrap();
        assert_eq!(via_cargo.graph, Some(PathBuf::from("g")));
        assert_eq!(direct.graph, via_cargo.graph);
    }

    #[test]
    fn every_option_parses() {
        let a = parse(&[
            "cargo-nosplit",
            "nosplit",
            "--bin",
            "demo",
            "-p",
            "pkg",
            "--profile",
            "dev",
            "--features",
            "a,b",
            "--features",
            "c d",
            "--no-default-features",
            "--manifest-path",
            "x/Cargo.toml",
            "--format",
            "json",
            "--all",
            "-vv",
        ])
        .unwrap();
        assert_eq!(a.bin.as_deref(), Some("demo"));
        assert_eq!(a.package.as_deref(), Some("pkg"));
        assert_eq!(a.profile_name(), "dev");
        assert_eq!(a.feature_list(), ["a", "b", "c", "d"]);
        assert!(a.no_default_features && a.all);
        assert_eq!(a.format, Format::Json);
        assert_eq!(a.verbose, 2);
        for t in [&["--example", "e"][..], &["--test", "t"], &["--lib"]] {
            let mut argv = vec!["cargo-nosplit"];
            argv.extend_from_slice(t);
            assert!(parse(&argv).is_ok(), "{t:?}");
        }
        assert_eq!(parse(&["c"]).unwrap().profile_name(), "release");
        assert!(parse(&["c", "--binary", "a.out"]).unwrap().binary.is_some());
    }

    #[test]
    fn conflicting_options_are_usage_errors() {
        for bad in [
            &["c", "--bin", "a", "--lib"][..],
            &["c", "--binary", "a", "--graph", "g"],
            &["c", "--graph", "g", "--bin", "a"],
            &["c", "--format", "xml"],
            &["c", "--frobnicate"],
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
    }
}
