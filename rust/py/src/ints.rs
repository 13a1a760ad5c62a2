//! Sequences of integers (endpoint ids, expected versions, fences, tokens, set indices,
//! generations) from Python: any buffer of signed or unsigned integers (`array.array`,
//! `memoryview`, `bytes`, numpy arrays of 8 to 64 bits), a `range`, or a list, tuple or other
//! iterable of ints.
//!
//! A buffer is read without creating Python objects, with the interpreter detached: its items
//! are first **copied** into memory the store owns, chunk by chunk (4096 items), each chunk
//! validated and converted from that copy while it is in cache. Another thread writing the buffer meanwhile may make
//! the copy mix old and new values, but it cannot crash the process, and no value is used other
//! than the one validated. (An exporter such as `array.array` refuses to resize while the
//! buffer is held, so the memory stays valid.)

use dnsrace_core::{check_batch_len, try_vec, Column, EndpointRef, Endpoints, Error, Store};
use pyo3::prelude::*;
use pyo3::types::{PyRange, PyRangeMethods, PyString};

use crate::args::{
    collect_items, endpoint_item, int_value, refuse_unordered, repr, type_name, IntArg,
};
pub use crate::buffers::Spec;
use crate::buffers::{bounds, check_bounds, IntBuffer, Item, Out};
use crate::errors::{to_py, OrRaise};

pub const MAX_I63: i128 = i64::MAX as i128;

/// Endpoint ids as plain ints: a negative or too large id is unknown; a non-int item is
/// invalid. (Whether an id is registered is the store's check.)
pub const IDS: Spec = Spec {
    what: "endpoint id",
    lo: 0,
    hi: u32::MAX as i128,
    range_err: unknown_id,
    type_err: Error::InvalidArgument,
    none_is_zero: false,
};

fn unknown_id(message: String) -> Error {
    Error::UnknownEndpoint(message.replacen("invalid endpoint id", "unknown endpoint id", 1))
}

pub const VERSIONS: Spec = Spec {
    what: "expected version",
    lo: 0,
    hi: MAX_I63,
    range_err: Error::InvalidToken,
    type_err: Error::InvalidToken,
    none_is_zero: false,
};

/// Per-endpoint fences and lease tokens of batch calls: 0 (or `None` in a list) marks an entry
/// whose lease `acquire_leases` refused; it is fenced, not renewed, not released.
pub const FENCES: Spec = Spec {
    what: "fence",
    lo: 0,
    hi: MAX_I63,
    range_err: Error::InvalidToken,
    type_err: Error::InvalidToken,
    none_is_zero: true,
};

pub const TOKENS: Spec = Spec {
    what: "token",
    ..FENCES
};

pub const GENERATIONS: Spec = Spec {
    what: "generation",
    lo: 1,
    hi: MAX_I63,
    range_err: Error::InvalidGeneration,
    type_err: Error::InvalidGeneration,
    none_is_zero: false,
};

/// Set indices of `Plan.from_shared` for `sets` target sets.
pub fn set_indices(sets: usize) -> Spec {
    Spec {
        what: "set index",
        lo: 0,
        hi: sets as i128 - 1,
        range_err: Error::InvalidArgument,
        type_err: Error::InvalidArgument,
        none_is_zero: false,
    }
}

/// A sequence-of-ints argument, classified without converting its items.
pub enum IntSeq<'py> {
    Buffer(IntBuffer),
    Range { start: i128, step: i128, len: usize },
    Items(Vec<Bound<'py, PyAny>>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for IntSeq<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        IntSeq::new(&obj)
    }
}

impl<'py> IntSeq<'py> {
    /// Classify a sequence argument. Its length is checked against `MAX_BATCH` first (a
    /// buffer's or range's length is known without reading it), so nothing is sized from an
    /// oversized argument. Sets and mappings are refused (their order is arbitrary); an
    /// exception raised by an iterable propagates unchanged.
    fn new(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        Self::classify(obj, true)
    }

