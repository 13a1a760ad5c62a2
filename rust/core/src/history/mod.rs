//! Histories: the operations a store completed, recorded per endpoint, their file formats
//! (`jsonl`, `jepsen`), and a linearizability checker against the store's model.
//!
//! A store made with [`crate::Store::with_history`] keeps the last `capacity` completed
//! operations in a ring ([`Recorder`]). A batch call is recorded as one [`Op`] per endpoint,
//! each with the batch's call and return times, so that every endpoint's history is complete on
//! its own (the checker partitions by endpoint). Calls that fail with an error change nothing
//! and are not recorded.
//!
//! Times are nanoseconds on one monotonic clock: since the store was made (real time), or the
//! caller's virtual time ([`Recorder::set_context`]), which the recorder bumps by 1 ns on each
//! tie so that a virtual-clock run's operations are strictly ordered (the tie-breaking sequence
//! number, folded into the time).
//!
//! Modules: `recorder` (the ring, the clock, who calls); `format`, `read` and `write`
//! (the files); the checker as Porcupine separates it: `model` (states and steps),
//! `search` (Wing–Gong/Lowe, memo within a memory bound), `domain` (rules checked without
//! search) and `check` (the driver: bounds, parallel endpoints, the result document).
//! Imports run one way: the store records through this module, which knows the store only
//! through the leaf `flip_types`.

use crate::flip_types::{Mode, Outcome};

mod check;
mod domain;
mod fields;
mod format;
mod model;
mod read;
mod recorder;
mod search;
mod write;

/// Hash maps and sets with a fixed (deterministic) fast hasher.
pub(crate) type FastMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::FixedState>;
pub(crate) type FastSet<K> = hashbrown::HashSet<K, foldhash::fast::FixedState>;

pub use check::{
    check, check_with, CheckOptions, CheckResult, Illegal, Verdict, DEFAULT_MAX_STATES,
    DEFAULT_TIMEOUT, MAX_MAX_STATES, MAX_TIMEOUT,
};
pub use domain::DomainViolation;
pub use format::Format;
pub use read::parse_jsonl;
pub use recorder::{set_caller_source, with_caller, Caller, Recorder};
pub use search::Exceeded;
pub use write::{write_jepsen, write_jsonl};

/// One completed operation on one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub client: u32,
    pub endpoint: u32,
    pub call: u64,
    pub ret: u64,
    pub kind: OpKind,
}

/// A flip's call and answer: its own struct, so that the recorder, the writers and the model
/// name its fields once each instead of spelling the whole variant out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlipOp {
    pub generation: u64,
    pub mode: Mode,
    pub expected: Option<u64>,
    pub fence: Option<u64>,
    pub rollback: bool,
    pub outcome: Outcome,
}

/// What an operation asked and answered. Holders are indexes into the history's holder names.
#[derive(Debug, Clone, PartialEq)]
pub enum OpKind {
    Flip(FlipOp),
    /// A read of the control record (0 = none for alias and rollback).
    Read {
        alias: u64,
        rollback: u64,
        version: u64,
    },
    /// `token`: the granted fencing token, `None` when refused.
    Acquire {
        holder: u32,
        ttl: f64,
        now: f64,
        token: Option<u64>,
    },
    /// `expiry`: the new expiry, `None` when refused (lease lost).
    Renew {
        holder: u32,
        token: u64,
        ttl: f64,
        now: f64,
        expiry: Option<f64>,
    },
    Release {
        holder: u32,
        token: u64,
        released: bool,
    },
    PutTree {
        generation: u64,
    },
    /// Recorded for each endpoint that had a tree of `generation`; `deleted` false when `safe`
    /// clean-up kept it (an alias or rollback referred to it).
    DeleteTree {
        generation: u64,
        safe: bool,
        deleted: bool,
    },
}

impl OpKind {
    pub fn name(&self) -> &'static str {
        match self {
            OpKind::Flip(_) => "flip",
            OpKind::Read { .. } => "read",
            OpKind::Acquire { .. } => "acquire",
            OpKind::Renew { .. } => "renew",
            OpKind::Release { .. } => "release",
            OpKind::PutTree { .. } => "put_tree",
            OpKind::DeleteTree { .. } => "delete_tree",
        }
    }
}

/// A history: operations (in the order of the file, or of recording) and holder names.
/// `dropped`: how many older operations the recording ring dropped before the first one kept
/// (0: the history is whole). A truncated history starts from a state nobody recorded, so the
/// checker does not judge it (verdict `unknown`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub ops: Vec<Op>,
    pub holders: Vec<String>,
    pub dropped: u64,
}
