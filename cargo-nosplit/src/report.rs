//! Reports of an [`Analysis`] (SPEC §5): the Go-linker trace of every failing root and the
//! table of a passing run ([`human`]), and JSON version 1 ([`json`]).

use std::collections::HashSet;
use std::fmt::Write;

use serde::Serialize;

use crate::analysis::{Analysis, Cause, RootVerdict, Status, Step, StepKind};
use crate::graph::{CallGraph, FuncId, FunctionKind, Root};

/// The human report: a Go-linker trace for every failing root; when no root fails, the table
/// of roots (function, budget, worst, headroom, location). Then, in either case, the roots
/// that are `missing` with what to do, and, when the input knew about panics (a binary), the
/// panic setting in use and the roots whose worst path is a panic path. `all` adds the table
/// of every function (address, frame, worst).
pub fn human(graph: &CallGraph, analysis: &Analysis, all: bool) -> String {
    let mut out = String::new();
    if analysis.accepted() {
        roots_table(graph, analysis, &mut out);
    } else {
        let mut first = true;
        for v in analysis.roots.iter().filter(|v| v.status.fails()) {
            if !first {
                out.push('\n');
            }
            first = false;
            trace(graph, analysis, v, &mut out);
        }
    }
    missing_roots(graph, analysis, &mut out);
    panic_paths(graph, analysis, &mut out);
    if all {
        out.push('\n');
        functions_table(graph, analysis, &mut out);
    }
    out
}

/// Why a `missing` root has nothing to check, and what to do about it.
const MISSING: &str = "no code of its own in the binary (inlined into its callers); add \
                       #[inline(never)] so that its budget can be checked";

/// One line per `missing` root: it passes (there is no code to check) but must not go
/// unnoticed, since its budget then guards nothing.
fn missing_roots(graph: &CallGraph, analysis: &Analysis, out: &mut String) {
    let mut first = true;
    for v in analysis
        .roots
        .iter()
        .filter(|v| v.status == Status::Missing)
    {
        if first {
            out.push('\n');
            first = false;
        }
        let root = &graph.roots[v.root];
        let at = location(root)
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        let _ = writeln!(out, "{}: missing: {MISSING}{at}", root.name);
    }
}

/// The panic setting in use and the roots whose worst path goes through a panic entry, when
/// the graph knows about panics; nothing otherwise.
fn panic_paths(graph: &CallGraph, analysis: &Analysis, out: &mut String) {
    let Some(panics) = &graph.panics else { return };
    let _ = writeln!(
        out,
        "\npanic paths: {}",
        if panics.stop {
            "end at the panic entry (panic = \"stop\")"
        } else {
            "counted (panic = \"count\")"
        }
    );
    let through = panic_entries_on_paths(graph, analysis);
    if through.iter().all(Option::is_none) {
        out.push_str("no root's worst path is a panic path\n");
        return;
    }
    out.push_str("roots whose worst path is a panic path:\n");
    for (v, entry) in analysis.roots.iter().zip(&through) {
        if let Some(entry) = entry {
            let _ = writeln!(
                out,
                "  {} (through {})",
                graph.roots[v.root].name,
                graph.function(*entry).name
            );
        }
    }
    // Under "count" a panic path usually runs into the panic hook's indirect calls: say which
    // setting would stop there, rather than leave only the std-internal assumptions to try.
    let unbounded_by_panic = analysis
        .roots
        .iter()
        .zip(&through)
        .any(|(v, entry)| v.status == Status::Unbounded && entry.is_some());
    if !panics.stop && unbounded_by_panic {
        out.push_str(
            "hint: a root above is unbounded on its panic path; if a panic is fatal where it \
             runs, set panic = \"stop\" in [package.metadata.nosplit] to count panic paths up \
             to the panic entry (docs/CONFIG.md)\n",
        );
    }
}

/// For each verdict of `analysis`, the first panic entry on its worst path (`None` when the
/// path has none or the graph knows nothing of panics).
fn panic_entries_on_paths(graph: &CallGraph, analysis: &Analysis) -> Vec<Option<FuncId>> {
    let entries: HashSet<FuncId> = graph
        .panics
        .iter()
        .flat_map(|p| p.entries.iter().copied())
        .collect();
    analysis
        .roots
        .iter()
        .map(|v| {
            v.path.iter().find_map(|s| match s.kind {
                StepKind::Function(f) if entries.contains(&f) => Some(f),
                _ => None,
            })
        })
        .collect()
}

