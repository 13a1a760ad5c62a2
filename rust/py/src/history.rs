//! `dnsrace._core.check_history` and `parse_history`, and the checking half of
//! `RecordStore.check_history`: the history reader and the linearizability checker of
//! `dnsrace-core`, with the interpreter detached, under the checker's bounds.

use std::time::Duration;

use dnsrace_core::history::{
    check_with, parse_jsonl, set_caller_source, Caller, CheckOptions, CheckResult, History,
    Recorder, DEFAULT_MAX_STATES, DEFAULT_TIMEOUT, MAX_MAX_STATES, MAX_TIMEOUT,
};
use pyo3::exceptions::PyDeprecationWarning;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyMemoryView};

use crate::args::{int_value, repr, type_name, IntArg, LinearizationsArg, TimeoutArg};
use crate::errors::{guard, InvalidArgument, OrRaise};

/// The checker's functions and its bounds (defined once, in the core) as module constants.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    set_caller_source(caller_source);
    m.add_function(wrap_pyfunction!(parse_history, m)?)?;
    m.add_function(wrap_pyfunction!(check_history, m)?)?;
    m.add("CHECK_DEFAULT_TIMEOUT_S", DEFAULT_TIMEOUT.as_secs_f64())?;
    m.add("CHECK_MAX_TIMEOUT_S", MAX_TIMEOUT.as_secs_f64())?;
    m.add("CHECK_DEFAULT_MAX_STATES", DEFAULT_MAX_STATES)?;
    m.add("CHECK_MAX_MAX_STATES", MAX_MAX_STATES)?;
    Ok(())
}

/// Validate a `jsonl` history; returns its number of operations (`InvalidHistory` naming the
/// line otherwise).
#[pyfunction]
pub fn parse_history(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<usize> {
    guard(|| {
        let bytes = history_bytes(data)?;
        let bytes = bytes.as_bytes();
        py.detach(|| parse_jsonl(bytes).map(|h| h.ops.len()))
            .or_raise()
    })
}

/// Check a `jsonl` history; returns the result document as a dict (see `_core.pyi`).
#[pyfunction]
#[pyo3(signature = (data, *, timeout = TimeoutArg(None), max_states = None, linearizations = LinearizationsArg(false), memoize = None, threads = None), text_signature = "(data, *, timeout=None, max_states=None, linearizations=False, memoize=True, threads=0)")]
pub fn check_history<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    timeout: TimeoutArg,
    max_states: Option<&Bound<'py, PyAny>>,
    linearizations: LinearizationsArg,
    memoize: Option<&Bound<'py, PyAny>>,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let memoize = match memoize {
            None => true,
            Some(flag) => match flag.cast::<PyBool>() {
                Ok(flag) => flag.is_true(),
                Err(_) => {
                    return Err(InvalidArgument::new_err(format!(
                        "invalid memoize {}: must be True or False",
                        repr(flag)
                    )))
                }
            },
        };
        let opts = CheckOptions {
            threads: small_int(threads, "threads", 0, 1024)? as usize,
            memoize,
            ..options(timeout.0, max_states_of(max_states)?, linearizations.0)?
        };
        let bytes = history_bytes(data)?;
        let bytes = bytes.as_bytes();
        let result = py
            .detach(|| parse_jsonl(bytes).map(|h| check_with(&h, opts)))
            .or_raise()?;
        as_dict(py, &result)
    })
}

/// The bytes of a history given as `bytes`, `bytearray` or a `memoryview` of bytes
/// (`InvalidArgument` for anything else: a path or text is read by `dnsrace.history`).
fn history_bytes<'py>(data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return Ok(bytes.clone());
    }
    if data.is_instance_of::<PyByteArray>() || data.is_instance_of::<PyMemoryView>() {
        if let Ok(bytes) = data.py().get_type::<PyBytes>().call1((data,)) {
            return Ok(bytes.cast_into::<PyBytes>()?);
        }
    }
    Err(InvalidArgument::new_err(format!(
        "invalid history data of type {}: must be bytes (dnsrace.history.check reads files)",
        type_name(data)
    )))
}

