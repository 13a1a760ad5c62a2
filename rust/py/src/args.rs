//! Scalar arguments as `FromPyObject` newtypes: each conversion raises the error class of the
//! contract (`_core.pyi`) and names the offending value.

use dnsrace_core::{
    check_batch_len, try_vec, EndpointKey, EndpointRef, Error, Leaf, Mode, MAX_BATCH, MAX_TOKEN,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple};

use crate::errors::{to_py, OrRaise};

pub fn repr(obj: &Bound<'_, PyAny>) -> String {
    obj.repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "<unrepresentable>".into())
}

pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

static UNORDERED: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

/// Refuse a set or a mapping (or a view of one) where items are taken in order: the order of
/// a set is arbitrary, so ids read from it would line up with nothing (`InvalidArgument`).
pub fn refuse_unordered(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<()> {
    let py = obj.py();
    let unordered = if obj.is_instance_of::<PySet>()
        || obj.is_instance_of::<PyFrozenSet>()
        || obj.is_instance_of::<PyDict>()
    {
        true
    } else {
        let (set, mapping) = UNORDERED.get_or_try_init(py, || -> PyResult<_> {
            let abc = py.import("collections.abc")?;
            Ok((
                abc.getattr("Set")?.unbind(),
                abc.getattr("Mapping")?.unbind(),
            ))
        })?;
        obj.is_instance(set.bind(py))? || obj.is_instance(mapping.bind(py))?
    };
    if unordered {
        return Err(to_py(Error::InvalidArgument(format!(
            "invalid {what}: expected an ordered sequence (list, tuple, range, array), got {}",
            type_name(obj)
        ))));
    }
    Ok(())
}

/// Collect the items of an iterable, at most [`MAX_BATCH`] (`TooLarge` past it, without
/// reading further: an endless generator stops there). An exception the iterable raises
/// propagates unchanged; an object that is not iterable gives `not_iterable`.
pub fn collect_items<'py>(
    obj: &Bound<'py, PyAny>,
    what: &str,
    not_iterable: impl Fn() -> Error,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if let Ok(list) = obj.cast::<PyList>() {
        check_batch_len(list.len(), what).or_raise()?;
        let mut out = try_vec(list.len(), what).or_raise()?;
        out.extend(list.iter());
        return Ok(out);
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        check_batch_len(tuple.len(), what).or_raise()?;
        let mut out = try_vec(tuple.len(), what).or_raise()?;
        out.extend(tuple.iter());
        return Ok(out);
    }
    // A sized iterable (a numpy array, a dict view) is refused from its length, before any
    // item is read: iterating 2**26 items first would cost gigabytes of item objects.
    match obj.len() {
        Ok(n) => {
            check_batch_len(n, what).or_raise()?;
        }
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyTypeError>(obj.py()) => {}
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(obj.py()) => {
            return Err(to_py(Error::TooLarge(format!(
                "{what} has more items than fit a machine word"
            ))));
        }
        Err(e) => return Err(e),
    }
    let iter = match obj.try_iter() {
        Ok(iter) => iter,
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyTypeError>(obj.py()) => {
            return Err(to_py(not_iterable()))
        }
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for item in iter {
        if out.len() == MAX_BATCH {
            check_batch_len(MAX_BATCH + 1, what).or_raise()?;
        }
        out.try_reserve(1)
            .map_err(|_| to_py(Error::OutOfMemory(format!("cannot allocate {what}"))))?;
        out.push(item?);
    }
    Ok(out)
}

/// What an int argument holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntArg {
    /// An int that fits i64.
    Fits(i64),
    /// An int out of the i64 range.
    Big,
    /// Not an int (bool included).
    NotInt,
}

impl IntArg {
    pub fn is_int(self) -> bool {
        self != IntArg::NotInt
    }
}

/// Classify an int argument (bool excluded). `Err` only when the object's own `__index__`
/// raised something other than `TypeError` (its exception propagates unchanged).
pub fn int_value(obj: &Bound<'_, PyAny>) -> PyResult<IntArg> {
    if obj.is_instance_of::<PyBool>() {
        return Ok(IntArg::NotInt);
    }
    if obj.is_instance_of::<PyInt>() {
        return Ok(obj.extract::<i64>().map_or(IntArg::Big, IntArg::Fits));
    }
    match index(obj)? {
        Some(int) => Ok(int.extract::<i64>().map_or(IntArg::Big, IntArg::Fits)),
        None => Ok(IntArg::NotInt),
    }
}

