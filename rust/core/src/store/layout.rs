//! Where an endpoint's control record lives (chunked shards) and the walks every batch uses.

use parking_lot::MutexGuard;

use super::{unknown_id, Inner, Store};
use crate::error::Result;

/// The endpoints of a batch flip.
#[derive(Debug, Clone, Copy)]
pub enum Endpoints<'a> {
    /// Every endpoint, in id order (with a sink: the first sink-length ones).
    All,
    /// The ids `first..first + len`: what a list of them names, without the list.
    Range { first: u32, len: usize },
    /// These ids, in list order (repeats flipped in that order).
    Ids(&'a [u32]),
}

impl<'a> From<Option<&'a [u32]>> for Endpoints<'a> {
    fn from(ids: Option<&'a [u32]>) -> Self {
        ids.map_or(Endpoints::All, Endpoints::Ids)
    }
}

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
    ($store:expr, $ids:expr, |$pos:ident, $shard:ident, $index:ident| $body:expr) => {{
        const PROBE: usize = 4096;
        const MIN_RUN: usize = 16;
        let (store, ids): (&Store, &[u32]) = ($store, $ids);
        let (mut next, mut runs) = (0usize, 0usize);
        while next < ids.len() {
            if next >= PROBE && runs * MIN_RUN > next {
                break;
            }
            let shard = $crate::store::layout::locate(ids[next]).0;
            let mut guard = store.shards[shard].lock();
            runs += 1;
            while let Some(&id) = ids.get(next) {
                let (s, i) = $crate::store::layout::locate(id);
                if s != shard {
                    break;
                }
                let ($pos, $shard, $index): (usize, &mut Shard, usize) = (next, &mut guard, i);
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
                let mut guard = store.shards[s].lock();
                for &p in &order[starts[s]..starts[s + 1]] {
                    let i = $crate::store::layout::locate(rest[p]).1;
                    let ($pos, $shard, $index): (usize, &mut Shard, usize) =
                        (from + p, &mut guard, i);
                    $body;
                }
            }
        }
    }};
}

/// A per-endpoint control record as a value (snapshots, reads of a whole record). Generation
/// 0 means "none" (generations start at 1). Stored split by [`Shard`].
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

/// The cold part of a control record, what only the lease calls touch, as a value.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Lease {
    pub(super) token: u64,
    pub(super) expiry: f64,
    /// Interned holder id + 1; 0 when no lease is recorded.
    pub(super) holder: u32,
}

/// The leases of one shard, by column: a batch acquire or renew streams each field as its own
/// array, so that its loop reads and writes whole vectors of one type (an array of 24-byte
/// records interleaves them and keeps the compiler from vectorizing).
#[derive(Debug, Default)]
pub(super) struct Leases {
    pub(super) token: Vec<u64>,
    pub(super) expiry: Vec<f64>,
    /// Interned holder id + 1; 0 when no lease is recorded.
    pub(super) holder: Vec<u32>,
}

impl Leases {
    fn with_capacity(n: usize) -> Self {
        Leases {
            token: Vec::with_capacity(n),
            expiry: Vec::with_capacity(n),
            holder: Vec::with_capacity(n),
        }
    }

    #[inline]
    pub(super) fn get(&self, i: usize) -> Lease {
        Lease {
            token: self.token[i],
            expiry: self.expiry[i],
            holder: self.holder[i],
        }
    }

    #[inline]
    pub(super) fn set(&mut self, i: usize, lease: Lease) {
        self.token[i] = lease.token;
        self.expiry[i] = lease.expiry;
        self.holder[i] = lease.holder;
    }

    fn push(&mut self, lease: Lease) {
        self.token.push(lease.token);
        self.expiry.push(lease.expiry);
        self.holder.push(lease.holder);
    }

    fn heap_bytes(&self) -> usize {
        self.token.capacity() * 8 + self.expiry.capacity() * 8 + self.holder.capacity() * 4
    }
}

