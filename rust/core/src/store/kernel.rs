//! The batch flip's branch-free kernel over consecutive records, for runs where no
//! per-endpoint tree look-up is needed (every endpoint has a tree of the generation, and no
//! active tree can be gone). It decides exactly as the one-endpoint flip does (fence, then the
//! mode's condition; a missing or dangling outcome cannot occur here) with selects instead
//! of branches, so that the compiler vectorises it; on x86-64 a copy compiled for AVX2 is
//! chosen at run time when the processor has it (64-bit compares and blends in one
//! instruction each, which the baseline target lacks).

use crate::flip_types::{FlipCounts, Mode, Outcome, OutcomeSink};

/// The hot columns of a run of records (same lengths).
pub(super) struct Span<'a> {
    pub(super) alias: &'a mut [u64],
    pub(super) rollback: &'a mut [u64],
    pub(super) version: &'a mut [u64],
    pub(super) fence: &'a mut [u64],
}

/// The fence of a run.
#[derive(Clone, Copy)]
pub(super) enum SpanFence<'a> {
    None,
    All(u64),
    Each(&'a [u64]),
}

/// What the batch applies to the run (`expected` and `Each` aligned with the run).
pub(super) struct Args<'a> {
    pub(super) generation: u64,
    pub(super) rollback: bool,
    pub(super) expected: Option<&'a [u64]>,
    pub(super) fence: SpanFence<'a>,
}

const LWW: u8 = 0;
const IF_NEWER: u8 = 1;
const EXACT: u8 = 2;
const NO_FENCE: u8 = 0;
const ONE_FENCE: u8 = 1;
const EACH_FENCE: u8 = 2;

/// Flip a run; the caller has checked that no endpoint of it is missing its tree or could
/// find its active tree gone.
pub(super) fn flip_span(
    span: Span<'_>,
    mode: Mode,
    args: &Args<'_>,
    sink: Option<OutcomeSink<'_>>,
    counts: &mut FlipCounts,
) {
    macro_rules! by_fence_and_sink {
        ($mode:expr) => {
            match (args.fence, sink) {
                (SpanFence::None, None) => {
                    dispatch::<{ $mode }, NO_FENCE, false>(span, args, None, counts)
                }
                (SpanFence::None, s) => {
                    dispatch::<{ $mode }, NO_FENCE, true>(span, args, s, counts)
                }
                (SpanFence::All(_), None) => {
                    dispatch::<{ $mode }, ONE_FENCE, false>(span, args, None, counts)
                }
                (SpanFence::All(_), s) => {
                    dispatch::<{ $mode }, ONE_FENCE, true>(span, args, s, counts)
                }
                (SpanFence::Each(_), None) => {
                    dispatch::<{ $mode }, EACH_FENCE, false>(span, args, None, counts)
                }
                (SpanFence::Each(_), s) => {
                    dispatch::<{ $mode }, EACH_FENCE, true>(span, args, s, counts)
                }
            }
        };
    }
    match mode {
        Mode::Lww => by_fence_and_sink!(LWW),
        Mode::IfNewer => by_fence_and_sink!(IF_NEWER),
        Mode::Exact => by_fence_and_sink!(EXACT),
    }
}

#[inline(always)]
fn dispatch<const MODE: u8, const FENCE: u8, const SINK: bool>(
    span: Span<'_>,
    args: &Args<'_>,
    sink: Option<OutcomeSink<'_>>,
    counts: &mut FlipCounts,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2 (checked just above).
            unsafe { run_avx2::<MODE, FENCE, SINK>(span, args, sink, counts) };
            return;
        }
    }
    run::<MODE, FENCE, SINK>(span, args, sink, counts);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2<const MODE: u8, const FENCE: u8, const SINK: bool>(
    span: Span<'_>,
    args: &Args<'_>,
    sink: Option<OutcomeSink<'_>>,
    counts: &mut FlipCounts,
) {
    run::<MODE, FENCE, SINK>(span, args, sink, counts)
}

