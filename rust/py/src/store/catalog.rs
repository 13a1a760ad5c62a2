//! What the store holds: endpoints (registered by name) and plans (put, deleted).

use dnsrace_core as core;
use dnsrace_core::Error;
use pyo3::prelude::*;
use pyo3::types::PyString;
use pyo3::IntoPyObjectExt;

use super::{RecordStore, DELETE_RESULT};
use crate::args::{int_value, repr, IntArg, SafeArg};
use crate::detach::detach_for;
use crate::errors::{guard, to_py, OrRaise};
use crate::ints::{self, finish, IntSeq, Unordered};
use crate::plan::{items, PyPlan};

pub(super) fn add_endpoints(
    store: &RecordStore,
    py: Python<'_>,
    names: &Bound<'_, PyAny>,
) -> PyResult<Vec<u32>> {
    guard(|| {
        let items = items(names, "names", true)?;
        let texts = items
            .iter()
            .map(|n| match n.cast::<PyString>() {
                Ok(s) => s
                    .to_str()
                    .map_err(|_| Error::InvalidName(format!("invalid DNS name {}", repr(n)))),
                Err(_) => Err(Error::InvalidName(format!(
                    "invalid DNS name {}: must be a str",
                    repr(n)
                ))),
            })
            .collect::<core::Result<Vec<&str>>>()
            .or_raise()?;
        detach_for(py, texts.len(), || store.store.add_endpoints(&texts)).or_raise()
    })
}

pub(super) fn endpoint_names(
    store: &RecordStore,
    py: Python<'_>,
    endpoints: Option<IntSeq<'_>>,
) -> PyResult<Vec<String>> {
    guard(|| {
        let ids = store.ids(endpoints.as_ref())?;
        let n = store.batch_len(endpoints.as_ref());
        detach_for(py, n, || {
            store.store.endpoint_names(finish(ids)?.as_deref())
        })
        .or_raise()
    })
}

pub(super) fn contains(store: &RecordStore, endpoint: &Bound<'_, PyAny>) -> PyResult<bool> {
    guard(|| {
        // Anything that is not a valid name or id is simply not registered.
        if let Ok(s) = endpoint.cast::<PyString>() {
            return Ok(s
                .to_str()
                .is_ok_and(|t| store.store.contains(core::EndpointRef::Name(t))));
        }
        match int_value(endpoint)? {
            IntArg::Fits(v) if v >= 0 => Ok(store.store.contains(core::EndpointRef::Id(v as u64))),
            _ => Ok(false),
        }
    })
}

pub(super) fn put_plan(
    store: &RecordStore,
    py: Python<'_>,
    plan: &Bound<'_, PyAny>,
) -> PyResult<()> {
    guard(|| {
        let plan = plan.cast::<PyPlan>().map_err(|_| {
            to_py(Error::InvalidArgument(format!(
                "invalid plan {}: must be a dnsrace.Plan",
                repr(plan)
            )))
        })?;
        let plan = plan.get().plan.clone();
        detach_for(py, plan.len(), || store.store.put_plan(&plan)).or_raise()
    })
}

pub(super) fn delete_plans<'py>(
    store: &RecordStore,
    py: Python<'py>,
    generations: Unordered<'py>,
    safe: SafeArg,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let gens = generations.0.stage::<u64>(ints::GENERATIONS)?;
        // Its walk is over every endpoint with a tree of a generation deleted.
        let work = store.store.len();
        let r = detach_for(py, work, || {
            store.store.delete_plans(&gens.finish()?, safe.0)
        })
        .or_raise()?;
        let items = [
            r.deleted_trees.into_bound_py_any(py)?,
            r.kept_trees.into_bound_py_any(py)?,
            r.kept_generations.into_bound_py_any(py)?,
            r.unknown_generations.into_bound_py_any(py)?,
        ];
        DELETE_RESULT.tuple(py, items)
    })
}