/// The control records of one shard, by column: a flip streams only the hot columns it reads
/// and writes (alias, rollback, version; the highest fence when fenced), 8 bytes per endpoint
/// each, instead of whole 56-byte records whose lease fields it never reads. Every column has
/// the same length; index `i` is the endpoint [`id_at`]`(shard, i)`.
#[derive(Debug, Default)]
pub(super) struct Shard {
    pub(super) alias: Vec<u64>,
    pub(super) rollback: Vec<u64>,
    pub(super) version: Vec<u64>,
    pub(super) fence: Vec<u64>,
    pub(super) lease: Leases,
}

impl Shard {
    pub(super) fn with_capacity(n: usize) -> Self {
        Shard {
            alias: Vec::with_capacity(n),
            rollback: Vec::with_capacity(n),
            version: Vec::with_capacity(n),
            fence: Vec::with_capacity(n),
            lease: Leases::with_capacity(n),
        }
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.alias.len()
    }

    /// Add `n` empty records (exact growth for a large batch, amortised for small ones).
    pub(super) fn grow(&mut self, n: usize) {
        let exact = n >= self.len();
        let len = self.len() + n;
        macro_rules! grow {
            ($($col:expr),*) => {$(
                if exact {
                    $col.reserve_exact(n);
                }
                $col.resize(len, Default::default());
            )*};
        }
        grow!(self.alias, self.rollback, self.version, self.fence);
        let lease = &mut self.lease;
        grow!(lease.token, lease.expiry, lease.holder);
    }

    /// The whole record at `i`.
    #[inline]
    pub(super) fn slot(&self, i: usize) -> Slot {
        let lease = self.lease.get(i);
        Slot {
            alias: self.alias[i],
            rollback: self.rollback[i],
            version: self.version[i],
            lease_token: lease.token,
            highest_fence: self.fence[i],
            lease_expiry: lease.expiry,
            holder: lease.holder,
        }
    }

    pub(super) fn push(&mut self, slot: Slot) {
        self.alias.push(slot.alias);
        self.rollback.push(slot.rollback);
        self.version.push(slot.version);
        self.fence.push(slot.highest_fence);
        self.lease.push(Lease {
            token: slot.lease_token,
            expiry: slot.lease_expiry,
            holder: slot.holder,
        });
    }

