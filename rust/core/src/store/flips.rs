//! Flips: modes, fences, outcomes, and the single and batch flip paths.

use super::kernel;
use super::layout::{locate, Endpoints, Run, Shard, Walk, CHUNK};
use super::plans::Trees;
use super::{Inner, Store};
use crate::column::{sanitize, Column};
use crate::error::{check_generation, check_token, check_version, Error, Result, MAX_TOKEN};
use crate::history::{FlipOp, OpKind};
// Mode and Outcome live in a leaf module shared with the history; their old path stays.
pub use crate::flip_types::{FlipCounts, Mode, Outcome, OutcomeSink};

/// Fencing tokens of a batch flip.
#[derive(Debug, Clone, Copy)]
pub enum Fence<'a> {
    None,
    All(u64),
    /// One token per endpoint, aligned with the batch.
    Each(&'a [u64]),
    /// One token per endpoint, aligned with the batch, in a column (which may be memory a
    /// caller lends and other threads write: each value is read once, checked and used).
    Column(Column<'a>),
}

/// A batch's fences as it reads them.
#[derive(Clone, Copy)]
enum Fences<'a> {
    None,
    All(u64),
    Each(Column<'a>),
}

impl<'a> From<Fence<'a>> for Fences<'a> {
    fn from(fence: Fence<'a>) -> Self {
        match fence {
            Fence::None => Fences::None,
            Fence::All(f) => Fences::All(f),
            Fence::Each(f) => Fences::Each(f.into()),
            Fence::Column(f) => Fences::Each(f),
        }
    }
}

