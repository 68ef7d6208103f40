//! Reports of an [`Analysis`] (SPEC §5): the Go-linker trace of every failing root and the
//! table of a passing run ([`human`]), and JSON version 1 ([`json`]).

use std::fmt::Write;

use serde::Serialize;

use crate::analysis::{Analysis, Cause, RootVerdict, Status, Step, StepKind};
use crate::graph::{CallGraph, FunctionKind, Root};

/// The human report: a Go-linker trace for every failing root; when no root fails, the table
/// of roots (function, budget, worst, headroom, location). `all` adds the table of every
/// function (address, frame, worst).
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
    if all {
        out.push('\n');
        functions_table(graph, analysis, &mut out);
    }
    out
}

/// The sentence that explains an unbounded result, with what to do about it.
pub fn cause_text(graph: &CallGraph, cause: &Cause) -> String {
    let name = |id: crate::graph::FuncId| graph.function(id).name.as_str();
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
fn member_list(graph: &CallGraph, members: &[crate::graph::FuncId], size: usize) -> String {
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

/// Columns padded to their widest cell; `right[c]` right-aligns column `c` (numbers).
fn table(rows: &[Vec<String>], right: &[bool], out: &mut String) {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
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
/// (bytes the transfer into the step pushes).
pub fn json(graph: &CallGraph, analysis: &Analysis, all: bool) -> String {
    let roots = analysis
        .roots
        .iter()
        .map(|v| {
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
                Status::Missing => {
                    Some("no code of its own in the binary (inlined everywhere)".to_string())
                }
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
            }
        })
        .collect();
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