/// The sentence that explains an unbounded result, with what to do about it.
pub fn cause_text(graph: &CallGraph, cause: &Cause) -> String {
    let name = |id: FuncId| graph.function(id).name.as_str();
    match cause {
        Cause::Cycle { cycle } => {
            // A long cycle is named by its first functions.
            let mut names: Vec<&str> = cycle.iter().take(16).map(|&f| name(f)).collect();
            let more = format!("... ({} functions)", cycle.len());
            if cycle.len() > 16 {
                names.push(&more);
            }
            names.push(name(cycle[0]));
            format!(
                "recursion {} has no bound; bound it with [package.metadata.nosplit.recursion] \"{}\" = DEPTH",
                names.join(" -> "),
                name(cycle[0])
            )
        }
        Cause::Indirect { function, site, .. } => format!(
            "indirect call in {}{} has no bound; assume one with [package.metadata.nosplit.indirect] \"{}\" = BYTES",
            name(*function),
            site.map(|s| format!(" at {s:#x}")).unwrap_or_default(),
            name(*function)
        ),
        Cause::External { function } => format!(
            "{} is external, with no code to measure; assume its worst with [package.metadata.nosplit.external] \"{}\" = BYTES",
            name(*function),
            name(*function)
        ),
        Cause::DynamicSp { function, site } => format!(
            "{} moves the stack pointer by a computed amount{}; its frame has no bound",
            name(*function),
            if *site != 0 {
                format!(" at {site:#x}")
            } else {
                String::new()
            }
        ),
    }
}

fn location(root: &Root) -> Option<String> {
    root.location
        .as_ref()
        .map(|l| format!("{}:{}", l.file, l.line))
}

/// How a step is named in a trace's "on entry to" line and its "after ... uses" line.
fn step_names(graph: &CallGraph, step: &Step) -> (String, String) {
    match &step.kind {
        StepKind::Function(f) => {
            let func = graph.function(*f);
            let after = match func.kind {
                FunctionKind::External => format!("{} (assumed)", func.name),
                FunctionKind::Grows => format!("{} (before switching stacks)", func.name),
                FunctionKind::Code => func.name.clone(),
            };
            (func.name.clone(), after)
        }
        StepKind::Indirect { caller, site } => {
            let at = site.map(|s| format!(" at {s:#x}")).unwrap_or_default();
            (
                format!(
                    "the target of the indirect call in {}{at}",
                    graph.function(*caller).name
                ),
                "that target (assumed bound)".to_string(),
            )
        }
        StepKind::Recursion {
            entry,
            members,
            size,
            bound,
            pass,
        } => (
            graph.function(*entry).name.clone(),
            format!(
                "the recursion through {} (each entered at most {bound} times, at most {pass} \
                 bytes per pass, assumed)",
                member_list(graph, members, *size)
            ),
        ),
    }
}

/// `a, b, c` or, for a cycle larger than the members listed, `a, b, ... (N functions)`.
fn member_list(graph: &CallGraph, members: &[FuncId], size: usize) -> String {
    let mut names: Vec<&str> = members
        .iter()
        .map(|&m| graph.function(m).name.as_str())
        .collect();
    if size > members.len() {
        names.push("...");
        return format!("{} ({size} functions)", names.join(", "));
    }
    names.join(", ")
}

/// The name a step has in JSON.
fn step_function(graph: &CallGraph, step: &Step) -> String {
    match &step.kind {
        StepKind::Function(f) => graph.function(*f).name.clone(),
        StepKind::Indirect { caller, .. } => {
            format!("<indirect call in {}>", graph.function(*caller).name)
        }
        StepKind::Recursion {
            members,
            size,
            bound,
            ..
        } => format!(
            "<recursion of {}, depth {bound}>",
            member_list(graph, members, *size)
        ),
    }
}