/// What a per-endpoint fence found invalid when read again (written meanwhile by another
/// thread) becomes: the refused-lease sentinel, so that entry is fenced.
const FENCE_IF_INVALID: u64 = 0;

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
                OpKind::Flip(FlipOp {
                    generation,
                    mode,
                    expected,
                    fence,
                    rollback,
                    outcome,
                }),
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
        let (ids, expected) = (Endpoints::from(ids), expected.map(Column::from));
        self.flip_endpoints(ids, generation, mode, expected, fence, true, None)
    }

    /// The batch flip every other one calls: `rollback` as in [`Store::flip_with`]. With a
    /// `sink` it also writes each position's outcome code and previous alias into it, whose
    /// slices must have the batch's length (`InvalidArgument`); with `Endpoints::All` the batch
    /// is then the first sink-length endpoints (every endpoint registered when the caller sized
    /// the sink; an endpoint added since is not flipped). `expected` and [`Fence::Column`] are
    /// read once per value (see [`Column`]) and checked by the store before the first change.
    #[allow(clippy::too_many_arguments)]
    pub fn flip_endpoints(
        &self,
        ids: Endpoints<'_>,
        generation: u64,
        mode: Mode,
        expected: Option<Column<'_>>,
        fence: Fence<'_>,
        rollback: bool,
        sink: Option<OutcomeSink<'_>>,
    ) -> Result<FlipCounts> {
        let mut batch = Batch {
            generation,
            mode,
            rollback,
            expected,
            fence: fence.into(),
        };
        // A recorded batch records the values it used: columns are read once into private
        // copies first (which are then checked and used as any slice).
        let private = |c: Column<'_>| self.history.is_some().then(|| c.read_all());
        let expected_copy = batch.expected.and_then(private);
        let fence_copy = match batch.fence {
            Fences::Each(c) => private(c),
            _ => None,
        };
        if let Some(e) = &expected_copy {
            batch.expected = Some(Column::from(&e[..]));
        }
        if let Some(f) = &fence_copy {
            batch.fence = Fences::Each(Column::from(&f[..]));
        }
        match sink {
            Some(sink) => self.flip_recorded(ids, &batch, sink),
            None if self.history.is_none() => self.flip_batch(ids, &batch, None),
            // Recorded: the outcome of every position is needed.
            None => {
                let n = match ids {
                    Endpoints::All => self.len(),
                    Endpoints::Range { len, .. } => len,
                    Endpoints::Ids(ids) => ids.len(),
                };
                let (mut outcomes, mut previous) = (vec![0u8; n], vec![0u64; n]);
                let sink = OutcomeSink {
                    outcomes: &mut outcomes,
                    previous: &mut previous,
                };
                self.flip_recorded(ids, &batch, sink)
            }
        }
    }

    /// Run a batch writing into `sink`; recorded when the store keeps a history.
    fn flip_recorded(
        &self,
        ids: Endpoints<'_>,
        batch: &Batch<'_>,
        sink: OutcomeSink<'_>,
    ) -> Result<FlipCounts> {
        let call = self.stamp();
        let OutcomeSink { outcomes, previous } = sink;
        let sink = OutcomeSink {
            outcomes: &mut *outcomes,
            previous: &mut *previous,
        };
        let counts = self.flip_batch(ids, batch, Some(sink))?;
        if self.history.is_some() {
            let ops = outcomes.iter().enumerate().map(|(pos, &code)| {
                let id = match ids {
                    Endpoints::All => pos as u32,
                    Endpoints::Range { first, .. } => first + pos as u32,
                    Endpoints::Ids(ids) => ids[pos],
                };
                let op = OpKind::Flip(FlipOp {
                    generation: batch.generation,
                    mode: batch.mode,
                    expected: batch.expected.map(|e| e.get(pos)),
                    fence: batch.fence_at(pos),
                    rollback: batch.rollback,
                    outcome: Outcome::from_code(code).unwrap_or(Outcome::Missing),
                });
                (id, op)
            });
            self.record(call, ops);
        }
        Ok(counts)
    }

    fn flip_batch(
        &self,
        ids: Endpoints<'_>,
        batch: &Batch<'_>,
        mut sink: Option<OutcomeSink<'_>>,
    ) -> Result<FlipCounts> {
        batch.check()?;
        let inner = self.inner.read();
        let registered = inner.names.len();
        // The batch as a range of ids where it is one (every endpoint, or ids given as
        // `first, first + 1, ...`): walked shard by shard, each shard's part streamed.
        let (n, range, listed) = match ids {
            // With a sink, `None` means the endpoints registered when the caller sized it (the
            // store only grows, so they are all still there).
            Endpoints::All => {
                let n = match sink_len(&sink) {
                    Some(len) if len <= registered => len,
                    _ => registered,
                };
                (n, Some(0..n), &[][..])
            }
            // The batch as a range of ids where it is one (ids given as `first, first + 1,
            // ...`): walked shard by shard, each shard's part streamed.
            ids => match inner.walk(ids)? {
                Walk::Range(range) => (range.len(), Some(range), &[][..]),
                Walk::Listed(ids) => (ids.len(), None, ids),
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
        if let Some(e) = batch.expected {
            aligned("expected_versions", e.len())?;
        }
        if let Fences::Each(f) = batch.fence {
            aligned("fence", f.len())?;
        }
        if let Some(len) = sink_len(&sink) {
            aligned("outcome sink", len)?;
        }
        let target = inner.plans.get(&batch.generation);
        let mut counts = FlipCounts::default();
        // The trees of the aliases met last (most endpoints of a batch share their alias).
        let mut active = ActiveCache::default();
        // Where each span's part of the per-endpoint columns is read (once) and checked.
        let mut scratch = Scratch::for_batch(batch, n);
        // A run of consecutive ids (`one`: a single id of a listed batch, flipped without
        // the span's checks).
        let mut flip = |at: Place, shard: &mut Shard, run: std::ops::Range<usize>, one: bool| {
            let sink = sink.as_mut().map(|s| s.span(at.pos, run.len()));
            let (inner, active) = (&*inner, &mut active);
            match one {
                true => batch.one(
                    inner,
                    target,
                    active,
                    at,
                    shard,
                    run.start,
                    sink,
                    &mut counts,
                ),
                false => {
                    let scratch = &mut scratch;
                    batch.span(
                        inner,
                        target,
                        active,
                        scratch,
                        at,
                        shard,
                        run,
                        sink,
                        &mut counts,
                    )
                }
            }
        };
        match range {
            Some(range) => self.each_run_in(range.clone(), |first, shard, run| {
                let pos = first as usize - range.start;
                flip(Place { first, pos }, shard, run, false)
            }),
            None => {
                let ids = listed;
                self.each_listed_runs(ids, |pos, shard, run| {
                    let at = Place {
                        first: ids[pos],
                        pos,
                    };
                    match run {
                        Run::Span(i, len) => flip(at, shard, i..i + len, false),
                        Run::One(i) => flip(at, shard, i..i + 1, true),
                    }
                })
            }
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
    expected: Option<Column<'a>>,
    fence: Fences<'a>,
}

/// A span's part of the batch's per-endpoint columns, as read once and checked.
struct Scratch {
    expected: Vec<u64>,
    fence: Vec<u64>,
}

impl Scratch {
    /// Room for a span of a batch of `n` endpoints (spans are at most `CHUNK` long): a
    /// tiny batch zeroes only what it reads.
    fn for_batch(batch: &Batch<'_>, n: usize) -> Scratch {
        let room = |present: bool| {
            if present {
                vec![0u64; CHUNK.min(n)]
            } else {
                Vec::new()
            }
        };
        Scratch {
            expected: room(batch.expected.is_some()),
            fence: room(matches!(batch.fence, Fences::Each(_))),
        }
    }
}

/// Where a run of a batch starts: its first endpoint and that endpoint's batch position.
#[derive(Clone, Copy)]
struct Place {
    first: u32,
    pos: usize,
}

impl<'a> Batch<'a> {
    /// Everything about the values checked before the first change (lengths are checked
    /// against the batch once its endpoints are known).
    fn check(&self) -> Result<()> {
        check_generation(self.generation)?;
        if self.mode == Mode::Exact && self.expected.is_none() {
            return Err(Error::InvalidArgument(
                "mode \"exact\" requires expected_versions".into(),
            ));
        }
        if self.mode != Mode::Exact && self.expected.is_some() {
            return Err(Error::InvalidArgument(
                "expected_versions is only allowed with mode \"exact\"".into(),
            ));
        }
        // The one check of the columns' values (a caller does not check them first): one
        // read of each value, an OR per chunk; valid values are those below the top bit.
        if let Some(bad) = self.expected.and_then(|e| e.first_invalid()) {
            check_version(bad)?;
        }
        match self.fence {
            Fences::All(f) => {
                check_token(f, "fence")?;
            }
            // 0 marks an entry whose lease was refused: it is fenced, not an error, so every
            // value below the top bit is valid.
            Fences::Each(f) => {
                if let Some(bad) = f.first_invalid() {
                    return Err(Error::InvalidToken(format!(
                        "invalid fence {bad}: must be an int in 0..{MAX_TOKEN}"
                    )));
                }
            }
            Fences::None => {}
        }
        Ok(())
    }

    /// The fence of batch position `pos` (read once; see [`FENCE_IF_INVALID`]).
    #[inline]
    fn fence_at(&self, pos: usize) -> Option<u64> {
        match self.fence {
            Fences::None => None,
            Fences::All(f) => Some(f),
            Fences::Each(f) => {
                let mut one = [f.get(pos)];
                sanitize(&mut one, FENCE_IF_INVALID);
                Some(one[0])
            }
        }
    }

    /// Flip one endpoint of the batch (`at`, record `i` of `shard`).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn one<'i>(
        &self,
        inner: &'i Inner,
        target: Option<&Trees>,
        active: &mut ActiveCache<'i>,
        at: Place,
        shard: &mut Shard,
        i: usize,
        sink: Option<OutcomeSink<'_>>,
        counts: &mut FlipCounts,
    ) {
        let id = at.first;
        // An expected version read invalid here (written meanwhile) matches no record.
        let expected = self.expected.map_or(0, |e| e.get(at.pos));
        let mut hot = Hot::load(shard, i);
        let previous = hot.alias;
        let outcome = hot.flip(
            self.generation,
            target.is_some_and(|t| t.get(id).is_some()),
            self.mode,
            expected,
            self.fence_at(at.pos),
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

    /// Flip the consecutive endpoints from `at` at records `run` of `shard`. When every one
    /// of them has a tree of the generation and none can find its active tree gone (they
    /// share an alias whose trees cover the run, or no rollback is recorded), no
    /// per-endpoint tree look-up is needed and the decision is made by the branch-free
    /// kernel; otherwise endpoint by endpoint.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn span<'i>(
        &self,
        inner: &'i Inner,
        target: Option<&Trees>,
        active: &mut ActiveCache<'i>,
        scratch: &mut Scratch,
        at: Place,
        shard: &mut Shard,
        run: std::ops::Range<usize>,
        mut sink: Option<OutcomeSink<'_>>,
        counts: &mut FlipCounts,
    ) {
        let (first, pos, len) = (at.first, at.pos, run.len());
        let targets_present = target.is_some_and(|t| t.covers(first, len));
        let no_dangling = !self.rollback || {
            let aliases = &shard.alias[run.clone()];
            let a0 = aliases[0];
            let shared = kernel::all_equal(aliases, a0);
            shared && (a0 == 0 || active.get(inner, a0).is_some_and(|t| t.covers(first, len)))
        };
        if targets_present && no_dangling {
            // Runs lie within one chunk; a longer one would go piece by piece.
            for piece in (0..len).step_by(CHUNK) {
                let part = piece..len.min(piece + CHUNK);
                let records = run.start + part.start..run.start + part.end;
                let span = kernel::Span {
                    alias: &mut shard.alias[records.clone()],
                    rollback: &mut shard.rollback[records.clone()],
                    version: &mut shard.version[records.clone()],
                    fence: &mut shard.fence[records],
                };
                let from = pos + part.start;
                // Each value read once into the scratch chunk, which the kernel then uses.
                let expected = self.expected.map(|e| {
                    let values = &mut scratch.expected[..part.len()];
                    e.read(from, values);
                    &*values
                });
                let fence = match self.fence {
                    Fences::None => kernel::SpanFence::None,
                    Fences::All(f) => kernel::SpanFence::All(f),
                    Fences::Each(f) => {
                        // Not sanitized: the kernel refuses a value written invalid meanwhile
                        // (top bit set: negative in its signed compare) as it refuses 0.
                        let values = &mut scratch.fence[..part.len()];
                        f.read(from, values);
                        kernel::SpanFence::Each(values)
                    }
                };
                let args = kernel::Args {
                    generation: self.generation,
                    rollback: self.rollback,
                    expected,
                    fence,
                };
                let sink = sink.as_mut().map(|s| s.span(part.start, part.len()));
                kernel::flip_span(span, self.mode, &args, sink, counts);
            }
            return;
        }
        for (k, i) in run.enumerate() {
            let one = sink.as_mut().map(|s| s.span(k, 1));
            let at = Place {
                first: first + k as u32,
                pos: pos + k,
            };
            self.one(inner, target, active, at, shard, i, one, counts);
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
