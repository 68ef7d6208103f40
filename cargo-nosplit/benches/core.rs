//! The analysis core on a generated graph of 1 000 000 functions and 5 000 000 call edges
//! (goal: under 2 s). Run with `cargo bench -p cargo-nosplit --bench core`.
//!
//! The graph: each function makes 5 calls, tail jumps or bounded indirect calls to uniformly
//! random later functions (so the walk touches memory at random, as a linked program's graph
//! does); one function in 1 000 also tail-jumps at depth 0 back to an earlier neighbour,
//! forming cycles that do not grow the stack; one in 100 000 recurses at a positive depth
//! (unbounded, its cause propagating to every caller); 1 000 roots.

use cargo_nosplit::analysis::analyze;
use cargo_nosplit::config::Assumptions;
use cargo_nosplit::graph::{CallGraph, Edge, EdgeTarget, FuncId, Function, Root};
use criterion::{criterion_group, criterion_main, Criterion};

const FUNCTIONS: usize = 1_000_000;
const EDGES_PER_FUNCTION: usize = 5;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The benchmark graph and its number of edges.
pub fn generate() -> (CallGraph, usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut g = CallGraph::new(8);
    g.functions.reserve(FUNCTIONS);
    let mut edges = 0;
    for i in 0..FUNCTIONS {
        let frame = rng.below(512);
        let mut f = Function::new(format!("f{i}"), frame);
        f.address = Some(0x40_0000 + 64 * i as u64);
        let later = (FUNCTIONS - i - 1) as u64;
        if later > 0 {
            f.edges.reserve(EDGES_PER_FUNCTION);
            for k in 0..EDGES_PER_FUNCTION {
                let t = FuncId((i as u64 + 1 + rng.below(later)) as u32);
                let depth = rng.below(frame + 1);
                let target = match rng.below(16) {
                    0 => EdgeTarget::Tail(t),
                    1 => EdgeTarget::Indirect {
                        bound: Some(rng.below(256)),
                    },
                    _ => EdgeTarget::Call(t),
                };
                f.edges.push(Edge {
                    target,
                    depth,
                    site: Some(f.address.unwrap_or(0) + 4 * k as u64),
                });
            }
        }
        if i >= 8 && i % 1000 == 0 {
            // A cycle that costs nothing: i -> (forward edges) ... and back from i + 1 to i.
            f.edges.push(Edge {
                target: EdgeTarget::Tail(FuncId((i + 1) as u32)),
                depth: 0,
                site: None,
            });
        }
        if i % 1000 == 1 {
            f.edges.push(Edge {
                target: EdgeTarget::Tail(FuncId((i - 1) as u32)),
                depth: 0,
                site: None,
            });
        }
        if i % 100_000 == 99_999 {
            f.edges.push(Edge {
                target: EdgeTarget::Call(FuncId(i as u32)),
                depth: frame,
                site: None,
            });
        }
        edges += f.edges.len();
        g.functions.push(f);
    }
    for r in 0..1000u32 {
        let f = FuncId(r * 997);
        g.roots
            .push(Root::new(format!("f{}", f.0), 1 << 16, Some(f)));
    }
    (g, edges)
}

fn bench(c: &mut Criterion) {
    let (graph, edges) = generate();
    assert!(edges >= 5_000_000, "{edges} edges");
    let assumptions = Assumptions::default();
    let mut group = c.benchmark_group("core");
    group.sample_size(10);
    group.bench_function("analyze 1M functions 5M edges", |b| {
        b.iter(|| analyze(&graph, &assumptions))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
