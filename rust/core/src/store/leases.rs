//! Leases: grants with fencing tokens, renewals and releases.

use std::sync::atomic::Ordering::Relaxed;

use hashbrown::HashMap;

use super::layout::{locate, Endpoints, Lease, Run, Shard, Walk};
use super::Store;
use crate::error::{check_holder, check_now, check_token, check_ttl, Error, Result, MAX_TOKEN};
use crate::history::OpKind;

#[derive(Default)]
pub(super) struct Holders {
    pub(super) names: Vec<Box<str>>,
    pub(super) index: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
}

impl Holders {
    pub(super) fn get(&self, holder: &str) -> Option<u32> {
        self.index.get(holder).map(|&i| i + 1)
    }
    pub(super) fn name(&self, id: u32) -> Option<&str> {
        id.checked_sub(1)
            .and_then(|i| self.names.get(i as usize))
            .map(|s| &**s)
    }
}

impl Store {
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

    /// Grant a lease on record `i` of `shard`, or say who holds it.
    #[inline(always)]
    fn grant(
        shard: &mut Shard,
        i: usize,
        holder: u32,
        ttl: f64,
        now: f64,
    ) -> std::result::Result<u64, Grant> {
        let lease = shard.lease.get(i);
        if lease.holder != 0 && lease.holder != holder && now < lease.expiry {
            return Err(Grant::Held);
        }
        let highest = &mut shard.fence[i];
        if *highest >= MAX_TOKEN {
            return Err(Grant::Exhausted);
        }
        let token = *highest + 1;
        *highest = token;
        let expiry = now + ttl;
        shard.lease.set(
            i,
            Lease {
                token,
                expiry,
                holder,
            },
        );
        Ok(token)
    }

    /// Take the endpoint's lease until `now + ttl`; returns a fresh fencing token.
    pub fn acquire_lease(&self, id: u32, holder: &str, ttl: f64, now: f64) -> Result<u64> {
        let call = self.stamp();
        check_holder(holder)?;
        check_ttl(ttl)?;
        check_now(now)?;
        let inner = self.inner.read();
        inner.check_id(id)?;
        let h = self.intern_holder(holder);
        let (s, i) = locate(id);
        let (granted, seen) = {
            let mut shard = self.shards[s].lock();
            let granted = Self::grant(&mut shard, i, h, ttl, now);
            (granted, shard.lease.get(i))
        };
        let token = granted.as_ref().ok().copied();
        self.record(call, [(id, acquire_op(h, ttl, now, token))]);
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
                    seen.expiry
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
        let mut out = crate::error::try_vec(ids.len(), "lease tokens")?;
        out.resize(ids.len(), 0u64);
        self.acquire_leases_into(ids, holder, ttl, now, &mut out)?;
        Ok(out.into_iter().map(|t| (t != 0).then_some(t)).collect())
    }

    /// [`Store::acquire_leases`] writing each token into `out` (aligned with `ids`; 0 where
    /// refused: tokens start at 1), so a caller's array is filled in place.
    pub fn acquire_leases_into(
        &self,
        ids: &[u32],
        holder: &str,
        ttl: f64,
        now: f64,
        out: &mut [u64],
    ) -> Result<()> {
        self.acquire_endpoint_leases(Endpoints::Ids(ids), holder, ttl, now, out)
    }

    /// [`Store::acquire_leases_into`] for the endpoints `ids` (`All`: every registered one):
    /// a range of ids is walked shard by shard.
    pub fn acquire_endpoint_leases(
        &self,
        ids: Endpoints<'_>,
        holder: &str,
        ttl: f64,
        now: f64,
        out: &mut [u64],
    ) -> Result<()> {
        let call = self.stamp();
        let (_inner, walk) = self.check_batch(ids, holder, None, (ttl, now), out)?;
        let h = self.intern_holder(holder);
        let (mut granted, mut conflicts) = (0u64, 0u64);
        self.each_lease_span(&walk, |pos, shard, i, len| {
            let Shard { fence, lease, .. } = shard;
            let (g, c) = grant_span(
                GrantSpan {
                    token: &mut lease.token[i..i + len],
                    expiry: &mut lease.expiry[i..i + len],
                    holder: &mut lease.holder[i..i + len],
                    fence: &mut fence[i..i + len],
                    out: &mut out[pos..pos + len],
                },
                (h, ttl, now),
            );
            granted += g;
            conflicts += c;
        });
        self.counters.leases_granted.fetch_add(granted, Relaxed);
        self.counters.lease_conflicts.fetch_add(conflicts, Relaxed);
        let ops = out.iter().enumerate();
        self.record(
            call,
            ops.map(|(pos, &t)| (walk.id(pos), acquire_op(h, ttl, now, (t != 0).then_some(t)))),
        );
        Ok(())
    }

