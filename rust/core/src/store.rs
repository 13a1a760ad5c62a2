//! The record store: endpoints, plan trees, aliases, leases and fencing.
//!
//! Locking: `inner` (names, plans, target sets) is a read-write lock taken first by every
//! operation; per-endpoint control records live in `SHARDS` mutex-guarded shards taken after it,
//! one at a time in ascending order (all of them, ascending, for snapshots). The lease holder
//! table is never held together with a shard. Endpoints are
//! spread over shards in chunks of `CHUNK` consecutive ids so that a batch over all endpoints
//! walks memory sequentially and takes each shard lock once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use hashbrown::HashMap;
use parking_lot::{Mutex, MutexGuard, RwLock};

use crate::error::{
    check_generation, check_holder, check_now, check_token, check_ttl, check_version, Error,
    Result, MAX_TOKEN,
};
use crate::name::{canonical_name, NameTable};
use crate::target::{EndpointKey, Plan, SetTable, TargetSet};

const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;
const SHARDS: usize = 64;
const NO_TREE: u32 = u32::MAX;

#[inline]
fn locate(id: u32) -> (usize, usize) {
    let chunk = (id >> CHUNK_BITS) as usize;
    (
        chunk % SHARDS,
        ((chunk / SHARDS) << CHUNK_BITS) | (id as usize & (CHUNK - 1)),
    )
}

#[inline]
fn id_at(shard: usize, index: usize) -> u32 {
    let chunk = (index >> CHUNK_BITS) * SHARDS + shard;
    ((chunk << CHUNK_BITS) | (index & (CHUNK - 1))) as u32
}

/// How a flip decides whether to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Always apply (last write wins).
    Lww,
    /// Apply iff the generation is greater than the alias (generation compare-and-swap).
    IfNewer,
    /// Apply iff the endpoint's version equals the expected one (like etcd's mod_revision).
    Exact,
}

impl Mode {
    pub fn parse(text: &str) -> Result<Mode> {
        match text {
            "lww" => Ok(Mode::Lww),
            "if_newer" => Ok(Mode::IfNewer),
            "exact" => Ok(Mode::Exact),
            other => Err(Error::InvalidArgument(format!(
                "invalid mode {other:?}: expected \"lww\", \"if_newer\" or \"exact\""
            ))),
        }
    }
}

/// Fencing tokens of a batch flip.
#[derive(Debug, Clone, Copy)]
pub enum Fence<'a> {
    None,
    All(u64),
    /// One token per endpoint, aligned with the batch.
    Each(&'a [u64]),
}

/// Result of one flip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Refused by the mode's condition.
    Stale,
    /// Refused because the fence was lower than the highest token seen.
    Fenced,
    /// The endpoint has no tree of that generation.
    Missing,
    /// The flip would record the rollback from the active tree, which is gone (the alias
    /// dangles): refused, nothing changed. Only a flip without rollback can move such an alias.
    Dangling,
}

/// Outcome counts of a batch flip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlipCounts {
    pub applied: u64,
    pub stale: u64,
    pub fenced: u64,
    pub missing: u64,
    pub dangling: u64,
    /// Applied flips that lowered an alias.
    pub stale_flips: u64,
}

/// Outcome of [`Store::delete_plans`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteReport {
    pub deleted_trees: u64,
    pub kept_trees: u64,
    pub kept_generations: Vec<u64>,
    pub unknown_generations: Vec<u64>,
}

/// Snapshot of one endpoint's control record.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointState {
    pub id: u32,
    pub name: String,
    pub alias: Option<u64>,
    pub rollback: Option<u64>,
    pub version: u64,
    pub lease_holder: Option<String>,
    pub lease_token: u64,
    pub lease_expiry: f64,
    pub highest_fence: u64,
}

/// Counters and gauges; see the README for their definitions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub endpoints: u64,
    pub plans: u64,
    pub trees: u64,
    pub target_sets: u64,
    pub records_live: u64,
    pub flips_applied: u64,
    pub stale_flips: u64,
    pub stale_rejections: u64,
    pub fenced_rejections: u64,
    pub missing_rejections: u64,
    pub dangling_rejections: u64,
    pub empty_answers: u64,
    pub dangling_aliases: u64,
    pub dangling_rollbacks: u64,
    pub lease_conflicts: u64,
    pub leases_granted: u64,
}

