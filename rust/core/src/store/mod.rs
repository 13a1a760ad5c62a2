//! The record store: endpoints, plan trees, aliases, leases and fencing.
//!
//! Locking: `inner` (names, plans, target sets) is a read-write lock taken first by every
//! operation; per-endpoint control records live in `SHARDS` mutex-guarded shards taken after it,
//! one at a time (all of them, ascending, for snapshots). The lease holder table is never held
//! together with a shard. Endpoints are spread over shards in chunks of `CHUNK` consecutive ids
//! so that a batch over all endpoints walks memory sequentially and takes each shard lock once.
//!
//! Modules by concern: [`layout`] (slots, shards, walks), [`plans`] (trees, put, delete),
//! [`flips`] (modes, fences, outcomes), [`reads`] (resolve and batch reads), [`leases`],
//! [`stats`] (counters, gauges, memory).

use std::collections::BTreeMap;
use std::path::Path;

use parking_lot::{Mutex, RwLock};

use crate::atomic_file::output_path_problem;
use crate::error::{Error, Result};
use crate::history::{write_jepsen, write_jsonl, Format, History, OpKind, Recorder};
use crate::name::{canonical_name, NameTable};
use crate::target::{SetTable, TargetSet};

mod flips;
mod kernel;
mod layout;
mod leases;
mod plans;
mod reads;
mod snapshot;
mod stats;

pub use flips::{Fence, FlipCounts, Mode, Outcome, OutcomeSink};
pub use layout::Endpoints;
pub use plans::DeleteReport;
pub use reads::{EndpointState, Field};
pub use snapshot::{check_output_path, write_atomic, SNAPSHOT_MAGIC, SNAPSHOT_VERSION};
pub use stats::{Memory, Stats};

use layout::{locate, Shard, SHARDS};
use leases::Holders;
use plans::Trees;
use stats::Counters;

struct Inner {
    names: NameTable,
    plans: BTreeMap<u64, Trees>,
    sets: SetTable,
    trees: u64,
    records_live: u64,
}

impl Inner {
    #[inline]
    fn has_tree(&self, generation: u64, id: u32) -> bool {
        generation != 0
            && self
                .plans
                .get(&generation)
                .is_some_and(|t| t.get(id).is_some())
    }

    /// Check that every id is registered (one vectorisable pass; the first bad id is named).
    fn check_ids(&self, ids: &[u32]) -> Result<()> {
        let len = self.names.len();
        match kernel::max_id(ids) {
            Some(max) if max as usize >= len => {
                let bad = ids.iter().copied().find(|&id| id as usize >= len);
                Err(unknown_id(bad.unwrap_or(max) as u64, len))
            }
            _ => Ok(()),
        }
    }

    fn check_id(&self, id: u32) -> Result<u32> {
        if (id as usize) < self.names.len() {
            Ok(id)
        } else {
            Err(unknown_id(id as u64, self.names.len()))
        }
    }
}

fn unknown_id(id: u64, len: usize) -> Error {
    Error::UnknownEndpoint(format!(
        "unknown endpoint id {id} (store has {len} endpoints)"
    ))
}

/// An endpoint as callers name it: a DNS name or a dense id.
#[derive(Debug, Clone, Copy)]
pub enum EndpointRef<'a> {
    Name(&'a str),
    Id(u64),
}

/// The thread-safe record store. All methods take `&self`.
pub struct Store {
    inner: RwLock<Inner>,
    holders: RwLock<Holders>,
    shards: Box<[Mutex<Shard>]>,
    counters: Counters,
    empty: TargetSet,
    /// The operation history (`None`: nothing recorded, one branch per call).
    history: Option<Box<Recorder>>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Self {
        Self {
            inner: RwLock::new(Inner {
                names: NameTable::new(),
                plans: BTreeMap::new(),
                sets: SetTable::new(),
                trees: 0,
                records_live: 0,
            }),
            holders: RwLock::new(Holders::default()),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            counters: Counters::default(),
            empty: Vec::new().into(),
            history: None,
        }
    }

    /// A store that records its last `capacity` completed operations (0: none; see
    /// [`crate::history`]).
    pub fn with_history(capacity: usize) -> Self {
        let mut store = Self::new();
        if capacity > 0 {
            store.history = Some(Box::new(Recorder::new(capacity)));
        }
        store
    }

    /// This store, recording its last `capacity` completed operations from now on (0: none);
    /// for a store made otherwise, such as a restored one.
    pub fn keep_history(mut self, capacity: usize) -> Self {
        self.history = (capacity > 0).then(|| Box::new(Recorder::new(capacity)));
        self
    }

    /// The recorder, when the store keeps a history.
    pub fn recorder(&self) -> Option<&Recorder> {
        self.history.as_deref()
    }

    /// A call's start time on the history's clock (0 without a history).
    #[inline(always)]
    pub(super) fn stamp(&self) -> u64 {
        match &self.history {
            Some(h) => h.begin(),
            None => 0,
        }
    }

