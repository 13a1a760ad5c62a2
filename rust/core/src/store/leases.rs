//! Leases: grants with fencing tokens, renewals and releases.

use std::sync::atomic::Ordering::Relaxed;

use hashbrown::HashMap;

use super::layout::{locate, Lease, Run, Shard};
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
        let lease = &mut shard.lease[i];
        if lease.holder != 0 && lease.holder != holder && now < lease.expiry {
            return Err(Grant::Held);
        }
        let highest = &mut shard.fence[i];
        if *highest >= MAX_TOKEN {
            return Err(Grant::Exhausted);
        }
        let token = *highest + 1;
        *highest = token;
        lease.holder = holder;
        lease.token = token;
        lease.expiry = now + ttl;
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
            (granted, shard.lease[i])
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
        let call = self.stamp();
        check_holder(holder)?;
        check_ttl(ttl)?;
        check_now(now)?;
        check_out_len(out, ids)?;
        let inner = self.inner.read();
        inner.check_ids(ids)?;
        let h = self.intern_holder(holder);
        let (mut granted, mut conflicts) = (0u64, 0u64);
        // Runs of consecutive ids are walked as zipped slices of the columns (no per-id
        // lookup, no bounds check, no branch: the compiler can keep the loop straight).
        self.each_listed_runs(ids, |pos, shard, run| {
            let (i, len) = match run {
                Run::Span(i, len) => (i, len),
                Run::One(i) => (i, 1),
            };
            let (g, c) = grant_span(
                &mut shard.lease[i..i + len],
                &mut shard.fence[i..i + len],
                &mut out[pos..pos + len],
                (h, ttl, now),
            );
            granted += g;
            conflicts += c;
        });
        self.counters.leases_granted.fetch_add(granted, Relaxed);
        self.counters.lease_conflicts.fetch_add(conflicts, Relaxed);
        let ops = ids.iter().zip(out.iter());
        self.record(
            call,
            ops.map(|(&id, &t)| (id, acquire_op(h, ttl, now, (t != 0).then_some(t)))),
        );
        Ok(())
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
            let lease = &mut shard.lease[i];
            if h == Some(lease.holder) && lease.token == token && now < lease.expiry {
                lease.expiry = now + ttl;
                Some(lease.expiry)
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
        let mut out = crate::error::try_vec(ids.len(), "renewed tokens")?;
        out.resize(ids.len(), 0u64);
        self.renew_leases_into(ids, holder, tokens, ttl, now, &mut out)?;
        Ok(out)
    }

    /// [`Store::renew_leases`] writing into `out` (aligned with `ids`), in place.
    pub fn renew_leases_into(
        &self,
        ids: &[u32],
        holder: &str,
        tokens: &[u64],
        ttl: f64,
        now: f64,
        out: &mut [u64],
    ) -> Result<()> {
        let call = self.stamp();
        check_holder(holder)?;
        check_batch_tokens(ids, tokens)?;
        check_ttl(ttl)?;
        check_now(now)?;
        let inner = self.inner.read();
        inner.check_ids(ids)?;
        check_out_len(out, ids)?;
        let h = match self.history {
            Some(_) => Some(self.intern_holder(holder)),
            None => self.holders.read().get(holder),
        };
        let Some(h) = h else {
            // A holder never seen holds nothing: every entry is lost.
            out.fill(0);
            return Ok(());
        };
        {
            let expiry = now + ttl;
            self.each_listed_runs(ids, |pos, shard, run| {
                let (i, len) = match run {
                    Run::Span(i, len) => (i, len),
                    Run::One(i) => (i, 1),
                };
                renew_span(
                    &mut shard.lease[i..i + len],
                    &tokens[pos..pos + len],
                    &mut out[pos..pos + len],
                    (h, now, expiry),
                );
            });
            if self.history.is_some() {
                let ops = (0..ids.len()).filter(|&pos| tokens[pos] != 0).map(|pos| {
                    let op = OpKind::Renew {
                        holder: h - 1,
                        token: tokens[pos],
                        ttl,
                        now,
                        expiry: (out[pos] != 0).then_some(expiry),
                    };
                    (ids[pos], op)
                });
                self.record(call, ops);
            }
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
        let call = self.stamp();
        check_holder(holder)?;
        check_batch_tokens(ids, tokens)?;
        let inner = self.inner.read();
        inner.check_ids(ids)?;
        let h = match self.history {
            Some(_) => self.intern_holder(holder),
            None => match self.holders.read().get(holder) {
                Some(h) => h,
                None => return Ok(0),
            },
        };
        let mut released = 0;
        let mut done = vec![false; if self.history.is_some() { ids.len() } else { 0 }];
        let mut release_at = |pos: usize, shard: &mut Shard, i: usize| {
            let lease = &mut shard.lease[i];
            if tokens[pos] != 0 && lease.holder == h && lease.token == tokens[pos] {
                *lease = Default::default();
                released += 1;
                if let Some(d) = done.get_mut(pos) {
                    *d = true;
                }
            }
        };
        self.each_listed_runs(ids, |pos, shard, run| match run {
            Run::Span(i, len) => (0..len).for_each(|k| release_at(pos + k, shard, i + k)),
            Run::One(i) => release_at(pos, shard, i),
        });
        if self.history.is_some() {
            let ops = ids
                .iter()
                .zip(tokens)
                .zip(&done)
                .filter(|((_, &token), _)| token != 0)
                .map(|((&id, &token), &d)| {
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
        let live = |l: &super::layout::Lease| l.holder != 0 && now < l.expiry;
        let mut out = Vec::new();
        match ids {
            None => {
                // Shards hold interleaved chunks: flags by id first, so the ids ascend.
                let mut flags = vec![false; inner.names.len()];
                self.each_run(flags.len(), |first, shard, run| {
                    let first = first as usize;
                    let leases = &shard.lease[run];
                    for (f, l) in flags[first..first + leases.len()].iter_mut().zip(leases) {
                        *f = live(l);
                    }
                });
                out.extend((0..flags.len() as u32).filter(|&id| flags[id as usize]));
            }
            Some(ids) => {
                inner.check_ids(ids)?;
                let mut flags = vec![false; ids.len()];
                self.each_listed(ids, |pos, shard, i| flags[pos] = live(&shard.lease[i]));
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

/// Tokens of a batch lease call: aligned with the ids, each 0 (a refused entry) or a token.
fn check_batch_tokens(ids: &[u32], tokens: &[u64]) -> Result<()> {
    if ids.len() != tokens.len() {
        return Err(Error::InvalidArgument(format!(
            "tokens has {} items for {} endpoints",
            tokens.len(),
            ids.len()
        )));
    }
    if let Some(&max) = tokens.iter().max() {
        if max > MAX_TOKEN {
            check_token(max, "token")?;
        }
    }
    Ok(())
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
fn check_out_len(out: &[u64], ids: &[u32]) -> Result<()> {
    if out.len() != ids.len() {
        return Err(Error::InvalidArgument(format!(
            "output has {} items for {} endpoints",
            out.len(),
            ids.len()
        )));
    }
    Ok(())
}

/// Grant the leases of one run (`leases`, `fences` and `out` aligned): per entry the new
/// token, or 0 where another holder's lease is live or the tokens are exhausted. Returns
/// (granted, conflicts). Branch-free, so that the loop stays straight.
#[inline(always)]
fn grant_span(
    leases: &mut [Lease],
    fences: &mut [u64],
    out: &mut [u64],
    (holder, ttl, now): (u32, f64, f64),
) -> (u64, u64) {
    let (mut granted, mut conflicts) = (0u64, 0u64);
    let expiry = now + ttl;
    for ((lease, highest), out) in leases.iter_mut().zip(fences.iter_mut()).zip(out) {
        let held = (lease.holder != 0) & (lease.holder != holder) & (now < lease.expiry);
        let ok = !held & (*highest < MAX_TOKEN);
        let token = *highest + ok as u64;
        *highest = token;
        if ok {
            *lease = Lease {
                token,
                expiry,
                holder,
            };
        }
        *out = if ok { token } else { 0 };
        granted += ok as u64;
        conflicts += held as u64;
    }
    (granted, conflicts)
}

/// Renew the leases of one run (`leases`, `tokens` and `out` aligned): where `holder` holds a
/// live lease with that (non-zero) token, extend it to `expiry` and answer the token; else 0.
#[inline(always)]
fn renew_span(
    leases: &mut [Lease],
    tokens: &[u64],
    out: &mut [u64],
    (holder, now, expiry): (u32, f64, f64),
) {
    for ((lease, &token), out) in leases.iter_mut().zip(tokens).zip(out) {
        let ok = (token != 0) & (lease.holder == holder) & (lease.token == token);
        let ok = ok & (now < lease.expiry);
        lease.expiry = if ok { expiry } else { lease.expiry };
        *out = if ok { token } else { 0 };
    }
}
