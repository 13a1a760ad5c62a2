//! The benchmarks of dnsrace-core without Python: criterion's flip bench (`benches/flip.rs`) and
//! the anchor loops (`src/bin/anchor.rs`), in a crate of their own so that the core's
//! `cargo test` compiles no criterion; `make test` lints and type-checks them (clippy
//! --all-targets), so they do not rot.
//!
//! The library is the store both benches time: endpoints by id, and a plan per generation whose
//! target sets are spread over the endpoints in turn.

use dnsrace_core::{EndpointKey, Leaf, PlanBuilder, Store};

/// A store of `endpoints` endpoints and plans 1..=`generations`; plan `g` holds the sets
/// `sets(g)`, endpoint `id` gets set `id % sets(g).len()`.
pub fn store_with_plans(
    endpoints: u32,
    generations: u64,
    sets: impl Fn(u64) -> Vec<Vec<Leaf>>,
) -> Store {
    let store = Store::new();
    let names: Vec<String> = (0..endpoints)
        .map(|i| format!("ep{i}.bench.example"))
        .collect();
    store.add_endpoints(&names).unwrap();
    for g in 1..=generations {
        let mut plan = PlanBuilder::new(g).unwrap();
        plan.reserve(endpoints as usize);
        let sets: Vec<u32> = sets(g)
            .into_iter()
            .map(|leaves| plan.add_set(leaves).unwrap())
            .collect();
        for id in 0..endpoints {
            plan.add_endpoint(EndpointKey::Id(id), sets[id as usize % sets.len()])
                .unwrap();
        }
        store.put_plan(&plan.build()).unwrap();
    }
    store
}

/// The median of `v` (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The probes' command line: `[ENDPOINTS [ROUNDS]]`, with 500,000 endpoints and
/// `default_rounds` rounds unless given (at least one round).
pub fn endpoints_and_rounds(default_rounds: usize) -> (usize, usize) {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(500_000);
    (n, args.get(1).copied().unwrap_or(default_rounds).max(1))
}