/// Estimated heap bytes by part (capacity-based).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    pub endpoints: u64,
    pub names: u64,
    pub plans: u64,
    pub target_sets: u64,
    pub total: u64,
}

/// A per-endpoint control record. Generation 0 means "none" (generations start at 1).
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    alias: u64,
    rollback: u64,
    version: u64,
    lease_token: u64,
    highest_fence: u64,
    lease_expiry: f64,
    /// Interned holder id + 1; 0 when no lease is recorded.
    holder: u32,
}

impl Slot {
    /// The flip decision and update, shared by every flip path. Checks run in the order:
    /// tree missing, fence, mode condition, dangling active tree (only when `rollback`).
    /// `active_exists` answers whether this endpoint's tree of a generation is still stored.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn flip(
        &mut self,
        generation: u64,
        has_tree: bool,
        mode: Mode,
        expected: u64,
        fence: Option<u64>,
        rollback: bool,
        active_exists: impl FnOnce(u64) -> bool,
        counts: &mut FlipCounts,
    ) -> Outcome {
        if !has_tree {
            counts.missing += 1;
            return Outcome::Missing;
        }
        if let Some(f) = fence {
            if f < self.highest_fence {
                counts.fenced += 1;
                return Outcome::Fenced;
            }
        }
        let ok = match mode {
            Mode::Lww => true,
            // alias 0 (none) is below every generation.
            Mode::IfNewer => generation > self.alias,
            Mode::Exact => self.version == expected,
        };
        if !ok {
            counts.stale += 1;
            return Outcome::Stale;
        }
        if rollback && self.alias != 0 && !active_exists(self.alias) {
            counts.dangling += 1;
            return Outcome::Dangling;
        }
        if let Some(f) = fence {
            self.highest_fence = self.highest_fence.max(f);
        }
        if generation < self.alias {
            counts.stale_flips += 1;
        }
        self.rollback = if rollback { self.alias } else { 0 };
        self.alias = generation;
        self.version += 1;
        counts.applied += 1;
        Outcome::Applied
    }
}

/// The trees of one generation: the interned set of each endpoint, or `NO_TREE`.
struct Trees {
    by_endpoint: Vec<u32>,
    count: u64,
    records: u64,
}

impl Trees {
    #[inline]
    fn get(&self, id: u32) -> Option<u32> {
        match self.by_endpoint.get(id as usize) {
            Some(&t) if t != NO_TREE => Some(t),
            _ => None,
        }
    }
}

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

#[derive(Default)]
struct Holders {
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
}

impl Holders {
    fn get(&self, holder: &str) -> Option<u32> {
        self.index.get(holder).map(|&i| i + 1)
    }
    fn name(&self, id: u32) -> Option<&str> {
        id.checked_sub(1)
            .and_then(|i| self.names.get(i as usize))
            .map(|s| &**s)
    }
}

#[derive(Default)]
struct Counters {
    flips_applied: AtomicU64,
    stale_flips: AtomicU64,
    stale_rejections: AtomicU64,
    fenced_rejections: AtomicU64,
    missing_rejections: AtomicU64,
    dangling_rejections: AtomicU64,
    empty_answers: AtomicU64,
    lease_conflicts: AtomicU64,
    leases_granted: AtomicU64,
}

