//! Where an endpoint's control record lives (chunked shards) and the walks every batch uses.

use parking_lot::MutexGuard;

use super::{Inner, Store};
use crate::error::Result;

pub(super) const CHUNK_BITS: u32 = 10;
pub(super) const CHUNK: usize = 1 << CHUNK_BITS;
pub(super) const SHARDS: usize = 64;
pub(super) const NO_TREE: u32 = u32::MAX;

#[inline]
pub(super) fn locate(id: u32) -> (usize, usize) {
    let chunk = (id >> CHUNK_BITS) as usize;
    (
        chunk % SHARDS,
        ((chunk / SHARDS) << CHUNK_BITS) | (id as usize & (CHUNK - 1)),
    )
}

#[inline]
pub(super) fn id_at(shard: usize, index: usize) -> u32 {
    let chunk = (index >> CHUNK_BITS) * SHARDS + shard;
    ((chunk << CHUNK_BITS) | (index & (CHUNK - 1))) as u32
}

/// The body of [`Store::each_listed`], expanded in place so that a hot caller's loop body is
/// inlined (a closure called from the loop can be left out of line).
///
/// Visits the records of `ids` with their positions in `ids`, in list order, so that repeated
/// ids are handled in order. A shard's lock is held over each run of consecutive ids in that
/// shard: a sorted or chunk-local batch takes a lock about once per `CHUNK` ids, and threads
/// working on disjoint id ranges rarely meet on a lock. When the runs turn out short (a
/// scattered batch), the rest of the batch is grouped by shard instead, each lock taken once
/// (still in list order within a shard).
macro_rules! walk_listed {
    ($store:expr, $ids:expr, |$pos:ident, $slot:ident| $body:expr) => {{
        const PROBE: usize = 4096;
        const MIN_RUN: usize = 16;
        let (store, ids): (&Store, &[u32]) = ($store, $ids);
        let (mut next, mut runs) = (0usize, 0usize);
        while next < ids.len() {
            if next >= PROBE && runs * MIN_RUN > next {
                break;
            }
            let shard = $crate::store::layout::locate(ids[next]).0;
            let mut slots = store.shards[shard].lock();
            runs += 1;
            while let Some(&id) = ids.get(next) {
                let (s, i) = $crate::store::layout::locate(id);
                if s != shard {
                    break;
                }
                let ($pos, $slot): (usize, &mut Slot) = (next, &mut slots[i]);
                $body;
                next += 1;
            }
        }
        if next < ids.len() {
            let from = next;
            let rest = &ids[from..];
            let (order, starts) = $crate::store::layout::group_by_shard(rest);
            for s in 0..$crate::store::layout::SHARDS {
                if starts[s] == starts[s + 1] {
                    continue;
                }
                let mut slots = store.shards[s].lock();
                for &p in &order[starts[s]..starts[s + 1]] {
                    let i = $crate::store::layout::locate(rest[p]).1;
                    let ($pos, $slot): (usize, &mut Slot) = (from + p, &mut slots[i]);
                    $body;
                }
            }
        }
    }};
}
pub(super) use walk_listed;

/// A per-endpoint control record. Generation 0 means "none" (generations start at 1).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Slot {
    pub(super) alias: u64,
    pub(super) rollback: u64,
    pub(super) version: u64,
    pub(super) lease_token: u64,
    pub(super) highest_fence: u64,
    pub(super) lease_expiry: f64,
    /// Interned holder id + 1; 0 when no lease is recorded.
    pub(super) holder: u32,
}

/// Positions of a batch grouped by shard, keeping list order within a shard so that repeated
/// endpoints are processed in the order given.
pub(super) fn group_by_shard(ids: &[u32]) -> (Vec<usize>, [usize; SHARDS + 1]) {
    let mut starts = [0usize; SHARDS + 1];
    for &id in ids {
        starts[locate(id).0 + 1] += 1;
    }
    for s in 0..SHARDS {
        starts[s + 1] += starts[s];
    }
    let mut next = starts;
    let mut order = vec![0usize; ids.len()];
    for (pos, &id) in ids.iter().enumerate() {
        let s = locate(id).0;
        order[next[s]] = pos;
        next[s] += 1;
    }
    (order, starts)
}

impl Store {
    pub(super) fn lock_all(&self) -> Vec<MutexGuard<'_, Vec<Slot>>> {
        self.shards.iter().map(|s| s.lock()).collect()
    }

    /// Visit the record of every endpoint with an id below `limit`, with its id, shard by shard
    /// (each locked once).
    pub(super) fn each_slot(&self, limit: usize, mut f: impl FnMut(u32, &mut Slot)) {
        for (s, shard) in self.shards.iter().enumerate() {
            for (i, slot) in shard.lock().iter_mut().enumerate() {
                let id = id_at(s, i);
                // Ids grow with the index within a shard.
                if id as usize >= limit {
                    break;
                }
                f(id, slot);
            }
        }
    }

    /// Visit the records of `ids` with their positions in `ids`, in list order, so that
    /// repeated ids are handled in order. A shard's lock is held over each run of consecutive
    /// ids in that shard: a sorted or chunk-local batch takes a lock about once per `CHUNK` ids,
    /// and threads working on disjoint id ranges rarely meet on a lock. When the runs turn out
    /// short (a scattered batch), the rest of the batch is grouped by shard instead, each lock
    /// taken once (still in list order within a shard).
    pub(super) fn each_listed(&self, ids: &[u32], mut f: impl FnMut(usize, &mut Slot)) {
        walk_listed!(self, ids, |pos, slot| f(pos, slot));
    }

    /// Read one field of many endpoints (`None`: all, in id order) under each shard lock once.
    pub(super) fn gather<T>(
        &self,
        inner: &Inner,
        ids: Option<&[u32]>,
        f: impl Fn(u32, &Slot) -> T,
    ) -> Result<Vec<T>> {
        let mut out: Vec<Option<T>>;
        match ids {
            None => {
                out = (0..inner.names.len()).map(|_| None).collect();
                self.each_slot(out.len(), |id, slot| out[id as usize] = Some(f(id, slot)));
            }
            Some(ids) => {
                inner.check_ids(ids)?;
                out = (0..ids.len()).map(|_| None).collect();
                self.each_listed(ids, |pos, slot| out[pos] = Some(f(ids[pos], slot)));
            }
        }
        Ok(out.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_layout_is_a_bijection() {
        let mut seen = std::collections::HashSet::new();
        for id in (0..300_000u32).chain([u32::MAX - 1]) {
            let (s, i) = locate(id);
            assert!(s < SHARDS);
            assert_eq!(id_at(s, i), id);
            assert!(seen.insert((s, i)));
        }
    }
}
