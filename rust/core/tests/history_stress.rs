//! Eight threads on a few shared endpoints, mixing single and batch flips in every mode (with
//! and without fences and rollback), reads, leases, plan puts and safe and unsafe clean-ups,
//! recorded by the store: the checker finds the history linearizable. Built with the test-only
//! feature `broken-generation-check` (if_newer skips its compare), the same run is illegal:
//! the checker catches a real bug in the store, not only hand-made histories.
//!
//! `cargo test -p dnsrace-core --features broken-generation-check --test history_stress`

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use dnsrace_core::history::{check_with, CheckOptions, OpKind, Verdict};
use dnsrace_core::{Column, Endpoints::Ids, Fence, Mode, Outcome, Store};

mod common;
use common::one_leaf_plan;

const ENDPOINTS: u32 = 4;
const THREADS: u64 = 8;
const ROUNDS: usize = 250;

/// xorshift64*: a tiny seeded generator per thread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn run_stress() -> Store {
    let store = Arc::new(Store::with_history(1 << 20));
    let names: Vec<String> = (0..ENDPOINTS).map(|i| format!("ep{i}.test")).collect();
    let ids = store.add_endpoints(&names).unwrap();
    for g in 1..=4 {
        store.put_plan(&one_leaf_plan(g, &ids)).unwrap();
    }
    store
        .flip_many(None, 1, Mode::Lww, None, Fence::None)
        .unwrap();
    let next_gen = Arc::new(AtomicU64::new(5));
    let start = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Arc::clone(&store);
            let next_gen = Arc::clone(&next_gen);
            thread::spawn(move || {
                let mut rng =
                    Rng(0x9e37_79b9_7f4a_7c15 ^ (t + 1).wrapping_mul(0x1234_5678_9abc_def1));
                let holder = format!("t{t}");
                let mut tokens = [0u64; ENDPOINTS as usize];
                let now = || start.elapsed().as_secs_f64();
                for _ in 0..ROUNDS {
                    let e = rng.below(ENDPOINTS as u64) as u32;
                    let top = next_gen.load(Relaxed);
                    let g = 1 + rng.below(top - 1);
                    let mode = [Mode::Lww, Mode::IfNewer, Mode::IfNewer, Mode::Exact]
                        [rng.below(4) as usize];
                    let rollback = rng.below(8) != 0;
                    let fence = (rng.below(3) == 0 && tokens[e as usize] != 0)
                        .then_some(tokens[e as usize]);
                    match rng.below(12) {
                        0..=2 => {
                            let expected = (mode == Mode::Exact)
                                .then(|| store.versions(Some(&[e])).unwrap()[0]);
                            let _ = store.flip_with(e, g, mode, expected, fence, rollback);
                        }
                        3..=4 => {
                            let batch: Vec<u32> = (0..1 + rng.below(4))
                                .map(|_| rng.below(ENDPOINTS as u64) as u32)
                                .collect();
                            let expected = (mode == Mode::Exact)
                                .then(|| store.versions(Some(&batch)).unwrap());
                            let fences: Vec<u64> =
                                batch.iter().map(|&i| tokens[i as usize].max(1)).collect();
                            let fence = match rng.below(3) {
                                0 => Fence::None,
                                1 => Fence::All(fences[0]),
                                _ => Fence::Each(&fences),
                            };
                            let _ = store.flip_endpoints(
                                Ids(&batch),
                                g,
                                mode,
                                expected.as_deref().map(Column::from),
                                fence,
                                rollback,
                                None,
                            );
                        }
                        5 => {
                            let _ = store.aliases(None);
                        }
                        6 => {
                            let _ = store.state(e);
                        }
                        7 => {
                            let ttl = 0.0005 + rng.below(20) as f64 * 0.0001;
                            if let Ok(t) = store.acquire_lease(e, &holder, ttl, now()) {
                                tokens[e as usize] = t;
                            }
                        }
                        8 => {
                            let tok = tokens[e as usize].max(1);
                            if rng.below(2) == 0 {
                                let _ = store.renew_lease(e, &holder, tok, 0.001, now());
                            } else {
                                let _ = store.release_leases(&[e], &holder, &[tok]);
                            }
                        }
                        9 => {
                            let batch: Vec<u32> = (0..ENDPOINTS).collect();
                            if let Ok(got) = store.acquire_leases(&batch, &holder, 0.001, now()) {
                                for (i, t) in got.into_iter().enumerate() {
                                    if let Some(t) = t {
                                        tokens[i] = t;
                                    }
                                }
                            }
                        }
                        10 => {
                            let g = next_gen.fetch_add(1, Relaxed);
                            let some: Vec<u32> =
                                (0..ENDPOINTS).filter(|_| rng.below(4) != 0).collect();
                            store.put_plan(&one_leaf_plan(g, &some)).unwrap();
                        }
                        _ => {
                            let old = 1 + rng.below(top - 1);
                            let _ = store.delete_plans(&[old], rng.below(4) != 0);
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    Arc::try_unwrap(store).ok().unwrap()
}

#[test]
fn eight_threads_record_a_history_the_checker_judges() {
    let store = run_stress();
    let (history, dropped) = store.history().unwrap();
    assert_eq!(dropped, 0);
    // The run exercised what it claims to: every flip outcome and each operation kind.
    let mut outcomes = [0usize; 5];
    let mut kinds = std::collections::BTreeSet::new();
    for op in &history.ops {
        kinds.insert(op.kind.name());
        if let OpKind::Flip(f) = op.kind {
            outcomes[f.outcome as usize] += 1;
        }
    }
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    assert!(outcomes[Outcome::Applied as usize] > 0 && outcomes[Outcome::Stale as usize] > 0);
    let r = check_with(
        &history,
        CheckOptions {
            timeout: Some(Duration::from_secs(120)),
            ..CheckOptions::default()
        },
    );
    eprintln!(
        "{} operations, outcomes {outcomes:?}, verdict {:?} in {:?} s, {} domain violations",
        history.ops.len(),
        r.verdict,
        r.elapsed_s,
        r.domain_violations.len()
    );
    if cfg!(feature = "broken-generation-check") {
        assert_eq!(r.verdict, Verdict::Illegal);
        let ill = r.illegal.expect("an illegal endpoint");
        assert!(!ill.window.is_empty());
        assert!(r
            .domain_violations
            .iter()
            .any(|v| v.check == "if_newer_lowered"));
    } else {
        assert_eq!(r.verdict, Verdict::Ok, "{:?}", r.illegal);
        assert!(r.domain_violations.is_empty(), "{:?}", r.domain_violations);
    }
}
