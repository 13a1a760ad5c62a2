//! Thin PyO3 binding of `dnsrace-core`: convert arguments, detach from the interpreter around
//! batch work, map core errors to the exception classes of `dnsrace.errors`.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use dnsrace_core as core;
use dnsrace_core::{EndpointKey, EndpointRef, Error, Fence, Leaf, Mode, Outcome, PlanBuilder};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple, PyType};

// ---------------------------------------------------------------------------------------------
// Errors

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
static TYPES: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn module<'py>(
    py: Python<'py>,
    cell: &PyOnceLock<Py<PyModule>>,
    name: &str,
) -> PyResult<Bound<'py, PyModule>> {
    cell.get_or_try_init(py, || PyModule::import(py, name).map(Bound::unbind))
        .map(|m| m.bind(py).clone())
}

fn raise(py: Python<'_>, class: &str, message: String) -> PyErr {
    match module(py, &ERRORS, "dnsrace.errors").and_then(|m| m.getattr(class)) {
        Ok(cls) => match cls.cast_into::<PyType>() {
            Ok(ty) => PyErr::from_type(ty, message),
            Err(e) => e.into(),
        },
        Err(e) => e,
    }
}

fn to_py(py: Python<'_>, e: Error) -> PyErr {
    let (class, msg) = match e {
        Error::InvalidName(m) => ("InvalidName", m),
        Error::InvalidAddress(m) => ("InvalidAddress", m),
        Error::InvalidWeight(m) => ("InvalidWeight", m),
        Error::InvalidGeneration(m) => ("InvalidGeneration", m),
        Error::InvalidToken(m) => ("InvalidToken", m),
        Error::InvalidArgument(m) => ("InvalidArgument", m),
        Error::UnknownEndpoint(m) => ("UnknownEndpoint", m),
        Error::UnknownPlan(m) => ("UnknownPlan", m),
        Error::LeaseHeld(m) => ("LeaseHeld", m),
        Error::LeaseLost(m) => ("LeaseLost", m),
    };
    raise(py, class, msg)
}

trait OrRaise<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> OrRaise<T> for core::Result<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}

/// Run `f`, turning a Rust panic into `dnsrace.errors.InternalError` instead of letting it
/// reach Python as a crash. The core validates before it mutates, so a panic leaves no change.
fn guard<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(raise(
                py,
                "InternalError",
                format!("internal error in dnsrace core: {what}"),
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Argument conversion

fn repr(obj: &Bound<'_, PyAny>) -> String {
    obj.repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "<unrepresentable>".into())
}

/// An int argument (bool excluded): `Ok(Some(v))` when it fits i64, `Ok(None)` when it is an int
/// out of that range, `Err(())` when it is not an int at all.
fn int_value(obj: &Bound<'_, PyAny>) -> Result<Option<i64>, ()> {
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(());
    }
    Ok(obj.extract::<i64>().ok())
}

/// An int argument in `min..=2^63-1`, or the error `kind` with a message naming the value.
fn ranged_int(
    obj: &Bound<'_, PyAny>,
    min: i64,
    what: &str,
    kind: fn(String) -> Error,
) -> core::Result<u64> {
    match int_value(obj) {
        Ok(Some(v)) if v >= min => Ok(v as u64),
        _ => Err(kind(format!(
            "invalid {what} {}: must be an int in {min}..{}",
            repr(obj),
            i64::MAX
        ))),
    }
}

fn generation_arg(obj: &Bound<'_, PyAny>) -> core::Result<u64> {
    ranged_int(obj, 1, "generation", Error::InvalidGeneration)
}

fn token_arg(obj: &Bound<'_, PyAny>, what: &str) -> core::Result<u64> {
    ranged_int(obj, 1, what, Error::InvalidToken)
}

fn version_arg(obj: &Bound<'_, PyAny>) -> core::Result<u64> {
    ranged_int(obj, 0, "expected version", Error::InvalidToken)
}

