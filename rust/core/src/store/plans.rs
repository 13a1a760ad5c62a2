//! Plans: the trees of each generation, storing them and the clean-up that deletes them.

use super::layout::{locate, Shard, NO_TREE};
use super::{EndpointRef, Store};
use crate::error::{check_generation, Error, Result};
use crate::history::OpKind;
use std::borrow::Cow;

use crate::target::{EndpointKey, Plan, PlanKeys};

/// Outcome of [`Store::delete_plans`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteReport {
    pub deleted_trees: u64,
    pub kept_trees: u64,
    pub kept_generations: Vec<u64>,
    pub unknown_generations: Vec<u64>,
}

/// The trees of one generation: the interned set of each endpoint, or `NO_TREE`.
pub(super) struct Trees {
    pub(super) by_endpoint: Vec<u32>,
    pub(super) count: u64,
    pub(super) records: u64,
    /// While no tree of the plan was deleted: each set it uses with its number of trees, in
    /// the order of each set's last tree (endpoint order), so that a clean-up deleting the
    /// whole plan releases every set once (a set is freed where a tree-by-tree release would
    /// have freed it). Empty once a tree was deleted, or for a restored plan.
    pub(super) whole: Vec<(u32, u32)>,
}

impl Trees {
    #[inline]
    pub(super) fn get(&self, id: u32) -> Option<u32> {
        match self.by_endpoint.get(id as usize) {
            Some(&t) if t != NO_TREE => Some(t),
            _ => None,
        }
    }

    /// Whether every endpoint `first..first + len` has a tree. A plan that still has a tree
    /// for every endpoint it was stored for (the common case: full plans, nothing deleted)
    /// answers without reading its column.
    #[inline]
    pub(super) fn covers(&self, first: u32, len: usize) -> bool {
        let first = first as usize;
        let Some(trees) = self.by_endpoint.get(first..first + len) else {
            return false;
        };
        self.count as usize == self.by_endpoint.len()
            || trees.iter().fold(true, |all, &t| all & (t != NO_TREE))
    }
}

impl Store {
    /// Store a plan's trees. Fails if the generation still has a tree or an endpoint is unknown.
    pub fn put_plan(&self, plan: &Plan) -> Result<()> {
        let call = self.stamp();
        let generation = plan.generation();
        let ids = match plan.endpoints() {
            // Ids only: the builder rejected repeats; check they are registered.
            PlanKeys::Ids(ids) => {
                self.inner.read().check_ids(ids)?;
                Cow::Borrowed(&ids[..])
            }
            PlanKeys::Keys(keys) => Cow::Owned(self.key_ids(generation, keys)?),
        };
        let mut uses = vec![0u32; plan.sets().len()];
        // Each set's last endpoint id + 1 (0: unused).
        let mut last = vec![0u32; plan.sets().len()];
        for (&s, &id) in plan.set_of().iter().zip(ids.iter()) {
            uses[s as usize] += 1;
            last[s as usize] = last[s as usize].max(id.saturating_add(1));
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
            let mut used: Vec<usize> = (0..uses.len()).filter(|&s| uses[s] > 0).collect();
            used.sort_unstable_by_key(|&s| last[s]);
            let whole = used.iter().map(|&s| (global[s], uses[s])).collect();
            inner.plans.insert(
                generation,
                Trees {
                    by_endpoint,
                    count,
                    records: plan.records(),
                    whole,
                },
            );
        }
        drop(inner);
        let put = |&id: &u32| (id, OpKind::PutTree { generation });
        self.record(call, ids.iter().map(put));
        Ok(())
    }