    /// The checks every batch acquire and renew makes before it changes anything, in this
    /// order: holder, tokens (renew), ttl, now, output length, ids. Answers the read lock of
    /// the endpoint table, held while the batch runs, and the batch's walk.
    #[allow(clippy::type_complexity)]
    fn check_batch<'a>(
        &self,
        ids: Endpoints<'a>,
        holder: &str,
        tokens: Option<&[u64]>,
        (ttl, now): (f64, f64),
        out: &[u64],
    ) -> Result<(parking_lot::RwLockReadGuard<'_, super::Inner>, Walk<'a>)> {
        let inner = self.inner.read();
        let n = batch_len(ids, &inner);
        check_holder(holder)?;
        if let Some(tokens) = tokens {
            check_batch_tokens(n, tokens)?;
        }
        check_ttl(ttl)?;
        check_now(now)?;
        check_out_len(out, n)?;
        let walk = inner.walk(ids)?;
        Ok((inner, walk))
    }

    /// Visit the records of a batch as spans of consecutive records: `f(pos, shard, i, len)`
    /// for positions `pos..pos + len` and indexes `i..i + len` of the shard (`len` 1 for an
    /// id that continues no run). A range goes shard by shard (it names each endpoint once);
    /// listed ids in list order.
    #[inline(always)]
    fn each_lease_span(&self, walk: &Walk<'_>, mut f: impl FnMut(usize, &mut Shard, usize, usize)) {
        match walk {
            Walk::Range(range) => self.each_run_in(range.clone(), |first, shard, run| {
                f(first as usize - range.start, shard, run.start, run.len())
            }),
            Walk::Listed(ids) => self.each_listed_runs(ids, |pos, shard, run| match run {
                Run::Span(i, len) => f(pos, shard, i, len),
                Run::One(i) => f(pos, shard, i, 1),
            }),
        }
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
        let call = self.stamp();
        check_holder(holder)?;
        check_token(token, "token")?;
        check_ttl(ttl)?;
        check_now(now)?;
        let inner = self.inner.read();
        inner.check_id(id)?;
        // With a history every holder is named, even one that never held a lease.
        let h = match self.history {
            Some(_) => Some(self.intern_holder(holder)),
            None => self.holders.read().get(holder),
        };
        let (s, i) = locate(id);
        let renewed = {
            let mut shard = self.shards[s].lock();
            let lease = shard.lease.get(i);
            if h == Some(lease.holder) && lease.token == token && now < lease.expiry {
                let expiry = now + ttl;
                shard.lease.expiry[i] = expiry;
                Some(expiry)
            } else {
                None
            }
        };
        if let Some(h) = h.filter(|_| self.history.is_some()) {
            let op = OpKind::Renew {
                holder: h - 1,
                token,
                ttl,
                now,
                expiry: renewed,
            };
            self.record(call, [(id, op)]);
        }
        if let Some(expiry) = renewed {
            return Ok(expiry);
        }
        Err(Error::LeaseLost(format!(
            "{holder:?} does not hold a live lease on {:?} with token {token}",
            inner.names.name(id)
        )))
    }

    /// [`Store::renew_lease`] for many endpoints: per position the token if the lease was
    /// renewed to `now + ttl`, or 0 where it was not (holder or token mismatch, expired, or a
    /// token of 0: the sentinel of an entry [`Store::acquire_leases`] refused, skipped and not
    /// recorded). Nothing is raised for a lost lease.
    pub fn renew_leases(
        &self,
        ids: &[u32],
        holder: &str,
        tokens: &[u64],
        ttl: f64,
        now: f64,
    ) -> Result<Vec<u64>> {
        let mut out = crate::error::try_vec(tokens.len(), "renewed tokens")?;
        out.extend_from_slice(tokens);
        self.renew_leases_in_place(ids, holder, &mut out, ttl, now)?;
        Ok(out)
    }

    /// [`Store::renew_leases`] in place: `tokens` (aligned with `ids`) holds the tokens given
    /// back and receives the answer, so that a caller's array that holds a copy of the
    /// tokens becomes the output (one array streamed instead of two).
    pub fn renew_leases_in_place(
        &self,
        ids: &[u32],
        holder: &str,
        tokens: &mut [u64],
        ttl: f64,
        now: f64,
    ) -> Result<()> {
        self.renew_endpoint_leases(Endpoints::Ids(ids), holder, tokens, ttl, now)
    }

    /// [`Store::renew_leases_in_place`] for the endpoints `ids` (`All`: every registered
    /// one): a range of ids is walked shard by shard.
    pub fn renew_endpoint_leases(
        &self,
        ids: Endpoints<'_>,
        holder: &str,
        tokens: &mut [u64],
        ttl: f64,
        now: f64,
    ) -> Result<()> {
        let call = self.stamp();
        let (_inner, walk) = self.check_batch(ids, holder, Some(tokens), (ttl, now), tokens)?;
        let h = match self.history {
            Some(_) => Some(self.intern_holder(holder)),
            None => self.holders.read().get(holder),
        };
        let Some(h) = h else {
            // A holder never seen holds nothing: every entry is lost.
            tokens.fill(0);
            return Ok(());
        };
        // The history records the tokens given, which the answer overwrites.
        let given = match self.history {
            Some(_) => {
                let mut given = crate::error::try_vec(tokens.len(), "renewed tokens")?;
                given.extend_from_slice(tokens);
                given
            }
            None => Vec::new(),
        };
        let expiry = now + ttl;
        self.each_lease_span(&walk, |pos, shard, i, len| {
            let lease = &mut shard.lease;
            renew_span(
                RenewSpan {
                    token: &lease.token[i..i + len],
                    expiry: &mut lease.expiry[i..i + len],
                    holder: &lease.holder[i..i + len],
                    out: &mut tokens[pos..pos + len],
                },
                (h, now, expiry),
            );
        });
        if self.history.is_some() {
            let ops = (0..walk.len()).filter(|&pos| given[pos] != 0).map(|pos| {
                let op = OpKind::Renew {
                    holder: h - 1,
                    token: given[pos],
                    ttl,
                    now,
                    expiry: (tokens[pos] != 0).then_some(expiry),
                };
                (walk.id(pos), op)
            });
            self.record(call, ops);
        }
        Ok(())
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

    /// Release the leases whose holder and token match; returns how many were released. A
    /// token of 0 (the sentinel of an entry [`Store::acquire_leases`] refused) is skipped and
    /// not recorded.
    pub fn release_leases(&self, ids: &[u32], holder: &str, tokens: &[u64]) -> Result<usize> {
        self.release_endpoint_leases(Endpoints::Ids(ids), holder, tokens)
    }

    /// [`Store::release_leases`] for the endpoints `ids` (`All`: every registered one): a
    /// range of ids is walked shard by shard.
    pub fn release_endpoint_leases(
        &self,
        ids: Endpoints<'_>,
        holder: &str,
        tokens: &[u64],
    ) -> Result<usize> {
        let call = self.stamp();
        let inner = self.inner.read();
        check_holder(holder)?;
        check_batch_tokens(batch_len(ids, &inner), tokens)?;
        let walk = inner.walk(ids)?;
        let h = match self.history {
            Some(_) => self.intern_holder(holder),
            None => match self.holders.read().get(holder) {
                Some(h) => h,
                None => return Ok(0),
            },
        };
        let mut released = 0;
        let mut done = vec![
            false;
            if self.history.is_some() {
                walk.len()
            } else {
                0
            }
        ];
        let mut release_at = |pos: usize, shard: &mut Shard, i: usize| {
            let lease = shard.lease.get(i);
            if tokens[pos] != 0 && lease.holder == h && lease.token == tokens[pos] {
                shard.lease.set(i, Lease::default());
                released += 1;
                if let Some(d) = done.get_mut(pos) {
                    *d = true;
                }
            }
        };
        self.each_lease_span(&walk, |pos, shard, i, len| {
            (0..len).for_each(|k| release_at(pos + k, shard, i + k))
        });
        if self.history.is_some() {
            let ops = (0..walk.len())
                .map(|pos| walk.id(pos))
                .zip(tokens)
                .zip(&done)
                .filter(|((_, &token), _)| token != 0)
                .map(|((id, &token), &d)| {
                    let op = OpKind::Release {
                        holder: h - 1,
                        token,
                        released: d,
                    };
                    (id, op)
                });
            self.record(call, ops);
        }
        Ok(released)
    }

    /// Ids whose lease is live at `now` (held, not released, `now < expiry`), in input order
    /// (`None`: every endpoint, ascending). A lease holder's batch view of which endpoints
    /// it (or anyone) still holds, without a snapshot per endpoint.
    pub fn live_leases(&self, ids: Option<&[u32]>, now: f64) -> Result<Vec<u32>> {
        check_now(now)?;
        let inner = self.inner.read();
        let live = |holder: u32, expiry: f64| holder != 0 && now < expiry;
        let mut out = Vec::new();
        match ids {
            None => {
                // Shards hold interleaved chunks: flags by id first, so the ids ascend.
                let mut flags = vec![false; inner.names.len()];
                self.each_run(flags.len(), |first, shard, run| {
                    let first = first as usize;
                    let (holders, expiries) =
                        (&shard.lease.holder[run.clone()], &shard.lease.expiry[run]);
                    let flags = &mut flags[first..first + holders.len()];
                    for ((f, &h), &e) in flags.iter_mut().zip(holders).zip(expiries) {
                        *f = live(h, e);
                    }
                });
                out.extend((0..flags.len() as u32).filter(|&id| flags[id as usize]));
            }
            Some(ids) => {
                inner.check_ids(ids)?;
                let mut flags = vec![false; ids.len()];
                self.each_listed(ids, |pos, shard, i| {
                    flags[pos] = live(shard.lease.holder[i], shard.lease.expiry[i])
                });
                out.extend(
                    ids.iter()
                        .zip(&flags)
                        .filter(|(_, &f)| f)
                        .map(|(&id, _)| id),
                );
            }
        }
        Ok(out)
    }
}

