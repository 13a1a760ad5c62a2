//! Reads: resolving endpoints, batch reads of one field, one endpoint's snapshot.

use std::sync::atomic::Ordering::Relaxed;

use super::layout::{locate, Endpoints, Shard, Slot};
use crate::history::OpKind;

fn read_op(slot: &Slot) -> OpKind {
    OpKind::Read {
        alias: slot.alias,
        rollback: slot.rollback,
        version: slot.version,
    }
}
use super::{Inner, Store};

/// A column of the control records that a batch read returns ([`Store::field_into`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Alias,
    Rollback,
    Version,
}

impl Field {
    fn of_shard(self) -> fn(&Shard) -> &[u64] {
        match self {
            Field::Alias => |s| &s.alias,
            Field::Rollback => |s| &s.rollback,
            Field::Version => |s| &s.version,
        }
    }

    fn of_slot(self, slot: &Slot) -> u64 {
        match self {
            Field::Alias => slot.alias,
            Field::Rollback => slot.rollback,
            Field::Version => slot.version,
        }
    }
}
use crate::error::{Error, Result};
use crate::target::TargetSet;

/// Snapshot of one endpoint's control record.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointState {
    pub id: u32,
    pub name: String,
    pub alias: Option<u64>,
    pub rollback: Option<u64>,
    pub version: u64,
    pub lease_holder: Option<String>,
    pub lease_token: u64,
    pub lease_expiry: f64,
    pub highest_fence: u64,
}

impl Store {
    fn answer(&self, inner: &Inner, alias: u64, id: u32) -> TargetSet {
        let set = inner
            .plans
            .get(&alias)
            .and_then(|t| t.get(id))
            .map(|s| inner.sets.get(s).clone());
        match set {
            Some(s) if !s.is_empty() => s,
            _ => {
                self.counters.empty_answers.fetch_add(1, Relaxed);
                set.unwrap_or_else(|| self.empty.clone())
            }
        }
    }

    /// The leaves the alias points at; empty (and counted) when unset, deleted or empty.
    pub fn resolve(&self, id: u32) -> Result<TargetSet> {
        let inner = self.inner.read();
        inner.check_id(id)?;
        let (s, i) = locate(id);
        let alias = self.shards[s].lock().alias[i];
        Ok(self.answer(&inner, alias, id))
    }

    /// [`Store::resolve`] for many endpoints.
    pub fn resolve_many(&self, ids: Option<&[u32]>) -> Result<Vec<TargetSet>> {
        let inner = self.inner.read();
        let aliases = self.gather(&inner, ids, |shard| &shard.alias)?;
        let id_of = |pos: usize| ids.map_or(pos as u32, |ids| ids[pos]);
        Ok(aliases
            .iter()
            .enumerate()
            .map(|(pos, &alias)| self.answer(&inner, alias, id_of(pos)))
            .collect())
    }

    /// One column of many endpoints' control records; with a history, each endpoint's read
    /// is recorded with the whole record seen (alias, rollback, version under one lock).
    fn column(&self, ids: Option<&[u32]>, field: Field) -> Result<Vec<u64>> {
        let call = self.stamp();
        let inner = self.inner.read();
        if self.history.is_none() {
            return self.gather(&inner, ids, field.of_shard());
        }
        // Recorded: the whole record of each endpoint, read under one lock.
        let mut rows: Vec<(u32, Slot)> = Vec::new();
        match ids {
            None => {
                rows.resize(inner.names.len(), (0, Slot::default()));
                self.each_run(rows.len(), |first, shard, run| {
                    for (k, i) in run.enumerate() {
                        let id = first + k as u32;
                        rows[id as usize] = (id, shard.slot(i));
                    }
                });
            }
            Some(ids) => {
                inner.check_ids(ids)?;
                rows.resize(ids.len(), (0, Slot::default()));
                self.each_listed(ids, |pos, shard, i| rows[pos] = (ids[pos], shard.slot(i)));
            }
        }
        self.record(call, rows.iter().map(|(id, s)| (*id, read_op(s))));
        Ok(rows.iter().map(|(_, s)| field.of_slot(s)).collect())
    }

