//! Call cost of an annotated function with the runtime guard on, against the same function
//! without the attribute, side by side in one run.
//!
//! The guard is on in this release benchmark only with the `guard` feature:
//!
//! ```text
//! cargo bench -p nosplit-bench --bench guard --features guard
//! ```
//!
//! Without it the two functions compile to the same code (the zero-cost property), and the
//! benchmark says so.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use nosplit::nosplit;

#[inline(never)]
fn plain(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
}

#[nosplit(budget = 256)]
#[inline(never)]
fn annotated(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
}

#[nosplit(budget = 256)]
#[inline(never)]
fn annotated_inner(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
}

/// An annotated caller of an annotated function: the nested (non-root) path.
#[nosplit(budget = 512)]
#[inline(never)]
fn annotated_outer(x: u64) -> u64 {
    annotated_inner(x) ^ 1
}

#[inline(never)]
fn plain_outer(x: u64) -> u64 {
    plain(x) ^ 1
}

fn bench(c: &mut Criterion) {
    if !nosplit::guard::FORCED {
        eprintln!(
            "note: the guard is off in this build (no `guard` feature, no debug assertions); \
             run `cargo bench -p nosplit-bench --bench guard --features guard` to measure it"
        );
    }
    let mut g = c.benchmark_group("guard");
    g.bench_function("plain", |b| b.iter(|| plain(black_box(7))));
    g.bench_function("annotated (root)", |b| b.iter(|| annotated(black_box(7))));
    g.bench_function("plain caller of plain", |b| {
        b.iter(|| plain_outer(black_box(7)))
    });
    g.bench_function("annotated caller of annotated (nested)", |b| {
        b.iter(|| annotated_outer(black_box(7)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
