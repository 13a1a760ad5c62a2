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

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::thread::ThreadId;
use std::time::Instant;

use parking_lot::Mutex;

use crate::store::{Mode, Outcome};

mod check;
mod format;

/// Hash maps and sets with a fixed (deterministic) fast hasher.
pub(crate) type FastMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::FixedState>;
pub(crate) type FastSet<K> = hashbrown::HashSet<K, foldhash::fast::FixedState>;

pub use check::{
    check, check_with, CheckOptions, CheckResult, DomainViolation, Exceeded, Illegal, Verdict,
    DEFAULT_MAX_STATES, DEFAULT_TIMEOUT, MAX_MAX_STATES, MAX_TIMEOUT,
};
pub use format::{parse_jsonl, write_jepsen, write_jsonl, Format};

/// One completed operation on one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub client: u32,
    pub endpoint: u32,
    pub call: u64,
    pub ret: u64,
    pub kind: OpKind,
}

/// What an operation asked and answered. Holders are indexes into the history's holder names.
#[derive(Debug, Clone, PartialEq)]
pub enum OpKind {
    Flip {
        generation: u64,
        mode: Mode,
        expected: Option<u64>,
        fence: Option<u64>,
        rollback: bool,
        outcome: Outcome,
    },
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
            OpKind::Flip { .. } => "flip",
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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub ops: Vec<Op>,
    pub holders: Vec<String>,
}

struct Ring {
    ops: VecDeque<Op>,
    dropped: u64,
    threads: FastMap<ThreadId, u32>,
    /// The client each thread records as when told (`set_context`), else its own id.
    told: FastMap<ThreadId, u32>,
    /// Record only these endpoints (`None`: all). Each endpoint's history is complete on its
    /// own, so a sample of endpoints is still a checkable history.
    only: Option<FastSet<u32>>,
}

/// The ring of the last `capacity` completed operations, and the clock that stamps them.
pub struct Recorder {
    capacity: usize,
    ring: Mutex<Ring>,
    epoch: Instant,
    virtual_on: AtomicBool,
    virtual_ns: AtomicU64,
    last: AtomicU64,
}

impl Recorder {
    pub fn new(capacity: usize) -> Self {
        Recorder {
            capacity,
            ring: Mutex::new(Ring {
                ops: VecDeque::with_capacity(capacity.min(4096)),
                dropped: 0,
                threads: FastMap::default(),
                told: FastMap::default(),
                only: None,
            }),
            epoch: Instant::now(),
            virtual_on: AtomicBool::new(false),
            virtual_ns: AtomicU64::new(0),
            last: AtomicU64::new(0),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Record the calling thread's next operations as `client` (`None`: the thread's own id)
    /// and, with `time_ns`, stamp them on that virtual clock from now on (`None` keeps the
    /// store's current clock; [`Recorder::real_time`] returns to real time).
    pub fn set_context(&self, client: Option<u32>, time_ns: Option<u64>) {
        let me = std::thread::current().id();
        {
            let mut ring = self.ring.lock();
            match client {
                Some(c) => ring.told.insert(me, c),
                None => ring.told.remove(&me),
            };
        }
        if let Some(t) = time_ns {
            self.virtual_ns.store(t, Relaxed);
            self.virtual_on.store(true, Relaxed);
        }
    }

    pub fn real_time(&self) {
        self.virtual_on.store(false, Relaxed);
    }

    /// A timestamp: real nanoseconds since the store was made, or the virtual time bumped past
    /// the last stamp (strictly increasing).
    pub fn stamp(&self) -> u64 {
        if self.virtual_on.load(Relaxed) {
            let v = self.virtual_ns.load(Relaxed);
            let mut last = self.last.load(Relaxed);
            loop {
                let t = v.max(last + 1);
                match self.last.compare_exchange_weak(last, t, Relaxed, Relaxed) {
                    Ok(_) => return t,
                    Err(seen) => last = seen,
                }
            }
        }
        let t = self.epoch.elapsed().as_nanos() as u64;
        // Keep real time above any virtual stamp given before (one clock per history).
        self.last.fetch_max(t, Relaxed).max(t)
    }

    /// Record completed operations of the calling thread (one call, one client).
    pub fn record(&self, ops: impl IntoIterator<Item = (u32, OpKind)>, call: u64, ret: u64) {
        if self.capacity == 0 {
            return;
        }
        let me = std::thread::current().id();
        let mut ring = self.ring.lock();
        let client = match ring.told.get(&me) {
            Some(&c) => c,
            None => {
                let next = ring.threads.len() as u32;
                *ring.threads.entry(me).or_insert(next)
            }
        };
        for (endpoint, kind) in ops {
            if ring
                .only
                .as_ref()
                .is_some_and(|only| !only.contains(&endpoint))
            {
                continue;
            }
            if ring.ops.len() == self.capacity {
                ring.ops.pop_front();
                ring.dropped += 1;
            }
            ring.ops.push_back(Op {
                client,
                endpoint,
                call,
                ret,
                kind,
            });
        }
    }

    /// The recorded operations ordered by call time (ties in recording order), and how many
    /// older ones the ring dropped.
    pub fn ops(&self) -> (Vec<Op>, u64) {
        let ring = self.ring.lock();
        let mut ops: Vec<Op> = ring.ops.iter().cloned().collect();
        ops.sort_by_key(|o| o.call);
        (ops, ring.dropped)
    }

    /// Record only the operations on `endpoints` from now on (`None`: every endpoint).
    pub fn only_endpoints(&self, endpoints: Option<&[u32]>) {
        self.ring.lock().only = endpoints.map(|e| e.iter().copied().collect());
    }

    pub fn clear(&self) {
        let mut ring = self.ring.lock();
        ring.ops.clear();
        ring.dropped = 0;
    }
}