    /// One column of many endpoints written into `out` (an array the caller made, so that
    /// the values are copied once): `out` has the batch's length, or with
    /// [`Endpoints::All`] at most the number of endpoints (the first `out.len()` are read);
    /// `InvalidArgument` otherwise. With a history, as [`Store::aliases`] records.
    pub fn field_into(&self, field: Field, ids: Endpoints<'_>, out: &mut [u64]) -> Result<()> {
        if self.history.is_some() {
            // Recorded: the whole records are read (and recorded) as by `column`.
            let listed: Vec<u32>;
            let ids = match ids {
                Endpoints::All if out.len() > self.len() => None,
                Endpoints::All => {
                    listed = (0..out.len() as u32).collect();
                    Some(&listed[..])
                }
                Endpoints::Range { first, len } => {
                    listed = (first..).take(len).collect();
                    Some(&listed[..])
                }
                Endpoints::Ids(ids) => Some(ids),
            };
            let values = self.column(ids, field)?;
            if values.len() != out.len() {
                return Err(misaligned(out.len(), values.len()));
            }
            out.copy_from_slice(&values);
            return Ok(());
        }
        let inner = self.inner.read();
        let (n, fits) = match ids {
            Endpoints::All => (inner.names.len(), out.len() <= inner.names.len()),
            Endpoints::Range { len, .. } => (len, out.len() == len),
            Endpoints::Ids(ids) => (ids.len(), out.len() == ids.len()),
        };
        if !fits {
            return Err(misaligned(out.len(), n));
        }
        self.gather_into(&inner, ids, field.of_shard(), out)
    }

    /// [`Store::aliases`] into `out` (see [`Store::field_into`] for its length).
    pub fn aliases_into(&self, ids: Option<&[u32]>, out: &mut [u64]) -> Result<()> {
        self.field_into(Field::Alias, ids.into(), out)
    }

    /// [`Store::rollbacks`] into `out`.
    pub fn rollbacks_into(&self, ids: Option<&[u32]>, out: &mut [u64]) -> Result<()> {
        self.field_into(Field::Rollback, ids.into(), out)
    }

    /// [`Store::versions`] into `out`.
    pub fn versions_into(&self, ids: Option<&[u32]>, out: &mut [u64]) -> Result<()> {
        self.field_into(Field::Version, ids.into(), out)
    }

    /// Alias generation per endpoint (0 = none).
    pub fn aliases(&self, ids: Option<&[u32]>) -> Result<Vec<u64>> {
        self.column(ids, Field::Alias)
    }

    /// Rollback generation per endpoint (0 = none).
    pub fn rollbacks(&self, ids: Option<&[u32]>) -> Result<Vec<u64>> {
        self.column(ids, Field::Rollback)
    }

    /// Version per endpoint (the compare value of [`Mode::Exact`]).
    pub fn versions(&self, ids: Option<&[u32]>) -> Result<Vec<u64>> {
        self.column(ids, Field::Version)
    }

    /// Ids whose alias is set but whose tree is gone, in input order.
    pub fn dangling_aliases(&self, ids: Option<&[u32]>) -> Result<Vec<u32>> {
        let inner = self.inner.read();
        let ids_all: Vec<u32>;
        let ids = match ids {
            Some(ids) => ids,
            None => {
                ids_all = (0..inner.names.len() as u32).collect();
                &ids_all
            }
        };
        let aliases = self.gather(&inner, Some(ids), |shard| &shard.alias)?;
        Ok(ids
            .iter()
            .zip(&aliases)
            .filter(|(&id, &alias)| alias != 0 && !inner.has_tree(alias, id))
            .map(|(&id, _)| id)
            .collect())
    }

    pub fn state(&self, id: u32) -> Result<EndpointState> {
        let call = self.stamp();
        let inner = self.inner.read();
        inner.check_id(id)?;
        let (s, i) = locate(id);
        // Copy the record and drop its lock before looking up the holder's name: the holder
        // table and a shard are never held together, so lock order cannot deadlock.
        let slot = self.shards[s].lock().slot(i);
        self.record(call, [(id, read_op(&slot))]);
        let holders = self.holders.read();
        let none_if_zero = |g: u64| (g != 0).then_some(g);
        Ok(EndpointState {
            id,
            name: inner.names.name(id).to_owned(),
            alias: none_if_zero(slot.alias),
            rollback: none_if_zero(slot.rollback),
            version: slot.version,
            lease_holder: holders.name(slot.holder).map(str::to_owned),
            lease_token: slot.lease_token,
            lease_expiry: slot.lease_expiry,
            highest_fence: slot.highest_fence,
        })
    }
}

fn misaligned(out: usize, n: usize) -> Error {
    Error::InvalidArgument(format!("output has {out} items for {n} endpoints"))
}