fn seconds_arg(obj: &Bound<'_, PyAny>, what: &str) -> core::Result<f64> {
    let bad = || {
        Err(Error::InvalidArgument(format!(
            "invalid {what} {}: must be a finite number of seconds",
            repr(obj)
        )))
    };
    if obj.is_instance_of::<PyBool>() {
        return bad();
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(f.value());
    }
    if obj.is_instance_of::<PyInt>() {
        return match obj.extract::<f64>() {
            Ok(v) => Ok(v),
            Err(_) => bad(),
        };
    }
    bad()
}

fn holder_arg<'a>(obj: &'a Bound<'_, PyAny>) -> core::Result<&'a str> {
    match obj.cast::<PyString>() {
        Ok(s) => s.to_str().map_err(|_| {
            Error::InvalidArgument(format!("invalid holder {}: not valid text", repr(obj)))
        }),
        Err(_) => Err(Error::InvalidArgument(format!(
            "invalid holder {}: must be a str",
            repr(obj)
        ))),
    }
}

fn endpoint_ref<'a>(obj: &'a Bound<'_, PyAny>) -> core::Result<EndpointRef<'a>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_str()
            .map(EndpointRef::Name)
            .map_err(|_| Error::InvalidName(format!("invalid DNS name {}", repr(obj))));
    }
    match int_value(obj) {
        Ok(Some(v)) if v >= 0 => Ok(EndpointRef::Id(v as u64)),
        Ok(_) => Err(Error::UnknownEndpoint(format!(
            "unknown endpoint id {}",
            repr(obj)
        ))),
        Err(()) => Err(Error::InvalidArgument(format!(
            "invalid endpoint {}: must be a str name or an int id",
            repr(obj)
        ))),
    }
}

/// Items of a batch argument: any iterable except a str (a common slip for a single name).
fn items<'py>(obj: &Bound<'py, PyAny>, what: &str) -> core::Result<Vec<Bound<'py, PyAny>>> {
    let not_seq = || {
        Error::InvalidArgument(format!(
            "invalid {what}: expected a sequence, got {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    };
    if obj.is_instance_of::<PyString>() {
        return Err(not_seq());
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return Ok(list.iter().collect());
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return Ok(tuple.iter().collect());
    }
    let iter = obj.try_iter().map_err(|_| not_seq())?;
    iter.collect::<PyResult<Vec<_>>>().map_err(|_| not_seq())
}

fn endpoint_ids(store: &core::Store, obj: &Bound<'_, PyAny>) -> core::Result<Vec<u32>> {
    let items = items(obj, "endpoints")?;
    // Fast path: a list of ids needs no name lookups.
    let mut ids = Vec::with_capacity(items.len());
    let mut all_ints = true;
    for item in &items {
        match int_value(item) {
            Ok(Some(v)) if v >= 0 => ids.push(v as u64),
            _ => {
                all_ints = false;
                break;
            }
        }
    }
    if all_ints {
        return store.check_ids(&ids);
    }
    let refs = items
        .iter()
        .map(endpoint_ref)
        .collect::<core::Result<Vec<_>>>()?;
    store.endpoint_ids(&refs)
}

fn optional_ids(
    store: &core::Store,
    obj: Option<&Bound<'_, PyAny>>,
) -> core::Result<Option<Vec<u32>>> {
    match obj {
        Some(o) if !o.is_none() => endpoint_ids(store, o).map(Some),
        _ => Ok(None),
    }
}

fn u64_list(
    obj: &Bound<'_, PyAny>,
    what: &str,
    conv: fn(&Bound<'_, PyAny>) -> core::Result<u64>,
) -> core::Result<Vec<u64>> {
    items(obj, what)?.iter().map(conv).collect()
}

/// A flip mode given as a string; anything else raises `InvalidArgument`.
struct ModeArg(Mode);

impl<'a, 'py> FromPyObject<'a, 'py> for ModeArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        let text = match obj.cast::<PyString>() {
            Ok(s) => s.to_str()?.to_owned(),
            Err(_) => {
                return Err(to_py(
                    py,
                    Error::InvalidArgument(format!(
                        "invalid mode {}: expected \"lww\", \"if_newer\" or \"exact\"",
                        repr(&obj)
                    )),
                ))
            }
        };
        Mode::parse(&text).map(ModeArg).or_raise(py)
    }
}

/// A keyword flag: a bool, nothing else (`InvalidArgument` naming the flag).
fn bool_arg(obj: &Borrowed<'_, '_, PyAny>, name: &str) -> PyResult<bool> {
    match obj.cast::<PyBool>() {
        Ok(b) => Ok(b.is_true()),
        Err(_) => Err(to_py(
            obj.py(),
            Error::InvalidArgument(format!("invalid {name} {}: must be a bool", repr(obj))),
        )),
    }
}

/// The `safe` flag of `delete_plans`.
struct SafeArg(bool);

impl<'a, 'py> FromPyObject<'a, 'py> for SafeArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        bool_arg(&obj, "safe").map(SafeArg)
    }
}

