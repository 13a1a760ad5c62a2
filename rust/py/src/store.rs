//! `dnsrace._core.RecordStore`.

use std::collections::HashMap;
use std::path::PathBuf;

use dnsrace_core as core;
use dnsrace_core::{Error, Fence, Mode, Outcome, OutcomeSink};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyInt, PyList, PyString, PyTuple, PyType};

use crate::args::{
    repr, Endpoint, FenceToken, Generation, HistoryCapacity, HistoryClient, Holder, LeaseToken,
    ModeArg, Name, Now, OutcomesArg, Output, RollbackArg, SafeArg, TimeNs, Ttl, Version,
};
use crate::errors::{guard, to_py, DanglingAlias, InvalidArgument, OrRaise, UnknownPlan};
use crate::ints::{self, finish, IntSeq, Staged};
use crate::output::{vec_out, OutArray};
use crate::plan::{answer, items, PyPlan};

static TYPES: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// An instance of a result type of `dnsrace._types`.
fn named<'py>(
    py: Python<'py>,
    class: &str,
    args: impl pyo3::call::PyCallArgs<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    TYPES
        .get_or_try_init(py, || {
            PyModule::import(py, "dnsrace._types").map(Bound::unbind)
        })?
        .bind(py)
        .getattr(class)?
        .call1(args)
}

/// `fence` of `flip_many`: one token for all, or one per endpoint.
pub enum FenceArg<'py> {
    All(u64),
    Each(IntSeq<'py>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for FenceArg<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyBool>() {
            return obj.extract::<FenceToken>().map(|t| FenceArg::All(t.0));
        }
        obj.extract::<IntSeq<'py>>().map(FenceArg::Each)
    }
}

/// Thread-safe store of load-balancer DNS records (see `_core.pyi` for the full contract).
#[pyclass(frozen, module = "dnsrace._core", name = "RecordStore")]
pub struct PyRecordStore {
    store: core::Store,
}

/// A core read of one u64 column for many endpoints (`None`: all).
type ColumnRead = fn(&core::Store, Option<&[u32]>) -> core::Result<Vec<u64>>;

impl PyRecordStore {
    fn id(&self, endpoint: Endpoint<'_>) -> PyResult<u32> {
        self.store.endpoint_id(endpoint.0).or_raise()
    }

    fn ids<'a>(&self, endpoints: Option<&'a IntSeq<'_>>) -> PyResult<Option<Staged<'a, u32>>> {
        endpoints
            .map(|e| e.stage_endpoints(&self.store))
            .transpose()
            .or_raise()
    }

    /// A generation column of many endpoints (aliases, rollbacks): 0 is `None` in lists.
    fn generations<'py>(
        &self,
        py: Python<'py>,
        endpoints: Option<IntSeq<'py>>,
        output: Output,
        read: ColumnRead,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let ids = self.ids(endpoints.as_ref())?;
            let gens = py
                .detach(|| read(&self.store, finish(ids)?.as_deref()))
                .or_raise()?;
            vec_out(py, output, gens, |g| generation_or_none(py, g))
        })
    }
}

