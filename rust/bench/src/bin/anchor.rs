//! The physical anchor of the benchmark suite: bare single-threaded Rust loops doing the work
//! of an `if_newer` batch flip over every endpoint (is the plan newer than the alias? then
//! rollback = alias, alias = plan, version + 1), std only, no locks, no validation, no
//! tree look-up (the plan covers every endpoint), against the store's own `flip_many` in the
//! same process, rounds alternating.
//!
//! Layouts: `rows56`, one 56-byte record per endpoint (the store's record before the hot
//! columns: alias, rollback, version, lease token, highest fence, expiry, holder); `columns`,
//! alias, rollback and version as three arrays in one fused pass. Each is compiled twice: for
//! the baseline target and, chosen at run time like the store's kernel, for AVX2.
//!
//! Run: `cargo run --release -p dnsrace-bench --bin anchor -- [ENDPOINTS] [ROUNDS]`; prints
//! one JSON object: per variant, the median seconds per call over the rounds (each round times one
//! call of every variant, in rotating order) and the median per-round ratio to the store.

use std::hint::black_box;
use std::time::Instant;

use dnsrace_core::{Fence, Leaf, Mode};

use dnsrace_bench::{endpoints_and_rounds, median, store_with_plans};

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Row {
    alias: u64,
    rollback: u64,
    version: u64,
    lease_token: u64,
    highest_fence: u64,
    lease_expiry: f64,
    holder: u32,
}

#[inline(always)]
fn rows_loop(rows: &mut [Row], g: u64) -> u64 {
    let mut applied = 0;
    for r in rows.iter_mut() {
        let apply = (g as i64) > (r.alias as i64);
        r.rollback = if apply { r.alias } else { r.rollback };
        r.alias = if apply { g } else { r.alias };
        r.version += apply as u64;
        applied += apply as u64;
    }
    applied
}

#[inline(always)]
fn columns_loop(alias: &mut [u64], rollback: &mut [u64], version: &mut [u64], g: u64) -> u64 {
    let n = alias.len();
    let (rollback, version) = (&mut rollback[..n], &mut version[..n]);
    let mut applied = 0;
    for k in 0..n {
        let a = alias[k];
        let apply = (g as i64) > (a as i64);
        rollback[k] = if apply { a } else { rollback[k] };
        alias[k] = if apply { g } else { a };
        version[k] += apply as u64;
        applied += apply as u64;
    }
    applied
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn rows_loop_avx2(rows: &mut [Row], g: u64) -> u64 {
    rows_loop(rows, g)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn columns_loop_avx2(a: &mut [u64], r: &mut [u64], v: &mut [u64], g: u64) -> u64 {
    columns_loop(a, r, v, g)
}

fn avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn main() {
    let (n, rounds) = endpoints_and_rounds(21);
    // Filled with non-zero values so that every page is touched before the first timing
    // (zeroed allocations are mapped lazily, and a first write would time page faults).
    let row = Row {
        holder: 1,
        ..Row::default()
    };
    let mut rows = vec![row; n];
    let (mut alias, mut rollback, mut version) = (vec![0u64; n], vec![1u64; n], vec![1u64; n]);
    alias.fill(1);
    // One set of one leaf per plan, every endpoint on it.
    let st = store_with_plans(n as u32, 2, |g| {
        vec![vec![Leaf::parse(&format!("10.0.0.{g}"), 1).unwrap()]]
    });
    let names = ["store", "rows56", "rows56_avx2", "columns", "columns_avx2"];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let has_avx2 = avx2();
    // Every call applies everywhere: the loops' plan rises by one per call (the store
    // alternates between its two plans, reset untimed by a last-write-wins flip).
    let mut g = 1u64;
    for round in 0..rounds {
        for k in 0..names.len() {
            g += 1;
            let which = (k + round) % names.len();
            let t = Instant::now();
            let applied = match which {
                0 => {
                    let c = st
                        .flip_many(None, 2, Mode::IfNewer, None, Fence::None)
                        .unwrap();
                    c.applied
                }
                1 => rows_loop(black_box(&mut rows), g),
                2 if has_avx2 => unsafe { rows_loop_avx2(black_box(&mut rows), g) },
                3 => columns_loop(black_box(&mut alias), &mut rollback, &mut version, g),
                4 if has_avx2 => unsafe {
                    columns_loop_avx2(black_box(&mut alias), &mut rollback, &mut version, g)
                },
                _ => continue,
            };
            let s = t.elapsed().as_secs_f64();
            if which == 0 {
                st.flip_many(None, 1, Mode::Lww, None, Fence::None).unwrap();
            }
            assert_eq!(
                applied, n as u64,
                "{} applied {applied} of {n}",
                names[which]
            );
            times[which].push(s);
        }
    }
    let store_times = times[0].clone();
    let mut out = String::from("{");
    out += &format!("\"endpoints\": {n}, \"rounds\": {rounds}, \"avx2\": {has_avx2}");
    for (name, ts) in names.iter().zip(&times) {
        if ts.is_empty() {
            continue;
        }
        let ratio = median(ts.iter().zip(&store_times).map(|(a, b)| b / a).collect());
        let best = ts.iter().copied().fold(f64::INFINITY, f64::min);
        out += &format!(
            ", \"{name}\": {{\"seconds\": {:e}, \"best_seconds\": {best:e}, \
             \"store_over_this\": {ratio:.4}}}",
            median(ts.clone())
        );
    }
    out += "}";
    println!("{out}");
}
