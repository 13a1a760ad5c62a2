//! Batch flip over 500k endpoints without Python, so the binding's overhead is visible next to
//! the pytest-benchmark figures. Run: `cargo bench -p dnsrace-bench --bench flip`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use dnsrace_core::{Fence, Leaf, Mode};

use dnsrace_bench::store_with_plans;

const ENDPOINTS: u32 = 500_000;

/// Plan `g`'s eight target sets of four leaves each.
fn eight_sets(g: u64) -> Vec<Vec<Leaf>> {
    (0..8u8)
        .map(|k| {
            (0..4u8)
                .map(|j| Leaf::parse(&format!("10.{g}.{k}.{j}"), 10 + j).unwrap())
                .collect()
        })
        .collect()
}

fn bench_flip_many(c: &mut Criterion) {
    let store = store_with_plans(ENDPOINTS, 2, eight_sets);
    let mut group = c.benchmark_group("flip_many_500k");
    group.sample_size(30);
    let ids: Vec<u32> = (0..ENDPOINTS).collect();
    // name, endpoints (None: all), mode, fence, and a fixed generation or None to alternate
    // generations so that every if_newer call does real work (half apply, half refuse).
    let batches = [
        ("if_newer_all", None, Mode::IfNewer, Fence::None, None),
        ("lww_all", None, Mode::Lww, Fence::None, None),
        ("fenced_lww_all", None, Mode::Lww, Fence::All(1), Some(2)),
        (
            "if_newer_ids",
            Some(ids.as_slice()),
            Mode::IfNewer,
            Fence::None,
            None,
        ),
    ];
    let mut g = 1;
    for (name, ids, mode, fence, fixed) in batches {
        group.bench_function(name, |b| {
            b.iter(|| {
                let generation = fixed.unwrap_or_else(|| {
                    g = 3 - g;
                    g
                });
                black_box(store.flip_many(ids, generation, mode, None, fence).unwrap())
            })
        });
    }
    group.finish();
    c.bench_function("flip_single", |b| {
        let mut id = 0;
        b.iter(|| {
            id = (id + 7919) % ENDPOINTS;
            black_box(store.flip(id, 2, Mode::Lww, None, None).unwrap())
        })
    });
}

criterion_group!(benches, bench_flip_many);
criterion_main!(benches);
