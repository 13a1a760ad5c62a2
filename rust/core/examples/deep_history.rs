//! One endpoint, `OPS` operations (default 10,000) from 8 Rust threads at full speed (flips in
//! every mode with and without fences, reads, leases): record, write, parse and check, with
//! the times. Used by `bench/history_figures.py` (Python threads cannot overlap their calls
//! this much: a single-endpoint call holds the interpreter).
//!
//! `cargo run --release -p dnsrace-core --example deep_history -- [OPS]`

use std::sync::Arc;
use std::thread;
use std::time::Instant;

use dnsrace_core::history::{check, parse_jsonl, write_jsonl};
use dnsrace_core::{EndpointKey, Leaf, Mode, PlanBuilder, Store};

fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let store = Arc::new(Store::with_history(total * 2));
    let ids = store.add_endpoints(&["one.bench"]).expect("a valid name");
    for g in 1..=5 {
        let mut b = PlanBuilder::new(g).expect("a generation");
        let set = b
            .add_set(vec![Leaf::parse("10.0.0.1", 1).expect("an address")])
            .expect("a set");
        b.add_endpoint(EndpointKey::Id(ids[0]), set)
            .expect("an endpoint");
        store.put_plan(&b.build()).expect("a new plan");
    }
    let start = Instant::now();
    let handles: Vec<_> = (0..8u64)
        .map(|t| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (t + 1).wrapping_mul(0x1234_5678_9abc_def1);
                let mut rnd = |n: u64| {
                    x ^= x >> 12;
                    x ^= x << 25;
                    x ^= x >> 27;
                    x.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
                };
                let holder = format!("t{t}");
                let mut token = 1;
                for _ in 0..total / 8 {
                    let g = 1 + rnd(5);
                    let now = start.elapsed().as_secs_f64();
                    match rnd(8) {
                        0..=1 => {
                            let mode = if rnd(2) == 0 {
                                Mode::Lww
                            } else {
                                Mode::IfNewer
                            };
                            let _ = store.flip(0, g, mode, None, None);
                        }
                        2 => {
                            let _ = store.flip(0, g, Mode::Lww, None, Some(token));
                        }
                        3 => {
                            let v = store.versions(Some(&[0])).map_or(0, |v| v[0]);
                            let _ = store.flip(0, g, Mode::Exact, Some(v), None);
                        }
                        4 => {
                            let _ = store.state(0);
                        }
                        5 => {
                            if let Ok(t) = store.acquire_lease(0, &holder, 0.0002, now) {
                                token = t;
                            }
                        }
                        6 => {
                            let _ = store.renew_lease(0, &holder, token, 0.0002, now);
                        }
                        _ => {
                            let _ = store.release_lease(0, &holder, token);
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a worker");
    }
    let recorded = start.elapsed();
    let (history, _) = store.history().expect("a history");
    let bytes = write_jsonl(&history);
    let t = Instant::now();
    let parsed = parse_jsonl(&bytes).expect("a valid history");
    let r = check(&parsed);
    let checked = t.elapsed();
    let mut overlapping = 0;
    let mut last_ret = 0;
    for op in &parsed.ops {
        if op.call < last_ret {
            overlapping += 1;
        }
        last_ret = last_ret.max(op.ret);
    }
    println!(
        "deep (Rust threads): {} operations on 1 endpoint from 8 threads, {} overlapping an \
         earlier one (recorded in {:.2?}): parse + check {:.2?}, verdict {}",
        parsed.ops.len(),
        overlapping,
        recorded,
        checked,
        r.verdict.name()
    );
}