/// The kernel: one pass, every column read and written once, counts in registers.
#[inline(always)]
fn run<const MODE: u8, const FENCE: u8, const SINK: bool>(
    span: Span<'_>,
    args: &Args<'_>,
    sink: Option<OutcomeSink<'_>>,
    counts: &mut FlipCounts,
) {
    let n = span.alias.len();
    let (alias, rollback, version) = (
        &mut span.alias[..n],
        &mut span.rollback[..n],
        &mut span.version[..n],
    );
    let highest: &mut [u64] = if FENCE == NO_FENCE {
        &mut []
    } else {
        &mut span.fence[..n]
    };
    let expected: &[u64] = match args.expected {
        Some(e) if MODE == EXACT => &e[..n],
        _ => &[],
    };
    let (one_fence, fences): (u64, &[u64]) = match args.fence {
        SpanFence::All(f) => (f, &[]),
        SpanFence::Each(f) => (0, &f[..n]),
        SpanFence::None => (0, &[]),
    };
    let (outcomes, previous): (&mut [u8], &mut [u64]) = match sink {
        Some(s) if SINK => (&mut s.outcomes[..n], &mut s.previous[..n]),
        _ => (&mut [], &mut []),
    };
    let g = args.generation;
    // Rollback recorded: the alias; not recorded: cleared.
    let keep_rollback = if args.rollback { u64::MAX } else { 0 };
    let (mut applied, mut stale, mut fenced, mut lowered) = (0u64, 0u64, 0u64, 0u64);
    for k in 0..n {
        let a = alias[k];
        let v = version[k];
        // Fences and the highest fence seen are at most i64::MAX (checked before the batch):
        // signed compares and max, as for generations, are single packed instructions where
        // the unsigned 64-bit ones are not (they kept this loop from vectorizing).
        let (f, refused_by_fence) = match FENCE {
            NO_FENCE => (0, false),
            ONE_FENCE => (one_fence, (one_fence as i64) < (highest[k] as i64)),
            // 0: the sentinel of a lease that was refused: never held, so fenced. A value with
            // the top bit set (made invalid by a writer after the batch's check: the caller
            // does not sanitize) is negative here, below every highest fence: fenced too.
            _ => (
                fences[k],
                ((fences[k] as i64) < (highest[k] as i64)) | (fences[k] == 0),
            ),
        };
        let condition = match MODE {
            LWW => true,
            // Generations and aliases are at most i64::MAX: the signed compare is the same
            // and is one instruction where the unsigned one is not.
            IF_NEWER => cfg!(feature = "broken-generation-check") || (g as i64) > (a as i64),
            _ => v == expected[k],
        };
        let apply = !refused_by_fence & condition;
        rollback[k] = if apply {
            a & keep_rollback
        } else {
            rollback[k]
        };
        alias[k] = if apply { g } else { a };
        version[k] = v + apply as u64;
        if FENCE != NO_FENCE {
            // Applied: not fenced, so `f` is at least the highest fence: the new highest.
            highest[k] = if apply { f } else { highest[k] };
        }
        applied += apply as u64;
        fenced += refused_by_fence as u64;
        stale += (!refused_by_fence & !condition) as u64;
        if MODE != IF_NEWER || cfg!(feature = "broken-generation-check") {
            lowered += (apply & ((g as i64) < (a as i64))) as u64;
        }
        if SINK {
            outcomes[k] = if apply {
                Outcome::Applied as u8
            } else if refused_by_fence {
                Outcome::Fenced as u8
            } else {
                Outcome::Stale as u8
            };
            previous[k] = a;
        }
    }
    counts.applied += applied;
    counts.stale += stale;
    counts.fenced += fenced;
    counts.stale_flips += lowered;
}

/// A function of slices, compiled twice (baseline and AVX2) and chosen at run time.
macro_rules! vectorised {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $body:block) => {
        $(#[$doc])*
        #[inline]
        pub(super) fn $name($($arg: $ty),*) -> $ret {
            #[inline(always)]
            fn run($($arg: $ty),*) -> $ret $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn run_avx2($($arg: $ty),*) -> $ret {
                    run($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the processor has AVX2 (checked just above).
                    return unsafe { run_avx2($($arg),*) };
                }
            }
            run($($arg),*)
        }
    };
}

vectorised! {
    /// Whether every item of `items` equals `value` (a check before a span; on x86-64 with
    /// AVX2 where the processor has it: the baseline target has no 64-bit compare). An OR of
    /// differences: plain bitwise lanes, no compare-and-reduce of flags.
    fn all_equal(items: &[u64], value: u64) -> bool {
        items.iter().fold(0, |acc, &a| acc | (a ^ value)) == 0
    }
}

