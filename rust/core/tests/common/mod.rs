//! Helpers shared by the core's integration tests (a module of each test crate that uses it).

use dnsrace_core::{EndpointKey, Leaf, Plan, PlanBuilder};

/// A plan of `generation` giving every endpoint of `ids` the same one-leaf tree.
pub fn one_leaf_plan(generation: u64, ids: &[u32]) -> Plan {
    let mut b = PlanBuilder::new(generation).unwrap();
    let set = b
        .add_set(vec![Leaf::parse("10.0.0.1", 1).unwrap()])
        .unwrap();
    for &id in ids {
        b.add_endpoint(EndpointKey::Id(id), set).unwrap();
    }
    b.build()
}
