//! Per-endpoint 64-bit values a batch call takes (expected versions, fences), as a [`Column`]:
//! a slice, or memory a caller lends for the call that other threads may write meanwhile (a
//! buffer shared with code that runs without any lock of ours, such as numpy).
//!
//! The store reads lent memory only through [`Column::read`]: chunk by chunk, each value read
//! exactly once into the store's own chunk, which is then checked and used. So no value is
//! used other than the one checked, whatever a writer does, and the batch needs no private copy
//! of the whole column. The reads are made by the processor's own copy instruction on x86-64
//! (outside Rust's memory model, so a racing writer is no undefined behaviour for us; it can
//! only make the values mixed) and by relaxed atomic loads elsewhere.

use std::marker::PhantomData;

/// Values that are never valid (the top bit set): every valid value is at most `2^63 - 1`.
pub(crate) const TOP_BIT: u64 = 1 << 63;

/// One value per position of a batch, read by the store chunk by chunk.
#[derive(Clone, Copy)]
pub struct Column<'a> {
    ptr: *const u64,
    len: usize,
    /// Memory another thread may write during the call (read through [`copy_lent`]).
    lent: bool,
    _borrow: PhantomData<&'a [u64]>,
}

// SAFETY: a column only reads its memory, which outlives it ('a); lent memory is read with
// reads that tolerate concurrent writers (see the module notes).
unsafe impl Send for Column<'_> {}
unsafe impl Sync for Column<'_> {}

impl<'a> From<&'a [u64]> for Column<'a> {
    fn from(values: &'a [u64]) -> Self {
        Column {
            ptr: values.as_ptr(),
            len: values.len(),
            lent: false,
            _borrow: PhantomData,
        }
    }
}

impl std::fmt::Debug for Column<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Column")
            .field("len", &self.len)
            .field("lent", &self.lent)
            .finish()
    }
}