    /// Ids of a plan's keys (name lookups under the shared lock; endpoints are never removed,
    /// so ids stay valid). The builder rejects repeated keys; a name and an id of the same
    /// endpoint only meet here.
    fn key_ids(&self, generation: u64, keys: &[EndpointKey]) -> Result<Vec<u32>> {
        let ids = {
            let inner = self.inner.read();
            keys.iter()
                .map(|k| match k {
                    EndpointKey::Name(n) => Self::lookup(&inner, EndpointRef::Name(n)),
                    EndpointKey::Id(id) => Self::lookup(&inner, EndpointRef::Id(*id as u64)),
                })
                .collect::<Result<Vec<u32>>>()?
        };
        let mixed = keys.iter().any(|k| matches!(k, EndpointKey::Id(_)))
            && keys.iter().any(|k| matches!(k, EndpointKey::Name(_)));
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
        Ok(ids)
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

    /// Whether an alias or rollback of an endpoint with a tree in `by_endpoint` is `g`.
    fn any_live(
        shards: &[impl std::ops::Deref<Target = Shard>],
        by_endpoint: &[u32],
        g: u64,
    ) -> bool {
        by_endpoint.iter().enumerate().any(|(id, &tree)| {
            if tree == NO_TREE {
                return false;
            }
            let (s, i) = locate(id as u32);
            let shard = &shards[s];
            shard.alias[i] == g || shard.rollback[i] == g
        })
    }

    /// Delete the trees of `generations`. `safe` keeps trees an alias or rollback refers to.
    pub fn delete_plans(&self, generations: &[u64], safe: bool) -> Result<DeleteReport> {
        let call = self.stamp();
        for &g in generations {
            check_generation(g)?;
        }
        let mut gens = generations.to_vec();
        gens.sort_unstable();
        gens.dedup();
        let mut report = DeleteReport::default();
        // (endpoint, generation, deleted) of every tree looked at, when recording.
        let mut seen: Vec<(u32, u64, bool)> = Vec::new();
        let recording = self.history.is_some();
        let mut guard = self.inner.write();
        let inner = &mut *guard;
        let shards = self.lock_all(inner.names.len());
        for g in gens {
            let Some(trees) = inner.plans.get_mut(&g) else {
                report.unknown_generations.push(g);
                continue;
            };
            let whole = !recording
                && !trees.whole.is_empty()
                && (!safe || !Self::any_live(&shards, &trees.by_endpoint, g));
            if whole {
                // Every tree goes: each set is released once, with all its trees.
                for &(set, n) in &trees.whole {
                    let leaves = inner.sets.get(set).len() as u64 * u64::from(n);
                    inner.sets.release_many(set, n);
                    inner.records_live -= leaves;
                }
                inner.trees -= trees.count;
                report.deleted_trees += trees.count;
                inner.plans.remove(&g);
                continue;
            }
            let mut kept = 0u64;
            for (id, tree) in trees.by_endpoint.iter_mut().enumerate() {
                if *tree == NO_TREE {
                    continue;
                }
                if safe {
                    let (s, i) = locate(id as u32);
                    let shard = &shards[s];
                    if shard.alias[i] == g || shard.rollback[i] == g {
                        kept += 1;
                        if recording {
                            seen.push((id as u32, g, false));
                        }
                        continue;
                    }
                }
                if recording {
                    seen.push((id as u32, g, true));
                }
                trees.whole.clear();
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
        drop(shards);
        drop(guard);
        let op = |&(id, generation, deleted): &(u32, u64, bool)| {
            let op = OpKind::DeleteTree {
                generation,
                safe,
                deleted,
            };
            (id, op)
        };
        self.record(call, seen.iter().map(op));
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Fence, Mode};
    use crate::target::SetTable;
    use crate::target::{Leaf, PlanBuilder};

    const N: u32 = 300;

    /// Plans `first..=last`, endpoint `id` on one of four sets (two shared by every plan),
    /// in an order where each set's last tree comes at a different place.
    fn fill(store: &Store, first: u64, last: u64) {
        for g in first..=last {
            let mut plan = PlanBuilder::new(g).unwrap();
            let sets: Vec<_> = [1u8, 2, g as u8 + 10, g as u8 + 100]
                .iter()
                .map(|&x| {
                    let leaf = Leaf::parse(&format!("10.0.{x}.1"), x).unwrap();
                    plan.add_set(vec![leaf]).unwrap()
                })
                .collect();
            for id in 0..N {
                let k = ((id as u64 * 7 + g) % 4) as usize;
                plan.add_endpoint(EndpointKey::Id(id), sets[k]).unwrap();
            }
            store.put_plan(&plan.build()).unwrap();
        }
    }

    fn run(store: &Store) -> Vec<DeleteReport> {
        let names: Vec<String> = (0..N).map(|i| format!("e{i}.example")).collect();
        store.add_endpoints(&names).unwrap();
        fill(store, 1, 6);
        store
            .flip_many(None, 2, Mode::Lww, None, Fence::None)
            .unwrap();
        let some: Vec<u32> = (0..N).step_by(5).collect();
        store
            .flip_many(Some(&some), 3, Mode::Lww, None, Fence::None)
            .unwrap();
        let mut reports = vec![
            store.delete_plans(&[1], false).unwrap(),   // whole, unsafe
            store.delete_plans(&[3], true).unwrap(),    // safe, some live: tree by tree
            store.delete_plans(&[5, 4], true).unwrap(), // safe, nothing live: whole
            store.delete_plans(&[2], false).unwrap(),   // live but unsafe: whole
        ];
        // Plan 3 lost trees: its remaining ones go tree by tree.
        reports.push(store.delete_plans(&[3], false).unwrap());
        fill(store, 7, 9); // new sets take the freed places
        reports
    }

    /// Deleting a whole plan at once leaves the store exactly as deleting it tree by tree
    /// (what a recording store does): the same reports, stats, trees and set places (the sets
    /// freed in the same order, so that later plans reuse the same places).
    #[test]
    fn whole_plan_delete_equals_tree_by_tree() {
        let (fast, slow) = (Store::new(), Store::with_history(1 << 16));
        assert_eq!(run(&fast), run(&slow));
        assert_eq!(fast.stats(), slow.stats());
        let (a, b) = (fast.inner.read(), slow.inner.read());
        assert_eq!(
            a.plans.keys().collect::<Vec<_>>(),
            b.plans.keys().collect::<Vec<_>>()
        );
        for (g, trees) in &a.plans {
            assert_eq!(trees.by_endpoint, b.plans[g].by_endpoint, "plan {g}");
            assert_eq!(
                (trees.count, trees.records),
                (b.plans[g].count, b.plans[g].records)
            );
        }
        let live = |s: &SetTable| {
            s.iter_live()
                .map(|(i, t)| (i, t.to_vec()))
                .collect::<Vec<_>>()
        };
        assert_eq!(live(&a.sets), live(&b.sets));
        assert_eq!((a.trees, a.records_live), (b.trees, b.records_live));
    }
}
