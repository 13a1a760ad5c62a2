//! Leases: single and batch acquire, renew and release. Batch calls answer one token per
//! endpoint, 0 (`None` in a list) where refused or lost: tokens start at 1.

use dnsrace_core as core;
use dnsrace_core::Endpoints;
use pyo3::prelude::*;

use super::RecordStore;
use crate::args::{Endpoint, Holder, LeaseToken, Now, Output, Ttl};
use crate::detach::detach_for;
use crate::errors::{guard, OrRaise};
use crate::ints::{self, IntSeq, Spec, Staged};
use crate::output::{vec_out, OutArray};

/// A token of a batch lease call in a list: 0 (refused, lost) is `None`.
fn token_or_none(py: Python<'_>, t: u64) -> PyResult<Bound<'_, PyAny>> {
    super::reads::generation_or_none(py, t)
}

/// The `n` tokens that `fill` writes (detached for a large batch, every position), in the requested
/// container: an array (numpy or `array.array`) made before the call and written in place,
/// or a list.
fn tokens_out<'py>(
    py: Python<'py>,
    output: Output,
    n: usize,
    fill: impl FnOnce(&mut [u64]) -> core::Result<()> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    if output == Output::List {
        let tokens = detach_for(py, n, || -> core::Result<Vec<u64>> {
            let mut out = core::try_vec(n, "lease tokens")?;
            out.resize(n, 0);
            fill(&mut out)?;
            Ok(out)
        })
        .or_raise()?;
        return vec_out(py, output, tokens, |t| token_or_none(py, t));
    }
    // The core writes every position (0 where refused): the array needs no zeroing first.
    let mut array = OutArray::<u64>::overwritten(py, output, n)?;
    let out = array.slice();
    detach_for(py, n, || fill(out)).or_raise()?;
    Ok(array.obj)
}

pub(super) fn acquire_lease(
    store: &RecordStore,
    endpoint: Endpoint<'_>,
    holder: Holder<'_>,
    ttl: Ttl,
    now: Now,
) -> PyResult<u64> {
    guard(|| {
        let id = store.id(endpoint)?;
        store
            .store
            .acquire_lease(id, holder.0, ttl.0, now.0)
            .or_raise()
    })
}

/// A batch acquire or renew: the ids staged (then what `stage` stages), and `run` given
/// them, finished (detached for a large batch; consecutive ids in a buffer as a range, see
/// [`ints::with_endpoints`]), with the output to fill (see [`tokens_out`]).
fn lease_batch<'py, S: Send>(
    store: &RecordStore,
    py: Python<'py>,
    endpoints: &IntSeq<'py>,
    output: Output,
    stage: impl FnOnce() -> PyResult<S>,
    run: impl FnOnce(&core::Store, Endpoints<'_>, S, &mut [u64]) -> core::Result<()> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let ids = endpoints.stage_endpoints(&store.store)?;
        let staged = stage()?;
        tokens_out(py, output, endpoints.len(), |out| {
            ints::with_endpoints(Some(ids), |ids| run(&store.store, ids, staged, out))
        })
    })
}

/// Tokens given back to a batch call. The core checks their range itself (`InvalidToken`,
/// named as here), so a uint64 buffer is only copied: the binding's check of it would be a
/// second pass over the same values. Other item types still convert here (a negative int64
/// is refused as itself, not as its wrapped uint64).
fn stage_tokens<'a>(tokens: &'a IntSeq<'_>) -> PyResult<Staged<'a, u64>> {
    let spec = match tokens {
        IntSeq::Buffer(_) => Spec {
            hi: u64::MAX as i128,
            ..ints::TOKENS
        },
        _ => ints::TOKENS,
    };
    tokens.stage::<u64>(spec)
}

pub(super) fn acquire_leases<'py>(
    store: &RecordStore,
    py: Python<'py>,
    endpoints: IntSeq<'py>,
    holder: Holder<'_>,
    (ttl, now): (Ttl, Now),
    output: Output,
) -> PyResult<Bound<'py, PyAny>> {
    lease_batch(
        store,
        py,
        &endpoints,
        output,
        || Ok(()),
        |s, ids, (), out| s.acquire_endpoint_leases(ids, holder.0, ttl.0, now.0, out),
    )
}

pub(super) fn renew_leases<'py>(
    store: &RecordStore,
    py: Python<'py>,
    (endpoints, tokens): (IntSeq<'py>, IntSeq<'py>),
    holder: Holder<'_>,
    (ttl, now): (Ttl, Now),
    output: Output,
) -> PyResult<Bound<'py, PyAny>> {
    let n = tokens.len();
    let renew =
        move |s: &core::Store, ids: Endpoints<'_>, tokens: Staged<'_, u64>, out: &mut [u64]| {
            let (holder, ttl, now) = (holder.0, ttl.0, now.0);
            if n != out.len() {
                // The core names the mismatch.
                return s.renew_endpoint_leases(ids, holder, &mut tokens.finish()?, ttl, now);
            }
            // The tokens are copied into the output array and renewed there.
            tokens.finish_into(out)?;
            s.renew_endpoint_leases(ids, holder, out, ttl, now)
        };
    lease_batch(
        store,
        py,
        &endpoints,
        output,
        || stage_tokens(&tokens),
        renew,
    )
}

pub(super) fn renew_lease(
    store: &RecordStore,
    endpoint: Endpoint<'_>,
    holder: Holder<'_>,
    token: LeaseToken,
    (ttl, now): (Ttl, Now),
) -> PyResult<f64> {
    guard(|| {
        let id = store.id(endpoint)?;
        store
            .store
            .renew_lease(id, holder.0, token.0, ttl.0, now.0)
            .or_raise()
    })
}

pub(super) fn release_lease(
    store: &RecordStore,
    endpoint: Endpoint<'_>,
    holder: Holder<'_>,
    token: LeaseToken,
) -> PyResult<()> {
    guard(|| {
        let id = store.id(endpoint)?;
        store.store.release_lease(id, holder.0, token.0).or_raise()
    })
}

pub(super) fn release_leases<'py>(
    store: &RecordStore,
    py: Python<'py>,
    endpoints: IntSeq<'py>,
    holder: Holder<'_>,
    tokens: IntSeq<'py>,
) -> PyResult<usize> {
    guard(|| {
        let ids = endpoints.stage_endpoints(&store.store)?;
        let tokens = stage_tokens(&tokens)?;
        detach_for(py, endpoints.len(), || {
            ints::with_endpoints(Some(ids), |ids| {
                let tokens = tokens.finish()?;
                store.store.release_endpoint_leases(ids, holder.0, &tokens)
            })
        })
        .or_raise()
    })
}
