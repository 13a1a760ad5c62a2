//! Arrays out: batch results as `array.array` or numpy arrays, written in place.
//!
//! Sentinels: a generation of 0 means "none" (generations start at 1).

use pyo3::buffer::{Element, PyBuffer};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyList;

use crate::args::Output;

static ARRAY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
/// `numpy.empty`, looked up once (an import and an attribute look-up per call are a good
/// part of a small read's cost).
static NUMPY_EMPTY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Item types of output arrays, with their `array` type code and numpy dtype.
pub trait Item: Element + Copy + Send + 'static {
    const TYPECODE: &'static str;
    const DTYPE: &'static str;
    /// A one-item zero `array.array` of this type, made once: every output array is a
    /// repeat of it.
    fn zero() -> &'static PyOnceLock<Py<PyAny>>;
    /// The numpy dtype object, made once (a dtype given by name is parsed at every call).
    fn numpy_dtype() -> &'static PyOnceLock<Py<PyAny>>;
}

/// The per-type objects made once: the zero array and the numpy dtype.
macro_rules! once_per_item {
    () => {
        fn zero() -> &'static PyOnceLock<Py<PyAny>> {
            static ZERO: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
            &ZERO
        }
        fn numpy_dtype() -> &'static PyOnceLock<Py<PyAny>> {
            static DTYPE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
            &DTYPE
        }
    };
}

impl Item for u8 {
    const TYPECODE: &'static str = "B";
    const DTYPE: &'static str = "uint8";
    once_per_item!();
}

impl Item for u32 {
    const TYPECODE: &'static str = "I";
    const DTYPE: &'static str = "uint32";
    once_per_item!();
}

impl Item for u64 {
    const TYPECODE: &'static str = "Q";
    const DTYPE: &'static str = "uint64";
    once_per_item!();
}

/// A fresh output array of `n` items and its (held) buffer.
pub struct OutArray<'py, T: Item> {
    pub obj: Bound<'py, PyAny>,
    /// None for an empty array (whose buffer pointer need not be aligned).
    buf: Option<PyBuffer<T>>,
}

impl<'py, T: Item> OutArray<'py, T> {
    /// A fresh array of `n` items for a caller that writes every item before the array is
    /// returned: a numpy array is not zeroed first (one pass over the memory less), so its
    /// items hold whatever the allocator left until then and nothing may read them before.
    /// `output` must be `Array` or `Numpy` (`List` is built by the caller from a `Vec`).
    pub fn overwritten(py: Python<'py>, output: Output, n: usize) -> PyResult<Self> {
        let obj = match output {
            Output::Numpy => {
                let empty = NUMPY_EMPTY.get_or_try_init(py, || {
                    py.import("numpy")?.getattr("empty").map(Bound::unbind)
                })?;
                let dtype = T::numpy_dtype().get_or_try_init(py, || {
                    let numpy = py.import("numpy")?;
                    numpy
                        .getattr("dtype")?
                        .call1((T::DTYPE,))
                        .map(Bound::unbind)
                })?;
                empty.bind(py).call1((n, dtype))?
            }
            Output::Array | Output::List => {
                let zero = T::zero().get_or_try_init(py, || {
                    let array = ARRAY.get_or_try_init(py, || {
                        py.import("array")?.getattr("array").map(Bound::unbind)
                    })?;
                    array
                        .bind(py)
                        .call1((T::TYPECODE, (0u8,)))
                        .map(Bound::unbind)
                })?;
                // One zero repeated (a sequence repeat: a new array filled in a single pass;
                // a zeroed bytes object copied in would take two). The one-item array itself
                // is never handed out.
                zero.bind(py).mul(n)?
            }
        };
        let buf = if n == 0 {
            None
        } else {
            let buf = PyBuffer::<T>::get(&obj)?;
            debug_assert!(buf.item_count() == n && buf.is_c_contiguous() && !buf.readonly());
            Some(buf)
        };
        Ok(OutArray { obj, buf })
    }

    /// The items, writable. The array was just created and no Python code has seen it, so
    /// nothing else reads or writes it; the buffer keeps it from being resized.
    pub fn slice(&mut self) -> &mut [T] {
        match &self.buf {
            // SAFETY: a C-contiguous, writable buffer of n items of T, exclusively ours (above).
            Some(buf) => unsafe {
                std::slice::from_raw_parts_mut(buf.buf_ptr().cast::<T>(), buf.item_count())
            },
            None => &mut [],
        }
    }
}

/// `values` in the requested container; `list` maps each value to a Python object.
pub fn vec_out<'py, T: Item + IntoPyObject<'py>>(
    py: Python<'py>,
    output: Output,
    values: Vec<T>,
    list_item: impl Fn(T) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    match output {
        Output::List => {
            let items = values
                .into_iter()
                .map(list_item)
                .collect::<PyResult<Vec<_>>>()?;
            Ok(PyList::new(py, items)?.into_any())
        }
        Output::Array | Output::Numpy => {
            let mut out = OutArray::<T>::overwritten(py, output, values.len())?;
            out.slice().copy_from_slice(&values);
            Ok(out.obj)
        }
    }
}
