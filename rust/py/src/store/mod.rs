//! `dnsrace._core.RecordStore`: the class front (signatures and docstrings, synced from the
//! stub by rust/py/sync_docs.py), each method handed to the module of its concern.

mod catalog;
mod flips;
mod leases;
mod persist;
mod reads;

use dnsrace_core as core;
use dnsrace_core::Mode;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple, PyType};

use crate::args::{
    Endpoint, FenceToken, FormatArg, Generation, HistoryCapacity, HistoryClient, Holder,
    LeaseToken, LinearizationsArg, ModeArg, Name, Now, OutcomesArg, Output, RollbackArg, SafeArg,
    TimeNs, TimeoutArg, Ttl, Version,
};
use crate::errors::{guard, OrRaise};
use crate::ints::{IntSeq, Staged, Unordered};
use flips::{FenceArg, FlipMany, FlipOne};

static TYPES: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// A result type of `dnsrace._types`, looked up once: a module attribute look-up per call
/// was a good part of a small batch call's cost.
pub(crate) struct ResultType {
    name: &'static str,
    class: PyOnceLock<Py<PyAny>>,
}

impl ResultType {
    const fn new(name: &'static str) -> Self {
        ResultType {
            name,
            class: PyOnceLock::new(),
        }
    }

    fn get<'py>(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyAny>> {
        let class = self.class.get_or_try_init(py, || {
            TYPES
                .get_or_try_init(py, || {
                    PyModule::import(py, "dnsrace._types").map(Bound::unbind)
                })?
                .bind(py)
                .getattr(self.name)
                .map(Bound::unbind)
        })?;
        Ok(class.bind(py))
    }

    /// An instance of this type made by calling it with `args`.
    fn call<'py>(
        &self,
        py: Python<'py>,
        args: impl pyo3::call::PyCallArgs<'py>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.get(py)?.call1(args)
    }

    /// An instance of this named tuple type holding `items`, made as its generated `__new__`
    /// makes it (`tuple.__new__(cls, items)`) without running that Python function or
    /// building a tuple to copy from: the flip and clean-up calls of every simulated step
    /// return one or two. `N` must be the number of fields (`__new__` would check the count;
    /// nothing does here).
    fn tuple<'py, const N: usize>(
        &self,
        py: Python<'py>,
        items: [Bound<'py, PyAny>; N],
    ) -> PyResult<Bound<'py, PyAny>> {
        let class = self.get(py)?;
        let cls = class.as_ptr().cast::<pyo3::ffi::PyTypeObject>();
        // SAFETY: the class's own allocation slot (a heap type's, readable through the
        // limited API; a subtype of tuple inherits one that makes an instance of `N` empty
        // items with one reference, or NULL with an exception set). Each item is then set
        // once, as `tuple.__new__` sets them: `PyTuple_SetItem` steals the item's reference
        // and accepts the instance, a tuple that nothing else references yet.
        unsafe {
            let slot = pyo3::ffi::PyType_GetSlot(cls, pyo3::ffi::Py_tp_alloc);
            if slot.is_null() {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "{} cannot be allocated",
                    self.name
                )));
            }
            let alloc: pyo3::ffi::allocfunc = std::mem::transmute(slot);
            let made = Bound::from_owned_ptr_or_err(py, alloc(cls, N as pyo3::ffi::Py_ssize_t))?;
            for (i, item) in items.into_iter().enumerate() {
                let i = i as pyo3::ffi::Py_ssize_t;
                if pyo3::ffi::PyTuple_SetItem(made.as_ptr(), i, item.into_ptr()) != 0 {
                    return Err(PyErr::fetch(py));
                }
            }
            Ok(made)
        }
    }
}

pub(crate) static FLIP_COUNTS: ResultType = ResultType::new("FlipCounts");
pub(crate) static FLIP_RESULT: ResultType = ResultType::new("FlipResult");
pub(crate) static DELETE_RESULT: ResultType = ResultType::new("DeleteResult");
pub(crate) static ENDPOINT_STATE: ResultType = ResultType::new("EndpointState");
pub(crate) static STORE_STATS: ResultType = ResultType::new("StoreStats");