/// The `rollback` flag of `flip` and `flip_many`.
struct RollbackArg(bool);

impl<'a, 'py> FromPyObject<'a, 'py> for RollbackArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        bool_arg(&obj, "rollback").map(RollbackArg)
    }
}

fn leaf_arg(item: &Bound<'_, PyAny>) -> core::Result<Leaf> {
    let malformed = || {
        Error::InvalidArgument(format!(
            "invalid target {}: expected an (address, weight) pair",
            repr(item)
        ))
    };
    if item.is_instance_of::<PyString>() {
        return Err(malformed());
    }
    let (addr, weight) = if let Ok(t) = item.cast::<PyTuple>() {
        if t.len() != 2 {
            return Err(malformed());
        }
        (
            t.get_item(0).map_err(|_| malformed())?,
            t.get_item(1).map_err(|_| malformed())?,
        )
    } else if let Ok(l) = item.cast::<PyList>() {
        if l.len() != 2 {
            return Err(malformed());
        }
        (
            l.get_item(0).map_err(|_| malformed())?,
            l.get_item(1).map_err(|_| malformed())?,
        )
    } else {
        // Only tuples and lists, as the reference: a 2-key dict is not a pair.
        return Err(malformed());
    };
    let addr_text = match addr.cast::<PyString>() {
        Ok(s) => s
            .to_str()
            .map_err(|_| Error::InvalidAddress(format!("invalid IP address {}", repr(&addr))))?,
        Err(_) => {
            return Err(Error::InvalidAddress(format!(
                "invalid IP address {}: must be a str",
                repr(&addr)
            )))
        }
    };
    let weight = match int_value(&weight) {
        Ok(Some(w)) if (0..=255).contains(&w) => w as u8,
        _ => {
            return Err(Error::InvalidWeight(format!(
                "invalid weight {} for {addr_text}: must be an int in 0..255",
                repr(&weight)
            )))
        }
    };
    Leaf::parse(addr_text, weight)
}

fn target_set(obj: &Bound<'_, PyAny>) -> core::Result<Vec<Leaf>> {
    items(obj, "target set")?.iter().map(leaf_arg).collect()
}

fn plan_key(obj: &Bound<'_, PyAny>) -> core::Result<EndpointKey> {
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s
            .to_str()
            .map_err(|_| Error::InvalidName(format!("invalid DNS name {}", repr(obj))))?;
        return Ok(EndpointKey::Name(text.into()));
    }
    match int_value(obj) {
        Ok(Some(v)) if (0..=u32::MAX as i64).contains(&v) => Ok(EndpointKey::Id(v as u32)),
        Ok(_) => Err(Error::UnknownEndpoint(format!(
            "unknown endpoint id {}",
            repr(obj)
        ))),
        Err(()) => Err(Error::InvalidArgument(format!(
            "invalid endpoint {}: must be a str name or an int id",
            repr(obj)
        ))),
    }
}

