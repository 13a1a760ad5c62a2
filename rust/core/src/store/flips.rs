//! Flips: modes, fences, outcomes, and the single and batch flip paths.

use super::kernel;
use super::layout::{locate, Run, Shard};
use super::plans::Trees;
use super::{Inner, Store};
use crate::error::{check_generation, check_token, check_version, Error, Result};
use crate::history::OpKind;
// Mode and Outcome live in a leaf module shared with the history; their old path stays.
pub use crate::flip_types::{FlipCounts, Mode, Outcome, OutcomeSink};

/// Fencing tokens of a batch flip.
#[derive(Debug, Clone, Copy)]
pub enum Fence<'a> {
    None,
    All(u64),
    /// One token per endpoint, aligned with the batch.
    Each(&'a [u64]),
}

/// The hot fields of one record, loaded for a flip and stored back.
struct Hot {
    alias: u64,
    rollback: u64,
    version: u64,
    fence: u64,
}

impl Hot {
    #[inline(always)]
    fn load(shard: &Shard, i: usize) -> Hot {
        Hot {
            alias: shard.alias[i],
            rollback: shard.rollback[i],
            version: shard.version[i],
            fence: shard.fence[i],
        }
    }

    #[inline(always)]
    fn store(&self, shard: &mut Shard, i: usize) {
        shard.alias[i] = self.alias;
        shard.rollback[i] = self.rollback;
        shard.version[i] = self.version;
        shard.fence[i] = self.fence;
    }

    /// The flip decision and update, shared by every flip path one endpoint at a time (the
    /// span kernel below decides the same way, many at once). Checks run in the order: tree
    /// missing, fence, mode condition, dangling active tree (only when `rollback`).
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
            // 0: the sentinel of a lease that was refused (batch fences only): never held.
            if f < self.fence || f == 0 {
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
            self.fence = self.fence.max(f);
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
        let outcome = {
            let mut shard = self.shards[s].lock();
            let mut hot = Hot::load(&shard, i);
            let outcome = hot.flip(
                generation,
                has_tree,
                mode,
                expected.unwrap_or(0),
                fence,
                rollback,
                |alias| inner.has_tree(alias, id),
                &mut counts,
            );
            hot.store(&mut shard, i);
            outcome
        };
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
            return self.flip_batch(ids, generation, mode, expected, fence, rollback, None);
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
        let counts =
            self.flip_batch(ids, generation, mode, expected, fence, rollback, Some(sink))?;
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
        mut sink: Option<OutcomeSink<'_>>,
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
        // One vectorised pass checks the range; only a bad batch looks for the value to name
        // (the worst one).
        if let Some(e) = expected.filter(|e| !kernel::below_top_bit(e)) {
            if let Some(&max) = e.iter().max() {
                check_version(max)?;
            }
        }
        match fence {
            Fence::All(f) => {
                check_token(f, "fence")?;
            }
            Fence::Each(f) if !(kernel::below_top_bit(f) && kernel::no_zero(f)) => {
                if let Some(&first) = f.first() {
                    let (min, max) = f
                        .iter()
                        .fold((first, first), |(lo, hi), &t| (lo.min(t), hi.max(t)));
                    // 0 marks an entry whose lease was refused: it is fenced, not an error
                    // (a batch of zeros only is every entry refused).
                    if min != 0 {
                        check_token(min, "fence")?;
                    }
                    if max != 0 {
                        check_token(max, "fence")?;
                    }
                }
            }
            Fence::Each(_) | Fence::None => {}
        }
        let inner = self.inner.read();
        let n = match ids {
            Some(ids) => {
                inner.check_ids(ids)?;
                ids.len()
            }
            // With a sink, `None` means the endpoints registered when the caller sized it (the
            // store only grows, so they are all still there).
            None => match sink_len(&sink) {
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
        if let Some(len) = sink_len(&sink) {
            aligned("outcome sink", len)?;
        }
        let target = inner.plans.get(&generation);
        let batch = Batch {
            generation,
            mode,
            rollback,
            expected,
            fence,
        };
        let mut counts = FlipCounts::default();
        // The trees of the aliases met last (most endpoints of a batch share their alias).
        let mut active = ActiveCache::default();
        match ids {
            None => self.each_run(n, |first, shard, run| {
                let pos = first as usize;
                let sink = sink.as_mut().map(|s| s.span(pos, run.len()));
                batch.span(
                    &inner,
                    target,
                    &mut active,
                    first,
                    shard,
                    run,
                    pos,
                    sink,
                    &mut counts,
                );
            }),
            Some(ids) => self.each_listed_runs(ids, |pos, shard, run| match run {
                Run::Span(i, len) => {
                    let sink = sink.as_mut().map(|s| s.span(pos, len));
                    batch.span(
                        &inner,
                        target,
                        &mut active,
                        ids[pos],
                        shard,
                        i..i + len,
                        pos,
                        sink,
                        &mut counts,
                    );
                }
                Run::One(i) => {
                    let sink = sink.as_mut().map(|s| s.span(pos, 1));
                    batch.one(
                        &inner,
                        target,
                        &mut active,
                        ids[pos],
                        shard,
                        i,
                        pos,
                        sink,
                        &mut counts,
                    );
                }
            }),
        }
        self.counters.add_flips(&counts);
        Ok(counts)
    }
}

/// The sink's length (`None`: no sink, any length).
fn sink_len(sink: &Option<OutcomeSink<'_>>) -> Option<usize> {
    let s = sink.as_ref()?;
    if s.outcomes.len() == s.previous.len() {
        Some(s.outcomes.len())
    } else {
        // Never equal to a batch length: reported as misaligned.
        Some(usize::MAX)
    }
}

impl OutcomeSink<'_> {
    /// The part of the sink for positions `pos..pos + len`.
    #[inline]
    fn span(&mut self, pos: usize, len: usize) -> OutcomeSink<'_> {
        OutcomeSink {
            outcomes: &mut self.outcomes[pos..pos + len],
            previous: &mut self.previous[pos..pos + len],
        }
    }
}