/// Tokens of a batch lease call: each 0 (a refused entry) or a token, aligned with the ids.
/// The range is checked first, named as the binding names a bad item: the binding leaves the
/// range of a uint64 buffer to this check (one pass over the tokens instead of two).
fn check_batch_tokens(n: usize, tokens: &[u64]) -> Result<()> {
    // MAX_TOKEN is 2^63 - 1: a top-bit test of all tokens (one vectorised OR) finds a bad
    // batch, and only then is the largest token looked for, to name it.
    if !super::kernel::below_top_bit(tokens) {
        let max = tokens.iter().copied().max().unwrap_or(0);
        return Err(Error::InvalidToken(format!(
            "invalid token {max}: must be an int in 0..{MAX_TOKEN}"
        )));
    }
    if n != tokens.len() {
        return Err(Error::InvalidArgument(format!(
            "tokens has {} items for {n} endpoints",
            tokens.len(),
        )));
    }
    Ok(())
}

/// How many endpoints a batch names (`All`: every registered one).
fn batch_len(ids: Endpoints<'_>, inner: &super::Inner) -> usize {
    match ids {
        Endpoints::All => inner.names.len(),
        Endpoints::Range { len, .. } => len,
        Endpoints::Ids(ids) => ids.len(),
    }
}

fn acquire_op(holder: u32, ttl: f64, now: f64, token: Option<u64>) -> OpKind {
    OpKind::Acquire {
        holder: holder - 1,
        ttl,
        now,
        token,
    }
}