    /// Heap bytes (capacity-based).
    pub(super) fn heap_bytes(&self) -> usize {
        (self.alias.capacity()
            + self.rollback.capacity()
            + self.version.capacity()
            + self.fence.capacity())
            * 8
            + self.lease.heap_bytes()
    }
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
    /// Lock every shard that holds a record of the `registered` endpoints (read under the
    /// `inner` lock the caller holds, so that no endpoint is added meanwhile), ascending:
    /// the guards of shards `0..n`, indexed by shard. The others hold no record and gain
    /// none while `inner` is held, so a small store locks only the few it uses.
    pub(super) fn lock_all(&self, registered: usize) -> Vec<MutexGuard<'_, Shard>> {
        let used = registered.div_ceil(CHUNK).min(SHARDS);
        self.shards[..used].iter().map(|s| s.lock()).collect()
    }

    /// Visit every run of consecutive ids below `limit` (a chunk, or its part below `limit`):
    /// `f(first_id, shard, range of indexes)`, shard by shard (each locked once).
    pub(super) fn each_run(
        &self,
        limit: usize,
        f: impl FnMut(u32, &mut Shard, std::ops::Range<usize>),
    ) {
        self.each_run_in(0..limit, f);
    }

    /// [`Store::each_run`] over the ids `ids` (registered ones): a shard's chunks lie one
    /// after the other in its columns, so this streams each shard's part in one go.
    pub(super) fn each_run_in(
        &self,
        ids: std::ops::Range<usize>,
        mut f: impl FnMut(u32, &mut Shard, std::ops::Range<usize>),
    ) {
        if ids.is_empty() {
            return;
        }
        let (first_chunk, last_chunk) = (ids.start >> CHUNK_BITS, (ids.end - 1) >> CHUNK_BITS);
        if last_chunk - first_chunk < SHARDS {
            // Fewer chunks than shards: each in a shard of its own, visited chunk by chunk
            // (not every shard asked whether it has a run: that was most of a small batch's
            // walk).
            for chunk in first_chunk..=last_chunk {
                let lo = ids.start.max(chunk << CHUNK_BITS);
                let hi = ids.end.min((chunk + 1) << CHUNK_BITS);
                let (s, start) = locate(lo as u32);
                f(
                    lo as u32,
                    &mut self.shards[s].lock(),
                    start..start + (hi - lo),
                );
            }
            return;
        }
        for (s, shard) in self.shards.iter().enumerate() {
            let mut runs = runs_in_shard(s, ids.clone()).peekable();
            if runs.peek().is_none() {
                continue;
            }
            let mut guard = shard.lock();
            for (first, run) in runs {
                f(first, &mut guard, run);
            }
        }
    }

    /// Visit the records of `ids` with their positions in `ids`, in list order, so that
    /// repeated ids are handled in order. A shard's lock is held over each run of consecutive
    /// ids in that shard: a sorted or chunk-local batch takes a lock about once per `CHUNK` ids,
    /// and threads working on disjoint id ranges rarely meet on a lock. When the runs turn out
    /// short (a scattered batch), the rest of the batch is grouped by shard instead, each lock
    /// taken once (still in list order within a shard).
    pub(super) fn each_listed(&self, ids: &[u32], mut f: impl FnMut(usize, &mut Shard, usize)) {
        walk_listed!(self, ids, |pos, shard, i| f(pos, shard, i));
    }

    /// Read one column of many endpoints (`None`: all, in id order) under each shard lock
    /// once; whole runs of consecutive ids are copied as slices.
    pub(super) fn gather(
        &self,
        inner: &Inner,
        ids: Option<&[u32]>,
        column: fn(&Shard) -> &[u64],
    ) -> Result<Vec<u64>> {
        let n = ids.map_or(inner.names.len(), <[u32]>::len);
        let mut out = vec![0u64; n];
        self.gather_into(inner, ids.into(), column, &mut out)?;
        Ok(out)
    }

    /// [`Store::gather`] into `out`, which must have the batch's length (`All`: the first
    /// `out.len()` endpoints, at most all of them; checked by the caller). Ids that are
    /// `first, first + 1, ...` are read as that range, like every endpoint. A large batch of
    /// other ids is read with every shard locked, each value where it lies (as a gather of
    /// one array does), instead of grouping its positions by shard first.
    pub(super) fn gather_into(
        &self,
        inner: &Inner,
        ids: Endpoints<'_>,
        column: fn(&Shard) -> &[u64],
        out: &mut [u64],
    ) -> Result<()> {
        let walk = match ids {
            Endpoints::All => Walk::Range(0..out.len()),
            ids => inner.walk(ids)?,
        };
        match walk {
            Walk::Range(range) => self.each_run_in(range.clone(), |first, shard, run| {
                let pos = first as usize - range.start;
                out[pos..pos + run.len()].copy_from_slice(&column(shard)[run]);
            }),
            Walk::Listed(ids) if ids.len() >= TABLE_GATHER_FROM => {
                let guards = self.lock_all(inner.names.len());
                // Each chunk's values by chunk number: an id is then one look-up in a small
                // table and one in its chunk (fewer instructions per id keep more of the
                // scattered reads in flight than locating the id's shard and index).
                let chunks = inner.names.len().div_ceil(CHUNK);
                let table: Vec<&[u64]> = (0..chunks)
                    .map(|c| {
                        let values = column(&guards[c % SHARDS]);
                        let first = (c / SHARDS) << CHUNK_BITS;
                        &values[first..values.len().min(first + CHUNK)]
                    })
                    .collect();
                for (value, &id) in out.iter_mut().zip(ids) {
                    *value = table[(id >> CHUNK_BITS) as usize][id as usize & (CHUNK - 1)];
                }
            }
            Walk::Listed(ids) => self.gather_listed(ids, column, out),
        }
        Ok(())
    }

    /// The values of registered `ids` into `out` (of their length).
    fn gather_listed(&self, ids: &[u32], column: fn(&Shard) -> &[u64], out: &mut [u64]) {
        self.each_listed_runs(ids, |pos, shard, run| match run {
            Run::Span(i, len) => out[pos..pos + len].copy_from_slice(&column(shard)[i..i + len]),
            Run::One(i) => out[pos] = column(shard)[i],
        });
    }

    /// [`Store::each_listed`] that hands over, where `ids` continue as consecutive ids within
    /// one chunk, the whole span at once (`Run::Span(first index, length)` for the positions
    /// `pos..pos + length`): an id array in ascending blocks (`arange`, a slice of one) is
    /// then walked like a batch over all endpoints. Other ids come one at a time, in list
    /// order, as from [`Store::each_listed`].
    pub(super) fn each_listed_runs(&self, ids: &[u32], mut f: impl FnMut(usize, &mut Shard, Run)) {
        // Consecutive blocks are found by one vectorisable compare per block; the first block
        // that is not consecutive sends the rest of the batch to the per-id walk.
        let mut pos = 0;
        while pos < ids.len() {
            let first = ids[pos];
            let (s, i) = locate(first);
            let room = CHUNK - (first as usize & (CHUNK - 1));
            let len = room.min(ids.len() - pos);
            let block = &ids[pos..pos + len];
            if !super::kernel::consecutive(block, first) {
                break;
            }
            f(pos, &mut self.shards[s].lock(), Run::Span(i, len));
            pos += len;
        }
        if pos < ids.len() {
            let rest = &ids[pos..];
            walk_listed!(self, rest, |p, shard, i| f(pos + p, shard, Run::One(i)));
        }
    }
}

