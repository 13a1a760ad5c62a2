//! The batch flip's per-endpoint paths (issue 22: `exact`, fences, outcomes) as
//! ratios to the all-endpoints `if_newer` flip, measured in the core without Python, next to
//! bare loops that bound them: what the same work costs over three contiguous columns
//! (alias, rollback, version) with no store around it, the caller's column read once inside
//! the loop ("fused"), or first checked in a pass of its own and then read in the loop
//! ("checked", what a batch must do so that a bad value anywhere changes nothing).
//!
//! The caller's columns are lent as a numpy array is (read by the store where they lie):
//! versions read from the store just before the call, and fences either made just before
//! ("fresh", as a batch acquire's tokens) or one array kept for every call (as
//! `bench/test_array_bench.py` does), which other work on the machine may have evicted from the
//! shared cache by the next call.
//!
//! Run: `cargo run --release -p dnsrace-bench --bin batch_paths -- [ENDPOINTS] [ROUNDS]`.
//! Each round times every variant once (rotating order), the if_newer call included; printed
//! per variant: the median milliseconds and the median of the per-round ratios to it.

use std::hint::black_box;
use std::time::Instant;

use dnsrace_bench::{endpoints_and_rounds, median, store_with_plans};
use dnsrace_core::{Column, Endpoints, Fence, Leaf, Mode, OutcomeSink};

/// A fenced token: the highest fence the store's endpoints are given before the rounds, so
/// that every fenced flip applies (a lease's holder flipping with its token).
const TOKEN: u64 = 1 << 40;

/// The bare loops: `if_newer` over three columns, plus the caller's column of expected
/// versions (`exact`) or fences (with the highest fence read and written).
#[inline(always)]
fn bare<const KIND: u8>(cols: &mut Columns, caller: &[u64]) -> u64 {
    let n = cols.alias.len();
    let (a, r, v, h) = (
        &mut cols.alias[..n],
        &mut cols.rollback[..n],
        &mut cols.version[..n],
        &mut cols.highest[..n],
    );
    let c = &caller[..n];
    let g = cols.generation;
    let (mut applied, mut bits) = (0u64, 0u64);
    for k in 0..n {
        let x = a[k];
        let apply = match KIND {
            IF_NEWER => (g as i64) > (x as i64),
            EXACT => v[k] == c[k],
            _ => ((g as i64) > (x as i64)) & ((c[k] as i64) >= (h[k] as i64)),
        };
        if KIND != IF_NEWER {
            bits |= c[k];
        }
        r[k] = if apply { x } else { r[k] };
        a[k] = if apply { g } else { x };
        v[k] += apply as u64;
        if KIND == FENCE {
            h[k] = if apply { c[k] } else { h[k] };
        }
        applied += apply as u64;
    }
    black_box(bits);
    applied
}

const IF_NEWER: u8 = 0;
const EXACT: u8 = 1;
const FENCE: u8 = 2;

struct Columns {
    alias: Vec<u64>,
    rollback: Vec<u64>,
    version: Vec<u64>,
    highest: Vec<u64>,
    generation: u64,
}

/// The caller's column checked in a pass of its own (an OR of every value: the top bit).
#[inline(always)]
fn check_pass(values: &[u64]) -> bool {
    values.iter().fold(0, |acc, &v| acc | v) >> 63 == 0
}

/// [`bare`] (after [`check_pass`] when `checked`), compiled for AVX2 where the processor has
/// it, as the store's kernel is.
fn run_bare<const KIND: u8>(cols: &mut Columns, caller: &[u64], checked: bool) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn avx2<const KIND: u8>(cols: &mut Columns, caller: &[u64], checked: bool) -> u64 {
            assert!(!checked || check_pass(caller));
            bare::<KIND>(cols, caller)
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2 (checked just above).
            return unsafe { avx2::<KIND>(cols, caller, checked) };
        }
    }
    assert!(!checked || check_pass(caller));
    bare::<KIND>(cols, caller)
}

/// One timed call per variant and round; `call(variant)` returns the endpoints it applied.
fn rounds(names: &[&str], rounds: usize, mut call: impl FnMut(usize) -> (f64, u64), n: u64) {
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for round in 0..rounds {
        for k in 0..names.len() {
            let which = (k + round) % names.len();
            let (seconds, applied) = call(which);
            assert_eq!(applied, n, "{} applied {applied} of {n}", names[which]);
            times[which].push(seconds);
        }
    }
    for (name, ts) in names.iter().zip(&times) {
        let ratio = median(ts.iter().zip(&times[0]).map(|(t, b)| t / b).collect());
        let ms = median(ts.clone()) * 1e3;
        println!("{name:24} {ms:7.3} ms  x{ratio:.2}");
    }
}

