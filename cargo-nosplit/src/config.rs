//! The checker's configuration: `[package.metadata.nosplit]` and
//! `[workspace.metadata.nosplit]` in `Cargo.toml`.
//!
//! Keys (documented for users in `docs/CONFIG.md`):
//!
//! ```toml
//! [package.metadata.nosplit]
//! default-budget = 2048          # budget of `#[nosplit]` without a number, bytes
//! unoptimized-multiplier = 4     # budgets are multiplied by this in opt-level 0 builds
//! panic = "count"                # "count" | "stop": do panic paths count toward roots
//!
//! [package.metadata.nosplit.external]   # assumed worst of external functions, bytes
//! "memcpy" = 256
//! [package.metadata.nosplit.indirect]   # worst of what a function's indirect calls reach
//! "demo::dispatch" = 512
//! [package.metadata.nosplit.recursion]  # recursion depth of the cycle holding the function
//! "demo::walk" = 16
//! ```
//!
//! The workspace table is read first, then the package table: a key set in both takes the
//! package's value, and the assumption tables are merged name by name.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use nosplit_runtime::config::{DEFAULT_BUDGET_BYTES, UNOPTIMIZED_MULTIPLIER};

/// Whether code reached only on the way to a panic counts toward a root's worst chain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PanicPaths {
    /// Panic paths count like any other code (sound: a panic that unwinds or prints runs on the
    /// same stack). The default.
    #[default]
    Count,
    /// The front end stops at calls that begin a panic (`core::panicking::*`,
    /// `std::panicking::begin_panic`...), for programs whose panics abort and whose stack is
    /// then irrelevant.
    Stop,
}

/// User assumptions that bound what the analysis cannot see. Names are function names as
/// the graph spells them (demangled paths without hash for binaries).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assumptions {
    /// Assumed worst, in bytes, of external functions (no code in the input), by name.
    pub external: BTreeMap<String, u64>,
    /// Assumed worst, in bytes, of whatever the indirect calls made by the named function reach.
    pub indirect: BTreeMap<String, u64>,
    /// Recursion depth of the cycle that holds the named function: along any chain of calls
    /// inside the cycle, each of its functions is entered at most N times (N ≥ 1).
    pub recursion: BTreeMap<String, u64>,
}

impl Assumptions {
    /// Whether there are no assumptions at all.
    pub fn is_empty(&self) -> bool {
        self.external.is_empty() && self.indirect.is_empty() && self.recursion.is_empty()
    }
}

/// The checker's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Budget, in bytes, of `#[nosplit]` without a number (`default-budget`).
    pub default_budget: u64,
    /// Factor applied to every budget in builds without optimisation
    /// (`unoptimized-multiplier`).
    pub unoptimized_multiplier: u64,
    /// Whether panic paths count (`panic`); applied by the binary front end.
    pub panic: PanicPaths,
    /// `external`, `indirect` and `recursion` tables.
    pub assumptions: Assumptions,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_budget: u64::from(DEFAULT_BUDGET_BYTES),
            unoptimized_multiplier: u64::from(UNOPTIMIZED_MULTIPLIER),
            panic: PanicPaths::Count,
            assumptions: Assumptions::default(),
        }
    }
}