fn answer<'py>(py: Python<'py>, set: &[Leaf]) -> PyResult<Bound<'py, PyTuple>> {
    let leaves = set
        .iter()
        .map(|l| (l.addr.to_string(), l.weight).into_pyobject(py))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, leaves)
}

fn generation_or_none(py: Python<'_>, g: u64) -> PyResult<Py<PyAny>> {
    Ok(if g == 0 {
        py.None()
    } else {
        g.into_pyobject(py)?.into_any().unbind()
    })
}

fn named<'py>(
    py: Python<'py>,
    class: &str,
    args: impl pyo3::call::PyCallArgs<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    module(py, &TYPES, "dnsrace._types")?
        .getattr(class)?
        .call1(args)
}

// ---------------------------------------------------------------------------------------------
// Plan

/// One plan generation: a weighted target set (tree) per endpoint. Immutable.
#[pyclass(frozen, module = "dnsrace._core", name = "Plan")]
struct PyPlan {
    plan: Arc<core::Plan>,
}

#[pymethods]
impl PyPlan {
    #[new]
    fn new(
        py: Python<'_>,
        generation: &Bound<'_, PyAny>,
        targets: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        guard(py, || {
            let build = || -> core::Result<core::Plan> {
                let mut b = PlanBuilder::new(generation_arg(generation)?)?;
                let pairs: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> =
                    if let Ok(d) = targets.cast::<PyDict>() {
                        d.iter().collect()
                    } else if let Ok(m) = targets.cast::<PyMapping>() {
                        let keys = m.keys().map_err(|_| not_mapping(targets))?;
                        keys.iter()
                            .map(|k| m.get_item(&k).map(|v| (k, v)))
                            .collect::<PyResult<_>>()
                            .map_err(|_| not_mapping(targets))?
                    } else {
                        return Err(not_mapping(targets));
                    };
                b.reserve(pairs.len());
                for (k, v) in pairs {
                    let key = plan_key(&k)?;
                    let set = b.add_set(target_set(&v)?)?;
                    b.add_endpoint(key, set)?;
                }
                Ok(b.build())
            };
            Ok(PyPlan {
                plan: Arc::new(build().or_raise(py)?),
            })
        })
    }

    /// Compact constructor: `endpoints[i]` gets `target_sets[set_index[i]]`.
    #[staticmethod]
    fn from_shared(
        py: Python<'_>,
        generation: &Bound<'_, PyAny>,
        target_sets: &Bound<'_, PyAny>,
        endpoints: &Bound<'_, PyAny>,
        set_index: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        guard(py, || {
            let build = || -> core::Result<core::Plan> {
                let mut b = PlanBuilder::new(generation_arg(generation)?)?;
                let sets = items(target_sets, "target_sets")?
                    .iter()
                    .map(|s| b.add_set(target_set(s)?))
                    .collect::<core::Result<Vec<u32>>>()?;
                let eps = items(endpoints, "endpoints")?;
                let idx = items(set_index, "set_index")?;
                if eps.len() != idx.len() {
                    return Err(Error::InvalidArgument(format!(
                        "endpoints has {} items but set_index has {}",
                        eps.len(),
                        idx.len()
                    )));
                }
                b.reserve(eps.len());
                for (e, i) in eps.iter().zip(&idx) {
                    let set = match int_value(i) {
                        Ok(Some(v)) if v >= 0 && (v as usize) < sets.len() => sets[v as usize],
                        _ => {
                            return Err(Error::InvalidArgument(format!(
                                "invalid set index {}: must be an int in 0..{}",
                                repr(i),
                                sets.len()
                            )))
                        }
                    };
                    b.add_endpoint(plan_key(e)?, set)?;
                }
                Ok(b.build())
            };
            Ok(PyPlan {
                plan: Arc::new(build().or_raise(py)?),
            })
        })
    }