impl Counters {
    fn add_flips(&self, c: &FlipCounts) {
        let add = |a: &AtomicU64, v: u64| {
            if v != 0 {
                a.fetch_add(v, Relaxed);
            }
        };
        add(&self.flips_applied, c.applied);
        add(&self.stale_flips, c.stale_flips);
        add(&self.stale_rejections, c.stale);
        add(&self.fenced_rejections, c.fenced);
        add(&self.missing_rejections, c.missing);
        add(&self.dangling_rejections, c.dangling);
    }
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
    shards: Box<[Mutex<Vec<Slot>>]>,
    counters: Counters,
    empty: TargetSet,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

/// Positions of a batch grouped by shard, keeping list order within a shard so that repeated
/// endpoints are processed in the order given.
fn group_by_shard(ids: &[u32]) -> (Vec<usize>, [usize; SHARDS + 1]) {
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
            shards: (0..SHARDS).map(|_| Mutex::new(Vec::new())).collect(),
            counters: Counters::default(),
            empty: Vec::new().into(),
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
                let mut shard = self.shards[s].lock();
                if n >= shard.len() {
                    shard.reserve_exact(n);
                }
                let len = shard.len();
                shard.resize(len + n, Slot::default());
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

    /// Store a plan's trees. Fails if the generation still has a tree or an endpoint is unknown.
    pub fn put_plan(&self, plan: &Plan) -> Result<()> {
        // Name lookups under the shared lock; endpoints are never removed, so ids stay valid.
        let ids = {
            let inner = self.inner.read();
            plan.endpoints()
                .iter()
                .map(|k| match k {
                    EndpointKey::Name(n) => Self::lookup(&inner, EndpointRef::Name(n)),
                    EndpointKey::Id(id) => Self::lookup(&inner, EndpointRef::Id(*id as u64)),
                })
                .collect::<Result<Vec<u32>>>()?
        };
        let generation = plan.generation();
        // The builder rejects repeated keys; a name and an id of the same endpoint only meet here.
        let mixed = plan
            .endpoints()
            .iter()
            .any(|k| matches!(k, EndpointKey::Id(_)))
            && plan
                .endpoints()
                .iter()
                .any(|k| matches!(k, EndpointKey::Name(_)));
        if mixed {
            let mut seen = vec![false; ids.iter().map(|&i| i as usize + 1).max().unwrap_or(0)];
            for &id in &ids {
                if std::mem::replace(&mut seen[id as usize], true) {
                    return Err(Error::InvalidArgument(format!(
                        "endpoint id {id} appears twice in plan {generation} (by name and by id)"
                    )));
                }
            }
        }
        let mut uses = vec![0u32; plan.sets().len()];
        for &s in plan.set_of() {
            uses[s as usize] += 1;
        }
        let mut inner = self.inner.write();
        if inner.plans.contains_key(&generation) {
            return Err(Error::InvalidArgument(format!(
                "plan {generation} is already stored (plans are immutable)"
            )));
        }
        let global: Vec<u32> = plan
            .sets()
            .iter()
            .zip(&uses)
            .map(|(set, &n)| {
                if n > 0 {
                    inner.sets.acquire(set, n)
                } else {
                    NO_TREE
                }
            })
            .collect();
        let mut by_endpoint = vec![NO_TREE; inner.names.len()];
        for (&id, &s) in ids.iter().zip(plan.set_of()) {
            by_endpoint[id as usize] = global[s as usize];
        }
        let count = ids.len() as u64;
        inner.trees += count;
        inner.records_live += plan.records();
        if count > 0 {
            inner.plans.insert(
                generation,
                Trees {
                    by_endpoint,
                    count,
                    records: plan.records(),
                },
            );
        }
        Ok(())
    }

    /// Generations with at least one stored tree, ascending.
    pub fn plan_generations(&self) -> Vec<u64> {
        self.inner.read().plans.keys().copied().collect()
    }

    pub fn has_tree(&self, id: u32, generation: u64) -> Result<bool> {
        check_generation(generation)?;
        let inner = self.inner.read();
        inner.check_id(id)?;
        Ok(inner.has_tree(generation, id))
    }

    fn lock_all(&self) -> Vec<MutexGuard<'_, Vec<Slot>>> {
        self.shards.iter().map(|s| s.lock()).collect()
    }

    /// Visit every endpoint's record with its id, shard by shard (each locked once).
    fn each_slot(&self, mut f: impl FnMut(u32, &mut Slot)) {
        for (s, shard) in self.shards.iter().enumerate() {
            for (i, slot) in shard.lock().iter_mut().enumerate() {
                f(id_at(s, i), slot);
            }
        }
    }