vectorised! {
    /// Whether `ids` are `first, first + 1, ...` (wrapping past `u32::MAX`).
    fn consecutive(ids: &[u32], first: u32) -> bool {
        let mut want = first;
        let mut acc = 0;
        for &id in ids {
            acc |= id ^ want;
            want = want.wrapping_add(1);
        }
        acc == 0
    }
}

vectorised! {
    /// The largest id (None: empty), for the "every id registered" check.
    fn max_id(ids: &[u32]) -> Option<u32> {
        if ids.is_empty() {
            return None;
        }
        Some(ids.iter().fold(0, |m, &id| m.max(id)))
    }
}

vectorised! {
    /// Whether every value is at most `2^63 - 1` (the top bit clear): versions, and fences
    /// (where 0 marks a refused lease). An OR of all values, so no 64-bit compare is needed.
    fn below_top_bit(values: &[u64]) -> bool {
        values.iter().fold(0, |acc, &v| acc | v) >> 63 == 0
    }
}

#[cfg(test)]
mod tests {
    use crate::column::Column;
    use crate::store::{Endpoints::All, Fence, Mode, Outcome, OutcomeSink, Store};
    use crate::target::{EndpointKey, Leaf, PlanBuilder};

    const N: u32 = 5000;

    /// A store over several chunks whose runs take every path: full plans, a plan with
    /// holes, a deleted plan under some aliases, mixed aliases within a chunk, fences.
    fn store() -> Store {
        let store = Store::new();
        let names: Vec<String> = (0..N).map(|i| format!("e{i}.kernel.test")).collect();
        store.add_endpoints(&names).unwrap();
        for g in 1..=5u64 {
            let mut plan = PlanBuilder::new(g).unwrap();
            let set = plan
                .add_set(vec![Leaf::parse("10.0.0.1", 1).unwrap()])
                .unwrap();
            for id in 0..N {
                // Plan 3 leaves holes; the others cover everything.
                if g != 3 || id % 7 != 0 {
                    plan.add_endpoint(EndpointKey::Id(id), set).unwrap();
                }
            }
            store.put_plan(&plan.build()).unwrap();
        }
        store
            .flip_many(None, 1, Mode::Lww, None, Fence::None)
            .unwrap();
        // Chunk 1 mixed aliases; chunk 2 on plan 4, which is then deleted under it.
        let mixed: Vec<u32> = (1024..2048).filter(|id| id % 3 == 0).collect();
        store
            .flip_many(Some(&mixed), 2, Mode::Lww, None, Fence::None)
            .unwrap();
        let on4: Vec<u32> = (2048..3072).collect();
        store
            .flip_many(Some(&on4), 4, Mode::Lww, None, Fence::None)
            .unwrap();
        store.delete_plans(&[4], false).unwrap();
        // Highest fences 1 and 2, so that fences 1..=3 are refused on some endpoints.
        for id in (0..N).step_by(11) {
            store.acquire_lease(id, "h", 10.0, 0.0).unwrap();
        }
        for id in (0..N).step_by(22) {
            store.acquire_lease(id, "h", 10.0, 0.0).unwrap();
        }
        store
    }

    fn copy(store: &Store) -> Store {
        Store::from_snapshot_bytes(&store.snapshot_bytes()).unwrap()
    }

