//! The call-graph description format of SPEC §3: a plain-text program model.
//!
//! ```text
//! # '#' starts a comment; blank lines are ignored; ';' separates several functions on a line.
//! callsize 8                       # optional header line: bytes a call pushes (default 8)
//! NAME FRAME [budget=B] [grows] [call CALLEE[@DEPTH]]... [tail CALLEE[@DEPTH]]... [callind[@DEPTH][=BOUND]]...
//! ```
//!
//! Two extensions, for models of what binaries contain: `external` makes NAME a function
//! without code (unbounded unless an assumption gives its worst; FRAME is then ignored), and
//! `dynamic-sp` marks a stack adjustment by an unknown amount (NAME becomes unbounded).
//!
//! A callee's depth is split off at the last `@`, so a name that itself contains `@` (such as
//! `memcpy@GLIBC_2.2.5`) must be written with an explicit depth when called.

use std::collections::HashMap;
use std::fmt;

use crate::graph::{CallGraph, Edge, EdgeTarget, FuncId, Function, FunctionKind, Location, Root};

/// A malformed description: `FILE:LINE: reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescribeError {
    /// The file as given on the command line.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for DescribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

impl std::error::Error for DescribeError {}

/// Default bytes pushed by a call (x86_64).
pub const DEFAULT_CALLSIZE: u64 = 8;

/// An edge whose callee is still a name.
struct PendingEdge {
    from: FuncId,
    kind: &'static str,
    callee: String,
    depth: Option<u64>,
    bound: Option<u64>,
    line: usize,
}

/// Parses a description. `file` names the input in errors and root locations.
pub fn parse(text: &str, file: &str) -> Result<CallGraph, DescribeError> {
    let err = |line: usize, reason: String| DescribeError {
        file: file.to_string(),
        line,
        reason,
    };
    let mut graph = CallGraph::new(DEFAULT_CALLSIZE);
    let mut seen_callsize = false;
    let mut declared: HashMap<String, (FuncId, usize)> = HashMap::new();
    let mut pending: Vec<PendingEdge> = Vec::new();

    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let code = raw.split('#').next().unwrap_or("");
        for statement in code.split(';') {
            let mut tokens = statement.split_whitespace();
            let Some(name) = tokens.next() else { continue };
            if name == "callsize" {
                if seen_callsize {
                    return Err(err(line, "callsize is given twice".into()));
                }
                if !graph.functions.is_empty() {
                    return Err(err(
                        line,
                        "callsize must come before the first function".into(),
                    ));
                }
                let value = tokens
                    .next()
                    .ok_or_else(|| err(line, "callsize needs a number of bytes".into()))?;
                graph.callsize = number(value, "callsize").map_err(|r| err(line, r))?;
                if let Some(extra) = tokens.next() {
                    return Err(err(line, format!("unexpected `{extra}` after callsize")));
                }
                seen_callsize = true;
                continue;
            }
            if let Some(&(_, first)) = declared.get(name) {
                return Err(err(
                    line,
                    format!("function `{name}` is declared twice (first on line {first})"),
                ));
            }
            let frame = match tokens.next() {
                None => return Err(err(line, format!("missing frame of `{name}`"))),
                Some(t) if !t.starts_with(|c: char| c.is_ascii_digit() || c == '-') => {
                    return Err(err(
                        line,
                        format!("missing frame of `{name}` (found `{t}` where its frame size in bytes goes)"),
                    ))
                }
                Some(t) => number(t, &format!("frame of `{name}`")).map_err(|r| err(line, r))?,
            };
            let id = graph.add(Function::new(name, frame));
            declared.insert(name.to_string(), (id, line));
            let mut budget: Option<u64> = None;
            while let Some(token) = tokens.next() {
                match token {
                    "grows" => graph.functions[id.index()].kind = FunctionKind::Grows,
                    "external" => graph.functions[id.index()].kind = FunctionKind::External,
                    // No address in a model: 0 stands for "somewhere in the function".
                    "dynamic-sp" => graph.functions[id.index()].dynamic_sp = Some(0),
                    "call" | "tail" => {
                        let kind = if token == "call" { "call" } else { "tail" };
                        let target = tokens
                            .next()
                            .ok_or_else(|| err(line, format!("`{kind}` needs a callee name")))?;
                        let (callee, depth) = match target.rsplit_once('@') {
                            Some((callee, depth)) => (
                                callee,
                                Some(
                                    number(depth, &format!("depth of {kind} {callee}"))
                                        .map_err(|r| err(line, r))?,
                                ),
                            ),
                            None => (target, None),
                        };
                        if callee.is_empty() {
                            return Err(err(line, format!("`{kind}` needs a callee name")));
                        }
                        pending.push(PendingEdge {
                            from: id,
                            kind,
                            callee: callee.to_string(),
                            depth,
                            bound: None,
                            line,
                        });
                    }
                    t if t.starts_with("budget=") => {
                        if budget.is_some() {
                            return Err(err(line, format!("`{name}` has two budgets")));
                        }
                        let b = &t["budget=".len()..];
                        budget = Some(
                            number(b, &format!("budget of `{name}`")).map_err(|r| err(line, r))?,
                        );
                    }
                    t if t == "callind"
                        || t.starts_with("callind@")
                        || t.starts_with("callind=") =>
                    {
                        let rest = &t["callind".len()..];
                        let (depth, bound) = match rest.split_once('=') {
                            Some((d, b)) => (d, Some(b)),
                            None => (rest, None),
                        };
                        let depth = match depth.strip_prefix('@') {
                            Some(d) => number(d, "depth of callind").map_err(|r| err(line, r))?,
                            None if depth.is_empty() => frame,
                            None => return Err(err(line, format!("unknown token `{t}`"))),
                        };
                        let bound = bound
                            .map(|b| number(b, "bound of callind"))
                            .transpose()
                            .map_err(|r| err(line, r))?;
                        pending.push(PendingEdge {
                            from: id,
                            kind: "callind",
                            callee: String::new(),
                            depth: Some(depth),
                            bound,
                            line,
                        });
                    }
                    other => {
                        return Err(err(
                            line,
                            format!(
                                "unknown token `{other}` (expected budget=B, grows, external, \
                                 dynamic-sp, call NAME[@DEPTH], tail NAME[@DEPTH] or \
                                 callind[@DEPTH][=BOUND])"
                            ),
                        ))
                    }
                }
            }
            if let Some(budget) = budget {
                let mut root = Root::new(name, budget, Some(id));
                root.location = Some(Location {
                    file: file.to_string(),
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                });
                graph.roots.push(root);
            }
        }
    }
    if graph.functions.is_empty() {
        return Err(err(
            1,
            "no functions: a description needs at least one line `NAME FRAME`".into(),
        ));
    }
    for p in pending {
        if p.kind == "callind" {
            graph.functions[p.from.index()].edges.push(Edge {
                target: EdgeTarget::Indirect { bound: p.bound },
                depth: p.depth.unwrap_or(0),
                site: None,
            });
            continue;
        }
        let Some(&(target, _)) = declared.get(&p.callee) else {
            return Err(err(
                p.line,
                format!(
                    "`{}` calls undeclared function `{}` (declare it with a line `{} FRAME`)",
                    graph.function(p.from).name,
                    p.callee,
                    p.callee
                ),
            ));
        };
        let frame = graph.function(p.from).frame;
        let (target, depth) = if p.kind == "call" {
            (EdgeTarget::Call(target), p.depth.unwrap_or(frame))
        } else {
            (EdgeTarget::Tail(target), p.depth.unwrap_or(0))
        };
        graph.functions[p.from.index()].edges.push(Edge {
            target,
            depth,
            site: None,
        });
    }
    Ok(graph)
}