    /// Visit the records of `ids` with their positions in `ids`, shard by shard (each locked
    /// once), in list order within a shard so that repeated ids are handled in order.
    fn each_listed(&self, ids: &[u32], mut f: impl FnMut(usize, &mut Slot)) {
        let (order, starts) = group_by_shard(ids);
        for s in 0..SHARDS {
            if starts[s] == starts[s + 1] {
                continue;
            }
            let mut slots = self.shards[s].lock();
            for &pos in &order[starts[s]..starts[s + 1]] {
                f(pos, &mut slots[locate(ids[pos]).1]);
            }
        }
    }

    /// Delete the trees of `generations`. `safe` keeps trees an alias or rollback refers to.
    pub fn delete_plans(&self, generations: &[u64], safe: bool) -> Result<DeleteReport> {
        for &g in generations {
            check_generation(g)?;
        }
        let mut gens = generations.to_vec();
        gens.sort_unstable();
        gens.dedup();
        let mut report = DeleteReport::default();
        let mut guard = self.inner.write();
        let inner = &mut *guard;
        let shards = self.lock_all();
        for g in gens {
            let Some(trees) = inner.plans.get_mut(&g) else {
                report.unknown_generations.push(g);
                continue;
            };
            let mut kept = 0u64;
            for (id, tree) in trees.by_endpoint.iter_mut().enumerate() {
                if *tree == NO_TREE {
                    continue;
                }
                if safe {
                    let (s, i) = locate(id as u32);
                    let slot = &shards[s][i];
                    if slot.alias == g || slot.rollback == g {
                        kept += 1;
                        continue;
                    }
                }
                let set = *tree;
                let leaves = inner.sets.get(set).len() as u64;
                inner.sets.release(set);
                *tree = NO_TREE;
                trees.count -= 1;
                trees.records -= leaves;
                inner.trees -= 1;
                inner.records_live -= leaves;
                report.deleted_trees += 1;
            }
            if kept > 0 {
                report.kept_trees += kept;
                report.kept_generations.push(g);
            }
            if trees.count == 0 {
                inner.plans.remove(&g);
            }
        }
        Ok(report)
    }

    /// Flip one endpoint. `expected` is required by, and only allowed with, [`Mode::Exact`].
    /// A missing tree is reported as [`Outcome::Missing`] (and counted).
    pub fn flip(
        &self,
        id: u32,
        generation: u64,
        mode: Mode,
        expected: Option<u64>,
        fence: Option<u64>,
    ) -> Result<Outcome> {
        self.flip_with(id, generation, mode, expected, fence, true)
    }

    /// [`Store::flip`]; `rollback = false` flips without recording the rollback (which is
    /// cleared), so it needs no active tree: how a dangling alias is repaired.
    pub fn flip_with(
        &self,
        id: u32,
        generation: u64,
        mode: Mode,
        expected: Option<u64>,
        fence: Option<u64>,
        rollback: bool,
    ) -> Result<Outcome> {
        check_generation(generation)?;
        let expected = check_expected(mode, expected)?;
        if let Some(f) = fence {
            check_token(f, "fence")?;
        }
        let inner = self.inner.read();
        inner.check_id(id)?;
        let has_tree = inner.has_tree(generation, id);
        let (s, i) = locate(id);
        let mut counts = FlipCounts::default();
        let outcome = self.shards[s].lock()[i].flip(
            generation,
            has_tree,
            mode,
            expected.unwrap_or(0),
            fence,
            rollback,
            |alias| inner.has_tree(alias, id),
            &mut counts,
        );
        self.counters.add_flips(&counts);
        Ok(outcome)
    }

    /// Flip many endpoints (`None`: all, in id order). `expected` and a per-endpoint fence align
    /// with the batch. Everything is validated before the first change.
    pub fn flip_many(
        &self,
        ids: Option<&[u32]>,
        generation: u64,
        mode: Mode,
        expected: Option<&[u64]>,
        fence: Fence<'_>,
    ) -> Result<FlipCounts> {
        self.flip_many_with(ids, generation, mode, expected, fence, true)
    }

