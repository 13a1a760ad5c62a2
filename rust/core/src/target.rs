//! Weighted targets (records), canonical target sets, their interning, and plans.

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Arc;

use hashbrown::{HashSet, HashTable};

use crate::error::{check_generation, Error, Result};
use crate::name::canonical_name;

/// One record: an address and its weight (0..255, Route 53's range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Leaf {
    pub addr: IpAddr,
    pub weight: u8,
}

impl Leaf {
    /// Parse an IPv4 or IPv6 address (std syntax: no zone id, no brackets).
    pub fn parse(addr: &str, weight: u8) -> Result<Leaf> {
        let addr = addr
            .parse::<IpAddr>()
            .map_err(|_| Error::InvalidAddress(format!("invalid IP address {addr:?}")))?;
        Ok(Leaf { addr, weight })
    }
}

/// A canonical target set: leaves sorted by address (IPv4 before IPv6), no repeated address.
pub type TargetSet = Arc<[Leaf]>;

/// Sort a set and reject repeated addresses.
pub fn canonical_set(mut leaves: Vec<Leaf>) -> Result<TargetSet> {
    leaves.sort_unstable();
    if let Some(w) = leaves.windows(2).find(|w| w[0].addr == w[1].addr) {
        return Err(Error::InvalidArgument(format!(
            "address {} appears twice in one target set",
            w[0].addr
        )));
    }
    Ok(leaves.into())
}

/// How a plan names an endpoint: by DNS name (store-independent) or by a store's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EndpointKey {
    Name(Box<str>),
    Id(u32),
}

/// The endpoints of a plan, in construction order: only ids (the compact form a planner
/// working on ids builds, 4 bytes per endpoint), or any keys once a name was added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanKeys {
    Ids(Vec<u32>),
    Keys(Vec<EndpointKey>),
}

