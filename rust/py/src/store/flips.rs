//! `flip` and `flip_many`: arguments staged with the interpreter attached, the batch run
//! (detached when large), outcome arrays written in place.

use dnsrace_core as core;
use dnsrace_core::{Fence, Outcome, OutcomeSink};
use pyo3::prelude::*;
use pyo3::types::PyBool;
use pyo3::IntoPyObjectExt;

use super::{RecordStore, FLIP_COUNTS, FLIP_RESULT};
use crate::args::{repr, FenceToken, Generation, ModeArg, OutcomesArg, RollbackArg, Version};
use crate::detach::detach_for;
use crate::errors::{guard, DanglingAlias, OrRaise, UnknownPlan};
use crate::ints::{self, IntSeq, Values};
use crate::output::OutArray;

/// `fence` of `flip_many`: one token for all, or one per endpoint.
pub enum FenceArg<'py> {
    All(u64),
    Each(IntSeq<'py>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for FenceArg<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyBool>() || crate::args::is_scalar_int(&obj)? {
            return obj.extract::<FenceToken>().map(|t| FenceArg::All(t.0));
        }
        obj.extract::<IntSeq<'py>>().map(FenceArg::Each)
    }
}

/// The arguments of one `flip` call but the endpoint, as PyO3 extracted them.
pub(super) struct FlipOne {
    pub generation: Generation,
    pub mode: ModeArg,
    pub expected_version: Option<Version>,
    pub fence: Option<FenceToken>,
    pub rollback: RollbackArg,
}

pub(super) fn flip(
    store: &RecordStore,
    endpoint: &Bound<'_, PyAny>,
    call: FlipOne,
) -> PyResult<bool> {
    guard(|| {
        let id = store.id(endpoint.extract()?)?;
        let g = call.generation.0;
        let expected = call.expected_version.map(|v| v.0);
        let fence = call.fence.map(|f| f.0);
        let outcome = store
            .store
            .flip_with(id, g, call.mode.0, expected, fence, call.rollback.0)
            .or_raise()?;
        match outcome {
            Outcome::Applied => Ok(true),
            Outcome::Stale | Outcome::Fenced => Ok(false),
            Outcome::Missing => Err(UnknownPlan::new_err(format!(
                "no tree of generation {g} for endpoint {}",
                repr(endpoint)
            ))),
            Outcome::Dangling => Err(DanglingAlias::new_err(format!(
                "endpoint {}: the active tree is gone, the rollback cannot be recorded",
                repr(endpoint)
            ))),
        }
    })
}

/// The arguments of one `flip_many` call, as PyO3 extracted them.
pub(super) struct FlipMany<'py> {
    pub endpoints: Option<IntSeq<'py>>,
    pub generation: Generation,
    pub mode: ModeArg,
    pub expected_versions: Option<IntSeq<'py>>,
    pub fence: Option<FenceArg<'py>>,
    pub rollback: RollbackArg,
    pub outcomes: OutcomesArg,
}

pub(super) fn flip_many<'py>(
    store: &RecordStore,
    py: Python<'py>,
    call: FlipMany<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let ids = store.ids(call.endpoints.as_ref())?;
        let expected = call
            .expected_versions
            .as_ref()
            .map(|v| Values::stage(v, ints::VERSIONS))
            .transpose()?;
        let (fence_all, fences) = match &call.fence {
            None => (None, None),
            Some(FenceArg::All(t)) => (Some(*t), None),
            Some(FenceArg::Each(seq)) => (None, Some(Values::stage(seq, ints::FENCES)?)),
        };
        // Output arrays are created before the batch and written in place: the core writes
        // every position (numpy's are therefore not zeroed first).
        let n = store.batch_len(call.endpoints.as_ref());
        let mut arrays = match call.outcomes.0 {
            Some(output) => Some((
                OutArray::<u8>::overwritten(py, output, n)?,
                OutArray::<u64>::overwritten(py, output, n)?,
            )),
            None => None,
        };
        let sink = arrays.as_mut().map(|(o, p)| OutcomeSink {
            outcomes: o.slice(),
            previous: p.slice(),
        });
        let (mode, g, rollback) = (call.mode.0, call.generation.0, call.rollback.0);
        let c = detach_for(py, n, || -> core::Result<core::FlipCounts> {
            // Ids `first, first + 1, ...` in a buffer go as that range (no copy of them).
            ints::with_endpoints(ids, |endpoints| {
                // A uint64 buffer is lent to the store, which reads and checks each value
                // once; other values were converted here (and are checked there too).
                let expected = expected.map(Values::finish).transpose()?;
                let fences = fences.map(Values::finish).transpose()?;
                let column = ints::column_of;
                let fence = match (&fences, fence_all) {
                    (Some(f), _) => Fence::Column(column(f)),
                    (None, Some(t)) => Fence::All(t),
                    (None, None) => Fence::None,
                };
                let expected = expected.as_ref().map(column);
                let s = &store.store;
                s.flip_endpoints(endpoints, g, mode, expected, fence, rollback, sink)
            })
        })
        .or_raise()?;
        let count = |n: u64| n.into_bound_py_any(py);
        let (applied, stale, fenced) = (count(c.applied)?, count(c.stale)?, count(c.fenced)?);
        let (missing, dangling) = (count(c.missing)?, count(c.dangling)?);
        let counts = FLIP_COUNTS.tuple(py, [applied, stale, fenced, missing, dangling])?;
        match arrays {
            None => Ok(counts),
            Some((o, p)) => FLIP_RESULT.tuple(py, [counts, o.obj, p.obj]),
        }
    })
}
