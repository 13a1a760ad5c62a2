//! dnsrace-core: an in-memory store of load-balancer DNS records for planner/enactor control
//! planes, with generation compare-and-swap, last-write-wins, leases and fencing tokens.
//!
//! Pure Rust: nothing here knows about Python. Time is always an explicit argument (`now`, in
//! seconds on the caller's clock) so that a deterministic virtual clock can drive the store.
//!
//! ```
//! use dnsrace_core::{EndpointKey, Leaf, Mode, Outcome, PlanBuilder, Store};
//! let store = Store::new();
//! let ids = store.add_endpoints(&["dynamodb.us-east-1.amazonaws.com"]).unwrap();
//! let mut plan = PlanBuilder::new(7).unwrap();
//! let set = plan.add_set(vec![Leaf::parse("10.0.0.1", 100).unwrap()]).unwrap();
//! plan.add_endpoint(EndpointKey::Id(ids[0]), set).unwrap();
//! store.put_plan(&plan.build()).unwrap();
//! assert_eq!(store.flip(ids[0], 7, Mode::IfNewer, None, None).unwrap(), Outcome::Applied);
//! assert_eq!(store.resolve(ids[0]).unwrap().len(), 1);
//! ```

mod atomic_file;
mod column;
mod error;
mod flip_types;
pub mod history;
mod name;
mod store;
mod target;

pub use column::{lent_id_range, lent_id_range_u64, lent_ids_are_range, Column};
pub use error::{
    check_batch_len, check_generation, check_holder, check_now, check_token, check_ttl,
    check_version, try_vec, Error, Result, MAX_BATCH, MAX_GENERATION, MAX_HOLDER_CHARS, MAX_TOKEN,
};
pub use name::{canonical_name, MAX_LABEL_LEN, MAX_NAME_LEN};
pub use store::{
    check_output_path, write_atomic, DeleteReport, EndpointRef, EndpointState, Endpoints, Fence,
    Field, FlipCounts, Memory, Mode, Outcome, OutcomeSink, Stats, Store, SNAPSHOT_MAGIC,
    SNAPSHOT_VERSION,
};
pub use target::{canonical_set, EndpointKey, Leaf, Plan, PlanBuilder, PlanKeys, TargetSet};
