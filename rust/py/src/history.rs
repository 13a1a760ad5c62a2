//! `dnsrace._core.check_history` and `parse_history`, and the checking half of
//! `RecordStore.check_history`: the history reader and the linearizability checker of
//! `dnsrace-core`, with the interpreter detached, under the checker's bounds.

use std::time::Duration;

use dnsrace_core::history::{
    check_with, parse_jsonl, CheckOptions, CheckResult, History, DEFAULT_MAX_STATES,
    DEFAULT_TIMEOUT, MAX_MAX_STATES, MAX_TIMEOUT,
};
use pyo3::exceptions::PyDeprecationWarning;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{guard, InvalidArgument, OrRaise};

/// The checker's functions and its bounds (defined once, in the core) as module constants.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
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
pub fn parse_history(py: Python<'_>, data: &Bound<'_, PyBytes>) -> PyResult<usize> {
    guard(|| {
        let bytes = data.as_bytes();
        py.detach(|| parse_jsonl(bytes).map(|h| h.ops.len()))
            .or_raise()
    })
}

/// Check a `jsonl` history; returns the result document as a dict (see `_core.pyi`).
#[pyfunction]
#[pyo3(signature = (data, *, timeout = None, max_states = None, linearizations = false, memoize = true, threads = 0))]
pub fn check_history<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyBytes>,
    timeout: Option<f64>,
    max_states: Option<u64>,
    linearizations: bool,
    memoize: bool,
    threads: usize,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let opts = CheckOptions {
            threads,
            memoize,
            ..options(timeout, max_states, linearizations)?
        };
        let bytes = data.as_bytes();
        let result = py
            .detach(|| parse_jsonl(bytes).map(|h| check_with(&h, opts)))
            .or_raise()?;
        as_dict(py, &result)
    })
}

/// `RecordStore.check_history`: check a recorded history. Without `as_dict` the result is
/// the JSON text of earlier releases, with a `DeprecationWarning` (the dict, the type
/// `dnsrace.history.check` returns, becomes the default in the next release).
pub fn check_recorded<'py>(
    py: Python<'py>,
    history: impl FnOnce() -> dnsrace_core::Result<History> + Send,
    opts: CheckOptions,
    as_dict_arg: Option<bool>,
) -> PyResult<Bound<'py, PyAny>> {
    if as_dict_arg.is_none() {
        PyErr::warn(
            py,
            &py.get_type::<PyDeprecationWarning>(),
            c"RecordStore.check_history() returns JSON text for one more release; pass \
              as_dict=True for the result dict that dnsrace.history.check returns (the default \
              from the next release), or as_dict=False to keep the text",
            1,
        )?;
    }
    let result = py
        .detach(|| history().map(|h| check_with(&h, opts)))
        .or_raise()?;
    if as_dict_arg == Some(true) {
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
