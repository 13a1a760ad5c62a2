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
