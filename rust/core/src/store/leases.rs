//! Leases: grants with fencing tokens, renewals and releases.

use std::sync::atomic::Ordering::Relaxed;

use hashbrown::HashMap;

use super::layout::{locate, Slot};
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
        let call = self.stamp();
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
        if out.len() != ids.len() {
            return Err(Error::InvalidArgument(format!(
                "output has {} items for {} endpoints",
                out.len(),
                ids.len()
            )));
        }
        let inner = self.inner.read();
        inner.check_ids(ids)?;
        let h = self.intern_holder(holder);
        let (mut granted, mut conflicts) = (0u64, 0u64);
        self.each_listed(ids, |pos, slot| match Self::grant(slot, h, ttl, now) {
            Ok(token) => {
                out[pos] = token;
                granted += 1;
            }
            Err(Grant::Held) => {
                out[pos] = 0;
                conflicts += 1;
            }
            Err(Grant::Exhausted) => out[pos] = 0,
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
            let mut slots = self.shards[s].lock();
            let slot = &mut slots[i];
            if h == Some(slot.holder) && slot.lease_token == token && now < slot.lease_expiry {
                slot.lease_expiry = now + ttl;
                Some(slot.lease_expiry)
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
        if out.len() != ids.len() {
            return Err(Error::InvalidArgument(format!(
                "output has {} items for {} endpoints",
                out.len(),
                ids.len()
            )));
        }
        out.fill(0);
        let h = match self.history {
            Some(_) => Some(self.intern_holder(holder)),
            None => self.holders.read().get(holder),
        };
        if let Some(h) = h {
            let expiry = now + ttl;
            self.each_listed(ids, |pos, slot| {
                let token = tokens[pos];
                if token != 0
                    && slot.holder == h
                    && slot.lease_token == token
                    && now < slot.lease_expiry
                {
                    slot.lease_expiry = expiry;
                    out[pos] = token;
                }
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
        self.each_listed(ids, |pos, slot| {
            if tokens[pos] != 0 && slot.holder == h && slot.lease_token == tokens[pos] {
                slot.holder = 0;
                slot.lease_token = 0;
                slot.lease_expiry = 0.0;
                released += 1;
                if let Some(d) = done.get_mut(pos) {
                    *d = true;
                }
            }
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
        let live = self.gather(&inner, ids, |id, slot| {
            (slot.holder != 0 && now < slot.lease_expiry).then_some(id)
        })?;
        Ok(live.into_iter().flatten().collect())
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