    /// Every batch flip, whatever path its runs take, decides exactly as one flip per
    /// endpoint in batch order: outcomes, previous aliases, counts and the records after.
    #[test]
    fn batch_flip_equals_one_flip_per_endpoint() {
        let base = store();
        let versions = base.versions(None).unwrap();
        let fences: Vec<u64> = (0..N as u64).map(|i| i % 3 + 1).collect();
        let scattered: Vec<u32> = (0..N).rev().step_by(3).chain(0..100).collect();
        let ranges: Vec<u32> = (100..N).collect();
        for ids in [None, Some(&ranges[..]), Some(&scattered[..])] {
            let n = ids.map_or(N as usize, <[u32]>::len);
            let id_at = |pos: usize| ids.map_or(pos as u32, |ids| ids[pos]);
            let expected: Vec<u64> = (0..n)
                .map(|p| versions[id_at(p) as usize] + (p % 5 == 0) as u64)
                .collect();
            let each: Vec<u64> = (0..n).map(|p| fences[id_at(p) as usize]).collect();
            for generation in [1u64, 2, 3, 4, 5] {
                for mode in [Mode::Lww, Mode::IfNewer, Mode::Exact] {
                    // SAFETY: `each` outlives the column and nothing writes it.
                    let lent = unsafe { Column::lent(each.as_ptr(), each.len()) };
                    let fences = [
                        Fence::None,
                        Fence::All(1),
                        Fence::Each(&each),
                        Fence::Column(lent),
                    ];
                    for fence in fences {
                        for rollback in [true, false] {
                            let expect = (mode == Mode::Exact).then_some(&expected[..]);
                            let (batch, single) = (copy(&base), copy(&base));
                            let (mut out, mut prev) = (vec![9u8; n], vec![7u64; n]);
                            let sink = OutcomeSink {
                                outcomes: &mut out,
                                previous: &mut prev,
                            };
                            let counts = batch
                                .flip_endpoints(
                                    ids.into(),
                                    generation,
                                    mode,
                                    expect.map(Column::from),
                                    fence,
                                    rollback,
                                    Some(sink),
                                )
                                .unwrap();
                            let mut applied = 0;
                            for pos in 0..n {
                                let id = id_at(pos);
                                let before = single.aliases(Some(&[id])).unwrap()[0];
                                let f = match fence {
                                    Fence::None => None,
                                    Fence::All(f) => Some(f),
                                    Fence::Each(f) => Some(f[pos]),
                                    Fence::Column(f) => Some(f.get(pos)),
                                };
                                let e = expect.map(|e| e[pos]);
                                let o = single
                                    .flip_with(id, generation, mode, e, f, rollback)
                                    .unwrap();
                                assert_eq!(prev[pos], before, "previous at {pos}");
                                applied += (o == Outcome::Applied) as u64;
                                assert_eq!(
                                    Outcome::from_code(out[pos]),
                                    Some(o),
                                    "{pos} {mode:?} {generation}"
                                );
                            }
                            assert_eq!(counts.applied, applied);
                            assert_eq!(batch.snapshot_bytes()[..], single.snapshot_bytes()[..]);
                        }
                    }
                }
            }
        }
    }

    /// The `_into` reads and leases give what the allocating calls give.
    #[test]
    fn into_calls_equal_their_allocating_calls() {
        let store = store();
        let ids: Vec<u32> = (0..N).rev().step_by(7).chain(1000..3000).collect();
        for sel in [None, Some(&ids[..])] {
            let n = sel.map_or(N as usize, <[u32]>::len);
            let mut out = vec![u64::MAX; n];
            store.aliases_into(sel, &mut out).unwrap();
            assert_eq!(out, store.aliases(sel).unwrap());
            store.versions_into(sel, &mut out).unwrap();
            assert_eq!(out, store.versions(sel).unwrap());
            store.rollbacks_into(sel, &mut out).unwrap();
            assert_eq!(out, store.rollbacks(sel).unwrap());
        }
        let mut short = vec![0u64; 10];
        store.aliases_into(None, &mut short).unwrap();
        assert_eq!(short, store.aliases(None).unwrap()[..10]);
        assert!(store.aliases_into(Some(&ids), &mut short).is_err());
        let twin = copy(&store);
        let mut tokens = vec![u64::MAX; ids.len()];
        store
            .acquire_leases_into(&ids, "other", 5.0, 1.0, &mut tokens)
            .unwrap();
        let granted = tokens.iter().filter(|&&t| t != 0).count() as u64;
        let listed = twin.acquire_leases(&ids, "other", 5.0, 1.0).unwrap();
        let zero_for_none: Vec<u64> = listed.iter().map(|t| t.unwrap_or(0)).collect();
        assert_eq!(tokens, zero_for_none);
        assert_eq!(granted, listed.iter().flatten().count() as u64);
        assert!(granted > 0 && granted < ids.len() as u64);
    }