    /// [`IntSeq::new`], with `ordered=false` for arguments whose order means nothing
    /// (generations to delete): a set is then accepted.
    pub fn classify(obj: &Bound<'py, PyAny>, ordered: bool) -> PyResult<Self> {
        const WHAT: &str = "sequence of ints";
        let not_seq = || {
            Error::InvalidArgument(format!(
                "expected a sequence of ints, a buffer or a range, got {}",
                type_name(obj)
            ))
        };
        if obj.is_instance_of::<PyString>() {
            return Err(to_py(not_seq()));
        }
        if let Ok(range) = obj.cast::<PyRange>() {
            let Ok(len) = range.len() else {
                return Err(to_py(Error::TooLarge(format!(
                    "range {} has more items than fit a machine word",
                    repr(obj)
                ))));
            };
            check_batch_len(len, WHAT).or_raise()?;
            // Bounds beyond isize cannot be ids or tokens anyway: report the first item.
            let (start, step) = match (range.start(), range.step()) {
                (Ok(a), Ok(s)) => (a as i128, s as i128),
                _ => {
                    let first = range.get_item(0).map(|f| repr(&f)).unwrap_or_default();
                    return Err(to_py(Error::InvalidArgument(format!(
                        "range starting at {first} out of range"
                    ))));
                }
            };
            return Ok(IntSeq::Range { start, step, len });
        }
        if !obj.is_instance_of::<pyo3::types::PyList>()
            && !obj.is_instance_of::<pyo3::types::PyTuple>()
        {
            if let Some(buffer) = IntBuffer::get(obj) {
                check_batch_len(buffer.len(), WHAT).or_raise()?;
                return Ok(IntSeq::Buffer(buffer));
            }
            if ordered {
                refuse_unordered(obj, WHAT)?;
            }
        }
        collect_items(obj, WHAT, not_seq).map(IntSeq::Items)
    }

    pub fn len(&self) -> usize {
        match self {
            IntSeq::Buffer(b) => b.len(),
            IntSeq::Range { len, .. } => *len,
            IntSeq::Items(items) => items.len(),
        }
    }

    /// Convert what needs the interpreter now (items); a buffer is left for
    /// [`Staged::finish`], to run detached.
    pub fn stage<T: Out>(&self, spec: Spec) -> PyResult<Staged<'_, T>> {
        match self {
            IntSeq::Buffer(b) => Ok(Staged::Buffer(b, spec)),
            IntSeq::Range { start, step, len } => {
                let last = start + step * (*len as i128 - 1).max(0);
                let (lo, hi) = (*start.min(&last), *start.max(&last));
                if *len > 0 && (lo < spec.lo || hi > spec.hi) {
                    let bad = if lo < spec.lo { lo } else { hi };
                    return Err(to_py(spec.out_of_range(bad)));
                }
                let (start, step) = (*start, *step);
                let mut out = try_vec(*len, spec.what).or_raise()?;
                out.extend((0..*len).map(|i| T::from_i128(start + step * i as i128)));
                Ok(Staged::Done(out))
            }
            IntSeq::Items(items) => {
                let mut out = try_vec(items.len(), spec.what).or_raise()?;
                for item in items {
                    if spec.none_is_zero && item.is_none() {
                        out.push(T::from_u64(0));
                        continue;
                    }
                    out.push(match int_value(item)? {
                        IntArg::Fits(v) if (spec.lo..=spec.hi).contains(&(v as i128)) => {
                            T::from_i128(v as i128)
                        }
                        IntArg::Fits(_) | IntArg::Big => {
                            return Err(to_py(spec.out_of_range(repr(item))))
                        }
                        IntArg::NotInt => {
                            return Err(to_py((spec.type_err)(format!(
                                "invalid {} {}: must be an int",
                                spec.what,
                                repr(item)
                            ))))
                        }
                    });
                }
                Ok(Staged::Done(out))
            }
        }
    }

    /// Endpoint ids: ints as in [`IDS`]; items that include names are looked up in `store`.
    pub fn stage_endpoints(&self, store: &Store) -> PyResult<Staged<'_, u32>> {
        if let IntSeq::Items(items) = self {
            if items.iter().any(|i| i.is_instance_of::<PyString>()) {
                let mut refs: Vec<EndpointRef<'_>> =
                    try_vec(items.len(), "endpoints").or_raise()?;
                for item in items {
                    refs.push(endpoint_item(item)?);
                }
                return store.endpoint_ids(&refs).map(Staged::Done).or_raise();
            }
            // Ints only: a non-int item is an invalid endpoint, as for a single endpoint.
            for item in items {
                if !int_value(item)?.is_int() {
                    return Err(to_py(Error::InvalidArgument(format!(
                        "invalid endpoint {}: must be a str name or an int id",
                        repr(item)
                    ))));
                }
            }
        }
        self.stage(IDS)
    }
}

/// A sequence of ints whose order means nothing: [`IntSeq`], sets accepted.
pub struct Unordered<'py>(pub IntSeq<'py>);

