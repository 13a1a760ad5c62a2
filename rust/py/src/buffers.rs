//! Integer buffers from Python (`array.array`, `memoryview`, `bytes`, numpy arrays of 8 to 64
//! bits): held while read, copied chunk by chunk into memory the store owns, each chunk checked
//! against a [`Spec`] and converted while it is in cache (see the notes of `ints.rs`).

use std::mem::size_of;

use dnsrace_core::{Column, Error};
use pyo3::buffer::{ElementType, PyUntypedBuffer};
use pyo3::prelude::*;

/// How the values of one argument are checked: the accepted range and the error classes for a
/// value out of range and for an item of the wrong type.
#[derive(Clone, Copy)]
pub struct Spec {
    pub what: &'static str,
    pub lo: i128,
    pub hi: i128,
    pub range_err: fn(String) -> Error,
    pub type_err: fn(String) -> Error,
    /// A `None` item stands for 0 (tokens and fences: the entry a batch acquire refused).
    pub none_is_zero: bool,
}

impl Spec {
    pub(crate) fn out_of_range(&self, value: impl std::fmt::Display) -> Error {
        (self.range_err)(format!(
            "invalid {} {value}: must be an int in {}..{}",
            self.what, self.lo, self.hi
        ))
    }
}

/// Integer item types a buffer may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
}

/// `$call` with the type `$e` standing for the Rust type of buffer items `$item`.
macro_rules! for_item {
    ($item:expr, |$e:ident| $call:expr) => {
        for_item!(@arms $item, $e, $call; I8 i8, U8 u8, I16 i16, U16 u16, I32 i32, U32 u32, I64 i64, U64 u64)
    };
    (@arms $item:expr, $e:ident, $call:expr; $($variant:ident $t:ty),*) => {
        match $item {
            $(Item::$variant => {
                type $e = $t;
                $call
            })*
        }
    };
}

/// The item of `bytes` bytes among the 1-, 2-, 4- and 8-byte ones.
fn by_size(bytes: usize, items: [Item; 4]) -> Result<Item, String> {
    match bytes {
        1 | 2 | 4 | 8 => Ok(items[bytes.trailing_zeros() as usize]),
        _ => Err(format!("a buffer of {bytes}-byte integers")),
    }
}

/// A one-dimensional buffer of integers, held (exported) until dropped.
pub struct IntBuffer {
    pub(crate) buf: PyUntypedBuffer,
    pub(crate) item: Result<Item, String>,
}

impl IntBuffer {
    pub(crate) fn get(obj: &Bound<'_, PyAny>) -> Option<IntBuffer> {
        let buf = PyUntypedBuffer::get(obj).ok()?;
        // The format is read where it is: only an error message copies it (a small batch
        // call's every buffer argument comes through here).
        let format = buf.format().to_bytes();
        let text = || String::from_utf8_lossy(format).into_owned();
        let native = !matches!(format.first(), Some(b'>' | b'!')) || cfg!(target_endian = "big");
        let code = match format.iter().position(|c| !b"@=<>!".contains(c)) {
            Some(start) => &format[start..],
            None => &[][..],
        };
        let item = match (ElementType::from_format(buf.format()), buf.item_size()) {
            _ if buf.dimensions() != 1 => Err(format!(
                "a {}-dimensional buffer (expected one dimension)",
                buf.dimensions()
            )),
            _ if !native => Err(format!("a big-endian buffer (format {:?})", text())),
            // Chars are bytes of text, not integers (as for the reference).
            _ if code == b"c" => Err("a buffer of chars".into()),
            (ElementType::SignedInteger { bytes }, size) if bytes == size => {
                by_size(bytes, [Item::I8, Item::I16, Item::I32, Item::I64])
            }
            (ElementType::UnsignedInteger { bytes }, size) if bytes == size => {
                by_size(bytes, [Item::U8, Item::U16, Item::U32, Item::U64])
            }
            (ElementType::Bool, _) => Err("a buffer of bools".into()),
            (ElementType::Float { .. }, _) => {
                Err(format!("a buffer of floats (format {:?})", text()))
            }
            _ => Err(format!("a buffer of format {:?}", text())),
        };
        Some(IntBuffer { buf, item })
    }

    pub fn len(&self) -> usize {
        self.buf.shape().first().copied().unwrap_or(0)
    }