    /// [`Store::flip_many`]; `rollback` as in [`Store::flip_with`].
    pub fn flip_many_with(
        &self,
        ids: Option<&[u32]>,
        generation: u64,
        mode: Mode,
        expected: Option<&[u64]>,
        fence: Fence<'_>,
        rollback: bool,
    ) -> Result<FlipCounts> {
        check_generation(generation)?;
        if mode == Mode::Exact && expected.is_none() {
            return Err(Error::InvalidArgument(
                "mode \"exact\" requires expected_versions".into(),
            ));
        }
        if mode != Mode::Exact && expected.is_some() {
            return Err(Error::InvalidArgument(
                "expected_versions is only allowed with mode \"exact\"".into(),
            ));
        }
        if let Some(e) = expected {
            e.iter().try_for_each(|&v| check_version(v).map(drop))?;
        }
        match fence {
            Fence::All(f) => {
                check_token(f, "fence")?;
            }
            Fence::Each(f) => f
                .iter()
                .try_for_each(|&t| check_token(t, "fence").map(drop))?,
            Fence::None => {}
        }
        let inner = self.inner.read();
        let n = match ids {
            Some(ids) => {
                for &id in ids {
                    inner.check_id(id)?;
                }
                ids.len()
            }
            None => inner.names.len(),
        };
        let aligned = |what: &str, len: usize| {
            if len == n {
                Ok(())
            } else {
                Err(Error::InvalidArgument(format!(
                    "{what} has {len} items for {n} endpoints"
                )))
            }
        };
        if let Some(e) = expected {
            aligned("expected_versions", e.len())?;
        }
        if let Fence::Each(f) = fence {
            aligned("fence", f.len())?;
        }
        let trees = inner.plans.get(&generation);
        let has_tree = |id: u32| trees.is_some_and(|t| t.get(id).is_some());
        let fence_at = |pos: usize| match fence {
            Fence::None => None,
            Fence::All(f) => Some(f),
            Fence::Each(f) => Some(f[pos]),
        };
        let expected_at = |pos: usize| expected.map_or(0, |e| e[pos]);
        let mut counts = FlipCounts::default();
        // Most endpoints of a batch share their alias: look its trees up once per change.
        let mut active: (u64, Option<&Trees>) = (0, None);
        let mut flip = |id: u32, pos: usize, slot: &mut Slot| {
            let (expected, fence) = (expected_at(pos), fence_at(pos));
            let active_exists = |alias: u64| {
                if active.0 != alias {
                    active = (alias, inner.plans.get(&alias));
                }
                active.1.is_some_and(|t| t.get(id).is_some())
            };
            slot.flip(
                generation,
                has_tree(id),
                mode,
                expected,
                fence,
                rollback,
                active_exists,
                &mut counts,
            );
        };
        match ids {
            None => self.each_slot(|id, slot| flip(id, id as usize, slot)),
            Some(ids) => self.each_listed(ids, |pos, slot| flip(ids[pos], pos, slot)),
        }
        self.counters.add_flips(&counts);
        Ok(counts)
    }

    fn answer(&self, inner: &Inner, alias: u64, id: u32) -> TargetSet {
        let set = inner
            .plans
            .get(&alias)
            .and_then(|t| t.get(id))
            .map(|s| inner.sets.get(s).clone());
        match set {
            Some(s) if !s.is_empty() => s,
            _ => {
                self.counters.empty_answers.fetch_add(1, Relaxed);
                set.unwrap_or_else(|| self.empty.clone())
            }
        }
    }

    /// The leaves the alias points at; empty (and counted) when unset, deleted or empty.
    pub fn resolve(&self, id: u32) -> Result<TargetSet> {
        let inner = self.inner.read();
        inner.check_id(id)?;
        let (s, i) = locate(id);
        let alias = self.shards[s].lock()[i].alias;
        Ok(self.answer(&inner, alias, id))
    }