impl<'a> Column<'a> {
    /// `len` values at `ptr` that other threads may write while the store reads them.
    ///
    /// # Safety
    /// `ptr` must be readable for `len` `u64`s, 8-byte aligned, and stay allocated and in
    /// place for `'a` (for a Python buffer: while it is held). Concurrent writes are allowed.
    pub unsafe fn lent(ptr: *const u64, len: usize) -> Self {
        Column {
            ptr,
            len,
            lent: true,
            _borrow: PhantomData,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copy the values of positions `pos..pos + out.len()` into `out`, each read once.
    /// Panics if that range is outside the column.
    #[inline]
    pub(crate) fn read(&self, pos: usize, out: &mut [u64]) {
        assert!(
            pos <= self.len && out.len() <= self.len - pos,
            "column range"
        );
        // SAFETY: in bounds (asserted); readable for 'a (constructors).
        unsafe {
            let src = self.ptr.add(pos);
            if self.lent {
                copy_lent(src, out);
            } else {
                out.copy_from_slice(std::slice::from_raw_parts(src, out.len()));
            }
        }
    }

    /// The value at `pos`, read once.
    #[inline]
    pub(crate) fn get(&self, pos: usize) -> u64 {
        let mut one = [0u64];
        self.read(pos, &mut one);
        one[0]
    }

    /// The first value with the top bit set (a value no batch column accepts), reading
    /// every value once, chunk by chunk; `None` if there is none.
    pub(crate) fn first_invalid(&self) -> Option<u64> {
        #[cfg(target_arch = "x86_64")]
        if self.lent && self.len >= 4 && std::arch::is_x86_feature_detected!("avx2") {
            let whole = self.len & !3;
            // SAFETY: `whole` readable values (constructor), at least 4; AVX2 checked.
            let clean = unsafe { !top_bit_set_avx2(self.ptr, whole / 4) };
            let tail = &mut [0u64; 4][..self.len - whole];
            self.read(whole, tail);
            if clean && below_top_bit(tail) {
                return None;
            }
            // Invalid (or made so by a writer meanwhile): find the value to name.
        }
        with_scratch::<u64, READ_CHUNK, _>(self.len, |chunk| {
            let mut pos = 0;
            while pos < self.len {
                let size = chunk.len().min(self.len - pos);
                let part = &mut chunk[..size];
                self.read(pos, part);
                if !below_top_bit(part) {
                    return part.iter().copied().find(|v| v & TOP_BIT != 0);
                }
                pos += part.len();
            }
            None
        })
    }

    /// The whole column as a private vector, each value read once (unchecked).
    pub(crate) fn read_all(&self) -> Vec<u64> {
        let mut out = vec![0u64; self.len];
        self.read(0, &mut out);
        out
    }
}

/// Values read per step of [`Column::first_invalid`] (8 KiB: stays in the first-level cache).
const READ_CHUNK: usize = 1024;

/// Items of the scratch chunk of a read of at most this many items (see [`with_scratch`]).
const SMALL_READ: usize = 16;

/// `f` given a zeroed scratch chunk for reading `n` items: `BIG` items, or only
/// [`SMALL_READ`] when `n` fits them. Zeroing a whole 8 KiB chunk costs far more than a
/// tiny batch's own work (a one-id call of the simulator's), so small reads get a small one.
#[inline(always)]
fn with_scratch<T: Copy + Default, const BIG: usize, R>(
    n: usize,
    f: impl FnOnce(&mut [T]) -> R,
) -> R {
    if n <= SMALL_READ {
        f(&mut [T::default(); SMALL_READ])
    } else {
        f(&mut [T::default(); BIG])
    }
}

/// Whether every value has the top bit clear: an OR of all of them (plain bitwise lanes).
#[inline]
pub(crate) fn below_top_bit(values: &[u64]) -> bool {
    values.iter().fold(0, |acc, &v| acc | v) & TOP_BIT == 0
}

/// Replace every value with the top bit set by `invalid_as`. A batch checks its columns before
/// its first change; a value that is invalid when read again later was written meanwhile by
/// another thread, and becomes a value that refuses the flip (the refused-lease fence 0, an
/// expected version no record has) instead of entering the batch.
#[inline]
pub(crate) fn sanitize(values: &mut [u64], invalid_as: u64) {
    if !below_top_bit(values) {
        for v in values.iter_mut().filter(|v| **v & TOP_BIT != 0) {
            *v = invalid_as;
        }
    }
}

/// Copy `out.len()` values from `src`, memory other threads may write meanwhile.
///
/// # Safety
/// `src` must be readable for `out.len()` `u64`s (and 8-byte aligned off x86-64).
#[inline]
unsafe fn copy_lent(src: *const u64, out: &mut [u64]) {
    #[cfg(target_arch = "x86_64")]
    {
        // `rep movsb` (fast for whole chunks on processors with ERMS/FSRM): the reads happen
        // in the processor, not as Rust reads of shared memory. Writes `out` only.
        std::arch::asm!(
            "rep movsb",
            inout("rcx") out.len() * 8 => _,
            inout("rsi") src => _,
            inout("rdi") out.as_mut_ptr() => _,
            options(nostack, preserves_flags)
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        use std::sync::atomic::{AtomicU64, Ordering};
        for (k, v) in out.iter_mut().enumerate() {
            *v = (*src.add(k).cast::<AtomicU64>()).load(Ordering::Relaxed);
        }
    }
}

/// `first` when the `n` ids at `ptr`, memory other threads may write meanwhile, are `first,
/// first + 1, ...` up to at most `u32::MAX` (`None` if not, or if `n` is 0).
///
/// # Safety
/// As for [`lent_ids_are_range`].
pub unsafe fn lent_id_range(ptr: *const u32, n: usize) -> Option<u32> {
    let mut first = [0u32];
    if n == 0 {
        return None;
    }
    copy_lent_u32(ptr, &mut first);
    let first = first[0];
    let fits = first as u64 + n as u64 <= 1 << 32;
    (fits && lent_ids_are_range(ptr, n, first)).then_some(first)
}

/// Whether the `n` ids at `ptr`, memory other threads may write meanwhile, are `first,
/// first + 1, ...` (wrapping past `u32::MAX`): each id read once and compared (with AVX2 where
/// the processor has it, 8 ids per step read straight from the caller's memory; else chunk by
/// chunk through a private copy).
///
/// # Safety
/// `ptr` must be readable for `n` `u32`s (and 4-byte aligned off x86-64).
pub unsafe fn lent_ids_are_range(ptr: *const u32, n: usize, first: u32) -> bool {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if n >= 8 && std::arch::is_x86_feature_detected!("avx2") {
        done = n & !7;
        if ids_differ_avx2(ptr, done / 8, first) {
            return false;
        }
    }
    with_scratch::<u32, { 2 * READ_CHUNK }, _>(n - done, |chunk| {
        while done < n {
            let size = chunk.len().min(n - done);
            let part = &mut chunk[..size];
            copy_lent_u32(ptr.add(done), part);
            let want = first.wrapping_add(done as u32);
            let mut diff = 0;
            for (k, &id) in part.iter().enumerate() {
                diff |= id ^ want.wrapping_add(k as u32);
            }
            if diff != 0 {
                return false;
            }
            done += part.len();
        }
        true
    })
}

/// Whether any of the `blocks * 8` ids at `ptr` differs from `first, first + 1, ...`.
///
/// # Safety
/// `ptr` readable for `blocks * 8` `u32`s, `blocks > 0`, and the processor has AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn ids_differ_avx2(ptr: *const u32, blocks: usize, first: u32) -> bool {
    use std::arch::x86_64::*;
    let want = _mm256_add_epi32(
        _mm256_set1_epi32(first as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    );
    blocks_differ_avx2!("vpaddd", ptr, blocks, want, _mm256_set1_epi32(8))
}

/// The body of [`ids_differ_avx2`] and [`ids_differ_u64_avx2`]: whether any 32-byte block
/// of the `$blocks` at `$ptr` differs from `$want`, which grows by `$step` per block (added
/// by the lane-wide add `$add`). The loads are the processor's, not Rust reads of memory a
/// writer may change (see the module notes): an OR of each block XOR the wanted ids.
#[cfg(target_arch = "x86_64")]
macro_rules! blocks_differ_avx2 {
    ($add:literal, $ptr:expr, $blocks:expr, $want:expr, $step:expr) => {{
        let mut diff = _mm256_setzero_si256();
        std::arch::asm!(
            "2:",
            "vmovdqu {x}, ymmword ptr [{p}]",
            "vpxor {x}, {x}, {w}",
            "vpor {d}, {d}, {x}",
            concat!($add, " {w}, {w}, {step}"),
            "add {p}, 32",
            "dec {n}",
            "jnz 2b",
            p = inout(reg) $ptr => _,
            n = inout(reg) $blocks => _,
            w = inout(ymm_reg) $want => _,
            d = inout(ymm_reg) diff,
            step = in(ymm_reg) $step,
            x = out(ymm_reg) _,
            options(nostack, readonly)
        );
        _mm256_testz_si256(diff, diff) == 0
    }};
}
#[cfg(target_arch = "x86_64")]
use blocks_differ_avx2;

/// [`lent_id_range`] for ids held as 64-bit integers (numpy's default `int64`, or `uint64`):
/// every item must be below `2^32` (a negative one, seen as `u64`, is not).
///
/// # Safety
/// `ptr` must be readable for `n` `u64`s (and 8-byte aligned off x86-64).
pub unsafe fn lent_id_range_u64(ptr: *const u64, n: usize) -> Option<u32> {
    if n == 0 {
        return None;
    }
    let mut first = [0u64];
    copy_lent(ptr, &mut first);
    let first = first[0];
    if first.checked_add(n as u64)? > 1 << 32 {
        return None;
    }
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if n >= 4 && std::arch::is_x86_feature_detected!("avx2") {
        done = n & !3;
        if ids_differ_u64_avx2(ptr, done / 4, first) {
            return None;
        }
    }
    let consecutive = with_scratch::<u64, READ_CHUNK, _>(n - done, |chunk| {
        while done < n {
            let size = chunk.len().min(n - done);
            let part = &mut chunk[..size];
            copy_lent(ptr.add(done), part);
            let want = first + done as u64;
            let mut diff = 0;
            for (k, &id) in part.iter().enumerate() {
                diff |= id ^ (want + k as u64);
            }
            if diff != 0 {
                return false;
            }
            done += part.len();
        }
        true
    });
    consecutive.then_some(first as u32)
}

/// Whether any of the `blocks * 4` 64-bit ids at `ptr` differs from `first, first + 1, ...`.
///
/// # Safety
/// `ptr` readable for `blocks * 4` `u64`s, `blocks > 0`, and the processor has AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn ids_differ_u64_avx2(ptr: *const u64, blocks: usize, first: u64) -> bool {
    use std::arch::x86_64::*;
    let want = _mm256_add_epi64(
        _mm256_set1_epi64x(first as i64),
        _mm256_setr_epi64x(0, 1, 2, 3),
    );
    blocks_differ_avx2!("vpaddq", ptr, blocks, want, _mm256_set1_epi64x(4))
}

/// Whether any of the `blocks * 4` values at `ptr` has its top bit set: an OR of them all,
/// read where they are (as in `ids_differ_avx2`), 8 per step.
///
/// # Safety
/// `ptr` readable for `blocks * 4` `u64`s, `blocks > 0`, and the processor has AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn top_bit_set_avx2(ptr: *const u64, blocks: usize) -> bool {
    use std::arch::x86_64::*;
    let (mut a, mut b) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    let pairs = blocks / 2;
    if pairs > 0 {
        std::arch::asm!(
            "2:",
            "vpor {a}, {a}, ymmword ptr [{p}]",
            "vpor {b}, {b}, ymmword ptr [{p} + 32]",
            "add {p}, 64",
            "dec {n}",
            "jnz 2b",
            p = inout(reg) ptr => _,
            n = inout(reg) pairs => _,
            a = inout(ymm_reg) a,
            b = inout(ymm_reg) b,
            options(nostack, readonly)
        );
    }
    if blocks % 2 == 1 {
        std::arch::asm!(
            "vpor {a}, {a}, ymmword ptr [{p}]",
            p = in(reg) ptr.add(pairs * 8),
            a = inout(ymm_reg) a,
            options(nostack, readonly, preserves_flags)
        );
    }
    _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_or_si256(a, b))) != 0
}