    /// Where the items are: first item, count, byte stride (`None`: empty, whose pointer may
    /// be null).
    fn raw(&self) -> Option<(*const u8, usize, isize)> {
        let (n, ptr) = (self.len(), self.buf.buf_ptr() as *const u8);
        let stride = self.buf.strides().first().copied().unwrap_or(0);
        (n > 0).then_some((ptr, n, stride))
    }

    /// Copy, validate and convert the items (call it detached: no Python object is touched).
    pub fn to_vec<T: Out>(&self, spec: &Spec) -> dnsrace_core::Result<Vec<T>> {
        let item = self.item.as_ref().map_err(|what| {
            (spec.type_err)(format!("invalid {}s: {what}, expected integers", spec.what))
        })?;
        let Some((ptr, n, stride)) = self.raw() else {
            return Ok(Vec::new());
        };
        // SAFETY: the exporter keeps `n` items at `ptr + i * stride` alive and in place while
        // the buffer is held; `convert` only reads them (see the module notes on writers).
        unsafe { for_item!(*item, |E| convert::<E, T>(ptr, n, stride, spec)) }
    }

    /// The items as a column the store reads itself, value by value, and checks (no copy and
    /// no check here): contiguous, aligned unsigned 64-bit items (numpy `uint64`, `array('Q')`).
    /// `None` for any other buffer, which goes through [`IntBuffer::to_vec`].
    pub fn as_column(&self) -> Option<Column<'_>> {
        let aligned = (self.buf.buf_ptr() as usize).is_multiple_of(std::mem::align_of::<u64>());
        let contiguous = self.buf.strides().first() == Some(&8);
        (self.item == Ok(Item::U64) && aligned && contiguous && self.len() > 0).then(|| {
            // SAFETY: `len` aligned u64 items, kept alive and in place while the buffer is
            // held (for as long as `self` is borrowed); other threads may write them, which
            // `Column` allows.
            unsafe { Column::lent(self.buf.buf_ptr() as *const u64, self.len()) }
        })
    }

    /// `(first, n)` when the `n` items are the ids `first, first + 1, ...` (an `arange`, or a
    /// slice of one): such a batch is passed on as that range, with no copy of the list. Each
    /// item is read once, into a private chunk that is checked (so a writer racing the call
    /// cannot make the range name an id that was not read). Call it detached.
    pub fn id_range(&self) -> Option<(u32, usize)> {
        let item = *self.item.as_ref().ok()?;
        let (ptr, n, stride) = self.raw()?;
        if item == Item::U32 && stride == 4 && (ptr as usize).is_multiple_of(4) {
            // Contiguous uint32 ids (numpy, `array('I')`): compared where they are, each read
            // once by the core (no private chunk copy).
            // SAFETY: `n` aligned u32 items, held in place while the buffer is held.
            let first = unsafe { dnsrace_core::lent_id_range(ptr.cast::<u32>(), n) }?;
            return Some((first, n));
        }
        let wide = matches!(item, Item::I64 | Item::U64);
        if wide && stride == 8 && (ptr as usize).is_multiple_of(8) {
            // Contiguous 64-bit ids (numpy's default int64): likewise.
            // SAFETY: `n` aligned 8-byte items, held in place while the buffer is held.
            let first = unsafe { dnsrace_core::lent_id_range_u64(ptr.cast::<u64>(), n) }?;
            return Some((first, n));
        }
        // SAFETY: as in `to_vec`.
        unsafe { for_item!(item, |E| id_range::<E>(ptr, n, stride)) }
    }
}

/// [`IntBuffer::id_range`] for items of type `E`.
///
/// # Safety
/// As for [`convert`].
unsafe fn id_range<E: Int>(ptr: *const u8, n: usize, stride: isize) -> Option<(u32, usize)> {
    let first = std::ptr::read_unaligned(ptr.cast::<E>()).as_u64();
    // Ids are below 2^32: the whole range must be.
    if first.checked_add(n as u64)? > 1 << 32 {
        return None;
    }
    let consecutive = each_chunk::<E>(ptr, n, stride, |start, chunk| {
        // Low 32 bits against the wanted ids, and no item with bits above them (a negative
        // item sign-extends): an OR of differences, plain lanes.
        let want = (first + start as u64) as u32;
        let (mut low, mut high) = (0u32, 0u64);
        for (k, &e) in chunk.iter().enumerate() {
            low |= (e.as_u64() as u32) ^ want.wrapping_add(k as u32);
            high |= e.as_u64() >> 32;
        }
        low == 0 && high == 0
    });
    consecutive.then_some((first as u32, n))
}

