//! The checker's bounds: a history whose search cannot finish (20 overlapping flips, then a
//! read that no order explains) ends `unknown` naming the bound it ran past, never growing
//! without limit or aborting.

use std::time::Duration;

use dnsrace_core::history::{
    check_with, CheckOptions, CheckResult, History, Op, OpKind, Verdict, DEFAULT_MAX_STATES,
    DEFAULT_TIMEOUT,
};
use dnsrace_core::{Mode, Outcome};

/// Trees 1..=20, twenty overlapping lww flips (one per client), then a read of a state that
/// no order of them produces (alias 20 over rollback 20).
fn wide_illegal(flips: u64) -> History {
    let mut ops: Vec<Op> = (1..=flips)
        .map(|g| Op {
            client: 0,
            endpoint: 0,
            call: g,
            ret: g,
            kind: OpKind::PutTree { generation: g },
        })
        .collect();
    for g in 1..=flips {
        ops.push(Op {
            client: g as u32,
            endpoint: 0,
            call: 100,
            ret: 200,
            kind: OpKind::Flip {
                generation: g,
                mode: Mode::Lww,
                expected: None,
                fence: None,
                rollback: true,
                outcome: Outcome::Applied,
            },
        });
    }
    ops.push(Op {
        client: 0,
        endpoint: 0,
        call: 300,
        ret: 301,
        kind: OpKind::Read {
            alias: flips,
            rollback: flips,
            version: flips,
        },
    });
    History {
        ops,
        holders: Vec::new(),
        dropped: 0,
    }
}

/// The check of the 20-wide history within these bounds, which must end `unknown`, and the
/// reason it names.
fn unknown_within(timeout: Duration, max_states: usize) -> (CheckResult, String) {
    let r = check_with(
        &wide_illegal(20),
        CheckOptions {
            timeout: Some(timeout),
            max_states,
            ..CheckOptions::default()
        },
    );
    assert_eq!(r.verdict, Verdict::Unknown, "{r:?}");
    let reason = r
        .unknown_reason
        .clone()
        .expect("an unknown verdict names its reason");
    (r, reason)
}

#[test]
fn the_defaults_bound_time_and_states() {
    let opts = CheckOptions::default();
    assert_eq!(opts.timeout, Some(DEFAULT_TIMEOUT));
    assert_eq!(opts.max_states, DEFAULT_MAX_STATES);
}

#[test]
fn a_small_memory_bound_gives_unknown_naming_it() {
    // The time bound is far above what the memory bound needs: without the memory bound the
    // search runs into it instead, and the reason differs.
    let (r, reason) = unknown_within(Duration::from_secs(30), 10_000);
    assert_eq!(r.unknown_endpoints, vec![0]);
    assert!(
        reason.starts_with("memory bound exceeded: more than 10000 states"),
        "{reason}"
    );
    let doc = r.to_json();
    assert_eq!(doc["bounds"]["max_states"], 10_000);
    assert_eq!(doc["unknown_reason"], reason.as_str());
}

#[test]
fn a_small_time_bound_gives_unknown_naming_it() {
    let (_, reason) = unknown_within(Duration::from_millis(50), usize::MAX);
    assert!(
        reason.starts_with("time bound exceeded: 0.05 s"),
        "{reason}"
    );
}

/// Within the bounds the same shape, narrower, is still judged: the bound does not turn an
/// answerable history into `unknown`.
#[test]
fn a_narrow_history_is_still_judged_illegal_within_the_bounds() {
    let r = check_with(&wide_illegal(8), CheckOptions::default());
    assert_eq!(r.verdict, Verdict::Illegal, "{r:?}");
    assert_eq!(r.unknown_reason, None);
}
