//! Table-driven tests of the analysis over the descriptions in `tests/graphs/`.
//!
//! Each file states its expectations in comments, worked out by hand next to them:
//!
//! - `#= exit 0|1`: the verdict (0 accepted, 1 rejected);
//! - `#= root NAME ok|over|unbounded|missing [WORST]`;
//! - `#= worst NAME N|unbounded`: worst(NAME) of any function;
//! - `#= cause NAME cycle F G...|indirect F|external F|dynamic-sp F`: why NAME is unbounded;
//! - `#= causes ROOT CAUSE, CAUSE...`: every cause the root reaches, in the report's order;
//! - `#= warning TEXT`: some warning contains TEXT;
//! - `#! assume external|indirect|recursion NAME N`: an assumption, as `Cargo.toml` would give.
//!
//! Besides, every root's worst path must add up to its worst.

use std::path::Path;

use cargo_nosplit::analysis::{analyze, Analysis, Cause, Status, Worst};
use cargo_nosplit::config::Assumptions;
use cargo_nosplit::describe;
use cargo_nosplit::graph::{CallGraph, FuncId};

fn id(graph: &CallGraph, name: &str, file: &str) -> FuncId {
    let i = graph
        .functions
        .iter()
        .position(|f| f.name == name)
        .unwrap_or_else(|| panic!("{file}: no function {name}"));
    FuncId(i as u32)
}

fn cause_words(graph: &CallGraph, cause: &Cause) -> String {
    let name = |f: FuncId| graph.function(f).name.clone();
    match cause {
        Cause::Cycle { cycle } => {
            let names: Vec<String> = cycle.iter().map(|&f| name(f)).collect();
            format!("cycle {}", names.join(" "))
        }
        Cause::Indirect { function, .. } => format!("indirect {}", name(*function)),
        Cause::External { function } => format!("external {}", name(*function)),
        Cause::DynamicSp { function, .. } => format!("dynamic-sp {}", name(*function)),
    }
}

/// Checks that each bounded root's path adds up to its worst.
fn check_paths(graph: &CallGraph, analysis: &Analysis, file: &str) {
    for v in &analysis.roots {
        if let Some(w) = v.worst {
            let sum = v.path.iter().fold(0u64, |s, st| {
                s.saturating_add(st.enter).saturating_add(st.uses)
            });
            assert_eq!(
                sum, w,
                "{file}: path of {} adds up to {sum}, worst is {w}: {:?}",
                graph.roots[v.root].name, v.path
            );
        }
    }
}

fn run(path: &Path) {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    let graph = describe::parse(&text, &file).unwrap_or_else(|e| panic!("{e}"));
    let mut assumptions = Assumptions::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#! assume ") {
            let w: Vec<&str> = rest.split_whitespace().collect();
            let table = match w[0] {
                "external" => &mut assumptions.external,
                "indirect" => &mut assumptions.indirect,
                "recursion" => &mut assumptions.recursion,
                other => panic!("{file}: unknown assumption {other}"),
            };
            table.insert(w[1].to_string(), w[2].parse().unwrap());
        }
    }
    let analysis = analyze(&graph, &assumptions);
    check_paths(&graph, &analysis, &file);
    let mut checked = 0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("#= ") else {
            continue;
        };
        checked += 1;
        let w: Vec<&str> = rest.split_whitespace().collect();
        match w[0] {
            "exit" => {
                let want = w[1] == "0";
                assert_eq!(analysis.accepted(), want, "{file}: {line}");
            }
            "root" => {
                let (i, _) = graph
                    .roots
                    .iter()
                    .enumerate()
                    .find(|(_, r)| r.name == w[1])
                    .unwrap_or_else(|| panic!("{file}: no root {}", w[1]));
                let v = &analysis.roots[i];
                assert_eq!(v.status.as_str(), w[2], "{file}: {line}");
                if let Some(n) = w.get(3) {
                    assert_eq!(v.worst, Some(n.parse().unwrap()), "{file}: {line}");
                }
                if v.status == Status::Unbounded {
                    assert!(v.cause.is_some(), "{file}: {line}: no cause");
                }
            }
            "worst" => {
                let f = id(&graph, w[1], &file);
                let got = analysis.worst[f.index()];
                match w[2] {
                    "unbounded" => {
                        assert!(
                            matches!(got, Worst::Unbounded(_)),
                            "{file}: {line}: {got:?}"
                        )
                    }
                    n => assert_eq!(got, Worst::Bounded(n.parse().unwrap()), "{file}: {line}"),
                }
            }
            "cause" => {
                let f = id(&graph, w[1], &file);
                let Worst::Unbounded(c) = analysis.worst[f.index()] else {
                    panic!("{file}: {line}: {} is bounded", w[1]);
                };
                assert_eq!(
                    cause_words(&graph, analysis.cause(c)),
                    w[2..].join(" "),
                    "{file}: {line}"
                );
            }
            "causes" => {
                let v = analysis
                    .roots
                    .iter()
                    .find(|v| graph.roots[v.root].name == w[1])
                    .unwrap_or_else(|| panic!("{file}: no root {}", w[1]));
                let got: Vec<String> = v
                    .causes
                    .iter()
                    .map(|&c| cause_words(&graph, analysis.cause(c)))
                    .collect();
                assert_eq!(got.join(", "), w[2..].join(" "), "{file}: {line}");
                assert_eq!(v.causes.first().copied(), v.cause, "{file}: {line}");
            }
            "warning" => {
                let want = w[1..].join(" ");
                assert!(
                    analysis.warnings.iter().any(|x| x.contains(&want)),
                    "{file}: {line}: warnings {:?}",
                    analysis.warnings
                );
            }
            other => panic!("{file}: unknown expectation {other}"),
        }
    }
    assert!(checked > 0, "{file} states no expectation");
}

#[test]
fn every_graph_meets_its_stated_expectations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graphs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "graph"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "graphs missing from {}", dir.display());
    for f in &files {
        run(f);
    }
}