impl PlanKeys {
    pub fn len(&self) -> usize {
        match self {
            PlanKeys::Ids(v) => v.len(),
            PlanKeys::Keys(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key at position `i`.
    pub fn get(&self, i: usize) -> Option<EndpointKey> {
        match self {
            PlanKeys::Ids(v) => v.get(i).map(|&id| EndpointKey::Id(id)),
            PlanKeys::Keys(v) => v.get(i).cloned(),
        }
    }

    fn push(&mut self, key: EndpointKey) {
        match (self, key) {
            (PlanKeys::Ids(v), EndpointKey::Id(id)) => v.push(id),
            (PlanKeys::Keys(v), key) => v.push(key),
            (this, key) => {
                let PlanKeys::Ids(ids) = this else {
                    unreachable!()
                };
                let mut keys: Vec<EndpointKey> =
                    ids.iter().map(|&id| EndpointKey::Id(id)).collect();
                keys.push(key);
                *this = PlanKeys::Keys(keys);
            }
        }
    }
}

/// One plan generation: a tree (target set) per endpoint. Identical sets are stored once.
#[derive(Debug, Clone)]
pub struct Plan {
    generation: u64,
    sets: Vec<TargetSet>,
    endpoints: PlanKeys,
    set_of: Vec<u32>,
    records: u64,
}

/// Ids below this are checked for repeats in a bitset of at most 8 MiB; larger ones (stores
/// of more than 64M endpoints) in a hash set.
const DENSE_IDS: u32 = 1 << 26;

/// Builds a [`Plan`], validating as it goes.
pub struct PlanBuilder {
    plan: Plan,
    seen_sets: HashTable<u32>,
    /// Duplicate detection: a bit per endpoint id (dense ids make this far cheaper than
    /// hashing), a hash set for names.
    /// Ids from `DENSE_IDS` up go to `far_ids` instead, so that one huge id (a typo, or
    /// hostile input) cannot make the builder allocate a bitset of up to 512 MiB.
    seen_ids: Vec<u64>,
    far_ids: HashSet<u32, foldhash::fast::RandomState>,
    seen_names: HashSet<Box<str>, foldhash::fast::RandomState>,
    hasher: foldhash::fast::RandomState,
}

impl PlanBuilder {
    pub fn new(generation: u64) -> Result<Self> {
        Ok(Self {
            plan: Plan {
                generation: check_generation(generation)?,
                sets: Vec::new(),
                endpoints: PlanKeys::Ids(Vec::new()),
                set_of: Vec::new(),
                records: 0,
            },
            seen_sets: HashTable::new(),
            seen_ids: Vec::new(),
            far_ids: HashSet::default(),
            seen_names: HashSet::default(),
            hasher: foldhash::fast::RandomState::default(),
        })
    }

    /// Add a target set (canonicalised and deduplicated); returns its index in the plan.
    pub fn add_set(&mut self, leaves: Vec<Leaf>) -> Result<u32> {
        let set = canonical_set(leaves)?;
        let hash = self.hasher.hash_one(&*set);
        let sets = &self.plan.sets;
        if let Some(&i) = self.seen_sets.find(hash, |&i| *sets[i as usize] == *set) {
            return Ok(i);
        }
        let i = u32::try_from(sets.len())
            .map_err(|_| Error::InvalidArgument("too many target sets in one plan".into()))?;
        self.plan.sets.push(set);
        let (hasher, sets) = (&self.hasher, &self.plan.sets);
        self.seen_sets
            .insert_unique(hash, i, |&j| hasher.hash_one(&*sets[j as usize]));
        Ok(i)
    }

    /// Give `key` the set returned by [`PlanBuilder::add_set`].
    pub fn add_endpoint(&mut self, key: EndpointKey, set: u32) -> Result<()> {
        let size = self
            .plan
            .sets
            .get(set as usize)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "set index {set} out of range (plan has {} target sets)",
                    self.plan.sets.len()
                ))
            })?
            .len();
        let key = match key {
            EndpointKey::Name(name) => {
                EndpointKey::Name(canonical_name(&name)?.into_owned().into_boxed_str())
            }
            id => id,
        };
        let fresh = match &key {
            EndpointKey::Id(id) => self.mark_id(*id),
            EndpointKey::Name(name) => self.seen_names.insert(name.clone()),
        };
        if !fresh {
            return Err(Error::InvalidArgument(format!(
                "endpoint {} appears twice in plan {}",
                key_text(&key),
                self.plan.generation
            )));
        }
        self.plan.endpoints.push(key);
        self.plan.set_of.push(set);
        self.plan.records += size as u64;
        Ok(())
    }

    /// Mark an id as seen; false if it already was.
    #[inline]
    fn mark_id(&mut self, id: u32) -> bool {
        if id >= DENSE_IDS {
            return self.far_ids.insert(id);
        }
        let (word, bit) = ((id >> 6) as usize, 1u64 << (id & 63));
        if word >= self.seen_ids.len() {
            let len = (word + 1).max(self.seen_ids.len() * 2);
            self.seen_ids.resize(len, 0);
        }
        let fresh = self.seen_ids[word] & bit == 0;
        self.seen_ids[word] |= bit;
        fresh
    }

    /// Mark many ids as seen (the bitset already covers them), or return a repeated one and
    /// leave the marks as they were. Bits of consecutive ids in one 64-bit word are gathered
    /// in a register and checked and stored once per word, so sorted ids cost no
    /// read-after-write on memory per id.
    fn mark_ids(&mut self, ids: &[u32]) -> std::result::Result<(), u32> {
        let seen = &mut self.seen_ids;
        let (mut word, mut bits, mut group) = (usize::MAX, 0u64, 0usize);
        let undo = |seen: &mut Vec<u64>, done: &[u32]| {
            for &id in done {
                seen[(id >> 6) as usize] &= !(1u64 << (id & 63));
            }
        };
        let flush = |seen: &mut Vec<u64>, word: usize, bits: u64| {
            if word == usize::MAX {
                return Ok(());
            }
            let clash = seen[word] & bits;
            if clash != 0 {
                return Err((word as u32) << 6 | clash.trailing_zeros());
            }
            seen[word] |= bits;
            Ok(())
        };
        for (k, &id) in ids.iter().enumerate() {
            let (w, bit) = ((id >> 6) as usize, 1u64 << (id & 63));
            if w != word {
                if let Err(dup) = flush(seen, word, bits) {
                    undo(seen, &ids[..group]);
                    return Err(dup);
                }
                (word, bits, group) = (w, 0, k);
            }
            if bits & bit != 0 {
                undo(seen, &ids[..group]);
                return Err(id);
            }
            bits |= bit;
        }
        flush(seen, word, bits).inspect_err(|_| undo(seen, &ids[..group]))
    }

    /// [`PlanBuilder::mark_ids`] for a batch with ids past `DENSE_IDS` (rare: the slow path).
    fn mark_ids_one_by_one(&mut self, ids: &[u32]) -> std::result::Result<(), u32> {
        for (k, &id) in ids.iter().enumerate() {
            if !self.mark_id(id) {
                for &done in &ids[..k] {
                    self.unmark_id(done);
                }
                return Err(id);
            }
        }
        Ok(())
    }

    fn unmark_id(&mut self, id: u32) {
        if id >= DENSE_IDS {
            self.far_ids.remove(&id);
        } else {
            self.seen_ids[(id >> 6) as usize] &= !(1u64 << (id & 63));
        }
    }

    /// [`PlanBuilder::add_endpoint`] for many ids at once: `ids[i]` gets set `sets[i]` (indices
    /// returned by [`PlanBuilder::add_set`]). All-or-nothing: on error the builder is unchanged.
    pub fn add_ids(&mut self, ids: &[u32], sets: &[u32]) -> Result<()> {
        self.add_id_vecs(ids.to_vec(), sets.to_vec())
    }

    /// [`PlanBuilder::add_ids`] taking the vectors: into a builder without endpoints yet they
    /// are moved, not copied (a 1M-endpoint plan from arrays then costs two checking passes).
    pub fn add_id_vecs(&mut self, ids: Vec<u32>, sets: Vec<u32>) -> Result<()> {
        if ids.len() != sets.len() {
            return Err(Error::InvalidArgument(format!(
                "endpoints has {} items but set_index has {}",
                ids.len(),
                sets.len()
            )));
        }
        let sizes: Vec<u64> = self.plan.sets.iter().map(|s| s.len() as u64).collect();
        let mut records = 0u64;
        for &set in &sets {
            match sizes.get(set as usize) {
                Some(&n) => records += n,
                None => {
                    return Err(Error::InvalidArgument(format!(
                        "set index {set} out of range (plan has {} target sets)",
                        sizes.len()
                    )))
                }
            }
        }
        let max = ids.iter().copied().max().unwrap_or(0);
        let marked = if max >= DENSE_IDS {
            self.mark_ids_one_by_one(&ids)
        } else {
            let words = (max as usize >> 6) + 1;
            if words > self.seen_ids.len() {
                self.seen_ids.resize(words, 0);
            }
            self.mark_ids(&ids)
        };
        if let Err(id) = marked {
            return Err(Error::InvalidArgument(format!(
                "endpoint id {id} appears twice in plan {}",
                self.plan.generation
            )));
        }
        match &mut self.plan.endpoints {
            PlanKeys::Ids(v) if v.is_empty() => *v = ids,
            PlanKeys::Ids(v) => v.extend_from_slice(&ids),
            PlanKeys::Keys(v) => v.extend(ids.iter().map(|&id| EndpointKey::Id(id))),
        }
        if self.plan.set_of.is_empty() {
            self.plan.set_of = sets;
        } else {
            self.plan.set_of.extend_from_slice(&sets);
        }
        self.plan.records += records;
        Ok(())
    }

    pub fn reserve(&mut self, endpoints: usize) {
        match &mut self.plan.endpoints {
            PlanKeys::Ids(v) => v.reserve_exact(endpoints),
            PlanKeys::Keys(v) => v.reserve_exact(endpoints),
        }
        self.plan.set_of.reserve_exact(endpoints);
    }

    pub fn build(self) -> Plan {
        self.plan
    }
}