/// Listed ids from which a batch read locks every shard once and reads each id through a
/// table of chunks (below, the lock runs of [`Store::each_listed_runs`] cost less).
const TABLE_GATHER_FROM: usize = 1 << 16;

/// The runs of shard `s` among the ids `ids`, in id order: `(first id, range of indexes)`,
/// one per chunk of the shard that `ids` reach (clipped to `ids`). A shard's chunks lie one
/// after the other in its columns, so these ranges follow each other too.
fn runs_in_shard(
    s: usize,
    ids: std::ops::Range<usize>,
) -> impl Iterator<Item = (u32, std::ops::Range<usize>)> {
    let (first_chunk, last_chunk) = match ids.is_empty() {
        true => (1, 0),
        false => (ids.start >> CHUNK_BITS, (ids.end - 1) >> CHUNK_BITS),
    };
    // This shard's first chunk at or after `first_chunk`.
    let chunk = first_chunk + (s + SHARDS - first_chunk % SHARDS) % SHARDS;
    (chunk..=last_chunk).step_by(SHARDS).map(move |chunk| {
        let lo = ids.start.max(chunk << CHUNK_BITS);
        let hi = ids.end.min((chunk + 1) << CHUNK_BITS);
        let start = locate(lo as u32).1;
        (lo as u32, start..start + (hi - lo))
    })
}

/// The ids `ids` name when they are `first, first + 1, ...` (an `arange`, or a slice of
/// one): such a batch names each endpoint once, so it can be walked in any order, as
/// [`Store::each_run_in`] does. Checked block by block, stopping at the first that is not.
pub(super) fn as_range(ids: &[u32]) -> Option<std::ops::Range<usize>> {
    let first = *ids.first()?;
    let consecutive = ids.chunks(CHUNK).enumerate().all(|(b, block)| {
        let want = (first as usize).checked_add(b * CHUNK);
        want.is_some_and(|w| w <= u32::MAX as usize && super::kernel::consecutive(block, w as u32))
    });
    let end = first as usize + ids.len();
    // Past u32::MAX the ids would have wrapped: not one range.
    (consecutive && end <= u32::MAX as usize + 1).then_some(first as usize..end)
}

