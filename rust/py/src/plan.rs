//! `dnsrace._core.Plan`.

use std::net::IpAddr;
use std::sync::Arc;

use dnsrace_core as core;
use dnsrace_core::{check_batch_len, try_vec, EndpointKey, Error, Leaf, PlanBuilder};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyMapping, PyString, PyTuple};

use crate::args::{collect_items, leaf, plan_key, refuse_unordered, repr, type_name, Generation};
use crate::errors::{guard, to_py, OrRaise, UnknownEndpoint};
use crate::ints::{self, IntSeq};

/// The items of a non-str iterable (names, target sets and their targets), at most
/// `MAX_BATCH`. `ordered`: the items line up with something (ids returned, set indices), so a
/// set or mapping is refused. An exception the iterable raises propagates unchanged.
pub fn items<'py>(
    obj: &Bound<'py, PyAny>,
    what: &str,
    ordered: bool,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let not_seq = || {
        Error::InvalidArgument(format!(
            "invalid {what}: expected a sequence, got {}",
            type_name(obj)
        ))
    };
    if obj.is_instance_of::<PyString>() {
        return Err(to_py(not_seq()));
    }
    if ordered && !obj.is_instance_of::<PyList>() && !obj.is_instance_of::<PyTuple>() {
        refuse_unordered(obj, what)?;
    }
    collect_items(obj, what, not_seq)
}

/// One target set: any iterable of pairs (a set too: the set is canonicalised).
fn target_set(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Leaf>> {
    let pairs = items(obj, "target set", false)?;
    let mut out = try_vec(pairs.len(), "target set").or_raise()?;
    for pair in &pairs {
        out.push(leaf(pair)?);
    }
    Ok(out)
}

pub fn answer<'py>(py: Python<'py>, set: &[Leaf]) -> PyResult<Bound<'py, PyTuple>> {
    let leaves = set
        .iter()
        .map(|l| (addr_text(py, l.addr), l.weight).into_pyobject(py))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, leaves)
}