/// Read the `n` items at `ptr` (byte stride `stride`) chunk by chunk into a private buffer,
/// handing each to `f` with the position of its first item while `f` returns true; whether
/// every chunk was handed over.
///
/// # Safety
/// As for [`convert`].
unsafe fn each_chunk<E: Int>(
    ptr: *const u8,
    n: usize,
    stride: isize,
    mut f: impl FnMut(usize, &[E]) -> bool,
) -> bool {
    let contiguous = stride == size_of::<E>() as isize;
    let mut chunk: Vec<E> = Vec::new();
    let mut start = 0;
    while start < n {
        let len = CHUNK.min(n - start);
        let base = ptr.offset(start as isize * stride);
        read_chunk(&mut chunk, base, len, stride, contiguous);
        if !f(start, &chunk) {
            return false;
        }
        start += len;
    }
    true
}

/// Integer item types of buffers: a wrapping cast to u64 (exact once the value is known to
/// be in a range within 0..=2^63-1; a negative value sign-extends, so its top bits are set).
pub trait Int:
    Copy + Ord + Into<i128> + std::fmt::Display + std::ops::BitOr<Output = Self> + Send + 'static
{
    const MIN: Self;
    const MAX: Self;
    const ZERO: Self;
    fn as_u64(self) -> u64;
}

macro_rules! int_items {
    ($($t:ty),*) => {$(
        impl Int for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            const ZERO: Self = 0;
            #[inline(always)]
            fn as_u64(self) -> u64 {
                self as u64
            }
        }
    )*};
}

int_items!(i8, u8, i16, u16, i32, u32, i64, u64);

/// Output item types: `u32` (ids, set indices) and `u64` (versions, tokens, generations).
pub trait Out: Copy + Send + 'static {
    fn from_i128(v: i128) -> Self;
    fn from_u64(v: u64) -> Self;
}

macro_rules! out_items {
    ($($t:ty),*) => {$(
        impl Out for $t {
            #[inline(always)]
            fn from_i128(v: i128) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_u64(v: u64) -> Self {
                v as $t
            }
        }
    )*};
}

out_items!(u32, u64);

/// Items copied and checked per step: a chunk stays in the first-level cache between its copy
/// and its check.
const CHUNK: usize = 4096;

/// Copy `n` items of type `E` at `ptr` (byte stride `stride`), check them against `spec` and
/// convert them. Only the private copy is checked and used, so a writer racing the call
/// cannot slip in a value that was not validated.
///
/// Ranges of the form `0..2^k` (ids, versions, fences, tokens) take one pass: chunk by chunk,
/// the items are copied (a `memcpy` straight into the result where they already have its type
/// and are contiguous, as uint32 ids and uint64 versions and fences) and the chunk, still in
/// cache, is checked by an OR of its items (no bit at or above `k`; a negative item has its
/// top bits set): plain bitwise lanes, where a 64-bit min/max reduction has no packed
/// instruction. A failed check, and every other range, takes [`convert_checked`], which
/// reports the lowest value if below the range, else the highest.
///
/// # Safety
/// `ptr + i * stride` must be readable for `size_of::<E>()` bytes for every `i < n`.
unsafe fn convert<E: Int, T: Out>(
    ptr: *const u8,
    n: usize,
    stride: isize,
    spec: &Spec,
) -> dnsrace_core::Result<Vec<T>> {
    let Some(outside) = outside_bits::<E>(spec) else {
        return convert_checked::<E, T>(ptr, n, stride, spec);
    };
    let contiguous = stride == size_of::<E>() as isize;
    let same = std::any::TypeId::of::<E>() == std::any::TypeId::of::<T>();
    let mut out: Vec<T> = dnsrace_core::try_vec(n, spec.what)?;
    let mut chunk: Vec<E> = Vec::new();
    let mut start = 0;
    while start < n {
        let len = CHUNK.min(n - start);
        let base = ptr.offset(start as isize * stride);
        let or = if contiguous && same {
            // SAFETY: `out` has room for `n` items of `T`, which is `E`.
            let dst = out.as_mut_ptr().add(start).cast::<E>();
            std::ptr::copy_nonoverlapping(base.cast::<E>(), dst, len);
            or_of(std::slice::from_raw_parts(dst, len), outside)
        } else {
            read_chunk(&mut chunk, base, len, stride, contiguous);
            out.extend(chunk.iter().map(|&e| T::from_u64(e.as_u64())));
            or_of(&chunk, outside)
        };
        if or.as_u64() & outside != 0 {
            return convert_checked::<E, T>(ptr, n, stride, spec);
        }
        start += len;
    }
    if contiguous && same {
        out.set_len(n);
    }
    Ok(out)
}