/// `max_states` as given (`None`: the default; `InvalidArgument` unless an int >= 0; the
/// range is checked by `options`).
pub fn max_states_of(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u64>> {
    obj.filter(|o| !o.is_none())
        .map(|o| small_int(Some(o), "max_states", 0, i64::MAX))
        .transpose()
}

/// `as_dict` of `RecordStore.check_history` (`None`: not given; `InvalidArgument` unless a
/// bool).
pub fn as_dict_of(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<bool>> {
    match obj.filter(|o| !o.is_none()) {
        None => Ok(None),
        Some(flag) => match flag.cast::<PyBool>() {
            Ok(flag) => Ok(Some(flag.is_true())),
            Err(_) => Err(InvalidArgument::new_err(format!(
                "invalid as_dict {}: must be True or False",
                repr(flag)
            ))),
        },
    }
}

/// An int argument in `min..=max` (`None`: `min`), `InvalidArgument` otherwise.
fn small_int(obj: Option<&Bound<'_, PyAny>>, what: &str, min: i64, max: i64) -> PyResult<u64> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(min as u64);
    };
    match int_value(obj)? {
        IntArg::Fits(v) if (min..=max).contains(&v) => Ok(v as u64),
        _ => Err(InvalidArgument::new_err(format!(
            "invalid {what} {}: must be an int in {min}..{max}",
            repr(obj)
        ))),
    }
}

/// `RecordStore.check_history`: check a recorded history. The result is the dict
/// `dnsrace.history.check` returns; `as_dict=False` gives the JSON text of earlier releases,
/// for one more release, with a `DeprecationWarning`.
pub fn check_recorded<'py>(
    py: Python<'py>,
    history: impl FnOnce() -> dnsrace_core::Result<History> + Send,
    opts: CheckOptions,
    as_dict_arg: Option<bool>,
) -> PyResult<Bound<'py, PyAny>> {
    if as_dict_arg == Some(false) {
        PyErr::warn(
            py,
            &py.get_type::<PyDeprecationWarning>(),
            c"RecordStore.check_history(as_dict=False) (JSON text) goes in the next release; \
              the result dict, as dnsrace.history.check returns it, is the default",
            1,
        )?;
    }
    let result = py
        .detach(|| history().map(|h| check_with(&h, opts)))
        .or_raise()?;
    if as_dict_arg != Some(false) {
        as_dict(py, &result)
    } else {
        Ok(result.to_json().to_string().into_pyobject(py)?.into_any())
    }
}

/// The result document as a Python dict (through `json`, which every Python has).
fn as_dict<'py>(py: Python<'py>, result: &CheckResult) -> PyResult<Bound<'py, PyAny>> {
    let text = result.to_json().to_string();
    py.import("json")?.call_method1("loads", (text,))
}

/// The checker's options from the Python arguments: `None` takes the default bound, and a
/// bound out of range is `InvalidArgument`.
pub fn options(
    timeout: Option<f64>,
    max_states: Option<u64>,
    linearizations: bool,
) -> PyResult<CheckOptions> {
    Ok(CheckOptions {
        timeout: Some(timeout_arg(timeout)?),
        max_states: max_states_arg(max_states)?,
        linearizations,
        ..CheckOptions::default()
    })
}

/// A checker time bound in seconds (`InvalidArgument` unless finite, > 0 and at most a day).
fn timeout_arg(timeout: Option<f64>) -> PyResult<Duration> {
    let max = MAX_TIMEOUT.as_secs_f64();
    match timeout {
        None => Ok(DEFAULT_TIMEOUT),
        Some(t) if t.is_finite() && t > 0.0 && t <= max => Ok(Duration::from_secs_f64(t)),
        Some(t) => Err(InvalidArgument::new_err(format!(
            "invalid timeout {t}: must be a number of seconds > 0 and <= {max}"
        ))),
    }
}

/// A checker memory bound in states kept (`InvalidArgument` unless 1..=MAX_MAX_STATES).
fn max_states_arg(max_states: Option<u64>) -> PyResult<usize> {
    match max_states {
        None => Ok(DEFAULT_MAX_STATES),
        Some(n) if n >= 1 && n <= MAX_MAX_STATES as u64 => Ok(n as usize),
        Some(n) => Err(InvalidArgument::new_err(format!(
            "invalid max_states {n}: must be an integer 1..{MAX_MAX_STATES}"
        ))),
    }
}

// ------------------------------------------------------------------------------ clients

/// The context variables of `dnsrace.history._context` (`TASK`: the task whose context this
/// is; `TOLD`: `{recorder id: (client, owner task)}`) as bound methods (`TASK.get`, `TASK.set`,
/// `TOLD.get`, `TOLD.set`), `sys.modules`, and asyncio's `_get_running_loop` and
/// `current_task` once asyncio is imported: looked up once, since every recorded call asks.
struct Vars {
    task_get: Py<PyAny>,
    task_set: Py<PyAny>,
    told_get: Py<PyAny>,
    told_set: Py<PyAny>,
    modules: Py<PyDict>,
}
static VARS: PyOnceLock<Vars> = PyOnceLock::new();
static ASYNCIO: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