/// How a batch walks its endpoints, as [`Inner::walk`] found them.
pub(super) enum Walk<'a> {
    /// The ids of this range, each named once: walked shard by shard
    /// ([`Store::each_run_in`]), with no grouping of positions.
    Range(std::ops::Range<usize>),
    /// These ids, in list order (repeats in that order): [`Store::each_listed_runs`].
    Listed(&'a [u32]),
}

impl Walk<'_> {
    pub(super) fn len(&self) -> usize {
        match self {
            Walk::Range(r) => r.len(),
            Walk::Listed(ids) => ids.len(),
        }
    }

    /// The id at batch position `pos`.
    #[inline]
    pub(super) fn id(&self, pos: usize) -> u32 {
        match self {
            Walk::Range(r) => (r.start + pos) as u32,
            Walk::Listed(ids) => ids[pos],
        }
    }
}

impl Inner {
    /// The endpoints of a batch, checked registered, as a walk: a range where they are one
    /// (given as `Endpoints::Range`, or listed as `first, first + 1, ...`), else listed.
    /// `All` is every registered endpoint.
    pub(super) fn walk<'a>(&self, ids: Endpoints<'a>) -> Result<Walk<'a>> {
        let registered = self.names.len();
        Ok(match ids {
            Endpoints::All => Walk::Range(0..registered),
            Endpoints::Ids(ids) => match as_range(ids).filter(|r| r.end <= registered) {
                Some(range) => Walk::Range(range),
                None => {
                    self.check_ids(ids)?;
                    Walk::Listed(ids)
                }
            },
            Endpoints::Range { first, len } => {
                let end = first as usize + len;
                if len > 0 && end > registered {
                    // The first id that is not registered, as a list of these ids names it.
                    return Err(unknown_id(
                        registered.max(first as usize) as u64,
                        registered,
                    ));
                }
                Walk::Range(first as usize..end)
            }
        })
    }
}

/// What [`Store::each_listed_runs`] hands over.
#[derive(Debug, Clone, Copy)]
pub(super) enum Run {
    /// Indexes `start..start + len` of the shard, consecutive ids.
    Span(usize, usize),
    /// One index.
    One(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only ids `first, first + 1, ...` are a range: not a gap, a repeat, a descent, nor
    /// ids that wrap past `u32::MAX`; blocks past the first are checked too.
    #[test]
    fn as_range_takes_only_consecutive_ids() {
        let ids: Vec<u32> = (1000..5000).collect();
        assert_eq!(as_range(&ids), Some(1000..5000));
        assert_eq!(as_range(&ids[..1]), Some(1000..1001));
        assert_eq!(as_range(&[]), None);
        for bad in [3000, 4999] {
            let mut gap = ids.clone();
            gap[bad - 1000] += 1;
            assert_eq!(as_range(&gap), None, "gap at {bad}");
        }
        assert_eq!(as_range(&[7, 7]), None);
        assert_eq!(as_range(&[8, 7]), None);
        assert_eq!(
            as_range(&[u32::MAX - 1, u32::MAX]),
            Some(u32::MAX as usize - 1..1 << 32)
        );
        assert_eq!(as_range(&[u32::MAX, 0]), None);
    }

    /// A range walk visits each id once, at its own record, whether it spans fewer chunks
    /// than shards (chunk by chunk) or more (shard by shard).
    #[test]
    fn range_walks_visit_each_id_once() {
        let store = Store::new();
        let wide = SHARDS * CHUNK;
        let ranges = [
            0..0,
            0..1,
            1023..1025,
            5..3000,
            wide - 5..wide + 5,
            0..wide + 70 * CHUNK,
        ];
        for range in ranges {
            let mut seen = Vec::new();
            store.each_run_in(range.clone(), |first, _, run| {
                assert_eq!(locate(first).1, run.start, "{range:?}");
                seen.extend((0..run.len() as u32).map(|k| first + k));
            });
            seen.sort_unstable();
            let want: Vec<u32> = range.clone().map(|id| id as u32).collect();
            assert_eq!(seen, want, "{range:?}");
        }
    }

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