    /// Batch renewals decide as one renewal per endpoint; a 0 token is skipped.
    #[test]
    fn renew_leases_equals_one_renewal_per_endpoint() {
        let base = store();
        let ids: Vec<u32> = (0..N).rev().step_by(3).chain(100..1200).collect();
        let mut tokens = vec![0u64; ids.len()];
        base.acquire_leases_into(&ids, "r", 5.0, 1.0, &mut tokens)
            .unwrap();
        // Some wrong tokens and refused (0) entries.
        for (k, t) in tokens.iter_mut().enumerate() {
            if k % 5 == 0 && *t != 0 {
                *t += 1;
            }
        }
        let (batch, single) = (copy(&base), copy(&base));
        let renewed = batch.renew_leases(&ids, "r", &tokens, 9.0, 2.0).unwrap();
        let renewed = renewed.iter().filter(|&&t| t != 0).count() as u64;
        let mut expected = 0;
        let mut seen = std::collections::HashSet::new();
        for (&id, &t) in ids.iter().zip(&tokens) {
            // Repeated ids renew again (same outcome as the batch in list order).
            let ok = t != 0 && single.renew_lease(id, "r", t, 9.0, 2.0).is_ok();
            expected += ok as u64;
            seen.insert(id);
        }
        assert_eq!(renewed, expected);
        assert!(renewed > 0 && renewed < ids.len() as u64);
        assert_eq!(batch.snapshot_bytes(), single.snapshot_bytes());
        assert!(batch
            .renew_leases(&ids[1..], "r", &tokens, 9.0, 2.0)
            .is_err());
    }

    /// Every endpoint's live lease is listed, ids ascending across shards.
    #[test]
    fn live_leases_ascend() {
        // More chunks than shards, so that a shard holds chunks far apart.
        let store = Store::new();
        let n = 70_000u32;
        let names: Vec<String> = (0..n).map(|i| format!("l{i}.kernel.test")).collect();
        store.add_endpoints(&names).unwrap();
        let ids: Vec<u32> = (0..n).step_by(11).collect();
        store.acquire_leases(&ids, "h", 10.0, 0.0).unwrap();
        assert_eq!(store.live_leases(None, 1.0).unwrap(), ids);
    }

    /// A 0 fence (a refused lease) is fenced on every path, kernel or one at a time.
    #[test]
    fn zero_fence_is_fenced() {
        let store = store();
        let n = N as usize;
        let fences: Vec<u64> = (0..n as u64)
            .map(|i| if i % 10 == 0 { 0 } else { 1 << 40 })
            .collect();
        let (mut out, mut prev) = (vec![9u8; n], vec![0u64; n]);
        let sink = OutcomeSink {
            outcomes: &mut out,
            previous: &mut prev,
        };
        let counts = store
            .flip_endpoints(
                All,
                5,
                Mode::Lww,
                None,
                Fence::Each(&fences),
                true,
                Some(sink),
            )
            .unwrap();
        for (pos, &f) in fences.iter().enumerate() {
            if f == 0 {
                assert_eq!(Outcome::from_code(out[pos]), Some(Outcome::Fenced), "{pos}");
            }
        }
        assert_eq!(counts.fenced, (n as u64).div_ceil(10));
    }

    /// A fence that reaches the kernel with its top bit set (a caller's value written invalid
    /// after the batch's check: the span hands the kernel its values as read, unsanitized) is
    /// fenced, as 0 is, and never becomes a highest fence.
    #[test]
    fn invalid_fence_in_the_kernel_is_fenced() {
        use super::{flip_span, Args, Span, SpanFence};
        use crate::flip_types::FlipCounts;
        let fences = [u64::MAX, 1 << 63, 0, 7, (1 << 63) | 7];
        let n = fences.len();
        let (mut alias, mut rollback, mut version) = (vec![1u64; n], vec![0u64; n], vec![0; n]);
        let mut highest = vec![5u64; n];
        let (mut out, mut prev) = (vec![9u8; n], vec![0u64; n]);
        let mut counts = FlipCounts::default();
        let span = Span {
            alias: &mut alias,
            rollback: &mut rollback,
            version: &mut version,
            fence: &mut highest,
        };
        let args = Args {
            generation: 2,
            rollback: true,
            expected: None,
            fence: SpanFence::Each(&fences),
        };
        let sink = OutcomeSink {
            outcomes: &mut out,
            previous: &mut prev,
        };
        flip_span(span, Mode::IfNewer, &args, Some(sink), &mut counts);
        let fenced = Some(Outcome::Fenced);
        let outcomes: Vec<_> = out.iter().map(|&c| Outcome::from_code(c)).collect();
        assert_eq!(
            outcomes,
            [fenced, fenced, fenced, Some(Outcome::Applied), fenced]
        );
        assert_eq!(alias, [1, 1, 1, 2, 1]);
        assert_eq!(highest, [5, 5, 5, 7, 5]);
        assert_eq!((counts.applied, counts.fenced), (1, 4));
    }
}