/// Thread-safe in-memory store of load-balancer DNS records (the Rust core).
///
/// Per endpoint it holds the alias (generation of the active tree), the rollback (the alias
/// before the last flip), a version bumped by every applied flip, a lease (holder, expiry,
/// fencing token) and the highest fencing token seen. Per plan generation it holds one tree
/// (weighted target set) per endpoint.
///
/// Constructor: ``history``: keep the last ``history`` completed operations (0: record nothing).
///
/// Each call that completes (an error changes nothing and is not recorded) adds one
/// operation per endpoint it touched, with the call's start and return times: flips,
/// reads (``state``, ``aliases``, ``rollbacks``, ``versions``), lease acquire / renew /
/// release, and each endpoint's tree put by ``put_plan`` or looked at by ``delete_plans``.
/// Format and clock: docs/guide/store.md.
#[pyclass(frozen, module = "dnsrace._core", name = "RecordStore")]
pub struct RecordStore {
    store: core::Store,
}

impl RecordStore {
    fn id(&self, endpoint: Endpoint<'_>) -> PyResult<u32> {
        self.store.endpoint_id(endpoint.0).or_raise()
    }

    /// How many endpoints a batch names (`None`: every registered one): the work that
    /// decides whether the call detaches ([`crate::detach::detach_for`]).
    fn batch_len(&self, endpoints: Option<&IntSeq<'_>>) -> usize {
        endpoints.map_or_else(|| self.store.len(), IntSeq::len)
    }

    fn ids<'a>(&self, endpoints: Option<&'a IntSeq<'_>>) -> PyResult<Option<Staged<'a, u32>>> {
        endpoints
            .map(|e| e.stage_endpoints(&self.store))
            .transpose()
    }
}

#[pymethods]
impl RecordStore {
    #[new]
    #[pyo3(signature = (*, history = HistoryCapacity(0)), text_signature = "(*, history=0)")]
    fn new(history: HistoryCapacity) -> Self {
        RecordStore {
            store: core::Store::with_history(history.0 as usize),
        }
    }

    /// The ``history`` the store was made with (0: none).
    #[getter]
    fn history_capacity(&self) -> usize {
        self.store.recorder().map_or(0, |h| h.capacity())
    }

    /// Record the next operations of the calling thread, or asyncio task, as ``client``
    /// (a context variable: it holds in that task and in the threads it starts with
    /// ``asyncio.to_thread``; ``None``: automatic, one id per task or thread in order of first
    /// use, never one a told client uses) and, with ``time_ns``, stamp operations on this
    /// virtual clock from now on (each stamp at least 1 ns after the last one: ties are
    /// ordered). ``InvalidArgument`` if the store records no history or a value is out of
    /// range.
    #[pyo3(signature = (client = None, time_ns = None), text_signature = "($self, client=None, time_ns=None)")]
    fn set_history_context(
        &self,
        py: Python<'_>,
        client: Option<HistoryClient>,
        time_ns: Option<TimeNs>,
    ) -> PyResult<()> {
        persist::set_history_context(self, py, client, time_ns)
    }

