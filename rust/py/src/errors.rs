//! The exception classes of `dnsrace.errors`, imported once (`import_exception!`), and the
//! mapping of core errors and Rust panics to them.

use std::panic::{catch_unwind, AssertUnwindSafe};

use dnsrace_core::Error;
use pyo3::exceptions::PyMemoryError;
use pyo3::import_exception;
use pyo3::prelude::*;

import_exception!(dnsrace.errors, InvalidArgument);
import_exception!(dnsrace.errors, InvalidName);
import_exception!(dnsrace.errors, InvalidAddress);
import_exception!(dnsrace.errors, InvalidWeight);
import_exception!(dnsrace.errors, InvalidGeneration);
import_exception!(dnsrace.errors, InvalidToken);
import_exception!(dnsrace.errors, UnknownEndpoint);
import_exception!(dnsrace.errors, UnknownPlan);
import_exception!(dnsrace.errors, DanglingAlias);
import_exception!(dnsrace.errors, LeaseHeld);
import_exception!(dnsrace.errors, LeaseLost);
import_exception!(dnsrace.errors, InternalError);
import_exception!(dnsrace.errors, SnapshotError);
import_exception!(dnsrace.errors, InvalidHistory);
import_exception!(dnsrace.errors, TooLarge);
import_exception!(dnsrace.errors, OutOfMemory);

/// The Python exception of a core error.
pub fn to_py(e: Error) -> PyErr {
    match e {
        Error::InvalidName(m) => InvalidName::new_err(m),
        Error::InvalidAddress(m) => InvalidAddress::new_err(m),
        Error::InvalidWeight(m) => InvalidWeight::new_err(m),
        Error::InvalidGeneration(m) => InvalidGeneration::new_err(m),
        Error::InvalidToken(m) => InvalidToken::new_err(m),
        Error::InvalidArgument(m) => InvalidArgument::new_err(m),
        Error::UnknownEndpoint(m) => UnknownEndpoint::new_err(m),
        Error::UnknownPlan(m) => UnknownPlan::new_err(m),
        Error::LeaseHeld(m) => LeaseHeld::new_err(m),
        Error::LeaseLost(m) => LeaseLost::new_err(m),
        Error::Snapshot(m) => SnapshotError::new_err(m),
        Error::InvalidHistory(m) => InvalidHistory::new_err(m),
        Error::TooLarge(m) => TooLarge::new_err(m),
        Error::OutOfMemory(m) => OutOfMemory::new_err(m),
    }
}

pub trait OrRaise<T> {
    fn or_raise(self) -> PyResult<T>;
}

impl<T> OrRaise<T> for dnsrace_core::Result<T> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// Run `f`, turning a Rust panic into `dnsrace.errors.InternalError` instead of letting it
/// reach Python as a crash. The core validates before it mutates, so a panic leaves no change.
///
/// A `MemoryError` of the interpreter (an output list or array that did not fit) becomes
/// `dnsrace.errors.OutOfMemory`, so every allocation failure of a call has one typed answer.
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Err(e)) => Python::attach(|py| {
            if e.is_instance_of::<PyMemoryError>(py) && !e.is_instance_of::<OutOfMemory>(py) {
                let typed = OutOfMemory::new_err(format!("out of memory: {e}"));
                typed.set_cause(py, Some(e));
                Err(typed)
            } else {
                Err(e)
            }
        }),
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(InternalError::new_err(format!(
                "internal error in dnsrace core: {what}"
            )))
        }
    }
}