/// A non-negative decimal number, or why not.
fn number(text: &str, what: &str) -> Result<u64, String> {
    if text.is_empty() {
        return Err(format!("missing number for {what}"));
    }
    if text.starts_with('-') {
        return Err(format!("negative number `{text}` for {what}"));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{text}` is not a number ({what})"));
    }
    text.parse::<u64>()
        .map_err(|_| format!("number `{text}` is too large ({what})"))
}

/// Writes `graph` in the description format (roots become `budget=`; `missing` roots and
/// addresses cannot be expressed and are left out). Names must not contain whitespace, `#`
/// or `;`.
pub fn write(graph: &CallGraph) -> String {
    use std::fmt::Write;
    let mut budgets: HashMap<FuncId, u64> = HashMap::new();
    for r in &graph.roots {
        if let Some(f) = r.function {
            budgets.insert(f, r.budget);
        }
    }
    let mut out = format!("callsize {}\n", graph.callsize);
    for (i, f) in graph.functions.iter().enumerate() {
        let _ = write!(out, "{} {}", f.name, f.frame);
        if let Some(b) = budgets.get(&FuncId(i as u32)) {
            let _ = write!(out, " budget={b}");
        }
        match f.kind {
            FunctionKind::Code => {}
            FunctionKind::Grows => out.push_str(" grows"),
            FunctionKind::External => out.push_str(" external"),
        }
        if f.dynamic_sp.is_some() {
            out.push_str(" dynamic-sp");
        }
        for e in &f.edges {
            let _ = match e.target {
                EdgeTarget::Call(t) => write!(out, " call {}@{}", graph.function(t).name, e.depth),
                EdgeTarget::Tail(t) => write!(out, " tail {}@{}", graph.function(t).name, e.depth),
                EdgeTarget::Indirect { bound: Some(b) } => write!(out, " callind@{}={b}", e.depth),
                EdgeTarget::Indirect { bound: None } => write!(out, " callind@{}", e.depth),
            };
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(text, "t.graph").unwrap_err().to_string()
    }

    #[test]
    fn parses_the_spec_example() {
        let g = parse("f 24 budget=64 call g\ng 40\n", "ex.graph").unwrap();
        assert_eq!(g.callsize, 8);
        assert_eq!(g.functions.len(), 2);
        let f = &g.functions[0];
        assert_eq!((f.name.as_str(), f.frame), ("f", 24));
        assert_eq!(f.edges.len(), 1);
        assert_eq!(f.edges[0].target, EdgeTarget::Call(FuncId(1)));
        assert_eq!(f.edges[0].depth, 24, "a call's depth defaults to FRAME");
        assert_eq!(g.roots.len(), 1);
        assert_eq!(g.roots[0].budget, 64);
        assert_eq!(
            g.roots[0].location,
            Some(Location {
                file: "ex.graph".into(),
                line: 1
            })
        );
    }

    #[test]
    fn parses_every_token() {
        let g = parse(
            "callsize 4 # header\n\n a 10 budget=100 call b@3 tail c callind callind@2=50 ; b 5 grows call a\nc 7 tail a@1\nx@GLIBC 0 external dynamic-sp\nd 1 call x@GLIBC@0",
            "t",
        )
        .unwrap();
        assert_eq!(g.callsize, 4);
        let a = &g.functions[0];
        let edges: Vec<_> = a.edges.iter().map(|e| (e.target, e.depth)).collect();
        let want = vec![
            (EdgeTarget::Call(FuncId(1)), 3),
            (EdgeTarget::Tail(FuncId(2)), 0),
            (EdgeTarget::Indirect { bound: None }, 10),
            (EdgeTarget::Indirect { bound: Some(50) }, 2),
        ];
        assert_eq!(edges, want, "edges keep their order");
        assert_eq!(g.functions[1].kind, FunctionKind::Grows);
        assert_eq!(g.functions[2].edges[0].depth, 1);
        assert_eq!(g.functions[3].kind, FunctionKind::External);
        assert_eq!(g.functions[3].dynamic_sp, Some(0));
        assert_eq!(g.functions[4].edges[0].target, EdgeTarget::Call(FuncId(3)));
    }

    #[test]
    fn malformed_input_names_file_and_line() {
        for (text, want) in [
            ("", "t.graph:1: no functions"),
            ("# only a comment\n\n", "t.graph:1: no functions"),
            ("f\n", "t.graph:1: missing frame of `f`"),
            ("f budget=3\n", "t.graph:1: missing frame of `f`"),
            ("f -3\n", "t.graph:1: negative number `-3`"),
            ("f 1x\n", "t.graph:1: `1x` is not a number"),
            ("f 99999999999999999999999\n", "too large"),
            ("f 1\ng 2 bogus\n", "t.graph:2: unknown token `bogus`"),
            (
                "f 1 call g\n\ng 2 call h\n",
                "t.graph:3: `g` calls undeclared function `h`",
            ),
            (
                "f 1\nf 2\n",
                "t.graph:2: function `f` is declared twice (first on line 1)",
            ),
            (
                "f 1 call g@-1\ng 1",
                "t.graph:1: negative number `-1` for depth of call g",
            ),
            ("f 1 call g@x\ng 1", "t.graph:1: `x` is not a number"),
            ("f 1 call\n", "t.graph:1: `call` needs a callee name"),
            ("f 1 call @3\n", "t.graph:1: `call` needs a callee name"),
            (
                "f 1 budget=-5\n",
                "t.graph:1: negative number `-5` for budget of `f`",
            ),
            ("f 1 budget=1 budget=2\n", "two budgets"),
            ("f 1 callind=z\n", "`z` is not a number (bound of callind)"),
            ("f 1 callind@=3\n", "missing number for depth of callind"),
            ("f 1 callindx\n", "unknown token `callindx`"),
            ("f 1\ncallsize 8\n", "t.graph:2: callsize must come before"),
            ("callsize\n", "callsize needs a number"),
            (
                "callsize 8\ncallsize 8\n",
                "t.graph:2: callsize is given twice",
            ),
            ("callsize 8 9\n", "unexpected `9`"),
        ] {
            let e = error(text);
            assert!(e.contains(want), "{text:?}: got {e:?}, want {want:?}");
        }
    }

    #[test]
    fn write_round_trips() {
        let text = "callsize 8\na 10 budget=100 call b@3 tail c@0 callind@2=50\nb 5 grows\nc 7 external\nd 1 dynamic-sp callind@1\n";
        let g = parse(text, "t").unwrap();
        assert_eq!(write(&g), text);
    }
}
