//! The analysis on graphs built in code: sizes no description file should hold (deep chains
//! and wide fans), roots that the description format cannot express (`missing`, declared
//! callees), and the paths to causes. Expected figures are worked out in closed form.

use cargo_nosplit::analysis::{analyze, Cause, Status, StepKind, Worst};
use cargo_nosplit::config::Assumptions;
use cargo_nosplit::graph::{CallGraph, Edge, EdgeTarget, FuncId, Function, Root};
use cargo_nosplit::{describe, report};

/// Runs `f` on a thread with a small stack: a checker that recursed once per function of a
/// deep graph would overflow it.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn call(t: usize, depth: u64) -> Edge {
    Edge {
        target: EdgeTarget::Call(FuncId(t as u32)),
        depth,
        site: None,
    }
}

/// f0 -> f1 -> ... -> f(n-1), each frame 16, calling at depth 16.
fn chain(n: usize, tail_back: bool) -> CallGraph {
    let mut g = CallGraph::new(8);
    for i in 0..n {
        let mut f = Function::new(format!("f{i}"), 16);
        if i + 1 < n {
            f.edges.push(call(i + 1, 16));
        } else if tail_back {
            f.edges.push(call(0, 16));
        }
        g.add(f);
    }
    g.roots.push(Root::new("f0", 4096, Some(FuncId(0))));
    g
}

#[test]
fn deep_chain_of_100_000_functions() {
    let (worst, status, path_len, report_lines) = on_small_stack(|| {
        let g = chain(100_000, false);
        let a = analyze(&g, &Assumptions::default());
        let text = report::human(&g, &a, false);
        (
            a.worst[0],
            a.roots[0].status,
            a.roots[0].path.len(),
            text.lines().count(),
        )
    });
    // Every link adds 16 (the caller's depth) + 8 (the return address); the last adds its
    // frame: 99 999 × 24 + 16.
    assert_eq!(worst, Worst::Bounded(99_999 * 24 + 16));
    assert_eq!(status, Status::Over);
    assert_eq!(path_len, 100_000);
    // Title, "assumed on entry", then "after" and "on entry" per link, "after" for the last.
    assert_eq!(report_lines, 1 + 1 + 2 * 99_999 + 1);
}

#[test]
fn deep_chain_through_the_description_format() {
    let (worst, rendered) = on_small_stack(|| {
        let mut text = String::from("f0 16 budget=10000000 call f1@16\n");
        for i in 1..100_000 {
            text.push_str(&format!("f{i} 16 call f{}@16\n", i + 1));
        }
        text.push_str("f100000 16\n");
        let g = describe::parse(&text, "deep.graph").unwrap();
        let a = analyze(&g, &Assumptions::default());
        (a.roots[0].worst, report::human(&g, &a, false))
    });
    assert_eq!(worst, Some(100_000 * 24 + 16));
    let row: Vec<&str> = rendered
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        row,
        ["f0", "10000000", "2400016", "7599984", "deep.graph:1"]
    );
}

#[test]
fn ring_of_100_000_functions_is_one_cycle() {
    let (cycle_len, status, bounded, text) = on_small_stack(|| {
        let g = chain(100_000, true);
        let a = analyze(&g, &Assumptions::default());
        let len = match a.cause(a.roots[0].cause.unwrap()) {
            Cause::Cycle { cycle } => cycle.len(),
            other => panic!("{other:?}"),
        };
        let reason = report::cause_text(&g, a.cause(a.roots[0].cause.unwrap()));
        assert_eq!(
            reason,
            "recursion f0 -> f1 -> f2 -> f3 -> f4 -> f5 -> f6 -> f7 -> f8 -> f9 -> f10 -> f11 -> \
             f12 -> f13 -> f14 -> f15 -> ... (100000 functions) -> f0 has no bound; bound it \
             with [package.metadata.nosplit.recursion] \"f0\" = DEPTH"
        );
        // The same ring, each function on the stack at most twice: the longest chain goes
        // round twice, 199 999 calls of 16 + 8, then the last frame, 16.
        let mut assume = Assumptions::default();
        assume.recursion.insert("f500".into(), 2);
        let b = analyze(&g, &assume);
        let text = report::human(&g, &b, false);
        (len, a.roots[0].status, b.worst[0], text)
    });
    assert_eq!(cycle_len, 100_000);
    assert_eq!(status, Status::Unbounded);
    assert_eq!(bounded, Worst::Bounded(199_999 * 24 + 16));
    // The trace names the cycle without listing 100 000 functions.
    let recursion = text.lines().nth(2).unwrap();
    assert!(
        recursion.starts_with("\t-4795880\tafter the recursion through f0, f1, f2,")
            && recursion.ends_with(
                ", f15, ... (100000 functions) (each entered at most 2 times, \
                 at most 2400000 bytes per pass, assumed) uses 4799976"
            ),
        "{recursion}"
    );
    // Title, assumed on entry, the recursion, on entry to the exit member, its frame.
    assert_eq!(text.lines().count(), 5, "{text}");
}