fn vars(py: Python<'_>) -> PyResult<&Vars> {
    VARS.get_or_try_init(py, || {
        let m = py.import("dnsrace.history._context")?;
        let (task, told) = (m.getattr("TASK")?, m.getattr("TOLD")?);
        let modules = py
            .import("sys")?
            .getattr("modules")?
            .cast_into::<PyDict>()?;
        Ok::<_, PyErr>(Vars {
            task_get: task.getattr("get")?.unbind(),
            task_set: task.getattr("set")?.unbind(),
            told_get: told.getattr("get")?.unbind(),
            told_set: told.getattr("set")?.unbind(),
            modules: modules.unbind(),
        })
    })
}

/// The `id()` of the asyncio task running on this thread, if any (asyncio is not imported
/// for it).
fn current_task(py: Python<'_>) -> PyResult<Option<u64>> {
    let (running_loop, current) = match ASYNCIO.get(py) {
        Some(fns) => fns,
        None => {
            let Some(asyncio) = vars(py)?.modules.bind(py).get_item("asyncio")? else {
                return Ok(None);
            };
            ASYNCIO.get_or_try_init(py, || {
                Ok::<_, PyErr>((
                    asyncio.getattr("_get_running_loop")?.unbind(),
                    asyncio.getattr("current_task")?.unbind(),
                ))
            })?
        }
    };
    let event_loop = running_loop.bind(py).call0()?;
    if event_loop.is_none() {
        return Ok(None);
    }
    let task = current.bind(py).call1((event_loop,))?;
    Ok((!task.is_none()).then(|| task.as_ptr() as u64))
}

/// Who calls (`None`: the thread): on a loop, the running task, remembered in its context for
/// the threads it starts; in such a thread, that task; and the clients told for the store in
/// this task or thread. A task whose id is reused after it ended has ended: two tasks that
/// share an id never overlap, so they may share a client.
fn current_caller(py: Python<'_>) -> PyResult<Option<Caller>> {
    let task = current_task(py)?;
    let vars = vars(py)?;
    let mut caller = Caller::default();
    let told = vars.told_get.bind(py).call0()?;
    if let Ok(told) = told.cast::<PyDict>() {
        for (recorder, value) in told.iter() {
            let (client, owner): (u32, Option<u64>) = value.extract()?;
            if task.is_none() || owner == task {
                caller.told.push((recorder.extract()?, client));
            }
        }
    }
    let mine: Option<u64> = vars.task_get.bind(py).call0()?.extract()?;
    caller.task = match task {
        Some(id) => {
            if mine != Some(id) {
                vars.task_set.bind(py).call1((id,))?;
            }
            Some(id)
        }
        None => mine,
    };
    Ok((caller != Caller::default()).then_some(caller))
}

/// The caller source of the core: asked at the start of each call on a recording store,
/// with the interpreter attached again if the call detached (no store lock is held then). A
/// failure to tell leaves the thread as the client.
fn caller_source() -> Option<Caller> {
    Python::attach(|py| current_caller(py).unwrap_or(None))
}

/// `RecordStore.set_history_context`: this store's client for the calling thread or asyncio
/// task (`None`: automatic), and the virtual clock.
pub fn set_context(
    py: Python<'_>,
    recorder: &Recorder,
    client: Option<u32>,
    time_ns: Option<u64>,
) -> PyResult<()> {
    let vars = vars(py)?;
    let owner = current_task(py)?;
    recorder.set_time(time_ns);
    let old = vars.told_get.bind(py).call0()?;
    let old = old.cast::<PyDict>().ok();
    if let Some(old) = old {
        // Told again what holds already (a simulator tells before every call): no copy.
        let same = match (old.get_item(recorder.id())?, client) {
            (Some(v), Some(c)) => v.extract::<(u32, Option<u64>)>().ok() == Some((c, owner)),
            (None, None) => true,
            _ => false,
        };
        if same {
            return Ok(());
        }
    }
    // A new dict each time: the copies other tasks and threads hold stay as they are.
    let told = PyDict::new(py);
    if let Some(old) = old {
        told.update(old.as_mapping())?;
    }
    match client {
        Some(c) => told.set_item(recorder.id(), (c, owner))?,
        None => {
            if told.contains(recorder.id())? {
                told.del_item(recorder.id())?;
            }
        }
    }
    vars.told_set.bind(py).call1((told,))?;
    Ok(())
}
