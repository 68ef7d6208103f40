//! Property tests of the analysis against brute force on small random graphs.
//!
//! The oracle enumerates every path explicitly (exponential, fine for 7 functions) and knows
//! nothing of components, memoisation or path reconstruction.

use cargo_nosplit::analysis::{analyze, Cause, Status, Worst};
use cargo_nosplit::config::Assumptions;
use cargo_nosplit::graph::{CallGraph, Edge, EdgeTarget, FuncId, Function, FunctionKind, Root};
use cargo_nosplit::{describe, report};
use proptest::prelude::*;

/// (frame, grows, edges as (kind 0 call / 1 tail / 2 bounded indirect, target, depth, bound)).
type Spec = Vec<(u64, bool, Vec<(u8, usize, u64, u64)>)>;

fn build(spec: &Spec, callsize: u64, budgets: &[u64], acyclic: bool) -> CallGraph {
    let n = spec.len();
    let mut g = CallGraph::new(callsize);
    for (i, (frame, grows, _)) in spec.iter().enumerate() {
        let mut f = Function::new(format!("f{i}"), *frame);
        if *grows {
            f.kind = FunctionKind::Grows;
        }
        g.add(f);
    }
    for (i, (_, _, edges)) in spec.iter().enumerate() {
        for &(kind, t, depth, bound) in edges {
            let t = if acyclic {
                // Only forward edges: i < t.
                if i + 1 >= n {
                    continue;
                }
                i + 1 + t % (n - i - 1)
            } else {
                t % n
            };
            let target = match kind {
                0 => EdgeTarget::Call(FuncId(t as u32)),
                1 => EdgeTarget::Tail(FuncId(t as u32)),
                _ => EdgeTarget::Indirect { bound: Some(bound) },
            };
            g.functions[i].edges.push(Edge {
                target,
                depth,
                site: None,
            });
        }
    }
    for (i, &b) in budgets.iter().enumerate().take(n) {
        g.roots
            .push(Root::new(format!("f{i}"), b, Some(FuncId(i as u32))));
    }
    g
}

fn cost(g: &CallGraph, e: &Edge) -> u64 {
    match e.target {
        EdgeTarget::Call(_) => e.depth + g.callsize,
        EdgeTarget::Tail(_) => e.depth,
        EdgeTarget::Indirect { bound } => e.depth + g.callsize + bound.unwrap(),
    }
}

/// Every path from `f`: each ends at a function (counting its frame) or at a bounded
/// indirect call (counting its bound). Returns the largest total, or `None` when a cycle
/// that grows the stack is reachable.
fn brute(g: &CallGraph, f: usize) -> Option<u64> {
    fn walk(g: &CallGraph, f: usize, acc: u64, on_path: &mut Vec<(usize, u64)>) -> Option<u64> {
        let func = &g.functions[f];
        let mut best = acc + func.frame;
        if func.kind == FunctionKind::Grows {
            return Some(best);
        }
        on_path.push((f, acc));
        for e in &func.edges {
            let c = cost(g, e);
            match e.target {
                EdgeTarget::Call(t) | EdgeTarget::Tail(t) => {
                    if let Some(&(_, at)) = on_path.iter().find(|(v, _)| *v == t.index()) {
                        // Closing a cycle: it grows the stack iff it costs anything.
                        if acc + c > at {
                            on_path.pop();
                            return None;
                        }
                        continue;
                    }
                    match walk(g, t.index(), acc + c, on_path) {
                        Some(w) => best = best.max(w),
                        None => {
                            on_path.pop();
                            return None;
                        }
                    }
                }
                EdgeTarget::Indirect { .. } => best = best.max(acc + c),
            }
        }
        on_path.pop();
        Some(best)
    }
    walk(g, f, 0, &mut Vec::new())
}

/// The heaviest chain from `f` in which no function appears more than `depth` times (the
/// meaning of a `recursion` bound on every cycle).
fn brute_bounded(g: &CallGraph, f: usize, depth: u32) -> u64 {
    fn walk(g: &CallGraph, f: usize, acc: u64, count: &mut [u32], depth: u32) -> u64 {
        let func = &g.functions[f];
        let mut best = acc + func.frame;
        if func.kind == FunctionKind::Grows {
            return best;
        }
        count[f] += 1;
        for e in &func.edges {
            let c = cost(g, e);
            match e.target {
                EdgeTarget::Call(t) | EdgeTarget::Tail(t) => {
                    if count[t.index()] < depth {
                        best = best.max(walk(g, t.index(), acc + c, count, depth));
                    }
                }
                EdgeTarget::Indirect { .. } => best = best.max(acc + c),
            }
        }
        count[f] -= 1;
        best
    }
    walk(g, f, 0, &mut vec![0; g.functions.len()], depth)
}

