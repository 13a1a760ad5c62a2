//! The interpreter detached around a call's core work only where that work pays for it.

use pyo3::marker::Ungil;
use pyo3::Python;

/// Items of work (endpoints, names, values) from which a call detaches from the interpreter
/// while the core works. Detaching and attaching again costs about a thousand instructions
/// (more than a batch of a few endpoints itself, the simulator's every call), and work below
/// this takes a few microseconds at most: less than other threads would gain, and far less
/// than the interpreter's own switch interval (5 ms) that Python code holds it for.
pub const DETACH_FROM: usize = 1024;

/// Calls that detached (testing builds: `dnsrace._core._testing.detached_calls`).
#[cfg(feature = "testing")]
pub static DETACHED_CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// `f` with the interpreter detached when `work` is at least [`DETACH_FROM`], else attached.
/// Either way `f` touches no Python object (the bounds of `Python::detach`), and the core
/// never waits for the interpreter while it holds a lock of its own, so a call that keeps
/// the interpreter while it waits for a store lock cannot deadlock.
#[inline]
pub fn detach_for<T, F>(py: Python<'_>, work: usize, f: F) -> T
where
    F: Ungil + FnOnce() -> T,
    T: Ungil,
{
    if work >= DETACH_FROM {
        #[cfg(feature = "testing")]
        DETACHED_CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        py.detach(f)
    } else {
        f()
    }
}