    /// The recorded history, ordered by call time, as ``jsonl`` or ``jepsen`` (EDN) text.
    #[pyo3(signature = (format = FormatArg("jsonl")), text_signature = "($self, format='jsonl')")]
    fn history_bytes<'py>(
        &self,
        py: Python<'py>,
        format: FormatArg<'_>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        persist::history_bytes(self, py, format)
    }

    /// Write the history to ``path`` atomically; returns the number of operations.
    /// ``InvalidArgument`` (nothing written) without a history or for a path that cannot
    /// become a file.
    #[pyo3(signature = (path, format = FormatArg("jsonl")), text_signature = "($self, path, format='jsonl')")]
    fn export_history(
        &self,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        format: FormatArg<'_>,
    ) -> PyResult<usize> {
        persist::export_history(self, py, path, format)
    }

    /// Record only the operations on ``endpoints`` from now on (``None``: all). Each
    /// endpoint's history is complete on its own, so a sample is still a checkable history.
    #[pyo3(signature = (endpoints = None), text_signature = "($self, endpoints=None)")]
    fn set_history_endpoints(&self, endpoints: Option<IntSeq<'_>>) -> PyResult<()> {
        persist::set_history_endpoints(self, endpoints)
    }

    /// Check the recorded history in place (as ``dnsrace.history.check`` checks its file,
    /// without writing it), within the same bounds (``timeout`` seconds, ``max_states``
    /// states kept; ``None``: the defaults). Returns the result dict that
    /// ``dnsrace.history.check`` returns (``dnsrace.history.CheckResult``);
    /// ``as_dict=False``: its JSON text instead, for one more release, with a
    /// ``DeprecationWarning``.
    #[pyo3(signature = (*, timeout = TimeoutArg(None), linearizations = LinearizationsArg(false), max_states = None, as_dict = None), text_signature = "($self, *, timeout=None, linearizations=False, max_states=None, as_dict=None)")]
    fn check_history<'py>(
        &self,
        py: Python<'py>,
        timeout: TimeoutArg,
        linearizations: LinearizationsArg,
        max_states: Option<&Bound<'py, PyAny>>,
        as_dict: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let max_states = crate::history::max_states_of(max_states)?;
            let opts = crate::history::options(timeout.0, max_states, linearizations.0)?;
            persist::check_history(self, py, opts, crate::history::as_dict_of(as_dict)?)
        })
    }

    /// Operations the ring dropped (older than the last ``history_capacity``): > 0 marks
    /// the history truncated (its export starts with ``{"truncated": {"dropped": N}}`` and
    /// checking it gives ``unknown``).
    fn history_dropped(&self) -> u64 {
        self.store.recorder().map_or(0, |h| h.ops().1)
    }

    /// Number of registered endpoints.
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

    /// Register DNS names; return their ids (dense, from 0, in registration order).
    ///
    /// Idempotent: an already registered name returns its existing id. Names are validated
    /// first (``InvalidName``); on error nothing is registered.
    fn add_endpoints(&self, py: Python<'_>, names: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
        catalog::add_endpoints(self, py, names)
    }

    /// The id of a registered name (``UnknownEndpoint`` otherwise).
    fn endpoint_id(&self, name: Name<'_>) -> PyResult<u32> {
        guard(|| {
            self.store
                .endpoint_id(core::EndpointRef::Name(name.0))
                .or_raise()
        })
    }

    /// The canonical names of many endpoints (``None``: all, in id order). Raises
    /// ``UnknownEndpoint``, ``InvalidArgument``, ``TooLarge``. O(n).
    #[pyo3(signature = (endpoints = None), text_signature = "($self, endpoints=None)")]
    fn endpoint_names(
        &self,
        py: Python<'_>,
        endpoints: Option<IntSeq<'_>>,
    ) -> PyResult<Vec<String>> {
        catalog::endpoint_names(self, py, endpoints)
    }

    /// Whether ``endpoint`` (a name or an id) is registered; anything else is not (no
    /// error).
    fn __contains__(&self, endpoint: &Bound<'_, PyAny>) -> PyResult<bool> {
        catalog::contains(self, endpoint)
    }

    /// The whole store in the snapshot format (as ``snapshot`` writes it), as bytes.
    fn snapshot_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py.detach(|| self.store.snapshot_bytes());
        Ok(PyBytes::new(py, &bytes))
    }

    /// A new store from snapshot bytes (``snapshot_bytes`` of either store).
    /// ``SnapshotError`` if they are not a valid snapshot; ``InvalidArgument`` for non-bytes.
    #[classmethod]
    fn restore_bytes(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<RecordStore> {
        persist::restore_bytes(py, data)
    }

    /// Pickled as its snapshot bytes: a store can be sent to a process pool. The history
    /// (if any) is not part of it.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        persist::reduce(slf)
    }

    /// An independent copy through the snapshot format (no history).
    fn __copy__(&self, py: Python<'_>) -> PyResult<RecordStore> {
        persist::copy(self, py)
    }

    /// As ``__copy__``: the store shares nothing with its copy.
    fn __deepcopy__(&self, py: Python<'_>, _memo: &Bound<'_, PyAny>) -> PyResult<RecordStore> {
        persist::copy(self, py)
    }

    /// The canonical (lower-case, no trailing dot) name of an endpoint.
    fn endpoint_name(&self, endpoint: Endpoint<'_>) -> PyResult<String> {
        guard(|| {
            let id = self.id(endpoint)?;
            self.store.endpoint_name(id).or_raise()
        })
    }

    /// Store a plan's trees. Every endpoint must be registered (``UnknownEndpoint``).
    ///
    /// ``InvalidArgument`` if the generation still has a stored tree (plans are immutable); a
    /// generation whose trees were all deleted may be put again (an operator's repair).
    fn put_plan(&self, py: Python<'_>, plan: &Bound<'_, PyAny>) -> PyResult<()> {
        catalog::put_plan(self, py, plan)
    }

    /// Generations that still have at least one stored tree, ascending.
    fn plan_generations(&self) -> Vec<u64> {
        self.store.plan_generations()
    }

    /// Whether the tree of ``generation`` for ``endpoint`` is stored.
    fn has_tree(&self, endpoint: Endpoint<'_>, generation: Generation) -> PyResult<bool> {
        guard(|| {
            let id = self.id(endpoint)?;
            self.store.has_tree(id, generation.0).or_raise()
        })
    }

    /// Delete the trees of these generations (the enactors' clean-up).
    ///
    /// ``safe=True`` keeps every tree that some endpoint's alias or rollback refers to and reports
    /// it; ``safe=False`` deletes them anyway, as the 2025 clean-up did, leaving dangling
    /// aliases that resolve to an empty answer. Unknown generations are reported, not raised.
    #[pyo3(signature = (generations, *, safe = SafeArg(true)), text_signature = "($self, generations, *, safe=True)")]
    fn delete_plans<'py>(
        &self,
        py: Python<'py>,
        generations: Unordered<'py>,
        safe: SafeArg,
    ) -> PyResult<Bound<'py, PyAny>> {
        catalog::delete_plans(self, py, generations, safe)
    }

    /// Point the endpoint's alias at ``generation``'s tree; the old alias becomes the rollback.
    ///
    /// Modes: ``"lww"`` always applies; ``"if_newer"`` (generation CAS) applies iff
    /// ``generation`` > current alias (or there is none); ``"exact"`` applies iff the endpoint's
    /// version equals ``expected_version`` (required for, and only allowed with, this mode).
    /// ``fence``: refused if lower than the highest fencing token seen for the endpoint; an
    /// accepted fence raises that highest token. Returns True if applied, False if refused by
    /// the fence or the mode's condition. Raises ``UnknownPlan`` if the tree does not exist.
    /// An applied flip that lowers the alias (a *stale flip*) is counted in
    /// ``stats()["stale_flips"]``; a flip refused by the mode's condition is *outdated*
    /// (``stats()["outdated_rejections"]``, ``FlipCounts.outdated``, ``Outcome.OUTDATED``).
    /// Checks run in the order: tree missing, fence, mode condition, dangling active tree.
    /// The flip records the rollback from the active tree; if the alias points at a tree that
    /// was deleted, it raises ``DanglingAlias`` and changes nothing (the 2025 stuck endpoint).
    /// ``rollback=False`` flips without recording a rollback (the rollback is cleared), so it
    /// works on a dangling alias: the repair.
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
        let call = FlipOne {
            generation,
            mode,
            expected_version,
            fence,
            rollback,
        };
        flips::flip(self, endpoint, call)
    }

    /// ``flip`` for many endpoints in one call (``None``: every endpoint, in id order).
    ///
    /// Args:
    ///     endpoints: names and/or ids (``Endpoints``: list, tuple, range or int buffer), or
    ///         ``None`` for every endpoint. Repeated endpoints are flipped in list order.
    ///     generation: the plan generation to point the aliases at (1..2**63-1).
    ///     mode: ``"lww"``, ``"if_newer"`` (generation CAS) or ``"exact"`` (version CAS).
    ///     expected_versions: mode ``"exact"`` only (required there): one version per
    ///         endpoint, aligned with ``endpoints`` (with ``None``, with the ids).
    ///     fence: one fencing token for all, or one per endpoint; a flip whose token is
    ///         lower than the endpoint's highest is refused (``fenced``), and so is an
    ///         entry of ``None`` or 0 (a lease ``acquire_leases`` refused).
    ///     rollback: record the old alias as the rollback (``False``: the repair flip).
    ///     outcomes: ``False`` for counts only; ``True``/``"array"``/``"numpy"`` for a
    ///         ``FlipResult`` with per-position outcome codes (``dnsrace.Outcome``, uint8)
    ///         and the alias before the attempt (uint64, 0 = none), written in place.
    ///
    /// Returns:
    ///     ``FlipCounts`` (applied and why the others were not), or a ``FlipResult``.
    ///
    /// Raises:
    ///     InvalidGeneration: bad ``generation``.
    ///     InvalidArgument: bad mode, flag, ``outcomes``, a non-int endpoint, misaligned
    ///         lengths, ``expected_versions`` with a mode other than ``"exact"``.
    ///     InvalidToken: a bad version or fence. UnknownEndpoint: an unknown name or id.
    ///     TooLarge: a sequence of more than ``MAX_BATCH`` items. OutOfMemory.
    ///     Every element is checked before anything changes: after an error the store is
    ///     unchanged. Missing trees and dangling aliases are counted, not raised.
    ///
    /// Cost: O(n) for n endpoints, interpreter released from 1,024; atomic per endpoint.
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
        let call = FlipMany {
            endpoints,
            generation,
            mode,
            expected_versions,
            fence,
            rollback,
            outcomes,
        };
        flips::flip_many(self, py, call)
    }

    /// The records the alias points at; ``()`` (counted as an empty answer) if the alias is
    /// unset, its tree was deleted, or the tree is an empty set.
    fn resolve<'py>(
        &self,
        py: Python<'py>,
        endpoint: Endpoint<'_>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        reads::one(self, endpoint, core::Store::resolve, |set| {
            crate::plan::answer(py, &set)
        })
    }

    /// ``resolve`` for many endpoints (``None``: all, in id order). Endpoints sharing a target
    /// set share one tuple object.
    #[pyo3(signature = (endpoints = None))]
    fn resolve_many<'py>(
        &self,
        py: Python<'py>,
        endpoints: Option<IntSeq<'py>>,
    ) -> PyResult<Bound<'py, PyList>> {
        reads::resolve_many(self, py, endpoints)
    }

    /// Alias generation of each endpoint (``None`` where unset; in arrays, 0: uint64);
    /// nothing is counted.
    ///
    /// ``endpoints``: names and/or ids, ``None`` for all in id order. ``output``: ``"list"``,
    /// ``"array"`` (``array.array("Q")``) or ``"numpy"`` (uint64). Raises
    /// ``UnknownEndpoint``, ``InvalidArgument``, ``TooLarge``, ``OutOfMemory``. O(n),
    /// interpreter released from 1,024 endpoints.
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
        let reads = (core::Store::aliases as _, core::Field::Alias);
        reads::column(self, py, (endpoints, output), reads, true)
    }

    /// Rollback generation of each endpoint (``None`` where unset; in arrays, 0: uint64);
    /// nothing is counted.
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
        let reads = (core::Store::rollbacks as _, core::Field::Rollback);
        reads::column(self, py, (endpoints, output), reads, true)
    }

    /// Version of each endpoint (what ``mode="exact"`` compares; uint64 in arrays);
    /// nothing is counted.
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
        let reads = (core::Store::versions as _, core::Field::Version);
        reads::column(self, py, (endpoints, output), reads, false)
    }

    /// Ids (in input order; uint32 in arrays) of the endpoints whose alias is set but whose
    /// tree was deleted; nothing is counted. The enactor uses it to spot endpoints it can no
    /// longer update.
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
        reads::id_list(self, py, endpoints, output, core::Store::dangling_aliases)
    }

    /// Ids (in input order, ``None``: every endpoint ascending; uint32 in arrays) whose lease
    /// is live at ``now``: granted, not released, and ``now < expiry``. Nothing is counted.
    /// A lease manager's batch view of which hosts still hold a lease.
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
        reads::live_leases(self, py, now, endpoints, output)
    }

    /// A consistent snapshot of one endpoint's control record.
    fn state<'py>(&self, py: Python<'py>, endpoint: Endpoint<'_>) -> PyResult<Bound<'py, PyAny>> {
        reads::one(self, endpoint, core::Store::state, |s| {
            reads::endpoint_state(py, s)
        })
    }

    /// Take the endpoint's lease until ``now + ttl``; return a new fencing token.
    ///
    /// The token is greater than every token issued or accepted for this endpoint before.
    /// Raises ``LeaseHeld`` (and counts a lease conflict) if another holder's lease is live
    /// (``now < expiry``). Re-acquiring one's own live lease issues a new token. ``holder`` is
    /// a non-empty string of at most 128 characters (``InvalidArgument``).
    fn acquire_lease(
        &self,
        endpoint: Endpoint<'_>,
        holder: Holder<'_>,
        ttl: Ttl,
        now: Now,
    ) -> PyResult<u64> {
        leases::acquire_lease(self, endpoint, holder, ttl, now)
    }

    /// ``acquire_lease`` for many endpoints: per position the token, or the *refused*
    /// sentinel where another holder's live lease refused it (counted as a conflict, not
    /// raised) or the endpoint's tokens are exhausted.
    ///
    /// ``output``: ``"list"`` (``None`` is refused), ``"array"`` (``array.array("Q")``) or
    /// ``"numpy"`` (uint64), where 0 is refused (tokens start at 1). Give the result as it
    /// is to ``renew_leases``, ``release_leases`` or as ``flip_many``'s ``fence``: a refused
    /// entry is not renewed, not released, and its flip is refused as fenced.
    ///
    /// Raises ``InvalidArgument`` (holder, ttl, now, output, a non-int endpoint),
    /// ``UnknownEndpoint``, ``TooLarge``, ``OutOfMemory``; then nothing was granted.
    /// O(n), interpreter released from 1,024 endpoints.
    #[pyo3(
        signature = (endpoints, holder, ttl, now, *, output = Output::List),
        text_signature = "($self, endpoints, holder, ttl, now, *, output='list')"
    )]
    fn acquire_leases<'py>(
        &self,
        py: Python<'py>,
        endpoints: IntSeq<'py>,
        holder: Holder<'_>,
        ttl: Ttl,
        now: Now,
        output: Output,
    ) -> PyResult<Bound<'py, PyAny>> {
        leases::acquire_leases(self, py, endpoints, holder, (ttl, now), output)
    }

    /// ``renew_lease`` for many endpoints: extend each live lease held by ``holder`` with
    /// its token to ``now + ttl``.
    ///
    /// Returns per position the token where renewed and the refused sentinel (``None``; 0 in
    /// arrays) where not: a lost lease (another holder, another token, expired) or a refused
    /// entry given back. Nothing is raised for a lost lease, so the result feeds the next
    /// ``renew_leases``, ``release_leases`` or fenced ``flip_many`` directly. ``tokens``
    /// align with ``endpoints`` (``InvalidArgument`` otherwise); ``output`` as for
    /// ``acquire_leases``.
    ///
    /// Raises ``InvalidArgument``, ``InvalidToken``, ``UnknownEndpoint``, ``TooLarge``,
    /// ``OutOfMemory``; then nothing was renewed. O(n), interpreter released from 1,024
    /// endpoints.
    #[pyo3(
        signature = (endpoints, holder, tokens, ttl, now, *, output = Output::List),
        text_signature = "($self, endpoints, holder, tokens, ttl, now, *, output='list')"
    )]
    #[allow(clippy::too_many_arguments)]
    fn renew_leases<'py>(
        &self,
        py: Python<'py>,
        endpoints: IntSeq<'py>,
        holder: Holder<'_>,
        tokens: IntSeq<'py>,
        ttl: Ttl,
        now: Now,
        output: Output,
    ) -> PyResult<Bound<'py, PyAny>> {
        leases::renew_leases(self, py, (endpoints, tokens), holder, (ttl, now), output)
    }

    /// Extend a live lease to ``now + ttl`` and return the new expiry. Raises ``LeaseLost``
    /// unless ``holder`` and ``token`` match the current lease and it has not expired.
    fn renew_lease(
        &self,
        endpoint: Endpoint<'_>,
        holder: Holder<'_>,
        token: LeaseToken,
        ttl: Ttl,
        now: Now,
    ) -> PyResult<f64> {
        leases::renew_lease(self, endpoint, holder, token, (ttl, now))
    }

    /// Give the lease up. Raises ``LeaseLost`` unless ``holder`` and ``token`` match the
    /// current lease (an expired but untaken lease may still be released).
    fn release_lease(
        &self,
        endpoint: Endpoint<'_>,
        holder: Holder<'_>,
        token: LeaseToken,
    ) -> PyResult<()> {
        leases::release_lease(self, endpoint, holder, token)
    }

    /// ``release_lease`` for many endpoints; returns how many were released. Leases no longer
    /// held (token or holder mismatch) and refused entries (``None`` or 0, as
    /// ``acquire_leases`` returns them) are skipped, not raised.
    ///
    /// ``tokens`` align with ``endpoints`` (``InvalidArgument`` otherwise). Raises
    /// ``InvalidToken``, ``UnknownEndpoint``, ``TooLarge``; then nothing was released.
    /// O(n), interpreter released from 1,024 endpoints.
    fn release_leases<'py>(
        &self,
        py: Python<'py>,
        endpoints: IntSeq<'py>,
        holder: Holder<'_>,
        tokens: IntSeq<'py>,
    ) -> PyResult<usize> {
        leases::release_leases(self, py, endpoints, holder, tokens)
    }

    /// Counters and gauges (docs/guide/store.md, "Store counters"). Gauges (dangling_*) are
    /// computed from a consistent snapshot. ``stale_flips``: applied flips that lowered an alias;
    /// ``outdated_rejections``: flips refused by the mode's condition (its old key
    /// ``stale_rejections`` still reads, with a ``DeprecationWarning``, for one release).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        reads::stats(self, py)
    }

    /// Estimated heap bytes by part: ``endpoints``, ``names``, ``plans``, ``target_sets``,
    /// ``total`` (capacity-based; shared target sets counted once).
    fn memory<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        reads::memory(self, py)
    }

    /// Save the whole store (endpoints, plans, aliases, leases, fences, counters) to ``path``.
    ///
    /// Binary format version 1 (magic ``DNSRSNAP``, crc32 per section; docs/guide/store.md),
    /// written atomically: a temporary file in the same directory, fsync, rename, fsync of the
    /// directory, so ``path`` holds the old snapshot or the new one, never a torn one. Lease
    /// expiries are saved as they are, on the caller's clock. The interpreter is released
    /// meanwhile; the store is read from one consistent view. ``SnapshotError`` (nothing
    /// written) if ``path`` is a directory or its directory is missing or not writable;
    /// ``InvalidArgument`` if ``path`` is not a str or ``os.PathLike``.
    fn snapshot(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<()> {
        persist::snapshot(self, py, path)
    }

    /// A new store from a file written by ``snapshot`` (by this class or the reference),
    /// recording its last ``history`` operations from then on (0: none; as ``RecordStore``).
    ///
    /// ``SnapshotError`` if the file is missing, unreadable, truncated, corrupted, of another
    /// format version or not a snapshot; no store is created.
    #[classmethod]
    #[pyo3(signature = (path, *, history = HistoryCapacity(0)), text_signature = "($cls, path, *, history=0)")]
    fn restore(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        history: HistoryCapacity,
    ) -> PyResult<RecordStore> {
        persist::restore(py, path, history)
    }
}
