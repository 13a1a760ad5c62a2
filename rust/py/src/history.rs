//! `dnsrace._core.check_history` and `parse_history`: the history reader and the
//! linearizability checker of `dnsrace-core`, with the interpreter detached.

use std::time::Duration;

use dnsrace_core::history::{check_with, parse_jsonl, CheckOptions};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{guard, InvalidArgument, OrRaise};

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

/// Check a `jsonl` history; returns the result as a JSON document (see `_core.pyi`).
#[pyfunction]
#[pyo3(signature = (data, *, timeout = None, linearizations = false, memoize = true, threads = 0))]
pub fn check_history(
    py: Python<'_>,
    data: &Bound<'_, PyBytes>,
    timeout: Option<f64>,
    linearizations: bool,
    memoize: bool,
    threads: usize,
) -> PyResult<String> {
    guard(|| {
        let timeout = timeout_arg(timeout)?;
        let bytes = data.as_bytes();
        let opts = CheckOptions {
            timeout,
            linearizations,
            threads,
            memoize,
        };
        py.detach(|| {
            let history = parse_jsonl(bytes)?;
            Ok(check_with(&history, opts).to_json().to_string())
        })
        .or_raise()
    })
}

/// A checker timeout in seconds (`InvalidArgument` unless finite and > 0).
pub fn timeout_arg(timeout: Option<f64>) -> PyResult<Option<Duration>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_finite() && t > 0.0 && t < 1e9 => Ok(Some(Duration::from_secs_f64(t))),
        Some(t) => Err(InvalidArgument::new_err(format!(
            "invalid timeout {t}: must be a finite number of seconds > 0"
        ))),
    }
}
