//! Glue to the core's snapshots (files, bytes, pickling, copies) and histories (context,
//! export, check).

use std::path::PathBuf;

use dnsrace_core as core;
use dnsrace_core::Error;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use super::RecordStore;
use crate::args::{repr, FormatArg, HistoryCapacity, HistoryClient, TimeNs};
use crate::errors::{guard, InvalidArgument, OrRaise};
use crate::ints::{finish, IntSeq};

const NO_HISTORY: &str = "this store records no history (make it with history=CAPACITY)";

fn recorder(store: &RecordStore) -> PyResult<&core::history::Recorder> {
    store
        .store
        .recorder()
        .ok_or_else(|| InvalidArgument::new_err(NO_HISTORY))
}

pub(super) fn set_history_context(
    store: &RecordStore,
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
        let h = recorder(store)?;
        crate::history::set_context(py, h, client.map(|c| c as u32), time_ns)
    })
}

pub(super) fn history_bytes<'py>(
    store: &RecordStore,
    py: Python<'py>,
    format: FormatArg<'_>,
) -> PyResult<Bound<'py, PyBytes>> {
    guard(|| {
        let format = core::history::Format::parse(format.0).or_raise()?;
        let bytes = py
            .detach(|| -> core::Result<Vec<u8>> {
                let Some((h, _)) = store.store.history() else {
                    return Err(Error::InvalidArgument(NO_HISTORY.into()));
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

pub(super) fn export_history(
    store: &RecordStore,
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    format: FormatArg<'_>,
) -> PyResult<usize> {
    guard(|| {
        let format = core::history::Format::parse(format.0).or_raise()?;
        let path = file_path(path)?;
        py.detach(|| store.store.export_history(&path, format))
            .or_raise()
    })
}

pub(super) fn set_history_endpoints(
    store: &RecordStore,
    endpoints: Option<IntSeq<'_>>,
) -> PyResult<()> {
    guard(|| {
        let h = recorder(store)?;
        let ids = store.ids(endpoints.as_ref())?;
        let ids = finish(ids).or_raise()?;
        h.only_endpoints(ids.as_deref());
        Ok(())
    })
}

pub(super) fn check_history<'py>(
    store: &RecordStore,
    py: Python<'py>,
    opts: core::history::CheckOptions,
    as_dict: Option<bool>,
) -> PyResult<Bound<'py, PyAny>> {
    let history = || {
        store
            .store
            .history()
            .map(|(h, _)| h)
            .ok_or_else(|| Error::InvalidArgument(NO_HISTORY.into()))
    };
    crate::history::check_recorded(py, history, opts, as_dict)
}

pub(super) fn restore_bytes(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<RecordStore> {
    guard(|| {
        let data = data.cast::<PyBytes>().map_err(|_| {
            InvalidArgument::new_err(format!("invalid data {}: must be bytes", repr(data)))
        })?;
        let bytes = data.as_bytes();
        let store = py
            .detach(|| core::Store::from_snapshot_bytes(bytes))
            .or_raise()?;
        Ok(RecordStore { store })
    })
}

/// Pickling: the class's `restore_bytes` and the snapshot's bytes.
pub(super) fn reduce<'py>(slf: &Bound<'py, RecordStore>) -> PyResult<Bound<'py, PyTuple>> {
    let py = slf.py();
    let restore = slf.get_type().getattr("restore_bytes")?;
    let data = slf.get().snapshot_bytes(py)?;
    PyTuple::new(py, [restore, PyTuple::new(py, [data])?.into_any()])
}

/// A copy through the snapshot format (nothing shared with the original).
pub(super) fn copy(store: &RecordStore, py: Python<'_>) -> PyResult<RecordStore> {
    let copied = py.detach(|| core::Store::from_snapshot_bytes(&store.store.snapshot_bytes()));
    Ok(RecordStore {
        store: copied.or_raise()?,
    })
}

pub(super) fn snapshot(
    store: &RecordStore,
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
) -> PyResult<()> {
    guard(|| {
        let path = file_path(path)?;
        py.detach(|| store.store.snapshot(&path)).or_raise()
    })
}

pub(super) fn restore(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    history: HistoryCapacity,
) -> PyResult<RecordStore> {
    guard(|| {
        let path = file_path(path)?;
        let store = py
            .detach(|| core::Store::restore(&path))
            .or_raise()?
            .keep_history(history.0 as usize);
        Ok(RecordStore { store })
    })
}

/// The path of a snapshot or history file: a str or an `os.PathLike`.
fn file_path(path: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
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