/// The bits no value of `spec`'s range has, where that range is `0..2^k` (`!(2^k - 1)`), or 0
/// where no value of `E` can leave the range (nothing to check); `None` for another range.
fn outside_bits<E: Int>(spec: &Spec) -> Option<u64> {
    if E::MIN.into() >= spec.lo && E::MAX.into() <= spec.hi {
        return Some(0);
    }
    let size = u64::try_from(spec.hi.checked_add(1)?).ok()?;
    (spec.lo == 0 && size.is_power_of_two()).then(|| !(size - 1))
}

/// The OR of `items` (none when nothing is outside the range: no pass at all).
#[inline]
fn or_of<E: Int>(items: &[E], outside: u64) -> E {
    if outside == 0 {
        return E::ZERO;
    }
    items.iter().fold(E::ZERO, |acc, &v| acc | v)
}

/// Read `len` items at `base` (byte stride `stride`) into `chunk`.
///
/// # Safety
/// As for [`convert`], for these `len` items.
unsafe fn read_chunk<E: Int>(
    chunk: &mut Vec<E>,
    base: *const u8,
    len: usize,
    stride: isize,
    contiguous: bool,
) {
    chunk.clear();
    chunk.reserve(len);
    if contiguous {
        std::ptr::copy_nonoverlapping(base, chunk.as_mut_ptr().cast::<u8>(), len * size_of::<E>());
        chunk.set_len(len);
    } else {
        for i in 0..len {
            chunk.push(std::ptr::read_unaligned(
                base.offset(i as isize * stride).cast::<E>(),
            ));
        }
    }
}

/// [`convert`] for any range, and for a batch that failed the one-pass check: chunk by chunk,
/// each copied, then reduced to its lowest and highest (only the side `E` can cross) and
/// converted while it is in cache. The values reported are those of the whole buffer (its
/// lowest, else its highest).
///
/// # Safety
/// As for [`convert`].
unsafe fn convert_checked<E: Int, T: Out>(
    ptr: *const u8,
    n: usize,
    stride: isize,
    spec: &Spec,
) -> dnsrace_core::Result<Vec<T>> {
    let mut out: Vec<T> = dnsrace_core::try_vec(n, spec.what)?;
    let mut all: Option<(E, E)> = None;
    each_chunk::<E>(ptr, n, stride, |_, chunk| {
        if let Some((lo, hi)) = bounds(chunk, spec) {
            all = Some(all.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
        }
        out.extend(chunk.iter().map(|&e| T::from_u64(e.as_u64())));
        true
    });
    check_bounds(all, spec)?;
    Ok(out)
}

/// The lowest and highest of `items`, or `None` where `E` cannot leave `spec`'s range
/// (nothing to check). Only the side `E` can cross is reduced (a plain min or max reduction:
/// packed instructions); the other is given as `E`'s own bound, which is in range.
#[inline]
pub(crate) fn bounds<E: Int>(items: &[E], spec: &Spec) -> Option<(E, E)> {
    let (check_lo, check_hi) = (E::MIN.into() < spec.lo, E::MAX.into() > spec.hi);
    if !check_lo && !check_hi {
        return None;
    }
    let lo = match check_lo {
        true => items.iter().copied().fold(E::MAX, Ord::min),
        false => E::MIN,
    };
    let hi = match check_hi {
        true => items.iter().copied().fold(E::MIN, Ord::max),
        false => E::MAX,
    };
    Some((lo, hi))
}

/// `spec`'s check of a whole buffer's bounds: the lowest value is reported if below the
/// range, else the highest if above.
pub(crate) fn check_bounds<E: Int>(
    bounds: Option<(E, E)>,
    spec: &Spec,
) -> dnsrace_core::Result<()> {
    match bounds {
        Some((lo, _)) if lo.into() < spec.lo => Err(spec.out_of_range(lo)),
        Some((_, hi)) if hi.into() > spec.hi => Err(spec.out_of_range(hi)),
        _ => Ok(()),
    }
}