/// [`copy_lent`] for `u32`s.
///
/// # Safety
/// `src` must be readable for `out.len()` `u32`s (and 4-byte aligned off x86-64).
#[inline]
unsafe fn copy_lent_u32(src: *const u32, out: &mut [u32]) {
    #[cfg(target_arch = "x86_64")]
    std::arch::asm!(
        "rep movsb",
        inout("rcx") out.len() * 4 => _,
        inout("rsi") src => _,
        inout("rdi") out.as_mut_ptr() => _,
        options(nostack, preserves_flags)
    );
    #[cfg(not(target_arch = "x86_64"))]
    {
        use std::sync::atomic::{AtomicU32, Ordering};
        for (k, v) in out.iter_mut().enumerate() {
            *v = (*src.add(k).cast::<AtomicU32>()).load(Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lent_and_slice_columns_read_the_same() {
        let values: Vec<u64> = (0..3000).map(|v| v * 7).collect();
        let slice = Column::from(&values[..]);
        // SAFETY: `values` outlives the column and is not written.
        let lent = unsafe { Column::lent(values.as_ptr(), values.len()) };
        for column in [slice, lent] {
            let mut out = vec![0u64; 1500];
            column.read(1000, &mut out);
            assert_eq!(out, values[1000..2500]);
            assert_eq!(column.get(2999), 2999 * 7);
            assert_eq!(column.first_invalid(), None);
            assert_eq!(column.read_all(), values);
        }
    }

    #[test]
    fn lent_columns_find_invalid_values_anywhere() {
        for n in [1usize, 3, 4, 5, 8, 9, 1000, 3001] {
            let mut values = vec![9u64; n];
            // SAFETY: `values` outlives the column and is not written while it is read.
            let lent = |v: &[u64]| unsafe { Column::lent(v.as_ptr(), v.len()) };
            assert_eq!(lent(&values).first_invalid(), None, "{n}");
            for bad in [0, n / 2, n - 1] {
                values[bad] = u64::MAX - bad as u64;
                assert_eq!(lent(&values).first_invalid(), Some(u64::MAX - bad as u64));
                values[bad] = 9;
            }
        }
    }

    #[test]
    fn invalid_values_are_found_and_replaced() {
        let mut values = vec![5u64; 2500];
        values[2100] = 1 << 63;
        values[2200] = u64::MAX;
        let column = Column::from(&values[..]);
        assert_eq!(column.first_invalid(), Some(1 << 63));
        let mut clean = column.read_all();
        sanitize(&mut clean, 0);
        assert_eq!((clean[2100], clean[2200], clean[2099]), (0, 0, 5));
    }

    #[test]
    fn lent_ids_ranges_are_found() {
        for n in [0usize, 1, 7, 8, 9, 1000, 5000] {
            for first in [0u32, 5, u32::MAX - 3] {
                let mut ids: Vec<u32> = (0..n as u32).map(|k| first.wrapping_add(k)).collect();
                // SAFETY: `ids` outlives the calls and is not written meanwhile.
                let range = |ids: &[u32]| unsafe { lent_ids_are_range(ids.as_ptr(), n, first) };
                assert!(range(&ids), "{n} {first}");
                // SAFETY: as above.
                let found = unsafe { lent_id_range(ids.as_ptr(), n) };
                let fits = first as u64 + n as u64 <= 1 << 32;
                assert_eq!(found, (n > 0 && fits).then_some(first), "{n} {first}");
                let wide: Vec<u64> = (0..n as u64).map(|k| first as u64 + k).collect();
                // SAFETY: as above.
                let found = unsafe { lent_id_range_u64(wide.as_ptr(), n) };
                assert_eq!(found, (n > 0 && fits).then_some(first), "{n} {first}");
                for bad in [0, n / 2, n.saturating_sub(1)] {
                    if bad < n {
                        let mut wide = wide.clone();
                        wide[bad] |= 1 << 40;
                        // SAFETY: as above.
                        assert_eq!(unsafe { lent_id_range_u64(wide.as_ptr(), n) }, None);
                    }
                }
                for bad in [0, n / 2, n.saturating_sub(1)] {
                    if bad < n {
                        ids[bad] ^= 1 << 20;
                        assert!(!range(&ids), "{n} {first} {bad}");
                        ids[bad] ^= 1 << 20;
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "column range")]
    fn reads_outside_panic() {
        let values = [1u64; 4];
        Column::from(&values[..]).read(2, &mut [0u64; 3]);
    }
}