/// `operator.index(obj)` for an object that is not an int but has `__index__` (numpy integer
/// scalars): `None` when it has none, is a bool (numpy's too), or its `__index__` raises
/// `TypeError`; another exception of its `__index__` propagates unchanged.
fn index<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = obj.py();
    // SAFETY: `obj` is a valid object; PyIndex_Check only reads its type's slots.
    if unsafe { pyo3::ffi::PyIndex_Check(obj.as_ptr()) } == 0
        || matches!(type_name(obj).as_str(), "bool" | "bool_")
    {
        return Ok(None);
    }
    // SAFETY: PyNumber_Index returns a new reference or NULL with an exception set.
    let result =
        unsafe { Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyNumber_Index(obj.as_ptr())) };
    match result {
        Ok(int) => Ok(Some(int)),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyTypeError>(py) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether a scalar-or-sequence argument (`fence`) is one int: an int, or an object with
/// `__index__` and no `__len__` (a numpy integer scalar, not an array).
pub fn is_scalar_int(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    if obj.is_instance_of::<PyInt>() {
        return Ok(true);
    }
    // SAFETY: as in `index`.
    let has_index = unsafe { pyo3::ffi::PyIndex_Check(obj.as_ptr()) } != 0;
    Ok(has_index && !obj.get_type().hasattr("__len__")?)
}

/// An int in `min..=2^63-1`, or the error `kind` with a message naming the value.
fn ranged_int(
    obj: &Bound<'_, PyAny>,
    min: i64,
    what: &str,
    kind: fn(String) -> Error,
) -> PyResult<u64> {
    match int_value(obj)? {
        IntArg::Fits(v) if v >= min => Ok(v as u64),
        _ => Err(to_py(kind(format!(
            "invalid {what} {}: must be an int in {min}..{}",
            repr(obj),
            MAX_TOKEN
        )))),
    }
}

macro_rules! ranged_args {
    ($($(#[$doc:meta])* $name:ident, $min:expr, $what:expr, $kind:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name(pub u64);

        impl<'a, 'py> FromPyObject<'a, 'py> for $name {
            type Error = PyErr;

            fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
                ranged_int(&obj, $min, $what, $kind).map($name)
            }
        }
    )*};
}

ranged_args! {
    /// A plan generation, 1..=2^63-1 (`InvalidGeneration`).
    Generation, 1, "generation", Error::InvalidGeneration;
    /// A fencing token, 1..=2^63-1 (`InvalidToken`).
    FenceToken, 1, "fence", Error::InvalidToken;
    /// A lease token, 1..=2^63-1 (`InvalidToken`).
    LeaseToken, 1, "token", Error::InvalidToken;
    /// An expected version, 0..=2^63-1 (`InvalidToken`).
    Version, 0, "expected version", Error::InvalidToken;
    /// The capacity of a store's history ring, 0..=2^63-1 (`InvalidArgument`).
    HistoryCapacity, 0, "history", Error::InvalidArgument;
    /// A history client id (`InvalidArgument`; at most 2^32-1, checked by the method).
    HistoryClient, 0, "client", Error::InvalidArgument;
    /// A virtual time in nanoseconds, 0..=2^63-1 (`InvalidArgument`).
    TimeNs, 0, "time_ns", Error::InvalidArgument;
}

/// A number of seconds (int, float or int-like, not bool); finiteness is the core's check.
/// An `__index__` that raises something other than `TypeError` propagates unchanged.
fn seconds(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    let bad = || {
        Err(to_py(Error::InvalidArgument(format!(
            "invalid {what} {}: must be a finite number of seconds",
            repr(obj)
        ))))
    };
    if obj.is_instance_of::<PyBool>() {
        return bad();
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(f.value());
    }
    if obj.is_instance_of::<PyInt>() {
        return obj.extract::<f64>().or_else(|_| bad());
    }
    match index(obj)? {
        Some(int) => int.extract::<f64>().or_else(|_| bad()),
        None => bad(),
    }
}

/// Arguments that are one value read by `read(obj, label)`: a newtype each, so that a
/// signature says which check applies.
macro_rules! newtype_args {
    ($($(#[$doc:meta])* $name:ident($ty:ty) = $read:ident($label:literal);)*) => {$(
        $(#[$doc])*
        pub struct $name(pub $ty);

        impl<'a, 'py> FromPyObject<'a, 'py> for $name {
            type Error = PyErr;

            fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
                $read(&obj, $label).map($name)
            }
        }
    )*};
}

newtype_args! {
    /// A lease time-to-live in seconds (`InvalidArgument`).
    Ttl(f64) = seconds("ttl");
    /// A point in time on the caller's clock (`InvalidArgument`).
    Now(f64) = seconds("now");
    /// The `linearizations` flag of `check_history`.
    LinearizationsArg(bool) = flag("linearizations");
    /// The `safe` flag of `delete_plans`.
    SafeArg(bool) = flag("safe");
    /// The `rollback` flag of `flip` and `flip_many`.
    RollbackArg(bool) = flag("rollback");
}

/// The text of a str argument borrowed from it, or `err` (also for lone surrogates).
fn text<'a>(obj: Borrowed<'a, '_, PyAny>, err: impl Fn() -> Error) -> PyResult<&'a str> {
    if !obj.is_instance_of::<PyString>() {
        return Err(to_py(err()));
    }
    obj.extract::<&'a str>().map_err(|_| to_py(err()))
}

/// A lease holder: a str (its length is the core's check; `InvalidArgument`).
pub struct Holder<'a>(pub &'a str);

impl<'a, 'py> FromPyObject<'a, 'py> for Holder<'a> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let err =
            || Error::InvalidArgument(format!("invalid holder {}: must be a str", repr(&obj)));
        text(obj, err).map(Holder)
    }
}