/// An error in a manifest or its `nosplit` metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The manifest.
    pub file: PathBuf,
    /// What is wrong and what to do.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.reason)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The budget of a root in bytes: `declared`, or the default when `None`, multiplied when
    /// the build is not optimised. Saturates rather than overflows.
    pub fn budget(&self, declared: Option<u64>, optimized: bool) -> u64 {
        let base = declared.unwrap_or(self.default_budget);
        if optimized {
            base
        } else {
            base.saturating_mul(self.unoptimized_multiplier)
        }
    }

    /// Loads the configuration for the package whose manifest is `manifest`: its
    /// `[package.metadata.nosplit]` over the `[workspace.metadata.nosplit]` of the nearest
    /// manifest at or above it that has a `[workspace]` table.
    pub fn load(manifest: &Path) -> Result<Config, ConfigError> {
        let package = read_manifest(manifest)?;
        let mut config = Config::default();
        if package.contains_key("workspace") {
            config.apply(workspace_table(&package), manifest)?;
        } else if let Some((root, table)) = find_workspace_root(manifest)? {
            config.apply(workspace_table(&table), &root)?;
        }
        config.apply(package_table(&package), manifest)?;
        Ok(config)
    }

    /// Builds a configuration from already parsed manifests (`workspace` then `package`
    /// metadata tables, i.e. the tables named `nosplit`); `origin` names the file in errors.
    pub fn from_tables(
        workspace: Option<&toml::Table>,
        package: Option<&toml::Table>,
        origin: &Path,
    ) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        config.apply(workspace, origin)?;
        config.apply(package, origin)?;
        Ok(config)
    }

    /// Applies one `nosplit` metadata table over this configuration.
    fn apply(&mut self, table: Option<&toml::Table>, file: &Path) -> Result<(), ConfigError> {
        let Some(table) = table else { return Ok(()) };
        let err = |reason: String| ConfigError {
            file: file.to_path_buf(),
            reason,
        };
        for (key, value) in table {
            match key.as_str() {
                "default-budget" => self.default_budget = bytes(key, value).map_err(err)?,
                "unoptimized-multiplier" => {
                    let m = bytes(key, value).map_err(err)?;
                    if m == 0 {
                        return Err(err(
                            "metadata.nosplit.unoptimized-multiplier must be at least 1".into(),
                        ));
                    }
                    self.unoptimized_multiplier = m;
                }
                "panic" => {
                    self.panic = match value.as_str() {
                        Some("count") => PanicPaths::Count,
                        Some("stop") => PanicPaths::Stop,
                        _ => {
                            return Err(err(format!(
                                "metadata.nosplit.panic must be \"count\" or \"stop\", not {value}"
                            )))
                        }
                    }
                }
                "external" | "indirect" | "recursion" => {
                    let target = match key.as_str() {
                        "external" => &mut self.assumptions.external,
                        "indirect" => &mut self.assumptions.indirect,
                        _ => &mut self.assumptions.recursion,
                    };
                    let Some(entries) = value.as_table() else {
                        return Err(err(format!(
                            "metadata.nosplit.{key} must be a table of \"function name\" = number"
                        )));
                    };
                    for (name, n) in entries {
                        let n = bytes(&format!("{key}.\"{name}\""), n).map_err(err)?;
                        if key == "recursion" && n == 0 {
                            return Err(err(format!(
                                "metadata.nosplit.recursion.\"{name}\" must be at least 1 \
                                 (the number of times a function of the cycle can be on the stack)"
                            )));
                        }
                        target.insert(name.clone(), n);
                    }
                }
                other => {
                    return Err(err(format!(
                        "unknown key metadata.nosplit.{other} (known: default-budget, \
                         unoptimized-multiplier, panic, external, indirect, recursion; \
                         see docs/CONFIG.md)"
                    )))
                }
            }
        }
        Ok(())
    }
}

/// A non-negative integer value of `key`.
fn bytes(key: &str, value: &toml::Value) -> Result<u64, String> {
    match value.as_integer() {
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(format!(
            "metadata.nosplit.{key} must be a non-negative integer, not {value}"
        )),
    }
}

fn read_manifest(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        reason: format!("cannot read the manifest: {e}"),
    })?;
    text.parse::<toml::Table>().map_err(|e| ConfigError {
        file: path.to_path_buf(),
        reason: format!("not a valid manifest: {}", e.message()),
    })
}

/// The nearest manifest above `manifest`'s directory that has a `[workspace]` table.
fn find_workspace_root(manifest: &Path) -> Result<Option<(PathBuf, toml::Table)>, ConfigError> {
    let dir = manifest
        .canonicalize()
        .unwrap_or_else(|_| manifest.to_path_buf());
    let mut dir = dir.parent().and_then(Path::parent);
    while let Some(d) = dir {
        let candidate = d.join("Cargo.toml");
        if candidate.is_file() {
            let table = read_manifest(&candidate)?;
            if table.contains_key("workspace") {
                return Ok(Some((candidate, table)));
            }
        }
        dir = d.parent();
    }
    Ok(None)
}