fn main() {
    let (n, round_count) = endpoints_and_rounds(51);
    let store = store_with_plans(n as u32, 2, |g| {
        vec![vec![Leaf::parse(&format!("10.0.0.{g}"), 1).unwrap()]]
    });
    // Every highest fence becomes TOKEN (then each fenced flip with TOKEN applies).
    store
        .flip_many(None, 1, Mode::Lww, None, Fence::All(TOKEN))
        .unwrap();
    let tokens = vec![TOKEN; n];
    let (mut outcomes, mut previous) = (vec![0u8; n], vec![0u64; n]);
    println!("store, {n} endpoints: per-endpoint paths / flip_many(None, g, if_newer)");
    let names = [
        "if_newer",
        "lww",
        "exact (lent versions)",
        "fence each (lent)",
        "fence each (lent, fresh)",
        "fence one",
        "lww + outcomes",
    ];
    rounds(
        &names,
        round_count,
        |which| {
            // Untimed: aliases back to 1 (every timed call applies everywhere), and the
            // versions an `exact` caller would have read just before.
            store
                .flip_many(None, 1, Mode::Lww, None, Fence::None)
                .unwrap();
            let versions = store.versions(None).unwrap();
            // A caller's fences as just made (a batch acquire's tokens), for the "fresh" row.
            let fresh = tokens.clone();
            // SAFETY: the vectors outlive the call and nothing writes them meanwhile.
            let lent = |v: &Vec<u64>| unsafe { Column::lent(v.as_ptr(), v.len()) };
            let t = Instant::now();
            let s = &store;
            let counts = match which {
                0 => s.flip_many(None, 2, Mode::IfNewer, None, Fence::None),
                1 => s.flip_many(None, 2, Mode::Lww, None, Fence::None),
                2 => {
                    let e = Some(lent(&versions));
                    s.flip_endpoints(Endpoints::All, 2, Mode::Exact, e, Fence::None, true, None)
                }
                3 => {
                    let f = Fence::Column(lent(&tokens));
                    s.flip_endpoints(Endpoints::All, 2, Mode::IfNewer, None, f, true, None)
                }
                4 => {
                    let f = Fence::Column(lent(&fresh));
                    s.flip_endpoints(Endpoints::All, 2, Mode::IfNewer, None, f, true, None)
                }
                5 => s.flip_many(None, 2, Mode::IfNewer, None, Fence::All(TOKEN)),
                _ => {
                    let sink = OutcomeSink {
                        outcomes: &mut outcomes,
                        previous: &mut previous,
                    };
                    let f = Fence::None;
                    s.flip_endpoints(Endpoints::All, 2, Mode::Lww, None, f, true, Some(sink))
                }
            };
            (t.elapsed().as_secs_f64(), counts.unwrap().applied)
        },
        n as u64,
    );

    println!("bare loops over three columns, {n} endpoints: / the if_newer loop");
    let mut cols = Columns {
        alias: vec![1; n],
        rollback: vec![0; n],
        version: vec![5; n],
        highest: vec![TOKEN; n],
        generation: 2,
    };
    let variants = [
        ("if_newer", IF_NEWER, false),
        ("exact fused", EXACT, false),
        ("exact checked", EXACT, true),
        ("fence each fused", FENCE, false),
        ("fence each checked", FENCE, true),
    ];
    let names: Vec<&str> = variants.iter().map(|v| v.0).collect();
    rounds(
        &names,
        round_count,
        |which| {
            let (_, kind, checked) = variants[which];
            cols.alias.fill(1);
            let caller = match kind {
                EXACT => cols.version.clone(),
                _ => tokens.clone(),
            };
            let cols = black_box(&mut cols);
            let t = Instant::now();
            let applied = match kind {
                IF_NEWER => run_bare::<IF_NEWER>(cols, &caller, checked),
                EXACT => run_bare::<EXACT>(cols, &caller, checked),
                _ => run_bare::<FENCE>(cols, &caller, checked),
            };
            (t.elapsed().as_secs_f64(), applied)
        },
        n as u64,
    );
}