fn spec_strategy() -> impl Strategy<Value = Spec> {
    prop::collection::vec(
        (
            0u64..100,
            prop::bool::weighted(0.1),
            prop::collection::vec(
                (
                    prop_oneof![4 => Just(0u8), 3 => Just(1u8), 1 => Just(2u8)],
                    0usize..7,
                    prop_oneof![Just(0u64), 0u64..100],
                    0u64..100,
                ),
                0..4,
            ),
        ),
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn acyclic_worst_is_the_heaviest_enumerated_path(
        spec in spec_strategy(),
        callsize in prop_oneof![Just(8u64), Just(0u64), 0u64..16],
        budgets in prop::collection::vec(0u64..400, 7),
    ) {
        let g = build(&spec, callsize, &budgets, true);
        let a = analyze(&g, &Assumptions::default());
        for f in 0..g.functions.len() {
            let want = brute(&g, f).expect("acyclic");
            prop_assert_eq!(a.worst[f], Worst::Bounded(want), "f{}", f);
        }
        for v in &a.roots {
            let budget = g.roots[v.root].budget;
            let w = v.worst.unwrap();
            prop_assert_eq!(v.status, if w <= budget { Status::Ok } else { Status::Over });
            // The reported path is a real path of that weight.
            let sum: u64 = v.path.iter().map(|s| s.enter + s.uses).sum();
            prop_assert_eq!(sum, w);
        }
    }

    #[test]
    fn cyclic_graphs_are_unbounded_exactly_when_a_growing_cycle_is_reachable(
        spec in spec_strategy(),
        callsize in prop_oneof![Just(8u64), Just(0u64)],
    ) {
        let g = build(&spec, callsize, &[1000; 7], false);
        let a = analyze(&g, &Assumptions::default());
        for f in 0..g.functions.len() {
            match (brute(&g, f), a.worst[f]) {
                (Some(want), got) => prop_assert_eq!(got, Worst::Bounded(want), "f{}", f),
                (None, Worst::Unbounded(c)) => {
                    prop_assert!(matches!(a.cause(c), Cause::Cycle { .. }), "f{}", f);
                }
                (None, got) => prop_assert!(false, "f{} should be unbounded, got {:?}", f, got),
            }
        }
        for v in &a.roots {
            if let Some(w) = v.worst {
                let sum: u64 = v.path.iter().map(|s| s.enter + s.uses).sum();
                prop_assert_eq!(sum, w);
            }
        }
    }

    #[test]
    fn a_reported_cycle_is_a_real_cycle_of_the_graph(spec in spec_strategy()) {
        let g = build(&spec, 8, &[], false);
        let a = analyze(&g, &Assumptions::default());
        for c in &a.causes {
            if let Cause::Cycle { cycle } = c {
                for (i, f) in cycle.iter().enumerate() {
                    let next = cycle[(i + 1) % cycle.len()];
                    let linked = g.function(*f).edges.iter().any(|e| {
                        matches!(e.target, EdgeTarget::Call(t) | EdgeTarget::Tail(t) if t == next)
                    });
                    prop_assert!(linked, "{:?} is not a cycle", cycle);
                }
            }
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn recursion_bounds_are_sound(
        spec in prop::collection::vec(
            (
                0u64..100,
                prop::bool::weighted(0.1),
                prop::collection::vec(
                    (
                        prop_oneof![4 => Just(0u8), 3 => Just(1u8), 1 => Just(2u8)],
                        0usize..5,
                        prop_oneof![Just(0u64), 0u64..100],
                        0u64..100,
                    ),
                    0..3,
                ),
            ),
            1..6,
        ),
        depth in 1u32..3,
        callsize in prop_oneof![Just(8u64), Just(0u64)],
    ) {
        let g = build(&spec, callsize, &[], false);
        let mut assume = Assumptions::default();
        for f in &g.functions {
            assume.recursion.insert(f.name.clone(), u64::from(depth));
        }
        let a = analyze(&g, &assume);
        for f in 0..g.functions.len() {
            let want = brute_bounded(&g, f, depth);
            match a.worst[f] {
                Worst::Bounded(w) => prop_assert!(w >= want, "f{}: {} < {}", f, w, want),
                u => prop_assert!(false, "f{} unbounded with every cycle bounded: {:?}", f, u),
            }
        }
    }

    #[test]
    fn recursion_bounds_are_exact_for_self_recursion(
        spec in spec_strategy(),
        loops in prop::collection::vec((prop::bool::ANY, 0u64..100, prop::bool::ANY), 7),
        depth in 1u32..4,
    ) {
        // Acyclic but for self-recursive functions: the bound is then exact.
        let mut g = build(&spec, 8, &[], true);
        for (i, &(on, d, tail)) in loops.iter().enumerate().take(g.functions.len()) {
            if on {
                let me = FuncId(i as u32);
                g.functions[i].edges.push(Edge {
                    target: if tail { EdgeTarget::Tail(me) } else { EdgeTarget::Call(me) },
                    depth: d,
                    site: None,
                });
            }
        }
        let mut assume = Assumptions::default();
        for f in &g.functions {
            assume.recursion.insert(f.name.clone(), u64::from(depth));
        }
        let a = analyze(&g, &assume);
        for f in 0..g.functions.len() {
            prop_assert_eq!(
                a.worst[f],
                Worst::Bounded(brute_bounded(&g, f, depth)),
                "f{}", f
            );
        }
    }

    #[test]
    fn any_description_is_an_error_or_a_verdict_never_a_panic(
        tokens in prop::collection::vec(
            prop_oneof![
                Just("f"), Just("g"), Just("h@x"), Just("0"), Just("8"), Just("-1"),
                Just("18446744073709551615"), Just("99999999999999999999"), Just("callsize"),
                Just("call"), Just("tail"), Just("callind"), Just("callind@3=7"),
                Just("callind="), Just("budget=64"), Just("budget="), Just("grows"),
                Just("external"), Just("dynamic-sp"), Just("g@4"), Just("f@"), Just("@"),
                Just(";"), Just("#"), Just(" "), Just("\n"), Just("\r\n"), Just("é"),
            ],
            0..40,
        ),
    ) {
        let text = tokens.join(" ");
        if let Ok(g) = describe::parse(&text, "fuzz.graph") {
            let a = analyze(&g, &Assumptions::default());
            let _ = report::human(&g, &a, true);
            let _ = report::json(&g, &a, true);
        }
    }
}
