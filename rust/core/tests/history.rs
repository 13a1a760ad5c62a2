//! Histories: recording, the file formats, and the checker on hand-made legal and illegal
//! histories (each illegal one rejected with its window), the domain checks, and the
//! memoisation that keeps the search tractable.

use std::time::Duration;

use dnsrace_core::history::{
    check, check_with, parse_jsonl, write_jepsen, write_jsonl, CheckOptions, FlipOp, History, Op,
    OpKind, Verdict,
};
use dnsrace_core::{Error, Fence, Mode, Outcome, Store};

mod common;
use common::one_leaf_plan;

fn op(client: u32, call: u64, ret: u64, kind: OpKind) -> Op {
    Op {
        client,
        endpoint: 0,
        call,
        ret,
        kind,
    }
}

fn put(g: u64) -> OpKind {
    OpKind::PutTree { generation: g }
}

fn flip(g: u64, mode: Mode, fence: Option<u64>, outcome: Outcome) -> OpKind {
    OpKind::Flip(FlipOp {
        generation: g,
        mode,
        expected: None,
        fence,
        rollback: true,
        outcome,
    })
}

fn read(alias: u64, rollback: u64, version: u64) -> OpKind {
    OpKind::Read {
        alias,
        rollback,
        version,
    }
}

fn acquire(holder: u32, ttl: f64, now: f64, token: Option<u64>) -> OpKind {
    OpKind::Acquire {
        holder,
        ttl,
        now,
        token,
    }
}

fn history(ops: Vec<Op>) -> History {
    let h = History {
        ops,
        holders: vec!["a".into(), "b".into()],
        dropped: 0,
    };
    // Every hand-made history is also a valid file (holder names listed as first used).
    let back = parse_jsonl(&write_jsonl(&h)).unwrap();
    assert_eq!(back.ops, h.ops);
    assert!(h.holders.starts_with(&back.holders));
    h
}

#[test]
fn a_recorded_history_round_trips_and_is_linearizable() {
    let store = Store::with_history(1000);
    let ids = store.add_endpoints(&["a.test", "b.test"]).unwrap();
    store.put_plan(&one_leaf_plan(1, &ids)).unwrap();
    store.put_plan(&one_leaf_plan(2, &ids)).unwrap();
    store.flip(ids[0], 1, Mode::IfNewer, None, None).unwrap();
    store
        .flip_many(None, 2, Mode::Lww, None, Fence::All(3))
        .unwrap();
    store.flip(ids[1], 1, Mode::IfNewer, None, None).unwrap();
    let token = store.acquire_lease(ids[0], "me", 5.0, 1.0).unwrap();
    assert!(store.acquire_lease(ids[0], "you", 5.0, 2.0).is_err());
    store.renew_lease(ids[0], "me", token, 5.0, 3.0).unwrap();
    store.release_lease(ids[0], "me", token).unwrap();
    store.aliases(None).unwrap();
    store.state(ids[1]).unwrap();
    store.delete_plans(&[1, 2], true).unwrap();
    store.delete_plans(&[1], false).unwrap();
    let (h, dropped) = store.history().unwrap();
    assert_eq!(dropped, 0);
    // put 2x2, flip 1, batch 2, flip 1 (stale), acquire 2, renew 1, release 1, read 2 + 1;
    // safe clean-up looks at four trees (keeps three: a's alias 2 and rollback 1, b's alias
    // 2; deletes b's 1), the unsafe one at the one tree of 1 left.
    assert_eq!(h.ops.len(), 4 + 1 + 2 + 1 + 2 + 1 + 1 + 3 + 4 + 1);
    let deletes: Vec<(u32, bool)> = h
        .ops
        .iter()
        .filter_map(|o| match o.kind {
            OpKind::DeleteTree { deleted, .. } => Some((o.endpoint, deleted)),
            _ => None,
        })
        .collect();
    assert_eq!(
        deletes,
        vec![(0, false), (1, true), (0, false), (1, false), (0, true)]
    );
    assert!(h
        .ops
        .iter()
        .any(|o| o.kind == acquire(1, 5.0, 2.0, None) && o.endpoint == ids[0]));
    assert_eq!(parse_jsonl(&write_jsonl(&h)).unwrap(), h);
    let r = check_with(
        &h,
        CheckOptions {
            linearizations: true,
            ..CheckOptions::default()
        },
    );
    assert_eq!(r.verdict, Verdict::Ok, "{:?}", r);
    assert!(r.domain_violations.is_empty());
    let lin = r.linearizations.unwrap();
    assert_eq!(lin.values().map(Vec::len).sum::<usize>(), h.ops.len());
    // Jepsen: an invoke and a completion per operation.
    let edn = String::from_utf8(write_jepsen(&h)).unwrap();
    assert_eq!(edn.lines().count(), 2 * h.ops.len());
    assert!(edn.contains(":type :fail, :process 0, :f :acquire"));
}