fn generation_or_none(py: Python<'_>, g: u64) -> PyResult<Bound<'_, PyAny>> {
    Ok(if g == 0 {
        py.None().into_bound(py)
    } else {
        g.into_pyobject(py)?.into_any()
    })
}

#[pymethods]
impl PyRecordStore {
    #[new]
    #[pyo3(signature = (*, history = HistoryCapacity(0)), text_signature = "(*, history=0)")]
    fn new(history: HistoryCapacity) -> Self {
        PyRecordStore {
            store: core::Store::with_history(history.0 as usize),
        }
    }

    /// Capacity of the history ring (0: no history).
    #[getter]
    fn history_capacity(&self) -> usize {
        self.store.recorder().map_or(0, |h| h.capacity())
    }

    #[pyo3(signature = (client = None, time_ns = None), text_signature = "($self, client=None, time_ns=None)")]
    fn set_history_context(
        &self,
        py: Python<'_>,
        client: Option<HistoryClient>,
        time_ns: Option<TimeNs>,
    ) -> PyResult<()> {
        guard(|| {
            let (client, time_ns) = (client.map(|c| c.0), time_ns.map(|t| t.0));
            if client.is_some_and(|c| c > u32::MAX as u64) {
                return Err(InvalidArgument::new_err(
                    "invalid client: must be an int in 0..2**32-1",
                ));
            }
            let Some(h) = self.store.recorder() else {
                return Err(InvalidArgument::new_err(
                    "this store records no history (make it with history=CAPACITY)",
                ));
            };
            crate::history::set_context(py, h, client.map(|c| c as u32), time_ns)
        })
    }

    #[pyo3(signature = (format = "jsonl"), text_signature = "($self, format='jsonl')")]
    fn history_bytes<'py>(&self, py: Python<'py>, format: &str) -> PyResult<Bound<'py, PyBytes>> {
        guard(|| {
            let format = core::history::Format::parse(format).or_raise()?;
            let bytes = py
                .detach(|| -> core::Result<Vec<u8>> {
                    let Some((h, _)) = self.store.history() else {
                        return Err(Error::InvalidArgument(
                            "this store records no history (make it with history=CAPACITY)".into(),
                        ));
                    };
                    Ok(match format {
                        core::history::Format::Jsonl => core::history::write_jsonl(&h),
                        core::history::Format::Jepsen => core::history::write_jepsen(&h),
                    })
                })
                .or_raise()?;
            Ok(PyBytes::new(py, &bytes))
        })
    }

    #[pyo3(signature = (path, format = "jsonl"), text_signature = "($self, path, format='jsonl')")]
    fn export_history(
        &self,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        format: &str,
    ) -> PyResult<usize> {
        guard(|| {
            let format = core::history::Format::parse(format).or_raise()?;
            let path = snapshot_path(path)?;
            py.detach(|| self.store.export_history(&path, format))
                .or_raise()
        })
    }

    #[pyo3(signature = (endpoints = None), text_signature = "($self, endpoints=None)")]
    fn set_history_endpoints(&self, endpoints: Option<IntSeq<'_>>) -> PyResult<()> {
        guard(|| {
            let Some(h) = self.store.recorder() else {
                return Err(InvalidArgument::new_err(
                    "this store records no history (make it with history=CAPACITY)",
                ));
            };
            let ids = self.ids(endpoints.as_ref())?;
            let ids = finish(ids).or_raise()?;
            h.only_endpoints(ids.as_deref());
            Ok(())
        })
    }

    #[pyo3(signature = (*, timeout = None, linearizations = false, max_states = None, as_dict = None), text_signature = "($self, *, timeout=None, linearizations=False, max_states=None, as_dict=None)")]
    fn check_history<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
        linearizations: bool,
        max_states: Option<u64>,
        as_dict: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let opts = crate::history::options(timeout, max_states, linearizations)?;
            let history = || {
                self.store.history().map(|(h, _)| h).ok_or_else(|| {
                    Error::InvalidArgument(
                        "this store records no history (make it with history=CAPACITY)".into(),
                    )
                })
            };
            crate::history::check_recorded(py, history, opts, as_dict)
        })
    }

    fn history_dropped(&self) -> u64 {
        self.store.recorder().map_or(0, |h| h.ops().1)
    }

    fn __len__(&self) -> usize {
        self.store.len()
    }

    fn __repr__(&self) -> String {
        let s = self.store.stats();
        format!(
            "RecordStore(endpoints={}, plans={}, records_live={})",
            s.endpoints, s.plans, s.records_live
        )
    }

    fn add_endpoints(&self, py: Python<'_>, names: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
        guard(|| {
            let items = items(names, "names").or_raise()?;
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
            py.detach(|| self.store.add_endpoints(&texts)).or_raise()
        })
    }

    fn endpoint_id(&self, name: Name<'_>) -> PyResult<u32> {
        guard(|| {
            self.store
                .endpoint_id(core::EndpointRef::Name(name.0))
                .or_raise()
        })
    }

    fn endpoint_name(&self, endpoint: Endpoint<'_>) -> PyResult<String> {
        guard(|| {
            let id = self.id(endpoint)?;
            self.store.endpoint_name(id).or_raise()
        })
    }

    fn put_plan(&self, py: Python<'_>, plan: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(|| {
            let plan = plan.cast::<PyPlan>().map_err(|_| {
                to_py(Error::InvalidArgument(format!(
                    "invalid plan {}: must be a dnsrace.Plan",
                    repr(plan)
                )))
            })?;
            let plan = plan.get().plan.clone();
            py.detach(|| self.store.put_plan(&plan)).or_raise()
        })
    }

    fn plan_generations(&self) -> Vec<u64> {
        self.store.plan_generations()
    }

    fn has_tree(&self, endpoint: Endpoint<'_>, generation: Generation) -> PyResult<bool> {
        guard(|| {
            let id = self.id(endpoint)?;
            self.store.has_tree(id, generation.0).or_raise()
        })
    }

    #[pyo3(signature = (generations, *, safe = SafeArg(true)), text_signature = "($self, generations, *, safe=True)")]
    fn delete_plans<'py>(
        &self,
        py: Python<'py>,
        generations: IntSeq<'py>,
        safe: SafeArg,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let gens = generations.stage::<u64>(ints::GENERATIONS).or_raise()?;
            let r = py
                .detach(|| self.store.delete_plans(&gens.finish()?, safe.0))
                .or_raise()?;
            named(
                py,
                "DeleteResult",
                (
                    r.deleted_trees,
                    r.kept_trees,
                    r.kept_generations,
                    r.unknown_generations,
                ),
            )
        })
    }

    #[pyo3(
        signature = (endpoint, generation, mode = ModeArg(Mode::IfNewer), *, expected_version = None, fence = None, rollback = RollbackArg(true)),
        text_signature = "($self, endpoint, generation, mode='if_newer', *, expected_version=None, fence=None, rollback=True)"
    )]
    fn flip(
        &self,
        endpoint: &Bound<'_, PyAny>,
        generation: Generation,
        mode: ModeArg,
        expected_version: Option<Version>,
        fence: Option<FenceToken>,
        rollback: RollbackArg,
    ) -> PyResult<bool> {
        guard(|| {
            let id = self.id(endpoint.extract()?)?;
            let g = generation.0;
            let outcome = self
                .store
                .flip_with(
                    id,
                    g,
                    mode.0,
                    expected_version.map(|v| v.0),
                    fence.map(|f| f.0),
                    rollback.0,
                )
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

    #[pyo3(
        signature = (endpoints, generation, mode = ModeArg(Mode::IfNewer), *, expected_versions = None, fence = None, rollback = RollbackArg(true), outcomes = OutcomesArg(None)),
        text_signature = "($self, endpoints, generation, mode='if_newer', *, expected_versions=None, fence=None, rollback=True, outcomes=False)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn flip_many<'py>(
        &self,
        py: Python<'py>,
        endpoints: Option<IntSeq<'py>>,
        generation: Generation,
        mode: ModeArg,
        expected_versions: Option<IntSeq<'py>>,
        fence: Option<FenceArg<'py>>,
        rollback: RollbackArg,
        outcomes: OutcomesArg,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let ids = self.ids(endpoints.as_ref())?;
            let expected = expected_versions
                .as_ref()
                .map(|v| v.stage::<u64>(ints::VERSIONS))
                .transpose()
                .or_raise()?;
            let (fence_all, fences) = match &fence {
                None => (None, None),
                Some(FenceArg::All(t)) => (Some(*t), None),
                Some(FenceArg::Each(seq)) => {
                    (None, Some(seq.stage::<u64>(ints::FENCES).or_raise()?))
                }
            };
            // Output arrays are created (zero-filled) before the batch and written in place.
            let n = match (&endpoints, outcomes.0) {
                (_, None) => 0,
                (Some(e), _) => e.len(),
                (None, _) => self.store.len(),
            };
            let mut arrays = match outcomes.0 {
                Some(output) => Some((
                    OutArray::<u8>::new(py, output, n)?,
                    OutArray::<u64>::new(py, output, n)?,
                )),
                None => None,
            };
            let sink = arrays.as_mut().map(|(o, p)| OutcomeSink {
                outcomes: o.slice(),
                previous: p.slice(),
            });
            let (mode, g, rollback) = (mode.0, generation.0, rollback.0);
            let c = py
                .detach(|| -> core::Result<core::FlipCounts> {
                    let ids = finish(ids)?;
                    let expected = finish(expected)?;
                    let fences = finish(fences)?;
                    let fence = match (&fences, fence_all) {
                        (Some(f), _) => Fence::Each(f),
                        (None, Some(t)) => Fence::All(t),
                        (None, None) => Fence::None,
                    };
                    let (ids, expected) = (ids.as_deref(), expected.as_deref());
                    match sink {
                        Some(sink) => self
                            .store
                            .flip_many_into(ids, g, mode, expected, fence, rollback, sink),
                        None => self
                            .store
                            .flip_many_with(ids, g, mode, expected, fence, rollback),
                    }
                })
                .or_raise()?;
            let counts = named(
                py,
                "FlipCounts",
                (c.applied, c.stale, c.fenced, c.missing, c.dangling),
            )?;
            match arrays {
                None => Ok(counts),
                Some((o, p)) => named(py, "FlipResult", (counts, o.obj, p.obj)),
            }
        })
    }

    fn resolve<'py>(
        &self,
        py: Python<'py>,
        endpoint: Endpoint<'_>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        guard(|| {
            let id = self.id(endpoint)?;
            let set = self.store.resolve(id).or_raise()?;
            answer(py, &set)
        })
    }

    #[pyo3(signature = (endpoints = None))]
    fn resolve_many<'py>(
        &self,
        py: Python<'py>,
        endpoints: Option<IntSeq<'py>>,
    ) -> PyResult<Bound<'py, PyList>> {
        guard(|| {
            let ids = self.ids(endpoints.as_ref())?;
            let sets = py
                .detach(|| self.store.resolve_many(finish(ids)?.as_deref()))
                .or_raise()?;
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

    #[pyo3(
        signature = (endpoints = None, *, output = Output::List),
        text_signature = "($self, endpoints=None, *, output='list')"
    )]
    fn aliases<'py>(
        &self,
        py: Python<'py>,
        endpoints: Option<IntSeq<'py>>,
        output: Output,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.generations(py, endpoints, output, core::Store::aliases)
    }

    #[pyo3(
        signature = (endpoints = None, *, output = Output::List),
        text_signature = "($self, endpoints=None, *, output='list')"
    )]
    fn rollbacks<'py>(
        &self,
        py: Python<'py>,
        endpoints: Option<IntSeq<'py>>,
        output: Output,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.generations(py, endpoints, output, core::Store::rollbacks)
    }

    #[pyo3(
        signature = (endpoints = None, *, output = Output::List),
        text_signature = "($self, endpoints=None, *, output='list')"
    )]
    fn versions<'py>(
        &self,
        py: Python<'py>,
        endpoints: Option<IntSeq<'py>>,
        output: Output,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let ids = self.ids(endpoints.as_ref())?;
            let versions = py
                .detach(|| self.store.versions(finish(ids)?.as_deref()))
                .or_raise()?;
            vec_out(py, output, versions, |v| {
                Ok(v.into_pyobject(py)?.into_any())
            })
        })
    }

    #[pyo3(
        signature = (endpoints = None, *, output = Output::List),
        text_signature = "($self, endpoints=None, *, output='list')"
    )]
    fn dangling_aliases<'py>(
        &self,
        py: Python<'py>,
        endpoints: Option<IntSeq<'py>>,
        output: Output,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let ids = self.ids(endpoints.as_ref())?;
            let dangling = py
                .detach(|| self.store.dangling_aliases(finish(ids)?.as_deref()))
                .or_raise()?;
            vec_out(py, output, dangling, |i| {
                Ok(i.into_pyobject(py)?.into_any())
            })
        })
    }

    #[pyo3(
        signature = (now, endpoints = None, *, output = Output::List),
        text_signature = "($self, now, endpoints=None, *, output='list')"
    )]
    fn live_leases<'py>(
        &self,
        py: Python<'py>,
        now: Now,
        endpoints: Option<IntSeq<'py>>,
        output: Output,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let ids = self.ids(endpoints.as_ref())?;
            let live = py
                .detach(|| self.store.live_leases(finish(ids)?.as_deref(), now.0))
                .or_raise()?;
            vec_out(py, output, live, |i| Ok(i.into_pyobject(py)?.into_any()))
        })
    }

    fn state<'py>(&self, py: Python<'py>, endpoint: Endpoint<'_>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let id = self.id(endpoint)?;
            let s = self.store.state(id).or_raise()?;
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
            named(py, "EndpointState", args)
        })
    }

    fn acquire_lease(
        &self,
        endpoint: Endpoint<'_>,
        holder: Holder<'_>,
        ttl: Ttl,
        now: Now,
    ) -> PyResult<u64> {
        guard(|| {
            let id = self.id(endpoint)?;
            self.store
                .acquire_lease(id, holder.0, ttl.0, now.0)
                .or_raise()
        })
    }

    fn acquire_leases<'py>(
        &self,
        py: Python<'py>,
        endpoints: IntSeq<'py>,
        holder: Holder<'_>,
        ttl: Ttl,
        now: Now,
    ) -> PyResult<Vec<Option<u64>>> {
        guard(|| {
            let ids = endpoints.stage_endpoints(&self.store).or_raise()?;
            py.detach(|| {
                self.store
                    .acquire_leases(&ids.finish()?, holder.0, ttl.0, now.0)
            })
            .or_raise()
        })
    }

    fn renew_lease(
        &self,
        endpoint: Endpoint<'_>,
        holder: Holder<'_>,
        token: LeaseToken,
        ttl: Ttl,
        now: Now,
    ) -> PyResult<f64> {
        guard(|| {
            let id = self.id(endpoint)?;
            self.store
                .renew_lease(id, holder.0, token.0, ttl.0, now.0)
                .or_raise()
        })
    }

    fn release_lease(
        &self,
        endpoint: Endpoint<'_>,
        holder: Holder<'_>,
        token: LeaseToken,
    ) -> PyResult<()> {
        guard(|| {
            let id = self.id(endpoint)?;
            self.store.release_lease(id, holder.0, token.0).or_raise()
        })
    }

    fn release_leases<'py>(
        &self,
        py: Python<'py>,
        endpoints: IntSeq<'py>,
        holder: Holder<'_>,
        tokens: IntSeq<'py>,
    ) -> PyResult<usize> {
        guard(|| {
            let ids = endpoints.stage_endpoints(&self.store).or_raise()?;
            let tokens = tokens.stage::<u64>(ints::TOKENS).or_raise()?;
            py.detach(|| {
                self.store
                    .release_leases(&ids.finish()?, holder.0, &tokens.finish()?)
            })
            .or_raise()
        })
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = py.detach(|| self.store.stats());
        let d = PyDict::new(py);
        for (k, v) in [
            ("endpoints", s.endpoints),
            ("plans", s.plans),
            ("trees", s.trees),
            ("target_sets", s.target_sets),
            ("records_live", s.records_live),
            ("flips_applied", s.flips_applied),
            ("stale_flips", s.stale_flips),
            ("stale_rejections", s.stale_rejections),
            ("fenced_rejections", s.fenced_rejections),
            ("missing_rejections", s.missing_rejections),
            ("dangling_rejections", s.dangling_rejections),
            ("empty_answers", s.empty_answers),
            ("dangling_aliases", s.dangling_aliases),
            ("dangling_rollbacks", s.dangling_rollbacks),
            ("lease_conflicts", s.lease_conflicts),
            ("leases_granted", s.leases_granted),
        ] {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    fn memory<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let m = py.detach(|| self.store.memory());
        let d = PyDict::new(py);
        for (k, v) in [
            ("endpoints", m.endpoints),
            ("names", m.names),
            ("plans", m.plans),
            ("target_sets", m.target_sets),
            ("total", m.total),
        ] {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    fn snapshot(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(|| {
            let path = snapshot_path(path)?;
            py.detach(|| self.store.snapshot(&path)).or_raise()
        })
    }

    #[classmethod]
    #[pyo3(signature = (path, *, history = HistoryCapacity(0)), text_signature = "($cls, path, *, history=0)")]
    fn restore(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        history: HistoryCapacity,
    ) -> PyResult<PyRecordStore> {
        guard(|| {
            let path = snapshot_path(path)?;
            let store = py
                .detach(|| core::Store::restore(&path))
                .or_raise()?
                .keep_history(history.0 as usize);
            Ok(PyRecordStore { store })
        })
    }
}

/// A snapshot path: `str` or `os.PathLike` (anything else is a caller's mistake, not an I/O
/// failure, hence `InvalidArgument`).
fn snapshot_path(path: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    if !(path.is_instance_of::<PyString>() || path.hasattr("__fspath__")?) {
        return Err(InvalidArgument::new_err(format!(
            "invalid path {}: must be a str or os.PathLike",
            repr(path)
        )));
    }
    path.extract::<PathBuf>().map_err(|_| {
        InvalidArgument::new_err(format!("invalid path {}: must name a file", repr(path)))
    })
}