    #[getter]
    fn generation(&self) -> u64 {
        self.plan.generation()
    }

    #[getter]
    fn records(&self) -> u64 {
        self.plan.records()
    }

    fn __len__(&self) -> usize {
        self.plan.len()
    }

    fn endpoints<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        match self.plan.endpoints() {
            core::PlanKeys::Ids(ids) => PyList::new(py, ids),
            core::PlanKeys::Keys(keys) => {
                let out = PyList::empty(py);
                for k in keys {
                    match k {
                        EndpointKey::Name(n) => out.append(&**n)?,
                        EndpointKey::Id(id) => out.append(*id)?,
                    }
                }
                Ok(out)
            }
        }
    }

    fn targets<'py>(
        &self,
        py: Python<'py>,
        endpoint: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let key = match plan_key(endpoint).or_raise(py)? {
            EndpointKey::Name(n) => {
                EndpointKey::Name(core::canonical_name(&n).or_raise(py)?.into_owned().into())
            }
            id => id,
        };
        match self.plan.targets(&key) {
            Some(set) => answer(py, set),
            None => Err(raise(
                py,
                "UnknownEndpoint",
                format!(
                    "endpoint {} is not in plan {}",
                    repr(endpoint),
                    self.plan.generation()
                ),
            )),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Plan(generation={}, endpoints={}, records={})",
            self.plan.generation(),
            self.plan.len(),
            self.plan.records()
        )
    }
}

fn not_mapping(obj: &Bound<'_, PyAny>) -> Error {
    Error::InvalidArgument(format!(
        "invalid targets: expected a mapping of endpoint to targets, got {}",
        obj.get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    ))
}

// ---------------------------------------------------------------------------------------------
// RecordStore

/// Thread-safe store of load-balancer DNS records (see `_core.pyi` for the full contract).
#[pyclass(frozen, module = "dnsrace._core", name = "RecordStore")]
struct PyRecordStore {
    store: core::Store,
}

impl PyRecordStore {
    fn id(&self, py: Python<'_>, endpoint: &Bound<'_, PyAny>) -> PyResult<u32> {
        let r = endpoint_ref(endpoint).or_raise(py)?;
        self.store.endpoint_id(r).or_raise(py)
    }
}

#[pymethods]
impl PyRecordStore {
    #[new]
    fn new() -> Self {
        PyRecordStore {
            store: core::Store::new(),
        }
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
        guard(py, || {
            let items = items(names, "names").or_raise(py)?;
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
                .or_raise(py)?;
            py.detach(|| self.store.add_endpoints(&texts)).or_raise(py)
        })
    }