pub(crate) fn key_text(key: &EndpointKey) -> String {
    match key {
        EndpointKey::Name(n) => format!("{n:?}"),
        EndpointKey::Id(id) => format!("id {id}"),
    }
}

impl Plan {
    pub fn generation(&self) -> u64 {
        self.generation
    }
    /// Number of endpoints with a tree in this plan.
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }
    /// Total leaves over all endpoints.
    pub fn records(&self) -> u64 {
        self.records
    }
    pub fn endpoints(&self) -> &PlanKeys {
        &self.endpoints
    }
    pub fn sets(&self) -> &[TargetSet] {
        &self.sets
    }
    /// Index into [`Plan::sets`] per endpoint, aligned with [`Plan::endpoints`].
    pub fn set_of(&self) -> &[u32] {
        &self.set_of
    }
    /// The target set of one endpoint (a linear scan: for inspection, not hot paths).
    pub fn targets(&self, key: &EndpointKey) -> Option<&TargetSet> {
        let i = match (&self.endpoints, key) {
            (PlanKeys::Ids(v), EndpointKey::Id(id)) => v.iter().position(|k| k == id)?,
            (PlanKeys::Ids(_), EndpointKey::Name(_)) => return None,
            (PlanKeys::Keys(v), key) => v.iter().position(|k| k == key)?,
        };
        Some(&self.sets[self.set_of[i] as usize])
    }
}

/// The store's interned target sets, reference-counted by the trees that use them so that a
/// set disappears with its last tree.
pub(crate) struct SetTable {
    sets: Vec<Option<(TargetSet, u32)>>,
    free: Vec<u32>,
    index: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    live: usize,
}

impl SetTable {
    pub(crate) fn new() -> Self {
        Self {
            sets: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            live: 0,
        }
    }

    /// Intern `set` and add `refs` references to it.
    pub(crate) fn acquire(&mut self, set: &TargetSet, refs: u32) -> u32 {
        let hash = self.hasher.hash_one(&**set);
        let sets = &self.sets;
        let found = self.index.find(hash, |&i| match &sets[i as usize] {
            Some((s, _)) => **s == **set,
            None => false,
        });
        if let Some(&i) = found {
            if let Some((_, n)) = &mut self.sets[i as usize] {
                *n += refs;
            }
            return i;
        }
        let entry = Some((set.clone(), refs));
        let i = match self.free.pop() {
            Some(i) => {
                self.sets[i as usize] = entry;
                i
            }
            None => {
                self.sets.push(entry);
                (self.sets.len() - 1) as u32
            }
        };
        self.live += 1;
        let (hasher, sets) = (&self.hasher, &self.sets);
        self.index
            .insert_unique(hash, i, |&j| match &sets[j as usize] {
                Some((s, _)) => hasher.hash_one(&**s),
                None => 0,
            });
        i
    }

