//! `dnsrace._core._testing`, built only with the `testing` cargo feature (the dev build of
//! the Makefile enables it): the benchmarks' plain-loop yardstick, a deliberate panic, and
//! the count of calls that detached from the interpreter.

use pyo3::prelude::*;

use crate::errors::guard;

/// The benchmarks' yardstick: a plain single-threaded Rust loop doing the work of an
/// `if_newer` batch flip (does the endpoint have a tree of this generation? is it newer? update
/// alias, rollback and version) over dense arrays: a 56-byte record per endpoint, like the
/// store's, and a plan's per-endpoint tree index. No locks, no shards, no argument conversion:
/// `flip_many`'s ratio to it is the store's own overhead.
#[pyclass(frozen, module = "dnsrace._core._testing", name = "BaselineFlipLoop")]
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
fn panic() -> PyResult<()> {
    guard(|| panic!("deliberate panic for the test suite"))
}

/// How many store and plan calls detached from the interpreter so far (see
/// `rust/py/src/detach.rs`): the tests check which calls do.
#[pyfunction]
fn detached_calls() -> u64 {
    crate::detach::DETACHED_CALLS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Add the `_testing` submodule to `parent` (also importable as `dnsrace._core._testing`).
pub fn register(parent: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = parent.py();
    let m = PyModule::new(py, "_testing")?;
    m.add_class::<BaselineFlipLoop>()?;
    m.add_function(wrap_pyfunction!(panic, &m)?)?;
    m.add_function(wrap_pyfunction!(detached_calls, &m)?)?;
    m.add("DETACH_FROM", crate::detach::DETACH_FROM)?;
    // An attribute, not an `__all__` entry: private, so absent from the stub (stubtest agrees).
    parent.setattr("_testing", &m)?;
    py.import("sys")?
        .getattr("modules")?
        .set_item("dnsrace._core._testing", &m)?;
    Ok(())
}