    /// Read one field of many endpoints (`None`: all, in id order) under each shard lock once.
    fn gather<T>(
        &self,
        inner: &Inner,
        ids: Option<&[u32]>,
        f: impl Fn(u32, &Slot) -> T,
    ) -> Result<Vec<T>> {
        let mut out: Vec<Option<T>>;
        match ids {
            None => {
                out = (0..inner.names.len()).map(|_| None).collect();
                self.each_slot(|id, slot| out[id as usize] = Some(f(id, slot)));
            }
            Some(ids) => {
                for &id in ids {
                    inner.check_id(id)?;
                }
                out = (0..ids.len()).map(|_| None).collect();
                self.each_listed(ids, |pos, slot| out[pos] = Some(f(ids[pos], slot)));
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// [`Store::resolve`] for many endpoints.
    pub fn resolve_many(&self, ids: Option<&[u32]>) -> Result<Vec<TargetSet>> {
        let inner = self.inner.read();
        let aliases = self.gather(&inner, ids, |_, slot| slot.alias)?;
        let id_of = |pos: usize| ids.map_or(pos as u32, |ids| ids[pos]);
        Ok(aliases
            .iter()
            .enumerate()
            .map(|(pos, &alias)| self.answer(&inner, alias, id_of(pos)))
            .collect())
    }

    /// Alias generation per endpoint (0 = none).
    pub fn aliases(&self, ids: Option<&[u32]>) -> Result<Vec<u64>> {
        let inner = self.inner.read();
        self.gather(&inner, ids, |_, slot| slot.alias)
    }

    /// Rollback generation per endpoint (0 = none).
    pub fn rollbacks(&self, ids: Option<&[u32]>) -> Result<Vec<u64>> {
        let inner = self.inner.read();
        self.gather(&inner, ids, |_, slot| slot.rollback)
    }

    /// Version per endpoint (the compare value of [`Mode::Exact`]).
    pub fn versions(&self, ids: Option<&[u32]>) -> Result<Vec<u64>> {
        let inner = self.inner.read();
        self.gather(&inner, ids, |_, slot| slot.version)
    }

    /// Ids whose alias is set but whose tree is gone, in input order.
    pub fn dangling_aliases(&self, ids: Option<&[u32]>) -> Result<Vec<u32>> {
        let inner = self.inner.read();
        let flags = self.gather(&inner, ids, |id, slot| {
            (slot.alias != 0 && !inner.has_tree(slot.alias, id)).then_some(id)
        })?;
        Ok(flags.into_iter().flatten().collect())
    }

    pub fn state(&self, id: u32) -> Result<EndpointState> {
        let inner = self.inner.read();
        inner.check_id(id)?;
        let (s, i) = locate(id);
        // Copy the record and drop its lock before looking up the holder's name: the holder
        // table and a shard are never held together, so lock order cannot deadlock.
        let slot = self.shards[s].lock()[i];
        let holders = self.holders.read();
        let none_if_zero = |g: u64| (g != 0).then_some(g);
        Ok(EndpointState {
            id,
            name: inner.names.name(id).to_owned(),
            alias: none_if_zero(slot.alias),
            rollback: none_if_zero(slot.rollback),
            version: slot.version,
            lease_holder: holders.name(slot.holder).map(str::to_owned),
            lease_token: slot.lease_token,
            lease_expiry: slot.lease_expiry,
            highest_fence: slot.highest_fence,
        })
    }

    fn intern_holder(&self, holder: &str) -> u32 {
        if let Some(h) = self.holders.read().get(holder) {
            return h;
        }
        let mut holders = self.holders.write();
        if let Some(h) = holders.get(holder) {
            return h;
        }
        let i = holders.names.len() as u32;
        holders.names.push(holder.into());
        holders.index.insert(holder.into(), i);
        i + 1
    }

    /// Grant a lease on one slot, or say who holds it.
    fn grant(slot: &mut Slot, holder: u32, ttl: f64, now: f64) -> std::result::Result<u64, Grant> {
        if slot.holder != 0 && slot.holder != holder && now < slot.lease_expiry {
            return Err(Grant::Held);
        }
        if slot.highest_fence >= MAX_TOKEN {
            return Err(Grant::Exhausted);
        }
        let token = slot.highest_fence + 1;
        slot.highest_fence = token;
        slot.holder = holder;
        slot.lease_token = token;
        slot.lease_expiry = now + ttl;
        Ok(token)
    }

    /// Take the endpoint's lease until `now + ttl`; returns a fresh fencing token.
    pub fn acquire_lease(&self, id: u32, holder: &str, ttl: f64, now: f64) -> Result<u64> {
        check_holder(holder)?;
        check_ttl(ttl)?;
        check_now(now)?;
        let inner = self.inner.read();
        inner.check_id(id)?;
        let h = self.intern_holder(holder);
        let (s, i) = locate(id);
        let (granted, seen) = {
            let mut slots = self.shards[s].lock();
            let granted = Self::grant(&mut slots[i], h, ttl, now);
            (granted, slots[i])
        };
        match granted {
            Ok(token) => {
                self.counters.leases_granted.fetch_add(1, Relaxed);
                Ok(token)
            }
            Err(Grant::Held) => {
                self.counters.lease_conflicts.fetch_add(1, Relaxed);
                let owner = self
                    .holders
                    .read()
                    .name(seen.holder)
                    .unwrap_or("?")
                    .to_owned();
                Err(Error::LeaseHeld(format!(
                    "lease on {:?} held by {owner:?} until {}",
                    inner.names.name(id),
                    seen.lease_expiry
                )))
            }
            Err(Grant::Exhausted) => Err(Error::InvalidToken(format!(
                "fencing tokens of {:?} exhausted",
                inner.names.name(id)
            ))),
        }
    }

    /// [`Store::acquire_lease`] for many endpoints: `None` where refused (a live lease of
    /// another holder, counted as a conflict; or an exhausted token space, not counted).
    pub fn acquire_leases(
        &self,
        ids: &[u32],
        holder: &str,
        ttl: f64,
        now: f64,
    ) -> Result<Vec<Option<u64>>> {
        check_holder(holder)?;
        check_ttl(ttl)?;
        check_now(now)?;
        let inner = self.inner.read();
        for &id in ids {
            inner.check_id(id)?;
        }
        let h = self.intern_holder(holder);
        let mut out = vec![None; ids.len()];
        let (mut granted, mut conflicts) = (0u64, 0u64);
        self.each_listed(ids, |pos, slot| match Self::grant(slot, h, ttl, now) {
            Ok(token) => {
                out[pos] = Some(token);
                granted += 1;
            }
            Err(Grant::Held) => conflicts += 1,
            Err(Grant::Exhausted) => {}
        });
        self.counters.leases_granted.fetch_add(granted, Relaxed);
        self.counters.lease_conflicts.fetch_add(conflicts, Relaxed);
        Ok(out)
    }

    /// Extend a live lease; `LeaseLost` unless holder and token match and it has not expired.
    pub fn renew_lease(
        &self,
        id: u32,
        holder: &str,
        token: u64,
        ttl: f64,
        now: f64,
    ) -> Result<f64> {
        check_holder(holder)?;
        check_token(token, "token")?;
        check_ttl(ttl)?;
        check_now(now)?;
        let inner = self.inner.read();
        inner.check_id(id)?;
        let h = self.holders.read().get(holder);
        let (s, i) = locate(id);
        let mut slots = self.shards[s].lock();
        let slot = &mut slots[i];
        if h == Some(slot.holder) && slot.lease_token == token && now < slot.lease_expiry {
            slot.lease_expiry = now + ttl;
            return Ok(slot.lease_expiry);
        }
        Err(Error::LeaseLost(format!(
            "{holder:?} does not hold a live lease on {:?} with token {token}",
            inner.names.name(id)
        )))
    }

    /// Give a lease up; `LeaseLost` unless holder and token match.
    pub fn release_lease(&self, id: u32, holder: &str, token: u64) -> Result<()> {
        if self.release_leases(&[id], holder, &[token])? == 1 {
            return Ok(());
        }
        let name = self.endpoint_name(id)?;
        Err(Error::LeaseLost(format!(
            "{holder:?} does not hold the lease on {name:?} with token {token}"
        )))
    }

    /// Release the leases whose holder and token match; returns how many were released.
    pub fn release_leases(&self, ids: &[u32], holder: &str, tokens: &[u64]) -> Result<usize> {
        check_holder(holder)?;
        if ids.len() != tokens.len() {
            return Err(Error::InvalidArgument(format!(
                "tokens has {} items for {} endpoints",
                tokens.len(),
                ids.len()
            )));
        }
        for &t in tokens {
            check_token(t, "token")?;
        }
        let inner = self.inner.read();
        for &id in ids {
            inner.check_id(id)?;
        }
        let Some(h) = self.holders.read().get(holder) else {
            return Ok(0);
        };
        let mut released = 0;
        self.each_listed(ids, |pos, slot| {
            if slot.holder == h && slot.lease_token == tokens[pos] {
                slot.holder = 0;
                slot.lease_token = 0;
                slot.lease_expiry = 0.0;
                released += 1;
            }
        });
        Ok(released)
    }

    /// Counters and gauges from a consistent snapshot.
    pub fn stats(&self) -> Stats {
        let inner = self.inner.read();
        let shards = self.lock_all();
        let (mut dangling_aliases, mut dangling_rollbacks) = (0, 0);
        for (s, slots) in shards.iter().enumerate() {
            for (i, slot) in slots.iter().enumerate() {
                let id = id_at(s, i);
                if slot.alias != 0 && !inner.has_tree(slot.alias, id) {
                    dangling_aliases += 1;
                }
                if slot.rollback != 0 && !inner.has_tree(slot.rollback, id) {
                    dangling_rollbacks += 1;
                }
            }
        }
        let c = &self.counters;
        Stats {
            endpoints: inner.names.len() as u64,
            plans: inner.plans.len() as u64,
            trees: inner.trees,
            target_sets: inner.sets.live() as u64,
            records_live: inner.records_live,
            flips_applied: c.flips_applied.load(Relaxed),
            stale_flips: c.stale_flips.load(Relaxed),
            stale_rejections: c.stale_rejections.load(Relaxed),
            fenced_rejections: c.fenced_rejections.load(Relaxed),
            missing_rejections: c.missing_rejections.load(Relaxed),
            dangling_rejections: c.dangling_rejections.load(Relaxed),
            empty_answers: c.empty_answers.load(Relaxed),
            dangling_aliases,
            dangling_rollbacks,
            lease_conflicts: c.lease_conflicts.load(Relaxed),
            leases_granted: c.leases_granted.load(Relaxed),
        }
    }

    /// Estimated heap bytes by part.
    pub fn memory(&self) -> Memory {
        let inner = self.inner.read();
        let endpoints: usize = self
            .shards
            .iter()
            .map(|s| s.lock().capacity() * std::mem::size_of::<Slot>())
            .sum();
        let names = inner.names.heap_bytes();
        let plans: usize = inner
            .plans
            .values()
            .map(|t| t.by_endpoint.capacity() * 4 + std::mem::size_of::<Trees>() + 16)
            .sum();
        let sets = inner.sets.heap_bytes();
        Memory {
            endpoints: endpoints as u64,
            names: names as u64,
            plans: plans as u64,
            target_sets: sets as u64,
            total: (endpoints + names + plans + sets) as u64,
        }
    }

    /// Bytes of all names (what "beyond its name" excludes).
    pub fn name_bytes(&self) -> usize {
        self.inner.read().names.name_bytes()
    }
}

enum Grant {
    Held,
    Exhausted,
}

fn check_expected(mode: Mode, expected: Option<u64>) -> Result<Option<u64>> {
    match (mode, expected) {
        (Mode::Exact, None) => Err(Error::InvalidArgument(
            "mode \"exact\" requires expected_version".into(),
        )),
        (Mode::Exact, Some(v)) => Ok(Some(check_version(v)?)),
        (_, Some(_)) => Err(Error::InvalidArgument(
            "expected_version is only allowed with mode \"exact\"".into(),
        )),
        (_, None) => Ok(None),
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