#[test]
fn wide_fan_of_100_000_callees() {
    // root calls leaf i at depth i % 64 with frame (i * 7919) % 100 000.
    let mut g = CallGraph::new(8);
    let root = g.add(Function::new("root", 64));
    let mut expected = 64u64;
    for i in 0..100_000u64 {
        let frame = (i * 7919) % 100_000;
        let leaf = g.add(Function::new(format!("leaf{i}"), frame));
        let depth = i % 64;
        g.functions[root.index()]
            .edges
            .push(call(leaf.index(), depth));
        expected = expected.max(depth + 8 + frame);
    }
    // 10 000 roots sharing the fan's leaves.
    for i in 0..10_000 {
        g.roots
            .push(Root::new(format!("leaf{i}"), 100_000, Some(FuncId(1 + i))));
    }
    g.roots.push(Root::new("root", 1 << 20, Some(root)));
    let a = analyze(&g, &Assumptions::default());
    assert_eq!(a.worst[0], Worst::Bounded(expected));
    assert!(a.accepted());
    let last = a.roots.last().unwrap();
    assert_eq!(last.worst, Some(expected));
}

#[test]
fn missing_roots_are_reported_but_do_not_fail() {
    let mut g = CallGraph::new(8);
    let f = g.add(Function::new("f", 32));
    g.roots.push(Root::new("inlined", 64, None));
    g.roots.push(Root::new("f", 64, Some(f)));
    let a = analyze(&g, &Assumptions::default());
    assert_eq!(a.roots[0].status, Status::Missing);
    assert_eq!(a.roots[0].worst, None);
    assert!(a.accepted());
    let table = report::human(&g, &a, false);
    assert!(
        table.contains("inlined       64  missing         -  -"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&report::json(&g, &a, false)).unwrap();
    assert_eq!(json["roots"][0]["status"], "missing");
    assert!(json["roots"][0]["worst"].is_null());
    assert!(json["roots"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("no code of its own"));
}

#[test]
fn budget_consistency_warns_about_callee_budgets_that_cannot_hold() {
    let mut g = CallGraph::new(8);
    let a = g.add(Function::new("a", 8));
    let b = g.add(Function::new("b", 8));
    let c = g.add(Function::new("c", 8));
    let m = g.add(Function::new("m", 8));
    let mut outer = Root::new("demo::outer", 128, Some(a));
    // 128 - 8 = 120: `inner` (120) fits, `big` (121) does not; `.method` matches the method
    // `demo::S::method` (200); `unknown` is not a root.
    outer.declared_callees = vec![
        "inner".into(),
        "demo::big".into(),
        ".method".into(),
        "unknown".into(),
    ];
    g.roots.push(outer);
    g.roots.push(Root::new("demo::inner", 120, Some(b)));
    g.roots.push(Root::new("demo::big", 121, Some(c)));
    g.roots.push(Root::new("demo::S::method", 200, Some(m)));
    // A callee on the default budget: no warning, however large the default.
    let d = g.add(Function::new("d", 8));
    let mut on_default = Root::new("demo::on_default", 2048, Some(d));
    on_default.default_budget = true;
    g.roots.push(on_default);
    g.roots[0].declared_callees.push("on_default".into());
    let r = analyze(&g, &Assumptions::default());
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    assert!(r.warnings[0].contains("`demo::outer` (128)"));
    assert!(r.warnings[0].contains("`demo::big` (121)"));
    assert!(r.warnings[0].contains("at most 120"));
    assert!(r.warnings[1].contains("`demo::S::method` (200)"));
}

#[test]
fn paths_lead_to_the_cause() {
    // root -> a -> b, b makes an unbounded indirect call at depth 40 (address 0x1234).
    let mut g = CallGraph::new(8);
    let root = g.add(Function::new("root", 16));
    let a = g.add(Function::new("a", 24));
    let b = g.add(Function::new("b", 48));
    g.functions[root.index()].edges.push(call(a.index(), 16));
    g.functions[a.index()].edges.push(call(b.index(), 8));
    g.functions[b.index()].edges.push(Edge {
        target: EdgeTarget::Indirect { bound: None },
        depth: 40,
        site: Some(0x1234),
    });
    g.roots.push(Root::new("root", 1000, Some(root)));
    let r = analyze(&g, &Assumptions::default());
    let v = &r.roots[0];
    assert_eq!(v.status, Status::Unbounded);
    let names: Vec<FuncId> = v
        .path
        .iter()
        .map(|s| match s.kind {
            StepKind::Function(f) => f,
            ref other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, [root, a, b]);
    assert_eq!(
        r.cause(v.cause.unwrap()),
        &Cause::Indirect {
            function: b,
            site: Some(0x1234),
            depth: 40
        }
    );
    let text = report::human(&g, &r, false);
    // 1000 - 16 - 8 - 8 - 8 = 960, then b's depth 40 at the call.
    assert!(
        text.contains("\t960\ton entry to b\n\t920\tafter b uses 40\n"),
        "{text}"
    );
    assert!(text.contains("indirect call in b at 0x1234 has no bound"));
}

#[test]
fn the_first_of_several_causes_is_kept_and_callers_inherit_it() {
    // top calls both an external and a dynamic-SP function; whichever edge comes first is the
    // cause that top reports, and both callees keep their own.
    let mut g = CallGraph::new(8);
    let top = g.add(Function::new("top", 8));
    let mut ext = Function::new("ext", 0);
    ext.kind = cargo_nosplit::graph::FunctionKind::External;
    let ext = g.add(ext);
    let mut dynf = Function::new("dyn", 8);
    dynf.dynamic_sp = Some(0x99);
    let dynf = g.add(dynf);
    g.functions[top.index()].edges.push(call(dynf.index(), 8));
    g.functions[top.index()].edges.push(call(ext.index(), 8));
    let r = analyze(&g, &Assumptions::default());
    let cause = |f: FuncId| match r.worst[f.index()] {
        Worst::Unbounded(c) => r.cause(c).clone(),
        w => panic!("{w:?}"),
    };
    assert_eq!(
        cause(top),
        Cause::DynamicSp {
            function: dynf,
            site: 0x99
        }
    );
    assert_eq!(cause(ext), Cause::External { function: ext });
}

#[test]
fn every_cause_is_listed_and_the_human_report_caps_them() {
    // root calls 15 functions, each with an unbounded indirect call: 15 causes.
    let mut g = CallGraph::new(8);
    let root = g.add(Function::new("root", 8));
    for i in 0..15 {
        let mut f = Function::new(format!("h{i}"), 8);
        f.edges.push(Edge {
            target: EdgeTarget::Indirect { bound: None },
            depth: 8,
            site: Some(0x1000 + i),
        });
        let id = g.add(f);
        g.functions[root.index()].edges.push(call(id.index(), 8));
    }
    g.roots.push(Root::new("root", 1 << 20, Some(root)));
    let a = analyze(&g, &Assumptions::default());
    assert_eq!(a.roots[0].causes.len(), 15);
    let text = report::human(&g, &a, false);
    assert_eq!(text.matches("\t\talso: indirect call in h").count(), 10);
    assert!(text.contains("\t\t... and 4 more (--format json lists them all)\n"));
    let json: serde_json::Value = serde_json::from_str(&report::json(&g, &a, false)).unwrap();
    assert_eq!(json["roots"][0]["causes"].as_array().unwrap().len(), 15);
}

#[test]
fn the_search_for_further_causes_stays_linear() {
    // 2 000 roots call `hub`, which calls `bad` (a dynamic stack adjustment: every root's
    // primary cause, a short path) and the head of a 200 000-function chain whose last
    // function is unbounded too. Listing every root's causes in full would walk the chain
    // 2 000 times (400 million functions); the shared budget stops it.
    let mut g = chain(200_000, false);
    g.roots.clear();
    g.functions[199_999].dynamic_sp = Some(0x42);
    let mut bad = Function::new("bad", 8);
    bad.dynamic_sp = Some(0x41);
    let bad = g.add(bad);
    let mut hub = Function::new("hub", 8);
    hub.edges.push(call(bad.index(), 8));
    hub.edges.push(call(0, 8));
    let hub = g.add(hub);
    for i in 0..2_000 {
        let mut r = Function::new(format!("r{i}"), 8);
        r.edges.push(call(hub.index(), 8));
        let r = g.add(r);
        g.roots.push(Root::new(format!("r{i}"), 4096, Some(r)));
    }
    let start = std::time::Instant::now();
    let a = analyze(&g, &Assumptions::default());
    assert!(start.elapsed().as_secs() < 60, "{:?}", start.elapsed());
    let first = &a.roots[0];
    assert!(first.causes_complete);
    assert_eq!(first.causes.len(), 2);
    assert_eq!(first.path.len(), 3, "r0 -> hub -> bad");
    let last = &a.roots[1_999];
    assert!(!last.causes_complete);
    // The primary cause is always there.
    assert_eq!(last.cause, last.causes.first().copied());
    let text = report::human(&g, &a, false);
    assert!(text.contains("(the search for further causes stopped: the graph is large)"));
}