/// How many further causes of an unbounded root the human report lists.
const MORE_CAUSES: usize = 10;

/// One failing root in Go's linker format.
fn trace(graph: &CallGraph, analysis: &Analysis, v: &RootVerdict, out: &mut String) {
    let root = &graph.roots[v.root];
    let unbounded = v.status == Status::Unbounded;
    let _ = writeln!(
        out,
        "{}: nosplit stack {}",
        root.name,
        if unbounded { "unbounded" } else { "overflow" }
    );
    // i128: a budget minus a saturated worst stays exact.
    let mut left = i128::from(root.budget);
    let last = v.path.len().saturating_sub(1);
    for (i, step) in v.path.iter().enumerate() {
        let (entry_name, after_name) = step_names(graph, step);
        if i == 0 {
            let at = location(root)
                .map(|l| format!(" ({l})"))
                .unwrap_or_default();
            let _ = writeln!(out, "\t{left}\tassumed on entry to {}{at}", root.name);
        } else {
            left -= i128::from(step.enter);
            let _ = writeln!(out, "\t{left}\ton entry to {entry_name}");
        }
        // The root's own step goes by the root's name, as in its first line.
        let after_name = match step.kind {
            StepKind::Function(_) if i == 0 => root.name.clone(),
            _ => after_name,
        };
        if unbounded && i == last {
            if let Some(c) = v.cause {
                let cause = analysis.cause(c);
                if let Cause::Indirect { depth, .. } = cause {
                    left -= i128::from(*depth);
                    let _ = writeln!(out, "\t{left}\tafter {after_name} uses {depth}");
                }
                let _ = writeln!(out, "\t\t{}", cause_text(graph, cause));
            }
            // The other unknowns the root reaches: fixing one should not hide the next.
            let others = &v.causes[v.causes.len().min(1)..];
            for &c in others.iter().take(MORE_CAUSES) {
                let _ = writeln!(out, "\t\talso: {}", cause_text(graph, analysis.cause(c)));
            }
            if others.len() > MORE_CAUSES {
                let _ = writeln!(
                    out,
                    "\t\t... and {} more (--format json lists them all)",
                    others.len() - MORE_CAUSES
                );
            }
            if !v.causes_complete {
                out.push_str("\t\t(the search for further causes stopped: the graph is large)\n");
            }
        } else {
            left -= i128::from(step.uses);
            let _ = writeln!(out, "\t{left}\tafter {after_name} uses {}", step.uses);
        }
    }
}

/// The widest a table pads a column to. A longer cell (a long C++ or generic Rust name)
/// overflows its own line instead of padding every other line to its width.
const MAX_COLUMN: usize = 60;

