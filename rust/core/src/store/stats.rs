//! Counters, gauges and the memory estimate.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::flips::FlipCounts;
use super::layout::id_at;
use super::plans::Trees;
use super::Store;

/// Counters and gauges; defined in docs/guide/store.md ("Store counters").
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

#[derive(Default)]
pub(super) struct Counters {
    pub(super) flips_applied: AtomicU64,
    pub(super) stale_flips: AtomicU64,
    pub(super) stale_rejections: AtomicU64,
    pub(super) fenced_rejections: AtomicU64,
    pub(super) missing_rejections: AtomicU64,
    pub(super) dangling_rejections: AtomicU64,
    pub(super) empty_answers: AtomicU64,
    pub(super) lease_conflicts: AtomicU64,
    pub(super) leases_granted: AtomicU64,
}

impl Counters {
    pub(super) fn add_flips(&self, c: &FlipCounts) {
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

impl Store {
    /// Counters and gauges from a consistent snapshot.
    pub fn stats(&self) -> Stats {
        let inner = self.inner.read();
        let shards = self.lock_all(inner.names.len());
        let (mut dangling_aliases, mut dangling_rollbacks) = (0, 0);
        for (s, shard) in shards.iter().enumerate() {
            for (i, (&alias, &rollback)) in shard.alias.iter().zip(&shard.rollback).enumerate() {
                let id = id_at(s, i);
                if alias != 0 && !inner.has_tree(alias, id) {
                    dangling_aliases += 1;
                }
                if rollback != 0 && !inner.has_tree(rollback, id) {
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
        let endpoints: usize = self.shards.iter().map(|s| s.lock().heap_bytes()).sum();
        let names = inner.names.heap_bytes();
        let plans: usize = inner
            .plans
            .values()
            .map(|t| {
                t.by_endpoint.capacity() * 4
                    + t.whole.capacity() * 8
                    + std::mem::size_of::<Trees>()
                    + 16
            })
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