/// An address as Python text, as `str(ipaddress.ip_address(...))` writes it. IPv4 is
/// written here: the formatting machinery took about a thousand instructions per address,
/// most of a small resolve's cost. IPv6 goes through it.
fn addr_text(py: Python<'_>, addr: IpAddr) -> Bound<'_, PyString> {
    let IpAddr::V4(v4) = addr else {
        return PyString::new(py, &addr.to_string());
    };
    let (mut text, mut len) = ([0u8; 15], 0);
    for (k, octet) in v4.octets().into_iter().enumerate() {
        if k > 0 {
            text[len] = b'.';
            len += 1;
        }
        if octet >= 100 {
            text[len] = b'0' + octet / 100;
            len += 1;
        }
        if octet >= 10 {
            text[len] = b'0' + octet / 10 % 10;
            len += 1;
        }
        text[len] = b'0' + octet % 10;
        len += 1;
    }
    // Digits and dots only: always UTF-8.
    PyString::new(py, std::str::from_utf8(&text[..len]).unwrap_or_default())
}

fn not_mapping(obj: &Bound<'_, PyAny>) -> Error {
    Error::InvalidArgument(format!(
        "invalid targets: expected a mapping of endpoint to targets, got {}",
        type_name(obj)
    ))
}

/// One plan generation: for each endpoint, a weighted set of target addresses (its *tree*).
///
/// Immutable. Target sets are canonicalised (sorted by address, duplicates rejected) and
/// identical sets are stored once, here and in the store.
///
/// Constructor: Build a plan from ``{endpoint: [(ip, weight), ...]}``.
///
/// Raises ``InvalidGeneration``, ``InvalidName`` (for str keys), ``InvalidAddress``,
/// ``InvalidWeight``, or ``InvalidArgument`` (duplicate address in one set, duplicate
/// endpoint, malformed target). Endpoint ids (int keys) are checked when the plan is put.
/// An empty target set is allowed: it resolves to an empty answer.
#[pyclass(frozen, module = "dnsrace._core", name = "Plan")]
pub struct PyPlan {
    pub plan: Arc<core::Plan>,
}

#[pymethods]
impl PyPlan {
    #[new]
    fn new(generation: Generation, targets: &Bound<'_, PyAny>) -> PyResult<Self> {
        guard(|| {
            let mut b = PlanBuilder::new(generation.0).or_raise()?;
            let pairs: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> =
                if let Ok(d) = targets.cast::<PyDict>() {
                    check_batch_len(d.len(), "targets").or_raise()?;
                    d.iter().collect()
                } else if let Ok(m) = targets.cast::<PyMapping>() {
                    // A mapping's own exceptions (keys(), __getitem__) propagate unchanged.
                    let keys = items(m.keys()?.as_any(), "targets", false)?;
                    let mut pairs = try_vec(keys.len(), "targets").or_raise()?;
                    for k in keys {
                        let v = m.get_item(&k)?;
                        pairs.push((k, v));
                    }
                    pairs
                } else {
                    return Err(to_py(not_mapping(targets)));
                };
            b.reserve(pairs.len());
            for (k, v) in pairs {
                let key = plan_key(&k)?;
                let set = b.add_set(target_set(&v)?).or_raise()?;
                b.add_endpoint(key, set).or_raise()?;
            }
            Ok(PyPlan {
                plan: Arc::new(b.build()),
            })
        })
    }

    /// Fast compact constructor: endpoint ``endpoints[i]`` gets ``target_sets[set_index[i]]``.
    ///
    /// Each distinct set is parsed once, so a planner that assigns a few load-balancer groups to
    /// many endpoints builds a 500k-endpoint plan without per-endpoint parsing. ``endpoints``
    /// and ``set_index`` must have the same length (``InvalidArgument``); an index out of range
    /// raises ``InvalidArgument``. Ids and indices as buffers or ranges are converted with the
    /// interpreter detached from 1,024 endpoints (1M endpoints in a few milliseconds).
    #[staticmethod]
    fn from_shared<'py>(
        py: Python<'py>,
        generation: Generation,
        target_sets: &Bound<'py, PyAny>,
        endpoints: IntSeq<'py>,
        set_index: IntSeq<'py>,
    ) -> PyResult<Self> {
        guard(|| {
            let mut b = PlanBuilder::new(generation.0).or_raise()?;
            let raw_sets = items(target_sets, "target_sets", true)?;
            let mut sets: Vec<u32> = try_vec(raw_sets.len(), "target_sets").or_raise()?;
            for s in &raw_sets {
                sets.push(b.add_set(target_set(s)?).or_raise()?);
            }
            if endpoints.len() != set_index.len() {
                return Err(to_py(Error::InvalidArgument(format!(
                    "endpoints has {} items but set_index has {}",
                    endpoints.len(),
                    set_index.len()
                ))));
            }
            b.reserve(endpoints.len());
            let names = matches!(&endpoints, IntSeq::Items(items)
                if items.iter().any(|i| i.is_instance_of::<PyString>()));
            if names {
                // Names (or a mix): one key at a time, as `Plan(...)` does.
                let IntSeq::Items(keys) = &endpoints else {
                    unreachable!()
                };
                let index = set_index
                    .stage::<u32>(ints::set_indices(sets.len()))?
                    .finish()
                    .or_raise()?;
                for (k, &i) in keys.iter().zip(&index) {
                    b.add_endpoint(plan_key(k)?, sets[i as usize]).or_raise()?;
                }
            } else {
                let ids = endpoints.stage::<u32>(ints::IDS)?;
                let index = set_index.stage::<u32>(ints::set_indices(sets.len()))?;
                crate::detach::detach_for(py, endpoints.len(), || -> core::Result<()> {
                    let ids = ids.finish()?;
                    let mut index = index.finish()?;
                    // Raw indices into `target_sets` -> the plan's deduplicated sets (nothing
                    // to do when no set was a repeat).
                    if sets.iter().enumerate().any(|(k, &s)| s as usize != k) {
                        for i in index.iter_mut() {
                            *i = sets[*i as usize];
                        }
                    }
                    b.add_id_vecs(ids, index)
                })
                .or_raise()?;
            }
            Ok(PyPlan {
                plan: Arc::new(b.build()),
            })
        })
    }

    /// The plan's generation (1..2**63-1).
    #[getter]
    fn generation(&self) -> u64 {
        self.plan.generation()
    }

    /// Total leaves over all endpoints (a shared set counts once per endpoint using it).
    #[getter]
    fn records(&self) -> u64 {
        self.plan.records()
    }

    /// Number of endpoints this plan has a tree for.
    fn __len__(&self) -> usize {
        self.plan.len()
    }

    /// The endpoints in construction order (names lower-cased, trailing dot dropped).
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

    /// The canonical target set of one endpoint; ``UnknownEndpoint`` if not in the plan.
    fn targets<'py>(
        &self,
        py: Python<'py>,
        endpoint: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let key = match plan_key(endpoint)? {
            EndpointKey::Name(n) => {
                EndpointKey::Name(core::canonical_name(&n).or_raise()?.into_owned().into())
            }
            id => id,
        };
        match self.plan.targets(&key) {
            Some(set) => answer(py, set),
            None => Err(UnknownEndpoint::new_err(format!(
                "endpoint {} is not in plan {}",
                repr(endpoint),
                self.plan.generation()
            ))),
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