fn metadata_table<'a>(manifest: &'a toml::Table, section: &str) -> Option<&'a toml::Table> {
    manifest
        .get(section)?
        .get("metadata")?
        .get("nosplit")?
        .as_table()
}

fn workspace_table(manifest: &toml::Table) -> Option<&toml::Table> {
    metadata_table(manifest, "workspace")
}

fn package_table(manifest: &toml::Table) -> Option<&toml::Table> {
    metadata_table(manifest, "package")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(ws: &str, pkg: &str) -> Result<Config, ConfigError> {
        let ws: toml::Table = ws.parse().unwrap();
        let pkg: toml::Table = pkg.parse().unwrap();
        Config::from_tables(Some(&ws), Some(&pkg), Path::new("Cargo.toml"))
    }

    #[test]
    fn defaults_match_the_runtime() {
        // The runtime guard and the checker must agree on the defaults (SPEC §2).
        let c = Config::default();
        assert_eq!(c.default_budget, 2048);
        assert_eq!(c.default_budget, u64::from(DEFAULT_BUDGET_BYTES));
        assert_eq!(c.unoptimized_multiplier, 4);
        assert_eq!(c.panic, PanicPaths::Count);
    }

    #[test]
    fn package_overrides_workspace_and_tables_merge() {
        let c = parse(
            "default-budget = 4096\npanic = \"stop\"\n[external]\nmemcpy = 64\nmemset = 32\n",
            "default-budget = 512\n[external]\nmemcpy = 128\n[recursion]\n\"a::walk\" = 8\n",
        )
        .unwrap();
        assert_eq!(c.default_budget, 512);
        assert_eq!(c.panic, PanicPaths::Stop);
        assert_eq!(c.assumptions.external["memcpy"], 128);
        assert_eq!(c.assumptions.external["memset"], 32);
        assert_eq!(c.assumptions.recursion["a::walk"], 8);
        assert_eq!(c.budget(None, true), 512);
        assert_eq!(c.budget(Some(100), false), 400);
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        for (pkg, needle) in [
            ("default-budget = -1", "non-negative"),
            ("default-budget = \"big\"", "non-negative"),
            ("unoptimized-multiplier = 0", "at least 1"),
            ("panic = \"maybe\"", "\"count\" or \"stop\""),
            ("external = 3", "table"),
            ("[indirect]\nf = 1.5", "indirect.\"f\""),
            ("[recursion]\nf = 0", "at least 1"),
            ("defualt-budget = 1", "unknown key"),
        ] {
            let e = parse("", pkg).unwrap_err();
            assert!(e.reason.contains(needle), "{pkg}: {e}");
        }
    }

    #[test]
    fn loads_the_workspace_manifest_above_a_member() {
        let dir = std::env::temp_dir().join(format!("nosplit-config-{}", std::process::id()));
        let member = dir.join("member");
        std::fs::create_dir_all(&member).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[workspace]\nmembers=[\"member\"]\n[workspace.metadata.nosplit]\ndefault-budget = 4096\nunoptimized-multiplier = 8\n",
        )
        .unwrap();
        std::fs::write(
            member.join("Cargo.toml"),
            "[package]\nname=\"m\"\n[package.metadata.nosplit]\ndefault-budget = 1024\n",
        )
        .unwrap();
        let c = Config::load(&member.join("Cargo.toml")).unwrap();
        let ws = Config::load(&dir.join("Cargo.toml")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((c.default_budget, c.unoptimized_multiplier), (1024, 8));
        assert_eq!((ws.default_budget, ws.unoptimized_multiplier), (4096, 8));
        let missing = Config::load(Path::new("/nonexistent/Cargo.toml")).unwrap_err();
        assert!(missing.reason.contains("cannot read"));
    }
}