impl<'a, 'py> FromPyObject<'a, 'py> for Unordered<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        IntSeq::classify(&obj, false).map(Unordered)
    }
}

/// Converted values, or a buffer whose conversion runs later (detached).
pub enum Staged<'a, T> {
    Done(Vec<T>),
    Buffer(&'a IntBuffer, Spec),
}

impl Staged<'_, u32> {
    /// [`IntBuffer::id_range`] of a staged buffer of ids (`None` for converted items).
    pub fn id_range(&self) -> Option<(u32, usize)> {
        match self {
            Staged::Buffer(b, _) => b.id_range(),
            Staged::Done(_) => None,
        }
    }
}

/// Per-endpoint 64-bit values for the store: a buffer it reads itself ([`IntBuffer::as_column`]),
/// or values converted (and checked) here.
pub enum Values<'a> {
    Lent(Column<'a>),
    Staged(Staged<'a, u64>),
}

impl<'a> Values<'a> {
    /// Stage `seq` under `spec`: lent where the store can read the buffer as it is.
    pub fn stage(seq: &'a IntSeq<'_>, spec: Spec) -> PyResult<Values<'a>> {
        if let IntSeq::Buffer(b) = seq {
            if let Some(column) = b.as_column() {
                return Ok(Values::Lent(column));
            }
        }
        seq.stage::<u64>(spec).map(Values::Staged)
    }

    /// Converted values where they were staged (call it detached); `None` for a lent column.
    pub fn finish(self) -> dnsrace_core::Result<Result<Column<'a>, Vec<u64>>> {
        match self {
            Values::Lent(column) => Ok(Ok(column)),
            Values::Staged(staged) => staged.finish().map(Err),
        }
    }
}

/// The column of finished [`Values`]: the lent one, or the converted values.
pub fn column_of<'a>(finished: &'a Result<Column<'a>, Vec<u64>>) -> Column<'a> {
    match finished {
        Ok(column) => *column,
        Err(owned) => Column::from(&owned[..]),
    }
}

impl<T: Out> Staged<'_, T> {
    pub fn finish(self) -> dnsrace_core::Result<Vec<T>> {
        match self {
            Staged::Done(v) => Ok(v),
            Staged::Buffer(b, spec) => b.to_vec(&spec),
        }
    }
}

impl Staged<'_, u64> {
    /// [`Staged::finish`] into `out` (the staged length): a contiguous uint64 buffer is copied
    /// straight into it (a caller's private output array, filled in place) and checked there
    /// as [`IntBuffer::to_vec`] checks its copy; anything else goes through a `Vec`.
    pub fn finish_into(self, out: &mut [u64]) -> dnsrace_core::Result<()> {
        match self {
            Staged::Buffer(b, spec)
                if b.item == Ok(Item::U64)
                    && b.len() == out.len()
                    && b.buf.strides().first() == Some(&8) =>
            {
                if !out.is_empty() {
                    // SAFETY: `out.len()` contiguous u64 items (checked above), held and kept
                    // in place while staged; `out` is the caller's own, not this buffer.
                    unsafe {
                        let src = b.buf.buf_ptr() as *const u8;
                        let dst = out.as_mut_ptr().cast::<u8>();
                        std::ptr::copy_nonoverlapping(src, dst, out.len() * 8);
                    }
                }
                check_bounds(bounds(&*out, &spec), &spec)
            }
            other => {
                let values = other.finish()?;
                if values.len() != out.len() {
                    return Err(Error::InvalidArgument(format!(
                        "{} items staged for {} places",
                        values.len(),
                        out.len()
                    )));
                }
                out.copy_from_slice(&values);
                Ok(())
            }
        }
    }
}

/// Run `f` on staged ids as the core's batch endpoints (`None`: all): ids `first, first + 1,
/// ...` in a buffer as that range (found on private chunk copies; no copy of the ids), else
/// the converted ids. Call it detached.
pub fn with_endpoints<R>(
    ids: Option<Staged<'_, u32>>,
    f: impl FnOnce(Endpoints<'_>) -> dnsrace_core::Result<R>,
) -> dnsrace_core::Result<R> {
    if let Some((first, len)) = ids.as_ref().and_then(Staged::id_range) {
        return f(Endpoints::Range { first, len });
    }
    let ids = finish(ids)?;
    f(Endpoints::from(ids.as_deref()))
}

/// Finish an optional staged conversion.
pub fn finish<T: Out>(staged: Option<Staged<'_, T>>) -> dnsrace_core::Result<Option<Vec<T>>> {
    staged.map(Staged::finish).transpose()
}