    fn endpoint_id(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<u32> {
        guard(py, || {
            let Ok(s) = name.cast::<PyString>() else {
                return Err(to_py(
                    py,
                    Error::InvalidArgument(format!("invalid name {}: must be a str", repr(name))),
                ));
            };
            self.store
                .endpoint_id(EndpointRef::Name(s.to_str()?))
                .or_raise(py)
        })
    }

    fn endpoint_name(&self, py: Python<'_>, endpoint: &Bound<'_, PyAny>) -> PyResult<String> {
        guard(py, || {
            let id = self.id(py, endpoint)?;
            self.store.endpoint_name(id).or_raise(py)
        })
    }

    fn put_plan(&self, py: Python<'_>, plan: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || {
            let plan = plan.cast::<PyPlan>().map_err(|_| {
                to_py(
                    py,
                    Error::InvalidArgument(format!(
                        "invalid plan {}: must be a dnsrace.Plan",
                        repr(plan)
                    )),
                )
            })?;
            let plan = plan.get().plan.clone();
            py.detach(|| self.store.put_plan(&plan)).or_raise(py)
        })
    }

    fn plan_generations(&self) -> Vec<u64> {
        self.store.plan_generations()
    }

    fn has_tree(
        &self,
        py: Python<'_>,
        endpoint: &Bound<'_, PyAny>,
        generation: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        guard(py, || {
            let id = self.id(py, endpoint)?;
            let g = generation_arg(generation).or_raise(py)?;
            self.store.has_tree(id, g).or_raise(py)
        })
    }

    #[pyo3(signature = (generations, *, safe = SafeArg(true)))]
    fn delete_plans<'py>(
        &self,
        py: Python<'py>,
        generations: &Bound<'py, PyAny>,
        safe: SafeArg,
    ) -> PyResult<Bound<'py, PyAny>> {
        let safe = safe.0;
        guard(py, || {
            let gens = u64_list(generations, "generations", generation_arg).or_raise(py)?;
            let r = py
                .detach(|| self.store.delete_plans(&gens, safe))
                .or_raise(py)?;
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

    #[pyo3(signature = (endpoint, generation, mode = ModeArg(Mode::IfNewer), *, expected_version = None, fence = None, rollback = RollbackArg(true)))]
    #[allow(clippy::too_many_arguments)]
    fn flip(
        &self,
        py: Python<'_>,
        endpoint: &Bound<'_, PyAny>,
        generation: &Bound<'_, PyAny>,
        mode: ModeArg,
        expected_version: Option<&Bound<'_, PyAny>>,
        fence: Option<&Bound<'_, PyAny>>,
        rollback: RollbackArg,
    ) -> PyResult<bool> {
        guard(py, || {
            let id = self.id(py, endpoint)?;
            let g = generation_arg(generation).or_raise(py)?;
            let expected = match expected_version {
                Some(v) if !v.is_none() => Some(version_arg(v).or_raise(py)?),
                _ => None,
            };
            let fence = match fence {
                Some(f) if !f.is_none() => Some(token_arg(f, "fence").or_raise(py)?),
                _ => None,
            };
            let rollback = rollback.0;
            match self
                .store
                .flip_with(id, g, mode.0, expected, fence, rollback)
                .or_raise(py)?
            {
                Outcome::Applied => Ok(true),
                Outcome::Stale | Outcome::Fenced => Ok(false),
                Outcome::Missing => Err(raise(
                    py,
                    "UnknownPlan",
                    format!("no tree of generation {g} for endpoint {}", repr(endpoint)),
                )),
                Outcome::Dangling => Err(raise(
                    py,
                    "DanglingAlias",
                    format!(
                        "endpoint {}: the active tree is gone, the rollback cannot be recorded",
                        repr(endpoint)
                    ),
                )),
            }
        })
    }

    #[pyo3(signature = (endpoints, generation, mode = ModeArg(Mode::IfNewer), *, expected_versions = None, fence = None, rollback = RollbackArg(true)))]
    #[allow(clippy::too_many_arguments)]
    fn flip_many<'py>(
        &self,
        py: Python<'py>,
        endpoints: Option<&Bound<'py, PyAny>>,
        generation: &Bound<'py, PyAny>,
        mode: ModeArg,
        expected_versions: Option<&Bound<'py, PyAny>>,
        fence: Option<&Bound<'py, PyAny>>,
        rollback: RollbackArg,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let ids = optional_ids(&self.store, endpoints).or_raise(py)?;
            let g = generation_arg(generation).or_raise(py)?;
            let expected = match expected_versions {
                Some(v) if !v.is_none() => {
                    Some(u64_list(v, "expected_versions", version_arg).or_raise(py)?)
                }
                _ => None,
            };
            let fences;
            let fence = match fence {
                Some(f) if !f.is_none() => {
                    if f.is_instance_of::<PyInt>() || f.is_instance_of::<PyBool>() {
                        Fence::All(token_arg(f, "fence").or_raise(py)?)
                    } else {
                        fences = u64_list(f, "fence", |t| token_arg(t, "fence")).or_raise(py)?;
                        Fence::Each(&fences)
                    }
                }
                _ => Fence::None,
            };
            let rollback = rollback.0;
            let c = py
                .detach(|| {
                    self.store.flip_many_with(
                        ids.as_deref(),
                        g,
                        mode.0,
                        expected.as_deref(),
                        fence,
                        rollback,
                    )
                })
                .or_raise(py)?;
            named(
                py,
                "FlipCounts",
                (c.applied, c.stale, c.fenced, c.missing, c.dangling),
            )
        })
    }

    fn resolve<'py>(
        &self,
        py: Python<'py>,
        endpoint: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        guard(py, || {
            let id = self.id(py, endpoint)?;
            let set = self.store.resolve(id).or_raise(py)?;
            answer(py, &set)
        })
    }

    #[pyo3(signature = (endpoints = None))]
    fn resolve_many<'py>(
        &self,
        py: Python<'py>,
        endpoints: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let ids = optional_ids(&self.store, endpoints).or_raise(py)?;
            let sets = py
                .detach(|| self.store.resolve_many(ids.as_deref()))
                .or_raise(py)?;
            // Endpoints sharing a target set share one (immutable) tuple.
            let mut cache: HashMap<usize, Bound<'py, PyTuple>> = HashMap::new();
            let out = Vec::with_capacity(sets.len());
            let mut out = out;
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

    #[pyo3(signature = (endpoints = None))]
    fn aliases<'py>(
        &self,
        py: Python<'py>,
        endpoints: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let ids = optional_ids(&self.store, endpoints).or_raise(py)?;
            let gens = py
                .detach(|| self.store.aliases(ids.as_deref()))
                .or_raise(py)?;
            let out = gens
                .into_iter()
                .map(|g| generation_or_none(py, g))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, out)
        })
    }

    #[pyo3(signature = (endpoints = None))]
    fn versions(&self, py: Python<'_>, endpoints: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<u64>> {
        guard(py, || {
            let ids = optional_ids(&self.store, endpoints).or_raise(py)?;
            py.detach(|| self.store.versions(ids.as_deref()))
                .or_raise(py)
        })
    }

    #[pyo3(signature = (endpoints = None))]
    fn dangling_aliases(
        &self,
        py: Python<'_>,
        endpoints: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<u32>> {
        guard(py, || {
            let ids = optional_ids(&self.store, endpoints).or_raise(py)?;
            py.detach(|| self.store.dangling_aliases(ids.as_deref()))
                .or_raise(py)
        })
    }

    fn state<'py>(
        &self,
        py: Python<'py>,
        endpoint: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let id = self.id(py, endpoint)?;
            let s = self.store.state(id).or_raise(py)?;
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
        py: Python<'_>,
        endpoint: &Bound<'_, PyAny>,
        holder: &Bound<'_, PyAny>,
        ttl: &Bound<'_, PyAny>,
        now: &Bound<'_, PyAny>,
    ) -> PyResult<u64> {
        guard(py, || {
            let id = self.id(py, endpoint)?;
            let holder = holder_arg(holder).or_raise(py)?;
            let ttl = seconds_arg(ttl, "ttl").or_raise(py)?;
            let now = seconds_arg(now, "now").or_raise(py)?;
            self.store.acquire_lease(id, holder, ttl, now).or_raise(py)
        })
    }

    fn acquire_leases(
        &self,
        py: Python<'_>,
        endpoints: &Bound<'_, PyAny>,
        holder: &Bound<'_, PyAny>,
        ttl: &Bound<'_, PyAny>,
        now: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Option<u64>>> {
        guard(py, || {
            let ids = endpoint_ids(&self.store, endpoints).or_raise(py)?;
            let holder = holder_arg(holder).or_raise(py)?;
            let ttl = seconds_arg(ttl, "ttl").or_raise(py)?;
            let now = seconds_arg(now, "now").or_raise(py)?;
            py.detach(|| self.store.acquire_leases(&ids, holder, ttl, now))
                .or_raise(py)
        })
    }

    fn renew_lease(
        &self,
        py: Python<'_>,
        endpoint: &Bound<'_, PyAny>,
        holder: &Bound<'_, PyAny>,
        token: &Bound<'_, PyAny>,
        ttl: &Bound<'_, PyAny>,
        now: &Bound<'_, PyAny>,
    ) -> PyResult<f64> {
        guard(py, || {
            let id = self.id(py, endpoint)?;
            let holder = holder_arg(holder).or_raise(py)?;
            let token = token_arg(token, "token").or_raise(py)?;
            let ttl = seconds_arg(ttl, "ttl").or_raise(py)?;
            let now = seconds_arg(now, "now").or_raise(py)?;
            self.store
                .renew_lease(id, holder, token, ttl, now)
                .or_raise(py)
        })
    }

    fn release_lease(
        &self,
        py: Python<'_>,
        endpoint: &Bound<'_, PyAny>,
        holder: &Bound<'_, PyAny>,
        token: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        guard(py, || {
            let id = self.id(py, endpoint)?;
            let holder = holder_arg(holder).or_raise(py)?;
            let token = token_arg(token, "token").or_raise(py)?;
            self.store.release_lease(id, holder, token).or_raise(py)
        })
    }

    fn release_leases(
        &self,
        py: Python<'_>,
        endpoints: &Bound<'_, PyAny>,
        holder: &Bound<'_, PyAny>,
        tokens: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        guard(py, || {
            let ids = endpoint_ids(&self.store, endpoints).or_raise(py)?;
            let holder = holder_arg(holder).or_raise(py)?;
            let tokens = u64_list(tokens, "tokens", |t| token_arg(t, "token")).or_raise(py)?;
            py.detach(|| self.store.release_leases(&ids, holder, &tokens))
                .or_raise(py)
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
}

/// The benchmarks' yardstick: a plain single-threaded Rust loop doing the work of an
/// `if_newer` batch flip (does the endpoint have a tree of this generation? is it newer? update
/// alias, rollback and version) over dense arrays: a 56-byte record per endpoint, like the
/// store's, and a plan's per-endpoint tree index. No locks, no shards, no argument conversion:
/// `flip_many`'s ratio to it is the store's own overhead.
#[pyclass(frozen, module = "dnsrace._core", name = "_BaselineFlipLoop")]
struct BaselineFlipLoop {
    state: std::sync::Mutex<(Vec<[u64; 7]>, Vec<u32>)>,
}

#[pymethods]
impl BaselineFlipLoop {
    #[new]
    fn new(endpoints: usize) -> Self {
        // Every endpoint has a tree (index 0): the check is made, never fails.
        let state = (vec![[0; 7]; endpoints], vec![0; endpoints]);
        BaselineFlipLoop {
            state: std::sync::Mutex::new(state),
        }
    }

    /// Flip every record to `generation` if newer; returns how many applied.
    fn flip(&self, py: Python<'_>, generation: u64) -> u64 {
        py.detach(|| {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let (slots, trees) = &mut *state;
            let mut applied = 0;
            for (slot, &tree) in slots.iter_mut().zip(trees.iter()) {
                if tree != u32::MAX && generation > slot[0] {
                    slot[1] = slot[0];
                    slot[0] = generation;
                    slot[2] += 1;
                    applied += 1;
                }
            }
            applied
        })
    }
}

/// Raise a Rust panic inside the guard: lets the tests prove a panic surfaces as
/// `dnsrace.errors.InternalError` rather than crashing the interpreter.
#[pyfunction]
fn _panic_for_test(py: Python<'_>) -> PyResult<()> {
    guard(py, || panic!("deliberate panic for the test suite"))
}

#[pymodule(gil_used = false)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPlan>()?;
    m.add_class::<PyRecordStore>()?;
    m.add_class::<BaselineFlipLoop>()?;
    m.add_function(wrap_pyfunction!(_panic_for_test, m)?)?;
    Ok(())
}
