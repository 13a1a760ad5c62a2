//! Reads: answers (`resolve`), per-endpoint columns (aliases, rollbacks, versions), the
//! dangling and leased endpoints, one endpoint's whole state.

use std::collections::HashMap;

use dnsrace_core as core;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use super::{RecordStore, ENDPOINT_STATE, STORE_STATS};
use crate::args::{Endpoint, Now, Output};
use crate::detach::detach_for;
use crate::errors::{guard, OrRaise};
use crate::ints::{finish, with_endpoints, IntSeq};
use crate::output::{vec_out, OutArray};
use crate::plan::answer;

/// A core read of one u64 column for many endpoints (`None`: all).
pub(super) type ColumnRead = fn(&core::Store, Option<&[u32]>) -> core::Result<Vec<u64>>;

pub(super) fn generation_or_none(py: Python<'_>, g: u64) -> PyResult<Bound<'_, PyAny>> {
    Ok(if g == 0 {
        py.None().into_bound(py)
    } else {
        g.into_pyobject(py)?.into_any()
    })
}

/// The core's `read` of one endpoint (a name or an id), then `convert` of what it answered;
/// all under the guard.
#[inline]
pub(super) fn one<T, R>(
    store: &RecordStore,
    endpoint: Endpoint<'_>,
    read: impl FnOnce(&core::Store, u32) -> core::Result<T>,
    convert: impl FnOnce(T) -> PyResult<R>,
) -> PyResult<R> {
    guard(|| {
        let id = store.id(endpoint)?;
        convert(read(&store.store, id).or_raise()?)
    })
}

pub(super) fn resolve_many<'py>(
    store: &RecordStore,
    py: Python<'py>,
    endpoints: Option<IntSeq<'py>>,
) -> PyResult<Bound<'py, PyList>> {
    guard(|| {
        let ids = store.ids(endpoints.as_ref())?;
        let n = store.batch_len(endpoints.as_ref());
        let sets =
            detach_for(py, n, || store.store.resolve_many(finish(ids)?.as_deref())).or_raise()?;
        // Endpoints sharing a target set share one (immutable) tuple.
        let mut cache: HashMap<usize, Bound<'py, PyTuple>> = HashMap::new();
        let mut out = Vec::with_capacity(sets.len());
        for set in &sets {
            let key = set.as_ptr() as *const u8 as usize;
            let t = match cache.get(&key) {
                Some(t) => t.clone(),
                None => {
                    let t = answer(py, set)?;
                    cache.insert(key, t.clone());
                    t
                }
            };
            out.push(t);
        }
        PyList::new(py, out)
    })
}

/// A u64 column of many endpoints: `read` for a list, where a generation column (aliases,
/// rollbacks) shows 0 as `None`; for an array, the core's read of `field` fills it in place
/// (no copy between the store and the array), ids `first, first + 1, ...` in a buffer read
/// as that range (no copy of the ids).
pub(super) fn column<'py>(
    store: &RecordStore,
    py: Python<'py>,
    (endpoints, output): (Option<IntSeq<'py>>, Output),
    (read, field): (ColumnRead, core::Field),
    zero_is_none: bool,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let ids = store.ids(endpoints.as_ref())?;
        if output != Output::List {
            // With all endpoints: those registered now (the core reads the first `n`).
            let n = store.batch_len(endpoints.as_ref());
            let mut array = OutArray::<u64>::overwritten(py, output, n)?;
            let out = array.slice();
            detach_for(py, n, || {
                with_endpoints(ids, |endpoints| {
                    store.store.field_into(field, endpoints, out)
                })
            })
            .or_raise()?;
            return Ok(array.obj);
        }
        let n = store.batch_len(endpoints.as_ref());
        let values =
            detach_for(py, n, || read(&store.store, finish(ids)?.as_deref())).or_raise()?;
        vec_out(py, output, values, |v| match zero_is_none {
            true => generation_or_none(py, v),
            false => Ok(v.into_pyobject(py)?.into_any()),
        })
    })
}