/// The trees of the last alias generation looked up, so that a run of endpoints sharing their
/// alias costs one plan look-up.
#[derive(Default)]
struct ActiveCache<'a> {
    generation: u64,
    trees: Option<&'a Trees>,
}

impl<'a> ActiveCache<'a> {
    #[inline]
    fn get(&mut self, inner: &'a Inner, generation: u64) -> Option<&'a Trees> {
        if self.generation != generation {
            *self = ActiveCache {
                generation,
                trees: inner.plans.get(&generation),
            };
        }
        self.trees
    }
}

/// What one batch flip call applies to every endpoint it names.
struct Batch<'a> {
    generation: u64,
    mode: Mode,
    rollback: bool,
    expected: Option<&'a [u64]>,
    fence: Fence<'a>,
}

impl<'a> Batch<'a> {
    /// Flip one endpoint of the batch (position `pos`, record `i` of `shard`).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn one<'i>(
        &self,
        inner: &'i Inner,
        target: Option<&Trees>,
        active: &mut ActiveCache<'i>,
        id: u32,
        shard: &mut Shard,
        i: usize,
        pos: usize,
        sink: Option<OutcomeSink<'_>>,
        counts: &mut FlipCounts,
    ) {
        let fence = match self.fence {
            Fence::None => None,
            Fence::All(f) => Some(f),
            Fence::Each(f) => Some(f[pos]),
        };
        let expected = self.expected.map_or(0, |e| e[pos]);
        let mut hot = Hot::load(shard, i);
        let previous = hot.alias;
        let outcome = hot.flip(
            self.generation,
            target.is_some_and(|t| t.get(id).is_some()),
            self.mode,
            expected,
            fence,
            self.rollback,
            |alias| {
                active
                    .get(inner, alias)
                    .is_some_and(|t| t.get(id).is_some())
            },
            counts,
        );
        if outcome == Outcome::Applied {
            hot.store(shard, i);
        }
        if let Some(sink) = sink {
            sink.outcomes[0] = outcome as u8;
            sink.previous[0] = previous;
        }
    }

    /// Flip the consecutive endpoints `first..` at records `run` of `shard` (positions
    /// `pos..` of the batch). When every one of them has a tree of the generation and none
    /// can find its active tree gone (they share an alias whose trees cover the run, or no
    /// rollback is recorded), no per-endpoint tree look-up is needed and the decision is made
    /// by the branch-free kernel; otherwise endpoint by endpoint.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn span<'i>(
        &self,
        inner: &'i Inner,
        target: Option<&Trees>,
        active: &mut ActiveCache<'i>,
        first: u32,
        shard: &mut Shard,
        run: std::ops::Range<usize>,
        pos: usize,
        mut sink: Option<OutcomeSink<'_>>,
        counts: &mut FlipCounts,
    ) {
        let len = run.len();
        let targets_present = target.is_some_and(|t| t.covers(first, len));
        let no_dangling = !self.rollback || {
            let aliases = &shard.alias[run.clone()];
            let a0 = aliases[0];
            let shared = kernel::all_equal(aliases, a0);
            shared && (a0 == 0 || active.get(inner, a0).is_some_and(|t| t.covers(first, len)))
        };
        if targets_present && no_dangling {
            let span = kernel::Span {
                alias: &mut shard.alias[run.clone()],
                rollback: &mut shard.rollback[run.clone()],
                version: &mut shard.version[run.clone()],
                fence: &mut shard.fence[run],
            };
            let args = kernel::Args {
                generation: self.generation,
                rollback: self.rollback,
                expected: self.expected.map(|e| &e[pos..pos + len]),
                fence: match self.fence {
                    Fence::None => kernel::SpanFence::None,
                    Fence::All(f) => kernel::SpanFence::All(f),
                    Fence::Each(f) => kernel::SpanFence::Each(&f[pos..pos + len]),
                },
            };
            kernel::flip_span(span, self.mode, &args, sink, counts);
            return;
        }
        for (k, i) in run.enumerate() {
            let one = sink.as_mut().map(|s| s.span(k, 1));
            self.one(
                inner,
                target,
                active,
                first + k as u32,
                shard,
                i,
                pos + k,
                one,
                counts,
            );
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
