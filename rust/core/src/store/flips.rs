//! Flips: modes, fences, outcomes, and the single and batch flip paths.

use super::layout::{locate, walk_listed, Slot};
use super::plans::Trees;
use super::Store;
use crate::error::{check_generation, check_token, check_version, Error, Result};
use crate::history::OpKind;
// Mode and Outcome live in a leaf module shared with the history; their old path stays.
pub use crate::flip_types::{Mode, Outcome};

/// Fencing tokens of a batch flip.
#[derive(Debug, Clone, Copy)]
pub enum Fence<'a> {
    None,
    All(u64),
    /// One token per endpoint, aligned with the batch.
    Each(&'a [u64]),
}

/// Where a batch flip writes, per position of the batch, the outcome code (`Outcome as u8`)
/// and the alias before the attempt (0 = none). Both slices must have the batch's length.
#[derive(Debug)]
pub struct OutcomeSink<'a> {
    pub outcomes: &'a mut [u8],
    pub previous: &'a mut [u64],
}

/// What a batch flip records per endpoint: nothing (counts only) or an [`OutcomeSink`].
trait Record {
    fn record(&mut self, pos: usize, outcome: Outcome, previous: u64);
}

impl Record for () {
    #[inline(always)]
    fn record(&mut self, _: usize, _: Outcome, _: u64) {}
}

impl Record for OutcomeSink<'_> {
    #[inline(always)]
    fn record(&mut self, pos: usize, outcome: Outcome, previous: u64) {
        self.outcomes[pos] = outcome as u8;
        self.previous[pos] = previous;
    }
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

impl Slot {
    /// The flip decision and update, shared by every flip path. Checks run in the order:
    /// tree missing, fence, mode condition, dangling active tree (only when `rollback`).
    /// `active_exists` answers whether this endpoint's tree of a generation is still stored.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn flip(
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
            Mode::IfNewer => cfg!(feature = "broken-generation-check") || generation > self.alias,
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

impl Store {
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
        let call = self.stamp();
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
        self.record(
            call,
            [(
                id,
                OpKind::Flip {
                    generation,
                    mode,
                    expected,
                    fence,
                    rollback,
                    outcome,
                },
            )],
        );
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
        if self.history.is_none() {
            return self.flip_batch(ids, generation, mode, expected, fence, rollback, ());
        }
        // Recorded: the outcome of every position is needed.
        let n = ids.map_or_else(|| self.len(), <[u32]>::len);
        let (mut outcomes, mut previous) = (vec![0u8; n], vec![0u64; n]);
        let sink = OutcomeSink {
            outcomes: &mut outcomes,
            previous: &mut previous,
        };
        self.flip_many_into(ids, generation, mode, expected, fence, rollback, sink)
    }

    /// [`Store::flip_many_with`] that also writes each position's outcome code and previous
    /// alias into `sink`, whose slices must have the batch's length (`InvalidArgument`). With
    /// `ids = None` the batch is the first `sink` length endpoints (every endpoint registered
    /// when the caller sized the sink; an endpoint added since is not flipped).
    #[allow(clippy::too_many_arguments)]
    pub fn flip_many_into(
        &self,
        ids: Option<&[u32]>,
        generation: u64,
        mode: Mode,
        expected: Option<&[u64]>,
        fence: Fence<'_>,
        rollback: bool,
        sink: OutcomeSink<'_>,
    ) -> Result<FlipCounts> {
        let call = self.stamp();
        let OutcomeSink { outcomes, previous } = sink;
        let sink = OutcomeSink {
            outcomes: &mut *outcomes,
            previous: &mut *previous,
        };
        let counts = self.flip_batch(ids, generation, mode, expected, fence, rollback, sink)?;
        if self.history.is_some() {
            let ops = outcomes.iter().enumerate().map(|(pos, &code)| {
                let id = ids.map_or(pos as u32, |ids| ids[pos]);
                let op = OpKind::Flip {
                    generation,
                    mode,
                    expected: expected.map(|e| e[pos]),
                    fence: match fence {
                        Fence::None => None,
                        Fence::All(f) => Some(f),
                        Fence::Each(f) => Some(f[pos]),
                    },
                    rollback,
                    outcome: Outcome::from_code(code).unwrap_or(Outcome::Missing),
                };
                (id, op)
            });
            self.record(call, ops);
        }
        Ok(counts)
    }

    #[allow(clippy::too_many_arguments)]
    fn flip_batch(
        &self,
        ids: Option<&[u32]>,
        generation: u64,
        mode: Mode,
        expected: Option<&[u64]>,
        fence: Fence<'_>,
        rollback: bool,
        mut sink: impl Record + SinkLen,
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
        // Extremes only: one vectorised pass names the worst value.
        if let Some(&max) = expected.and_then(|e| e.iter().max()) {
            check_version(max)?;
        }
        match fence {
            Fence::All(f) => {
                check_token(f, "fence")?;
            }
            Fence::Each(f) => {
                if let Some(&first) = f.first() {
                    let (min, max) = f
                        .iter()
                        .fold((first, first), |(lo, hi), &t| (lo.min(t), hi.max(t)));
                    check_token(min, "fence")?;
                    check_token(max, "fence")?;
                }
            }
            Fence::None => {}
        }
        let inner = self.inner.read();
        let n = match ids {
            Some(ids) => {
                inner.check_ids(ids)?;
                ids.len()
            }
            // With a sink, `None` means the endpoints registered when the caller sized it (the
            // store only grows, so they are all still there).
            None => match sink.len() {
                Some(len) if len <= inner.names.len() => len,
                _ => inner.names.len(),
            },
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
        if let Some(len) = sink.len() {
            aligned("outcome sink", len)?;
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
        // One body, expanded into each walk so that the compiler inlines it in both loops
        // (a shared closure called from two loops was left out of line).
        macro_rules! flip_at {
            ($id:expr, $pos:expr, $slot:expr) => {{
                let (id, pos, slot): (u32, usize, &mut Slot) = ($id, $pos, $slot);
                let (expected, fence) = (expected_at(pos), fence_at(pos));
                let active_exists = |alias: u64| {
                    if active.0 != alias {
                        active = (alias, inner.plans.get(&alias));
                    }
                    active.1.is_some_and(|t| t.get(id).is_some())
                };
                let previous = slot.alias;
                let outcome = slot.flip(
                    generation,
                    has_tree(id),
                    mode,
                    expected,
                    fence,
                    rollback,
                    active_exists,
                    &mut counts,
                );
                sink.record(pos, outcome, previous);
            }};
        }
        match ids {
            None => self.each_slot(n, |id, slot| flip_at!(id, id as usize, slot)),
            Some(ids) => walk_listed!(self, ids, |pos, slot| flip_at!(ids[pos], pos, slot)),
        }
        self.counters.add_flips(&counts);
        Ok(counts)
    }
}

/// The length a recorder needs (`None`: any).
trait SinkLen {
    fn len(&self) -> Option<usize>;
}

impl SinkLen for () {
    fn len(&self) -> Option<usize> {
        None
    }
}

impl SinkLen for OutcomeSink<'_> {
    fn len(&self) -> Option<usize> {
        if self.outcomes.len() == self.previous.len() {
            Some(self.outcomes.len())
        } else {
            // Never equal to a batch length: reported as misaligned.
            Some(usize::MAX)
        }
    }
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