enum Grant {
    Held,
    Exhausted,
}

/// An output slice of a batch lease call must align with its ids.
fn check_out_len(out: &[u64], n: usize) -> Result<()> {
    if out.len() != n {
        return Err(Error::InvalidArgument(format!(
            "output has {} items for {n} endpoints",
            out.len(),
        )));
    }
    Ok(())
}

/// The columns a batch acquire reads and writes over one run of records, with the run's part
/// of the output (all the same length).
struct GrantSpan<'a> {
    token: &'a mut [u64],
    expiry: &'a mut [f64],
    holder: &'a mut [u32],
    fence: &'a mut [u64],
    out: &'a mut [u64],
}

/// The columns a batch renew reads and writes over one run of records, with the run's part of
/// the tokens given, which become the output (all the same length).
struct RenewSpan<'a> {
    token: &'a [u64],
    expiry: &'a mut [f64],
    holder: &'a [u32],
    out: &'a mut [u64],
}

/// `fn $name(span, args)`: `$run(span, args)`, compiled three times and chosen at run time:
/// for AVX-512 (8 lanes, per-lane masks in their own registers: the compares of the 32-bit
/// holders and of the 64-bit columns combine without packing), for AVX2 (packed 64-bit
/// compares and blends), and for the baseline target. A run shorter than `SHORT_SPAN` takes
/// the baseline copy (no vector set-up for one id).
macro_rules! span_kernel {
    ($(#[$doc:meta])* fn $name:ident($span:ident: $ty:ty, $args:ident: $args_ty:ty) -> $ret:ty = $run:ident) => {
        $(#[$doc])*
        #[inline]
        fn $name($span: $ty, $args: $args_ty) -> $ret {
            #[cfg(target_arch = "x86_64")]
            if $span.out.len() >= SHORT_SPAN {
                #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq")]
                unsafe fn avx512($span: $ty, $args: $args_ty) -> $ret {
                    $run($span, $args)
                }
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($span: $ty, $args: $args_ty) -> $ret {
                    $run($span, $args)
                }
                if has_avx512() {
                    // SAFETY: the processor has these AVX-512 extensions (checked just above).
                    return unsafe { avx512($span, $args) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the processor has AVX2 (checked just above).
                    return unsafe { avx2($span, $args) };
                }
            }
            $run($span, $args)
        }
    };
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512dq")
}

/// Runs shorter than this take the baseline loop.
const SHORT_SPAN: usize = 8;

span_kernel! {
    /// Grant the leases of one run: per entry the new token, or 0 where another holder's
    /// lease is live or the tokens are exhausted. Returns (granted, conflicts).
    fn grant_span(span: GrantSpan<'_>, args: (u32, f64, f64)) -> (u64, u64) = grant_run
}

span_kernel! {
    /// Renew the leases of one run: where `holder` holds a live lease with that (non-zero)
    /// token, extend it to `expiry` and answer the token; else 0.
    fn renew_span(span: RenewSpan<'_>, args: (u32, f64, f64)) -> () = renew_run
}

/// [`grant_span`]'s loop: branch-free (selects, counts in registers), every column read and
/// written once, so that the compiler vectorizes it.
#[inline(always)]
fn grant_run(span: GrantSpan<'_>, (holder, ttl, now): (u32, f64, f64)) -> (u64, u64) {
    let n = span.out.len();
    let (token, expiry, holders, fence, out) = (
        &mut span.token[..n],
        &mut span.expiry[..n],
        &mut span.holder[..n],
        &mut span.fence[..n],
        &mut span.out[..n],
    );
    let new_expiry = now + ttl;
    let (mut granted, mut conflicts) = (0u64, 0u64);
    for k in 0..n {
        let (h, e, f) = (holders[k], expiry[k], fence[k]);
        let held = (h != 0) & (h != holder) & (now < e);
        // The highest fence is at most MAX_TOKEN = i64::MAX (checked on every path that sets
        // it, snapshots included): the signed compare is the same and is one packed
        // instruction where the unsigned one is not.
        let ok = !held & ((f as i64) < (MAX_TOKEN as i64));
        let t = f + ok as u64;
        fence[k] = t;
        token[k] = if ok { t } else { token[k] };
        expiry[k] = if ok { new_expiry } else { e };
        holders[k] = if ok { holder } else { h };
        out[k] = if ok { t } else { 0 };
        granted += ok as u64;
        conflicts += held as u64;
    }
    (granted, conflicts)
}

/// [`renew_span`]'s loop, branch-free as [`grant_run`].
#[inline(always)]
fn renew_run(span: RenewSpan<'_>, (holder, now, new_expiry): (u32, f64, f64)) {
    let n = span.out.len();
    let (token, expiry, holders, out) = (
        &span.token[..n],
        &mut span.expiry[..n],
        &span.holder[..n],
        &mut span.out[..n],
    );
    for k in 0..n {
        let (t, e) = (out[k], expiry[k]);
        let ok = (t != 0) & (holders[k] == holder) & (token[k] == t) & (now < e);
        expiry[k] = if ok { new_expiry } else { e };
        out[k] = if ok { t } else { 0 };
    }
}