/// Columns padded to their widest cell, at most [`MAX_COLUMN`] characters; `right[c]`
/// right-aligns column `c` (numbers).
fn table(rows: &[Vec<String>], right: &[bool], out: &mut String) {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .filter(|&w| w <= MAX_COLUMN)
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            if right.get(c).copied().unwrap_or(false) {
                let _ = write!(line, "{cell:>w$}", w = widths[c]);
            } else {
                let _ = write!(line, "{cell:<w$}", w = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

fn roots_table(graph: &CallGraph, analysis: &Analysis, out: &mut String) {
    if analysis.roots.is_empty() {
        out.push_str("no roots to check\n");
        return;
    }
    let mut rows = vec![["function", "budget", "worst", "headroom", "location"]
        .map(String::from)
        .to_vec()];
    for v in &analysis.roots {
        let root = &graph.roots[v.root];
        let (worst, headroom) = match v.worst {
            Some(w) => (
                w.to_string(),
                (i128::from(root.budget) - i128::from(w)).to_string(),
            ),
            None => (v.status.as_str().to_string(), "-".to_string()),
        };
        rows.push(vec![
            root.name.clone(),
            root.budget.to_string(),
            worst,
            headroom,
            location(root).unwrap_or_else(|| "-".into()),
        ]);
    }
    table(&rows, &[false, true, true, true, false], out);
}

fn functions_table(graph: &CallGraph, analysis: &Analysis, out: &mut String) {
    let mut rows = vec![["function", "address", "frame", "worst"]
        .map(String::from)
        .to_vec()];
    for (f, w) in graph.functions.iter().zip(&analysis.worst) {
        rows.push(vec![
            f.name.clone(),
            f.address
                .map(|a| format!("{a:#x}"))
                .unwrap_or_else(|| "-".into()),
            f.frame.to_string(),
            w.bytes()
                .map(|w| w.to_string())
                .unwrap_or_else(|| "unbounded".into()),
        ]);
    }
    table(&rows, &[false, true, true, true], out);
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    callsize: u64,
    accepted: bool,
    roots: Vec<JsonRoot<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    panic: Option<JsonPanic<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    functions: Option<Vec<JsonFunction<'a>>>,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct JsonRoot<'a> {
    name: &'a str,
    file: Option<&'a str>,
    line: Option<u32>,
    budget: u64,
    worst: Option<u64>,
    status: &'static str,
    reason: Option<String>,
    causes: Vec<String>,
    causes_complete: bool,
    path: Vec<JsonStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    panic_path: Option<bool>,
}

#[derive(Serialize)]
struct JsonPanic<'a> {
    mode: &'static str,
    roots: Vec<&'a str>,
}

#[derive(Serialize)]
struct JsonStep {
    function: String,
    uses: u64,
    enter: u64,
}

#[derive(Serialize)]
struct JsonFunction<'a> {
    name: &'a str,
    address: Option<u64>,
    frame: u64,
    worst: Option<u64>,
}

/// The JSON report, version 1 (SPEC §5), pretty-printed, ending in a newline. Besides the
/// fields of SPEC §5 it has `accepted` (the verdict), `warnings`, `causes` in each root (every
/// unknown an unbounded root reaches, its `reason` first; `causes_complete` false when the
/// search was cut short on a huge graph), and `enter` in each path step
/// (bytes the transfer into the step pushes). When the graph knows about panics (a binary),
/// `panic` gives the setting in use (`mode`: `count` or `stop`) and the `roots` whose worst
/// path goes through a panic entry, and each root has `panic_path`.
pub fn json(graph: &CallGraph, analysis: &Analysis, all: bool) -> String {
    let through = panic_entries_on_paths(graph, analysis);
    let roots = analysis
        .roots
        .iter()
        .zip(&through)
        .map(|(v, through)| {
            let root = &graph.roots[v.root];
            let reason = match v.status {
                Status::Ok => None,
                Status::Over => Some(format!(
                    "worst {} exceeds budget {} by {}",
                    v.worst.unwrap_or(0),
                    root.budget,
                    v.worst.unwrap_or(0).saturating_sub(root.budget)
                )),
                Status::Unbounded => v.cause.map(|c| cause_text(graph, analysis.cause(c))),
                Status::Missing => Some(MISSING.to_string()),
            };
            JsonRoot {
                name: &root.name,
                file: root.location.as_ref().map(|l| l.file.as_str()),
                line: root.location.as_ref().map(|l| l.line),
                budget: root.budget,
                worst: v.worst,
                status: v.status.as_str(),
                reason,
                causes: v
                    .causes
                    .iter()
                    .map(|&c| cause_text(graph, analysis.cause(c)))
                    .collect(),
                causes_complete: v.causes_complete,
                path: v
                    .path
                    .iter()
                    .map(|s| JsonStep {
                        function: step_function(graph, s),
                        uses: s.uses,
                        enter: s.enter,
                    })
                    .collect(),
                panic_path: graph.panics.as_ref().map(|_| through.is_some()),
            }
        })
        .collect();
    let panic = graph.panics.as_ref().map(|p| JsonPanic {
        mode: if p.stop { "stop" } else { "count" },
        roots: analysis
            .roots
            .iter()
            .zip(&through)
            .filter(|(_, t)| t.is_some())
            .map(|(v, _)| graph.roots[v.root].name.as_str())
            .collect(),
    });
    let functions = all.then(|| {
        graph
            .functions
            .iter()
            .zip(&analysis.worst)
            .map(|(f, w)| JsonFunction {
                name: &f.name,
                address: f.address,
                frame: f.frame,
                worst: w.bytes(),
            })
            .collect()
    });
    let report = JsonReport {
        version: 1,
        callsize: graph.callsize,
        accepted: analysis.accepted(),
        roots,
        panic,
        functions,
        warnings: &analysis.warnings,
    };
    let mut s = serde_json::to_string_pretty(&report).unwrap_or_else(|e| {
        // Serialising plain structs of strings and numbers cannot fail; say so if it does.
        format!("{{\"version\": 1, \"error\": \"{e}\"}}")
    });
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze;
    use crate::config::Assumptions;
    use crate::graph::{Edge, EdgeTarget, Function, Location, Panics};

    /// `r` reaches the panic machinery through `mid`; `q` does not; `gone` was inlined
    /// everywhere. By hand: mid = max(32, 24 + 8 + 100, 16 + 8 + 10) = 132,
    /// r = max(16, 8 + 8 + 132) = 148, q = max(8, 0 + 8 + 10) = 18.
    fn graph(r_budget: u64, panics: Option<Panics>) -> CallGraph {
        let mut g = CallGraph::new(8);
        let call = |t, depth| Edge {
            target: EdgeTarget::Call(t),
            depth,
            site: None,
        };
        let panic = g.add(Function::new("core::panicking::panic_fmt", 100));
        let small = g.add(Function::new("small", 10));
        let mut mid = Function::new("mid", 32);
        mid.edges = vec![call(panic, 24), call(small, 16)];
        let mid = g.add(mid);
        let mut r = Function::new("r", 16);
        r.edges = vec![call(mid, 8)];
        let r = g.add(r);
        let mut q = Function::new("q", 8);
        q.edges = vec![call(small, 0)];
        let q = g.add(q);
        g.roots.push(Root::new("r", r_budget, Some(r)));
        g.roots.push(Root::new("q", 64, Some(q)));
        let mut gone = Root::new("gone", 32, None);
        gone.location = Some(Location {
            file: "src/a.rs".into(),
            line: 3,
        });
        g.roots.push(gone);
        g.panics = panics.map(|mut p| {
            p.entries = vec![panic];
            p
        });
        g
    }

    fn count() -> Option<Panics> {
        Some(Panics::default())
    }

    #[test]
    fn passing_report_states_the_panic_setting_and_lists_panic_paths_apart() {
        let g = graph(1000, count());
        let a = analyze(&g, &Assumptions::default());
        assert!(a.accepted(), "a missing root does not fail the run");
        assert_eq!(
            human(&g, &a, false),
            "function  budget    worst  headroom  location\n\
             r           1000      148       852  -\n\
             q             64       18        46  -\n\
             gone          32  missing         -  src/a.rs:3\n\
             \n\
             gone: missing: no code of its own in the binary (inlined into its callers); add \
             #[inline(never)] so that its budget can be checked (src/a.rs:3)\n\
             \n\
             panic paths: counted (panic = \"count\")\n\
             roots whose worst path is a panic path:\n\
             \x20 r (through core::panicking::panic_fmt)\n"
        );
    }

    #[test]
    fn unbounded_panic_path_under_count_suggests_the_stop_setting() {
        // The panic entry makes an unbounded indirect call (the panic hook): r is unbounded
        // through it under "count"; the hint names the setting. Not so when nothing is
        // unbounded, nor under "stop".
        let hook = |panics| {
            let mut g = graph(1000, panics);
            g.functions[0].edges.push(Edge {
                target: EdgeTarget::Indirect { bound: None },
                depth: 40,
                site: Some(0x40),
            });
            g
        };
        let g = hook(count());
        let a = analyze(&g, &Assumptions::default());
        assert!(human(&g, &a, false).contains("hint: a root above is unbounded on its panic path"));
        let g = graph(1000, count());
        let a = analyze(&g, &Assumptions::default());
        assert!(!human(&g, &a, false).contains("hint:"));
        let stop = Some(Panics {
            stop: true,
            entries: Vec::new(),
        });
        let g = hook(stop);
        let a = analyze(&g, &Assumptions::default());
        assert!(!human(&g, &a, false).contains("hint:"));
    }

    #[test]
    fn failing_report_keeps_the_trace_first_then_missing_and_panic_paths() {
        let stop = Some(Panics {
            stop: true,
            entries: Vec::new(),
        });
        let g = graph(100, stop);
        let a = analyze(&g, &Assumptions::default());
        assert!(!a.accepted());
        assert_eq!(
            human(&g, &a, false),
            "r: nosplit stack overflow\n\
             \t100\tassumed on entry to r\n\
             \t92\tafter r uses 8\n\
             \t84\ton entry to mid\n\
             \t60\tafter mid uses 24\n\
             \t52\ton entry to core::panicking::panic_fmt\n\
             \t-48\tafter core::panicking::panic_fmt uses 100\n\
             \n\
             gone: missing: no code of its own in the binary (inlined into its callers); add \
             #[inline(never)] so that its budget can be checked (src/a.rs:3)\n\
             \n\
             panic paths: end at the panic entry (panic = \"stop\")\n\
             roots whose worst path is a panic path:\n\
             \x20 r (through core::panicking::panic_fmt)\n"
        );
    }

    #[test]
    fn no_panic_path_is_said_and_no_panic_info_prints_nothing() {
        // Without mid's call into the panic machinery, r's worst path goes through small.
        let mut g = graph(1000, count());
        g.functions[2].edges.remove(0);
        let a = analyze(&g, &Assumptions::default());
        let text = human(&g, &a, false);
        assert!(
            text.ends_with(
                "\npanic paths: counted (panic = \"count\")\nno root's worst path is a panic path\n"
            ),
            "{text}"
        );
        let g = graph(1000, None);
        let a = analyze(&g, &Assumptions::default());
        let text = human(&g, &a, false);
        assert!(!text.contains("panic"), "{text}");
        assert!(text.contains("\ngone: missing: "), "{text}");
    }

    #[test]
    fn json_has_the_panic_setting_and_a_panic_path_flag_per_root() {
        let g = graph(100, count());
        let a = analyze(&g, &Assumptions::default());
        let v: serde_json::Value = serde_json::from_str(&json(&g, &a, false)).unwrap();
        assert_eq!(v["panic"]["mode"], "count");
        assert_eq!(v["panic"]["roots"], serde_json::json!(["r"]));
        let roots = v["roots"].as_array().unwrap();
        let flags: Vec<_> = roots.iter().map(|r| r["panic_path"].clone()).collect();
        assert_eq!(flags, [true, false, false]);
        assert_eq!(roots[2]["status"], "missing");
        assert!(roots[2]["worst"].is_null());
        assert!(roots[2]["reason"]
            .as_str()
            .unwrap()
            .contains("add #[inline(never)]"));
        assert_eq!(v["accepted"], false);

        let mut g = graph(1000, count());
        g.panics.as_mut().unwrap().stop = true;
        let a = analyze(&g, &Assumptions::default());
        let v: serde_json::Value = serde_json::from_str(&json(&g, &a, false)).unwrap();
        assert_eq!(v["panic"]["mode"], "stop");
        assert_eq!(v["accepted"], true);

        // Without panic info (descriptions): neither field.
        let g = graph(1000, None);
        let a = analyze(&g, &Assumptions::default());
        let v: serde_json::Value = serde_json::from_str(&json(&g, &a, false)).unwrap();
        assert!(v.get("panic").is_none());
        assert!(v["roots"][0].get("panic_path").is_none());
    }

    #[test]
    fn a_long_name_does_not_widen_the_other_lines() {
        let long = format!("std::{}", "x".repeat(200));
        let rows = vec![
            vec!["function".to_string(), "frame".to_string()],
            vec!["f".to_string(), "8".to_string()],
            vec![long.clone(), "16".to_string()],
        ];
        let mut out = String::new();
        table(&rows, &[false, true], &mut out);
        assert_eq!(
            out,
            format!("function  frame\nf             8\n{long}     16\n")
        );
        // Up to the cap a name still sets the column's width.
        let name = "n".repeat(MAX_COLUMN);
        let rows = vec![vec!["function".to_string()], vec![name.clone()]];
        let mut out = String::new();
        table(&rows, &[false, true], &mut out);
        assert_eq!(out, format!("function\n{name}\n"));
    }
}
