//! `cargo nosplit`: parses arguments, obtains a call graph (description, ELF file, or a build),
//! analyses it and prints the report. Exit status: 0 accepted, 1 rejected, 2 unusable input.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cargo_nosplit::analysis::analyze;
use cargo_nosplit::cli::{Args, Format};
use cargo_nosplit::config::Config;
use cargo_nosplit::graph::CallGraph;
use cargo_nosplit::{describe, report};

/// Unusable input or bad usage: one line on stderr, exit 2.
struct Unusable(String);

fn main() -> ExitCode {
    let args = Args::parse_from_env();
    match run(&args) {
        Ok(code) => code,
        Err(Unusable(reason)) => {
            // One line; for descriptions `FILE:LINE: reason`, as compilers print.
            eprintln!("{reason}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<ExitCode, Unusable> {
    let config = match (&args.manifest_path, &args.graph) {
        (Some(manifest), _) => Config::load(manifest).map_err(|e| Unusable(e.to_string()))?,
        // A description is a model of its own: the surrounding package's configuration
        // applies only when asked for with --manifest-path.
        (None, Some(_)) => Config::default(),
        // Like cargo, the package is the nearest Cargo.toml at or above the current directory.
        (None, None) => match find_manifest() {
            Some(p) => Config::load(&p).map_err(|e| Unusable(e.to_string()))?,
            None => Config::default(),
        },
    };
    let (graph, config) = match &args.graph {
        Some(path) => (read_graph(path)?, config),
        None => check_binary(args, config)?,
    };
    graph
        .validate()
        .map_err(|e| Unusable(format!("cargo nosplit: inconsistent call graph: {e}")))?;
    let analysis = analyze(&graph, &config.assumptions);
    if args.verbose > 0 {
        eprintln!(
            "nosplit: {} functions, {} edges, {} roots",
            graph.functions.len(),
            graph.functions.iter().map(|f| f.edges.len()).sum::<usize>(),
            graph.roots.len()
        );
    }
    for w in &analysis.warnings {
        eprintln!("warning: {w}");
    }
    let text = match args.format {
        Format::Human => report::human(&graph, &analysis, args.all),
        Format::Json => report::json(&graph, &analysis, args.all),
    };
    print!("{text}");
    Ok(if analysis.accepted() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The nearest `Cargo.toml` at or above the current directory.
fn find_manifest() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|d| d.join("Cargo.toml"))
        .find(|p| p.is_file())
}

/// `--graph PATH`: a call-graph description (SPEC §3).
/// `-` reads standard input (named `<stdin>` in errors), for what-if models piped in.
fn read_graph(path: &Path) -> Result<CallGraph, Unusable> {
    let (text, name) = if path == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| Unusable(format!("<stdin>: cannot read: {e}")))?;
        (text, "<stdin>".to_string())
    } else {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Unusable(format!("{}: cannot read: {e}", path.display())))?;
        (text, path.display().to_string())
    };
    describe::parse(&text, &name).map_err(|e| Unusable(e.to_string()))
}

/// `--binary PATH`, or building the selected target (`--bin`, `--example`, `--test`, `--lib`,
/// `-p`, `--profile`, features): the call graph of an ELF file, with the registry's roots and
/// their budgets (defaults and the unoptimised multiplier of `config` applied).
///
/// `config` is the configuration of the manifest given or found; a built target is checked
/// with its own package's (with `-p`, the selected package's), which is returned with the graph.
fn check_binary(args: &Args, config: Config) -> Result<(CallGraph, Config), Unusable> {
    use cargo_nosplit::config::PanicPaths;
    use cargo_nosplit::{build, elf};
    // A prebuilt file's profile is unknown: budgets are taken as for an optimised build (the
    // stricter reading).
    let (path, optimized, config) = match &args.binary {
        Some(p) => (p.clone(), true, config),
        None => {
            let b = build::build(args).map_err(|e| Unusable(format!("cargo nosplit: {e}")))?;
            let config = match &b.manifest_path {
                Some(m) => Config::load(m).map_err(|e| Unusable(e.to_string()))?,
                None => config,
            };
            (b.path, b.optimized, config)
        }
    };
    let opts = elf::Options {
        default_budget: config.budget(None, true),
        budget_multiplier: if optimized {
            1
        } else {
            config.budget(Some(1), false)
        },
        panic: match config.panic {
            PanicPaths::Count => elf::PanicMode::Follow,
            PanicPaths::Stop => elf::PanicMode::Stop,
        },
        cross_check: args.verbose > 0,
        // Built-in libc bounds, except where the configuration assumes its own.
        external_bounds: elf::LIBC_BOUNDS
            .iter()
            .filter(|(n, _)| !config.assumptions.external.contains_key(*n))
            .map(|&(n, b)| (n.to_string(), b))
            .collect(),
    };
    let out = elf::load(&path, &opts)
        .map_err(|e| Unusable(format!("cargo nosplit: {}: {e}", path.display())))?;
    if args.verbose > 0 {
        eprintln!(
            "nosplit: {}: {} functions, {} instructions, {} jump tables; panic paths: {}",
            path.display(),
            out.stats.functions,
            out.stats.instructions,
            out.stats.jump_tables,
            match out.panic_mode {
                elf::PanicMode::Follow => "counted (panic = \"count\")",
                elf::PanicMode::Stop => "end at the panic entry (panic = \"stop\")",
            }
        );
        for d in &out.diagnostics {
            eprintln!("nosplit: {d}");
        }
        // Panic paths, apart: the roots from which the panic machinery can be reached.
        let g = &out.graph;
        let entries: std::collections::HashSet<_> = out.panic_entries.iter().copied().collect();
        for root in &g.roots {
            let Some(start) = root.function else { continue };
            let mut seen = vec![false; g.functions.len()];
            let mut stack = vec![start];
            let mut reached = Vec::new();
            while let Some(f) = stack.pop() {
                if std::mem::replace(&mut seen[f.index()], true) {
                    continue;
                }
                if entries.contains(&f) {
                    reached.push(g.function(f).name.as_str());
                    continue;
                }
                for e in &g.function(f).edges {
                    if let cargo_nosplit::graph::EdgeTarget::Call(t)
                    | cargo_nosplit::graph::EdgeTarget::Tail(t) = e.target
                    {
                        stack.push(t);
                    }
                }
            }
            if !reached.is_empty() {
                reached.sort_unstable();
                eprintln!(
                    "nosplit: panic paths from {}: into {} ({})",
                    root.name,
                    reached.join(", "),
                    match out.panic_mode {
                        elf::PanicMode::Follow => "followed",
                        elf::PanicMode::Stop => "ended there, frame counted",
                    }
                );
            }
        }
    }
    Ok((out.graph, config))
}