    /// Drop one reference; the set is freed with its last one.
    pub(crate) fn release(&mut self, i: u32) {
        self.release_many(i, 1);
    }

    /// Drop `refs` references at once (what `refs` calls of [`SetTable::release`] do).
    pub(crate) fn release_many(&mut self, i: u32, refs: u32) {
        let Some((set, n)) = &mut self.sets[i as usize] else {
            return;
        };
        debug_assert!(refs <= *n, "released more references than a set has");
        *n -= refs.min(*n);
        if *n > 0 {
            return;
        }
        let hash = self.hasher.hash_one(&**set);
        if let Ok(entry) = self.index.find_entry(hash, |&j| j == i) {
            entry.remove();
        }
        self.sets[i as usize] = None;
        self.free.push(i);
        self.live -= 1;
    }

    pub(crate) fn get(&self, i: u32) -> &TargetSet {
        match &self.sets[i as usize] {
            Some((s, _)) => s,
            None => unreachable!("tree refers to a freed target set"),
        }
    }

    /// One past the highest set index ever handed out.
    pub(crate) fn capacity_len(&self) -> usize {
        self.sets.len()
    }

    /// The live sets with their indices, ascending.
    pub(crate) fn iter_live(&self) -> impl Iterator<Item = (u32, &TargetSet)> {
        self.sets
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|(set, _)| (i as u32, set)))
    }

    pub(crate) fn live(&self) -> usize {
        self.live
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        let leaves: usize = self
            .sets
            .iter()
            .flatten()
            .map(|(s, _)| 16 + std::mem::size_of_val(&**s))
            .sum();
        leaves
            + self.sets.capacity() * std::mem::size_of::<Option<(TargetSet, u32)>>()
            + self.free.capacity() * 4
            + self.index.allocation_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(a: &str, w: u8) -> Leaf {
        Leaf::parse(a, w).unwrap()
    }

    #[test]
    fn sets_are_sorted_and_reject_repeats() {
        let s = canonical_set(vec![
            leaf("::1", 1),
            leaf("10.0.0.2", 2),
            leaf("10.0.0.1", 3),
        ])
        .unwrap();
        let addrs: Vec<String> = s.iter().map(|l| l.addr.to_string()).collect();
        assert_eq!(addrs, ["10.0.0.1", "10.0.0.2", "::1"]);
        assert!(canonical_set(vec![leaf("10.0.0.1", 1), leaf("10.0.0.1", 2)]).is_err());
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in ["1.2.3", "01.2.3.4", "fe80::1%eth0", "[::1]", "", "1.2.3.4 "] {
            assert!(
                matches!(Leaf::parse(bad, 1), Err(Error::InvalidAddress(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn plan_dedupes_sets_and_endpoints() {
        let mut b = PlanBuilder::new(3).unwrap();
        let a = b.add_set(vec![leaf("10.0.0.1", 1)]).unwrap();
        let a2 = b.add_set(vec![leaf("10.0.0.1", 1)]).unwrap();
        assert_eq!(a, a2);
        b.add_endpoint(EndpointKey::Name("X.com".into()), a)
            .unwrap();
        assert!(b
            .add_endpoint(EndpointKey::Name("x.com.".into()), a)
            .is_err());
        assert!(b.add_endpoint(EndpointKey::Id(0), 7).is_err());
        let p = b.build();
        assert_eq!(p.len(), 1);
        assert_eq!(p.records(), 1);
        assert!(p.targets(&EndpointKey::Name("x.com".into())).is_some());
        assert!(PlanBuilder::new(0).is_err());
    }

    #[test]
    fn set_table_refcounts_and_reuses_slots() {
        let mut t = SetTable::new();
        let s1 = canonical_set(vec![leaf("10.0.0.1", 1)]).unwrap();
        let s2 = canonical_set(vec![leaf("10.0.0.2", 1)]).unwrap();
        let i = t.acquire(&s1, 2);
        assert_eq!(t.acquire(&s1, 1), i);
        let j = t.acquire(&s2, 1);
        assert_eq!(t.live(), 2);
        t.release(j);
        assert_eq!(t.live(), 1);
        for _ in 0..3 {
            t.release(i);
        }
        assert_eq!(t.live(), 0);
        assert_eq!(t.acquire(&s2, 1), t.acquire(&s2, 0));
        assert_eq!(t.live(), 1);
    }
}