#[test]
fn the_ring_keeps_the_last_operations_and_zero_records_nothing() {
    let store = Store::with_history(3);
    let ids = store.add_endpoints(&["a.test"]).unwrap();
    for _ in 0..5 {
        store.versions(Some(&ids)).unwrap();
    }
    let (h, dropped) = store.history().unwrap();
    assert_eq!((h.ops.len(), dropped), (3, 2));
    let none = Store::with_history(0);
    assert!(none.history().is_none());
    let path = std::env::temp_dir().join("dnsrace-no-history.jsonl");
    assert!(matches!(
        none.export_history(&path, dnsrace_core::history::Format::Jsonl),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn virtual_time_is_strictly_increasing_and_clients_are_explicit() {
    let store = Store::with_history(100);
    let ids = store.add_endpoints(&["a.test"]).unwrap();
    let rec = store.recorder().unwrap();
    rec.set_context(Some(7), Some(1_000));
    store.versions(Some(&ids)).unwrap();
    store.versions(Some(&ids)).unwrap();
    rec.set_context(Some(2), Some(5_000));
    store.versions(Some(&ids)).unwrap();
    let (h, _) = store.history().unwrap();
    let times: Vec<(u32, u64, u64)> = h.ops.iter().map(|o| (o.client, o.call, o.ret)).collect();
    assert_eq!(
        times,
        vec![(7, 1000, 1001), (7, 1002, 1003), (2, 5000, 5001)]
    );
}

#[test]
fn a_read_that_sees_a_flip_before_its_call_is_illegal() {
    let h = history(vec![
        op(0, 0, 1, put(5)),
        op(1, 2, 3, read(5, 0, 1)),
        op(0, 10, 11, flip(5, Mode::Lww, None, Outcome::Applied)),
    ]);
    let r = check(&h);
    assert_eq!(r.verdict, Verdict::Illegal);
    let ill = r.illegal.unwrap();
    assert_eq!((ill.endpoint, ill.window), (0, vec![0, 1]));
    assert!(ill.reason.contains("op 1"), "{}", ill.reason);
    // The same read overlapping the flip is legal.
    let h = history(vec![
        op(0, 0, 1, put(5)),
        op(1, 2, 12, read(5, 0, 1)),
        op(0, 10, 11, flip(5, Mode::Lww, None, Outcome::Applied)),
    ]);
    assert_eq!(check(&h).verdict, Verdict::Ok);
}

#[test]
fn if_newer_flips_that_lower_then_raise_are_illegal() {
    // Flips to 5, then 3 (by another client), then 7, each applied; the flip to 5 returns at
    // `ret`.
    let lower_then_raise = |ret: u64| {
        history(vec![
            op(0, 0, 1, put(3)),
            op(0, 2, 3, put(5)),
            op(0, 4, 5, put(7)),
            op(0, 10, ret, flip(5, Mode::IfNewer, None, Outcome::Applied)),
            op(1, 12, 13, flip(3, Mode::IfNewer, None, Outcome::Applied)),
            op(0, 14, 15, flip(7, Mode::IfNewer, None, Outcome::Applied)),
        ])
    };
    let r = check(&lower_then_raise(11));
    assert_eq!(r.verdict, Verdict::Illegal);
    assert_eq!(r.illegal.unwrap().window, vec![3, 4]);
    let v = &r.domain_violations;
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(
        (v[0].check, v[0].ops.clone()),
        ("if_newer_lowered", vec![3, 4])
    );
    // Concurrent with the first flip, the lower generation could have come first: legal.
    let r = check(&lower_then_raise(13));
    assert_eq!(r.verdict, Verdict::Ok, "{r:?}");
}

#[test]
fn a_fenced_write_accepted_below_the_highest_fence_is_illegal() {
    let h = history(vec![
        op(0, 0, 1, put(2)),
        op(0, 2, 3, acquire(0, 1.0, 0.0, Some(1))),
        op(1, 4, 5, acquire(1, 1.0, 2.0, Some(2))),
        op(0, 6, 7, flip(2, Mode::Lww, Some(1), Outcome::Applied)),
    ]);
    let r = check(&h);
    assert_eq!(r.verdict, Verdict::Illegal);
    assert_eq!(r.illegal.unwrap().window, vec![2, 3]);
    let v = &r.domain_violations;
    assert_eq!(
        (v[0].check, v[0].ops.clone()),
        ("fence_lowered", vec![2, 3])
    );
    // Refused, it is legal.
    let h = history(vec![
        op(0, 0, 1, put(2)),
        op(0, 2, 3, acquire(0, 1.0, 0.0, Some(1))),
        op(1, 4, 5, acquire(1, 1.0, 2.0, Some(2))),
        op(0, 6, 7, flip(2, Mode::Lww, Some(1), Outcome::Fenced)),
    ]);
    assert_eq!(check(&h).verdict, Verdict::Ok);
}

#[test]
fn a_lease_granted_to_two_live_holders_is_illegal() {
    let h = history(vec![
        op(0, 0, 1, acquire(0, 10.0, 0.0, Some(1))),
        op(1, 2, 3, acquire(1, 10.0, 1.0, Some(2))),
    ]);
    let r = check(&h);
    assert_eq!(r.verdict, Verdict::Illegal);
    let ill = r.illegal.unwrap();
    assert_eq!(ill.window, vec![0, 1]);
    assert!(ill.reason.contains("lease \"a\" token 1"), "{}", ill.reason);
    // After the first lease expired, the second grant is legal.
    let h = history(vec![
        op(0, 0, 1, acquire(0, 10.0, 0.0, Some(1))),
        op(1, 2, 3, acquire(1, 10.0, 10.0, Some(2))),
    ]);
    assert_eq!(check(&h).verdict, Verdict::Ok);
}

#[test]
fn reads_that_see_two_concurrent_flips_in_both_orders_are_illegal() {
    let flips = || {
        vec![
            op(0, 0, 1, put(3)),
            op(0, 2, 3, put(5)),
            op(0, 10, 30, flip(3, Mode::Lww, None, Outcome::Applied)),
            op(1, 10, 30, flip(5, Mode::Lww, None, Outcome::Applied)),
        ]
    };
    // One order of the two flips explains both reads.
    let mut ops = flips();
    ops.push(op(2, 11, 12, read(3, 0, 1)));
    ops.push(op(2, 13, 14, read(5, 3, 2)));
    assert_eq!(check(&history(ops)).verdict, Verdict::Ok);
    // 5 then 3 then 5 again: no order of two flips gives it.
    let mut ops = flips();
    ops.push(op(2, 11, 12, read(5, 0, 1)));
    ops.push(op(2, 13, 14, read(3, 5, 2)));
    ops.push(op(2, 15, 16, read(5, 3, 3)));
    let r = check(&history(ops));
    assert_eq!(r.verdict, Verdict::Illegal);
    // The first read is not needed to refute the rest.
    assert_eq!(r.illegal.unwrap().window, vec![2, 3, 5, 6]);
}

#[test]
fn domain_checks_find_a_flip_to_a_missing_tree_and_a_live_tree_deleted() {
    let h = history(vec![
        op(0, 0, 1, put(1)),
        op(0, 2, 3, put(2)),
        op(0, 4, 5, flip(1, Mode::Lww, None, Outcome::Applied)),
        op(0, 6, 7, flip(2, Mode::Lww, None, Outcome::Applied)),
        op(
            1,
            8,
            9,
            OpKind::DeleteTree {
                generation: 1,
                safe: true,
                deleted: true,
            },
        ),
        op(0, 10, 11, flip(9, Mode::Lww, None, Outcome::Applied)),
    ]);
    let r = check(&h);
    assert_eq!(r.verdict, Verdict::Illegal);
    let found: Vec<(&str, Vec<usize>)> = r
        .domain_violations
        .iter()
        .map(|v| (v.check, v.ops.clone()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("safe_delete_live", vec![2, 3, 4]),
            ("flip_to_missing_tree", vec![5]),
        ]
    );
    assert_eq!(r.illegal.unwrap().window, vec![3, 4]);
}

/// Twelve concurrent flips and a read that no order explains: Lowe's cache of explored
/// (linearised set, state) pairs makes this 2^12 configurations instead of 12! orders.
#[test]
fn memoisation_keeps_a_wide_illegal_history_tractable() {
    let mut ops: Vec<Op> = (1..=12).map(|g| op(0, g, g, put(g))).collect();
    for g in 1..=12u64 {
        ops.push(op(
            g as u32,
            100,
            200,
            flip(g, Mode::Lww, None, Outcome::Applied),
        ));
    }
    ops.push(op(20, 300, 301, read(12, 11, 11)));
    let h = history(ops);
    let fast = check_with(
        &h,
        CheckOptions {
            timeout: Some(Duration::from_secs(60)),
            ..CheckOptions::default()
        },
    );
    assert_eq!(fast.verdict, Verdict::Illegal);
    let slow = check_with(
        &h,
        CheckOptions {
            timeout: Some(Duration::from_millis(1500)),
            memoize: false,
            ..CheckOptions::default()
        },
    );
    assert_eq!(slow.verdict, Verdict::Unknown);
    assert_eq!(slow.unknown_endpoints, vec![0]);
}

#[test]
fn bad_files_are_refused_naming_the_line() {
    let good = "{\"client\":0,\"endpoint\":0,\"op\":\"put_tree\",\"call\":1,\"return\":2,\
                \"input\":{\"generation\":1},\"output\":{}}\n";
    assert_eq!(parse_jsonl(good.as_bytes()).unwrap().ops.len(), 1);
    let cases = [
        (format!("{good}{}", &good[..40]), "line 2: truncated"),
        (format!("{good}{}", good.trim_end()), "line 2: truncated"),
        (
            good.replace("\"call\":1", "\"call\":\"1\""),
            "line 1: operation field \"call\"",
        ),
        (
            good.replace("put_tree", "frob"),
            "line 1: unknown op \"frob\"",
        ),
        (
            good.replace("\"return\":2", "\"return\":0"),
            "line 1: return 0 is before call 1",
        ),
        (
            format!(
                "{}{good}",
                good.replace("\"call\":1,\"return\":2", "\"call\":5,\"return\":6")
            ),
            "line 2: non-monotonic times",
        ),
        (
            good.replace("{\"generation\":1}", "{\"generation\":0}"),
            "line 1: input field",
        ),
        (
            good.replace("{}", "{\"x\":1}"),
            "line 1: output: unknown field \"x\"",
        ),
        (format!("{good}\n"), "line 2: empty line"),
    ];
    for (text, want) in cases {
        match parse_jsonl(text.as_bytes()) {
            Err(Error::InvalidHistory(m)) => assert!(m.starts_with(want), "{m:?} !~ {want:?}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    fn kind() -> impl Strategy<Value = OpKind> {
        let g = 1u64..6;
        prop_oneof![
            (
                g.clone(),
                0usize..3,
                proptest::option::of(1u64..4),
                any::<bool>(),
                0usize..5
            )
                .prop_map(|(g, m, fence, rollback, o)| {
                    let mode = [Mode::Lww, Mode::IfNewer, Mode::Exact][m];
                    OpKind::Flip(FlipOp {
                        generation: g,
                        mode,
                        expected: (mode == Mode::Exact).then_some(g % 3),
                        fence,
                        rollback,
                        outcome: Outcome::from_code(o as u8).unwrap(),
                    })
                }),
            (0u64..6, 0u64..6, 0u64..4).prop_map(|(a, r, v)| read(a, r, v)),
            (0u32..2, 0u32..4, proptest::option::of(1u64..4))
                .prop_map(|(h, now, t)| acquire(h, 2.0, now as f64, t)),
            g.clone().prop_map(put),
            (g, any::<bool>(), any::<bool>()).prop_map(|(g, safe, deleted)| {
                OpKind::DeleteTree {
                    generation: g,
                    safe,
                    deleted,
                }
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Any history of valid operations is judged (never a panic), with a window inside it.
        #[test]
        fn any_history_gets_a_verdict(
            ops in proptest::collection::vec((0u32..3, 0u64..4, 0u64..3, kind()), 0..24)
        ) {
            let mut t = 0;
            let ops: Vec<Op> = ops
                .into_iter()
                .map(|(client, gap, len, kind)| {
                    t += gap;
                    op(client, t, t + len, kind)
                })
                .collect();
            let h = History { ops, holders: vec!["a".into(), "b".into()], dropped: 0 };
            let r = check(&h);
            prop_assert!(r.verdict != Verdict::Unknown);
            if let Some(ill) = &r.illegal {
                prop_assert!(!ill.window.is_empty());
                prop_assert!(ill.window.iter().all(|&i| i < h.ops.len()));
            }
        }

        /// Arbitrary bytes are read or refused naming a line, never a panic.
        #[test]
        fn any_bytes_are_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            match parse_jsonl(&bytes) {
                Ok(_) => {}
                Err(Error::InvalidHistory(m)) => prop_assert!(m.starts_with("line "), "{}", m),
                Err(e) => prop_assert!(false, "{e:?}"),
            }
        }
    }
}

#[test]
fn a_flip_without_rollback_in_its_input_records_one() {
    let line = "{\"client\":0,\"endpoint\":0,\"op\":\"flip\",\"call\":1,\"return\":2,\"input\":\
                {\"generation\":1,\"mode\":\"lww\",\"expected_version\":null,\"fence\":null},\
                \"output\":{\"outcome\":\"missing\"}}\n";
    let h = parse_jsonl(line.as_bytes()).unwrap();
    assert!(matches!(
        h.ops[0].kind,
        OpKind::Flip(FlipOp { rollback: true, .. })
    ));
    let read = "{\"client\":0,\"endpoint\":0,\"op\":\"read\",\"call\":1,\"return\":2,\"input\":{},\
                \"output\":{\"alias\":null,\"version\":0}}\n";
    assert!(
        matches!(parse_jsonl(read.as_bytes()), Err(Error::InvalidHistory(m)) if m.contains("missing field \"rollback\""))
    );
}
