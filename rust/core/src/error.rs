//! Errors of the core store. Every public operation validates its input and returns one of
//! these instead of panicking; the binding maps each variant to a typed Python exception.

/// What went wrong, with a message naming the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidName(String),
    #[error("{0}")]
    InvalidAddress(String),
    #[error("{0}")]
    InvalidWeight(String),
    #[error("{0}")]
    InvalidGeneration(String),
    #[error("{0}")]
    InvalidToken(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    UnknownEndpoint(String),
    #[error("{0}")]
    UnknownPlan(String),
    #[error("{0}")]
    LeaseHeld(String),
    #[error("{0}")]
    LeaseLost(String),
    /// A snapshot could not be written or read (I/O, or a truncated, corrupted, foreign or
    /// other-version file).
    #[error("{0}")]
    Snapshot(String),
    /// A history file that cannot be read: the message starts with `line N:`.
    #[error("{0}")]
    InvalidHistory(String),
    /// An argument longer than its documented maximum (refused before anything is allocated).
    #[error("{0}")]
    TooLarge(String),
    /// Memory for a call's working copy could not be allocated (nothing was changed).
    #[error("{0}")]
    OutOfMemory(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// Largest generation or token: fits a signed 64-bit integer, as etcd revisions and Python
/// reference implementations expect.
pub const MAX_GENERATION: u64 = i64::MAX as u64;
pub const MAX_TOKEN: u64 = i64::MAX as u64;

/// Check a plan generation (1..=2^63-1).
pub fn check_generation(generation: u64) -> Result<u64> {
    if generation == 0 || generation > MAX_GENERATION {
        return Err(Error::InvalidGeneration(format!(
            "invalid generation {generation}: must be 1..{MAX_GENERATION}"
        )));
    }
    Ok(generation)
}

/// Check a fencing or lease token (1..=2^63-1).
pub fn check_token(token: u64, what: &str) -> Result<u64> {
    if token == 0 || token > MAX_TOKEN {
        return Err(Error::InvalidToken(format!(
            "invalid {what} {token}: must be 1..{MAX_TOKEN}"
        )));
    }
    Ok(token)
}

/// Check an expected version (0..=2^63-1).
pub fn check_version(version: u64) -> Result<u64> {
    if version > MAX_TOKEN {
        return Err(Error::InvalidToken(format!(
            "invalid expected version {version}: must be an int in 0..{MAX_TOKEN}"
        )));
    }
    Ok(version)
}

/// Check a point in time on the caller's clock.
pub fn check_now(now: f64) -> Result<f64> {
    if !now.is_finite() {
        return Err(Error::InvalidArgument(format!(
            "invalid now {now}: must be a finite number of seconds"
        )));
    }
    Ok(now)
}

/// Check a lease time-to-live.
pub fn check_ttl(ttl: f64) -> Result<f64> {
    if !(ttl.is_finite() && ttl > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "invalid ttl {ttl}: must be a finite number of seconds > 0"
        )));
    }
    Ok(ttl)
}

/// Most items of one sequence argument of a call (endpoints, versions, fences, tokens,
/// generations, set indices, names, target sets, targets of one set): 2^26 = 67,108,864. A
/// longer argument is refused with [`Error::TooLarge`] before anything is sized from it, so a
/// hostile length (a broadcast buffer claiming 10^12 items) costs nothing.
pub const MAX_BATCH: usize = 1 << 26;

/// Refuse a sequence argument of more than [`MAX_BATCH`] items.
pub fn check_batch_len(len: usize, what: &str) -> Result<usize> {
    if len > MAX_BATCH {
        return Err(Error::TooLarge(format!(
            "{what} has {len} items: at most {MAX_BATCH} are accepted in one call"
        )));
    }
    Ok(len)
}

/// A vector with room for `len` items, or [`Error::OutOfMemory`] instead of an abort.
pub fn try_vec<T>(len: usize, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        Error::OutOfMemory(format!(
            "cannot allocate {what} of {len} items ({} bytes)",
            len.saturating_mul(std::mem::size_of::<T>())
        ))
    })?;
    Ok(v)
}

/// Longest accepted lease holder, in characters.
pub const MAX_HOLDER_CHARS: usize = 128;

/// Check a lease holder name.
pub fn check_holder(holder: &str) -> Result<&str> {
    let chars = holder.chars().count();
    if chars == 0 || chars > MAX_HOLDER_CHARS {
        return Err(Error::InvalidArgument(format!(
            "invalid holder {holder:?}: must be 1..{MAX_HOLDER_CHARS} characters"
        )));
    }
    Ok(holder)
}