/// A DNS name given where only a name is accepted (`InvalidArgument` for a non-str).
pub struct Name<'a>(pub &'a str);

impl<'a, 'py> FromPyObject<'a, 'py> for Name<'a> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let err = || Error::InvalidArgument(format!("invalid name {}: must be a str", repr(&obj)));
        text(obj, err).map(Name)
    }
}

/// One endpoint: a name or an id (`UnknownEndpoint` for a negative id, `InvalidArgument` for
/// anything but a str or an int).
pub struct Endpoint<'a>(pub EndpointRef<'a>);

impl<'a, 'py> FromPyObject<'a, 'py> for Endpoint<'a> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyString>() {
            let err = || Error::InvalidName(format!("invalid DNS name {}", repr(&obj)));
            return text(obj, err).map(|t| Endpoint(EndpointRef::Name(t)));
        }
        endpoint_id(&obj).map(Endpoint)
    }
}

/// An endpoint given as an int id.
fn endpoint_id(obj: &Bound<'_, PyAny>) -> PyResult<EndpointRef<'static>> {
    int_id(obj, i64::MAX).map(EndpointRef::Id)
}

/// An int endpoint id in `0..=max` (`UnknownEndpoint` outside it, `InvalidArgument` for
/// anything but an int).
fn int_id(obj: &Bound<'_, PyAny>, max: i64) -> PyResult<u64> {
    match int_value(obj)? {
        IntArg::Fits(v) if (0..=max).contains(&v) => Ok(v as u64),
        IntArg::Fits(_) | IntArg::Big => Err(to_py(Error::UnknownEndpoint(format!(
            "unknown endpoint id {}",
            repr(obj)
        )))),
        IntArg::NotInt => Err(to_py(Error::InvalidArgument(format!(
            "invalid endpoint {}: must be a str name or an int id",
            repr(obj)
        )))),
    }
}

/// The text of an endpoint name `s` (the item `obj`; `InvalidName` for lone surrogates).
fn name_text<'a>(s: &'a Bound<'_, PyString>, obj: &Bound<'_, PyAny>) -> PyResult<&'a str> {
    s.to_str().map_err(|_| {
        to_py(Error::InvalidName(format!(
            "invalid DNS name {}",
            repr(obj)
        )))
    })
}

/// An endpoint item of a batch (a name borrowed from the item, or an id).
pub fn endpoint_item<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<EndpointRef<'a>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return name_text(s, obj).map(EndpointRef::Name);
    }
    endpoint_id(obj)
}

/// How a plan names an endpoint (ids must fit 32 bits; the store checks they are registered).
pub fn plan_key(obj: &Bound<'_, PyAny>) -> PyResult<EndpointKey> {
    if let Ok(s) = obj.cast::<PyString>() {
        return name_text(s, obj).map(|text| EndpointKey::Name(text.into()));
    }
    int_id(obj, u32::MAX as i64).map(|v| EndpointKey::Id(v as u32))
}

/// A flip mode given as a string; anything else raises `InvalidArgument`.
pub struct ModeArg(pub Mode);

impl<'a, 'py> FromPyObject<'a, 'py> for ModeArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let text = text(obj, one_of(&obj, "mode", &["lww", "if_newer", "exact"]))?;
        Mode::parse(text).map(ModeArg).or_raise()
    }
}

/// The error of an argument `what` that is not one of the strings `choices`.
fn one_of<'o>(
    obj: &'o Borrowed<'_, '_, PyAny>,
    what: &'o str,
    choices: &'o [&str],
) -> impl Fn() -> Error + 'o {
    move || {
        let (last, rest) = choices.split_last().unwrap_or((&"", &[]));
        let rest: Vec<String> = rest.iter().map(|c| format!("{c:?}")).collect();
        Error::InvalidArgument(format!(
            "invalid {what} {}: expected {} or {last:?}",
            repr(obj),
            rest.join(", ")
        ))
    }
}