/// Endpoint ids of many endpoints that `read` selects (dangling, leased).
pub(super) fn id_list<'py>(
    store: &RecordStore,
    py: Python<'py>,
    endpoints: Option<IntSeq<'py>>,
    output: Output,
    read: impl FnOnce(&core::Store, Option<&[u32]>) -> core::Result<Vec<u32>> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let ids = store.ids(endpoints.as_ref())?;
        let n = store.batch_len(endpoints.as_ref());
        let found = detach_for(py, n, || read(&store.store, finish(ids)?.as_deref())).or_raise()?;
        vec_out(py, output, found, |i| Ok(i.into_pyobject(py)?.into_any()))
    })
}

pub(super) fn live_leases<'py>(
    store: &RecordStore,
    py: Python<'py>,
    now: Now,
    endpoints: Option<IntSeq<'py>>,
    output: Output,
) -> PyResult<Bound<'py, PyAny>> {
    id_list(store, py, endpoints, output, |s, ids| {
        s.live_leases(ids, now.0)
    })
}

/// One endpoint's control record as an `EndpointState`.
pub(super) fn endpoint_state(py: Python<'_>, s: core::EndpointState) -> PyResult<Bound<'_, PyAny>> {
    let args = (
        s.id,
        s.name,
        s.alias,
        s.rollback,
        s.version,
        s.lease_holder,
        s.lease_token,
        s.lease_expiry,
        s.highest_fence,
    );
    ENDPOINT_STATE.call(py, args)
}

/// The store's counters as a `StoreStats`.
pub(super) fn stats<'py>(store: &RecordStore, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
    // Its gauges walk every endpoint.
    let s = detach_for(py, store.store.len(), || store.store.stats());
    with_figures(
        STORE_STATS.call(py, ())?,
        [
            (intern!(py, "endpoints"), s.endpoints),
            (intern!(py, "plans"), s.plans),
            (intern!(py, "trees"), s.trees),
            (intern!(py, "target_sets"), s.target_sets),
            (intern!(py, "records_live"), s.records_live),
            (intern!(py, "flips_applied"), s.flips_applied),
            (intern!(py, "stale_flips"), s.stale_flips),
            // The core's `stale_rejections`: refused by the mode's condition (one word per
            // meaning in Python: "stale" is an applied flip that lowered the alias).
            (intern!(py, "outdated_rejections"), s.stale_rejections),
            (intern!(py, "fenced_rejections"), s.fenced_rejections),
            (intern!(py, "missing_rejections"), s.missing_rejections),
            (intern!(py, "dangling_rejections"), s.dangling_rejections),
            (intern!(py, "empty_answers"), s.empty_answers),
            (intern!(py, "dangling_aliases"), s.dangling_aliases),
            (intern!(py, "dangling_rollbacks"), s.dangling_rollbacks),
            (intern!(py, "lease_conflicts"), s.lease_conflicts),
            (intern!(py, "leases_granted"), s.leases_granted),
        ],
    )
}

/// Heap bytes by part.
pub(super) fn memory<'py>(store: &RecordStore, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
    let m = detach_for(py, store.store.len(), || store.store.memory());
    with_figures(
        PyDict::new(py),
        [
            (intern!(py, "endpoints"), m.endpoints),
            (intern!(py, "names"), m.names),
            (intern!(py, "plans"), m.plans),
            (intern!(py, "target_sets"), m.target_sets),
            (intern!(py, "total"), m.total),
        ],
    )
}

/// `d` (a dict, or a dict subclass such as `StoreStats`) with each figure set under its name
/// (interned: made and hashed once, not at every call).
fn with_figures<'k, 'py: 'k, D>(
    d: Bound<'py, D>,
    figures: impl IntoIterator<Item = (&'k Bound<'py, PyString>, u64)>,
) -> PyResult<Bound<'py, D>> {
    for (name, value) in figures {
        d.as_any().set_item(name, value)?;
    }
    Ok(d)
}