    /// The recorded operations (ordered by call time) with the holder names, and how many
    /// older operations the ring dropped; `None` without a history.
    pub fn history(&self) -> Option<(History, u64)> {
        let h = self.history.as_ref()?;
        let (ops, dropped) = h.ops();
        let holders = self
            .holders
            .read()
            .names
            .iter()
            .map(|s| s.to_string())
            .collect();
        Some((
            History {
                ops,
                holders,
                dropped,
            },
            dropped,
        ))
    }

    /// Write the history to `path` atomically in `format`; returns the number of operations.
    /// `InvalidArgument` without a history or for a path that cannot become a file.
    pub fn export_history(&self, path: &Path, format: Format) -> Result<usize> {
        let Some((history, _)) = self.history() else {
            return Err(Error::InvalidArgument(
                "this store records no history (make it with history=CAPACITY)".into(),
            ));
        };
        if let Some(why) = output_path_problem(path) {
            return Err(Error::InvalidArgument(format!(
                "cannot write history {path:?}: {why}"
            )));
        }
        let bytes = match format {
            Format::Jsonl => write_jsonl(&history),
            Format::Jepsen => write_jepsen(&history),
        };
        write_atomic(path, &bytes)
            .map_err(|e| Error::InvalidArgument(format!("cannot write history {path:?}: {e}")))?;
        Ok(history.ops.len())
    }

    /// Record completed operations (no-op without a history).
    #[inline]
    pub(super) fn record(&self, call: u64, ops: impl IntoIterator<Item = (u32, OpKind)>) {
        if let Some(h) = &self.history {
            let ret = h.stamp();
            h.record(ops, call, ret);
        }
    }

    /// Number of registered endpoints.
    pub fn len(&self) -> usize {
        self.inner.read().names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Register names (validated first: on error nothing is registered); returns their ids.
    pub fn add_endpoints<S: AsRef<str>>(&self, names: &[S]) -> Result<Vec<u32>> {
        let canon: Vec<_> = names
            .iter()
            .map(|n| canonical_name(n.as_ref()))
            .collect::<Result<_>>()?;
        let bytes = canon.iter().map(|n| n.len()).sum();
        let mut inner = self.inner.write();
        let before = inner.names.len();
        if before + canon.len() >= u32::MAX as usize {
            return Err(Error::InvalidArgument(
                "store full: at most 2^32-2 endpoints".into(),
            ));
        }
        inner.names.reserve(canon.len(), bytes);
        let mut ids = Vec::with_capacity(canon.len());
        for name in &canon {
            ids.push(inner.names.insert(name)?.0);
        }
        let after = inner.names.len();
        // Grow every shard exactly for a large batch; amortised growth for small ones.
        let mut per_shard = [0usize; SHARDS];
        for id in before..after {
            per_shard[locate(id as u32).0] += 1;
        }
        for (s, &n) in per_shard.iter().enumerate() {
            if n > 0 {
                self.shards[s].lock().grow(n);
            }
        }
        Ok(ids)
    }

    /// Resolve endpoint references to ids under one lock.
    pub fn endpoint_ids(&self, refs: &[EndpointRef<'_>]) -> Result<Vec<u32>> {
        let inner = self.inner.read();
        refs.iter().map(|r| Self::lookup(&inner, *r)).collect()
    }

    /// Resolve one endpoint reference to its id.
    pub fn endpoint_id(&self, r: EndpointRef<'_>) -> Result<u32> {
        Self::lookup(&self.inner.read(), r)
    }

    /// Check that every id is registered.
    pub fn check_ids(&self, ids: &[u64]) -> Result<Vec<u32>> {
        let inner = self.inner.read();
        ids.iter()
            .map(|&id| Self::lookup(&inner, EndpointRef::Id(id)))
            .collect()
    }

    fn lookup(inner: &Inner, r: EndpointRef<'_>) -> Result<u32> {
        match r {
            EndpointRef::Id(id) => {
                if id < inner.names.len() as u64 {
                    Ok(id as u32)
                } else {
                    Err(unknown_id(id, inner.names.len()))
                }
            }
            EndpointRef::Name(name) => {
                let canon = canonical_name(name)?;
                inner
                    .names
                    .get(&canon)
                    .ok_or_else(|| Error::UnknownEndpoint(format!("unknown endpoint {name:?}")))
            }
        }
    }

    pub fn endpoint_name(&self, id: u32) -> Result<String> {
        let inner = self.inner.read();
        inner.check_id(id)?;
        Ok(inner.names.name(id).to_owned())
    }

    /// The names of many endpoints (`None`: all, in id order), read under one lock.
    pub fn endpoint_names(&self, ids: Option<&[u32]>) -> Result<Vec<String>> {
        let inner = self.inner.read();
        let n = ids.map_or(inner.names.len(), <[u32]>::len);
        let mut out = crate::error::try_vec(n, "endpoint names")?;
        match ids {
            Some(ids) => {
                inner.check_ids(ids)?;
                out.extend(ids.iter().map(|&id| inner.names.name(id).to_owned()));
            }
            None => out.extend((0..n as u32).map(|id| inner.names.name(id).to_owned())),
        }
        Ok(out)
    }

    /// Whether an endpoint (name or id) is registered.
    pub fn contains(&self, r: EndpointRef<'_>) -> bool {
        Self::lookup(&self.inner.read(), r).is_ok()
    }
}