/// A keyword flag: a bool, nothing else (`InvalidArgument` naming the flag).
fn flag(obj: &Borrowed<'_, '_, PyAny>, name: &str) -> PyResult<bool> {
    match obj.cast::<PyBool>() {
        Ok(b) => Ok(b.is_true()),
        Err(_) => Err(to_py(Error::InvalidArgument(format!(
            "invalid {name} {}: must be a bool",
            repr(obj)
        )))),
    }
}

/// A history format name (`"jsonl"` or `"jepsen"`; `InvalidArgument` for anything else).
pub struct FormatArg<'a>(pub &'a str);

impl<'a, 'py> FromPyObject<'a, 'py> for FormatArg<'a> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        text(obj, one_of(&obj, "format", &["jsonl", "jepsen"])).map(FormatArg)
    }
}

/// A checker timeout in seconds, `None` for none (`InvalidArgument` unless a number).
pub struct TimeoutArg(pub Option<f64>);

impl<'a, 'py> FromPyObject<'a, 'py> for TimeoutArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_none() {
            return Ok(TimeoutArg(None));
        }
        seconds(&obj, "timeout").map(|t| TimeoutArg(Some(t)))
    }
}

/// The container a batch read returns: `"list"` (Python ints, `None` for none), `"array"`
/// (`array.array`) or `"numpy"` (a numpy array; imports numpy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    List,
    Array,
    Numpy,
}

impl<'a, 'py> FromPyObject<'a, 'py> for Output {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let err = one_of(&obj, "output", &["list", "array", "numpy"]);
        match text(obj, &err)? {
            "list" => Ok(Output::List),
            "array" => Ok(Output::Array),
            "numpy" => Ok(Output::Numpy),
            _ => Err(to_py(err())),
        }
    }
}

/// The `outcomes` option of `flip_many`: `False` (counts only), `True` or `"array"`
/// (`array.array` outcome and previous-alias arrays), `"numpy"` (numpy arrays).
pub struct OutcomesArg(pub Option<Output>);

impl<'a, 'py> FromPyObject<'a, 'py> for OutcomesArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.cast::<PyBool>() {
            return Ok(OutcomesArg(b.is_true().then_some(Output::Array)));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            match s.to_str()? {
                "array" => return Ok(OutcomesArg(Some(Output::Array))),
                "numpy" => return Ok(OutcomesArg(Some(Output::Numpy))),
                _ => {}
            }
        }
        Err(to_py(Error::InvalidArgument(format!(
            "invalid outcomes {}: expected a bool, \"array\" or \"numpy\"",
            repr(&obj)
        ))))
    }
}

/// One (address, weight) target: a tuple or list pair, as in the reference.
pub fn leaf(item: &Bound<'_, PyAny>) -> PyResult<Leaf> {
    let malformed = || {
        Error::InvalidArgument(format!(
            "invalid target {}: expected an (address, weight) pair",
            repr(item)
        ))
    };
    let (addr, weight) = if let Ok(t) = item.cast::<PyTuple>() {
        if t.len() != 2 {
            return Err(to_py(malformed()));
        }
        (
            t.get_item(0).map_err(|_| to_py(malformed()))?,
            t.get_item(1).map_err(|_| to_py(malformed()))?,
        )
    } else if let Ok(l) = item.cast::<PyList>() {
        if l.len() != 2 {
            return Err(to_py(malformed()));
        }
        (
            l.get_item(0).map_err(|_| to_py(malformed()))?,
            l.get_item(1).map_err(|_| to_py(malformed()))?,
        )
    } else {
        // Only tuples and lists: a 2-key dict is not a pair.
        return Err(to_py(malformed()));
    };
    let addr_text = match addr.cast::<PyString>() {
        Ok(s) => s.to_str().map_err(|_| {
            to_py(Error::InvalidAddress(format!(
                "invalid IP address {}",
                repr(&addr)
            )))
        })?,
        Err(_) => {
            return Err(to_py(Error::InvalidAddress(format!(
                "invalid IP address {}: must be a str",
                repr(&addr)
            ))))
        }
    };
    let weight = match int_value(&weight)? {
        IntArg::Fits(w) if (0..=255).contains(&w) => w as u8,
        _ => {
            return Err(to_py(Error::InvalidWeight(format!(
                "invalid weight {} for {addr_text}: must be an int in 0..255",
                repr(&weight)
            ))))
        }
    };
    Leaf::parse(addr_text, weight).or_raise()
}
