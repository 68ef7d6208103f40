//! Cost of one round trip to a large stack and back (issue 6): a direct call, `systemstack!`
//! (switching, and nested, already on the system stack), `SystemStack<N>`,
//! `stacker::maybe_grow` without growth, `stacker::grow`, and `psm::on_stack` on a reused
//! stack. Each runs the same tiny closure.
//!
//! `cargo bench -p nosplit-bench --bench systemstack`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use nosplit::systemstack;
use nosplit::systemstack::SystemStack;

#[inline(never)]
fn work(x: u64) -> u64 {
    x.wrapping_mul(3).wrapping_add(1)
}

static SYS: SystemStack<{ 64 * 1024 }> = SystemStack::new();

fn switches(c: &mut Criterion) {
    let mut g = c.benchmark_group("round_trip");
    g.bench_function("direct_call", |b| b.iter(|| work(black_box(7))));
    g.bench_function("systemstack", |b| {
        b.iter(|| {
            let x = black_box(7);
            systemstack!(|| work(x))
        })
    });
    g.bench_function("systemstack_nested", |b| {
        systemstack!(|| b.iter(|| {
            let x = black_box(7);
            systemstack!(|| work(x))
        }))
    });
    g.bench_function("systemstack_static", |b| {
        b.iter(|| {
            let x = black_box(7);
            systemstack!(SYS, || work(x))
        })
    });
    g.bench_function("stacker_maybe_grow_no_growth", |b| {
        b.iter(|| {
            let x = black_box(7);
            stacker::maybe_grow(32 * 1024, 1 << 20, || work(x))
        })
    });
    g.bench_function("stacker_grow_1MiB", |b| {
        b.iter(|| {
            let x = black_box(7);
            stacker::grow(1 << 20, || work(x))
        })
    });
    g.bench_function("psm_on_stack_reused_1MiB", |b| {
        let mut stack = vec![0u8; 1 << 20];
        let (base, size) = (stack.as_mut_ptr(), stack.len());
        b.iter(|| {
            let x = black_box(7);
            // SAFETY: `stack` is a live, unused 1 MiB buffer for the whole benchmark.
            unsafe { psm::on_stack(base, size, || work(x)) }
        });
        drop(stack);
    });
    g.finish();
}

criterion_group!(benches, switches);
criterion_main!(benches);
