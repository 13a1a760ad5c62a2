//! Who recorded what: told and automatic clients never share an id, callers named by a
//! binding (tasks) are clients of their own, and a ring that dropped operations gives a
//! history marked truncated, in memory and in both file formats, that is never judged.

use dnsrace_core::history::{
    check, parse_jsonl, with_caller, write_jepsen, write_jsonl, Caller, Verdict,
};
use dnsrace_core::{Mode, Store};

mod common;
use common::one_leaf_plan;

fn store(history: usize) -> (Store, u32) {
    let store = Store::with_history(history);
    let ids = store.add_endpoints(&["a.test"]).unwrap();
    store.put_plan(&one_leaf_plan(1, &ids)).unwrap();
    (store, ids[0])
}

/// Issue 18 (a): one thread told `client 0`, another numbered automatically, overlapping in
/// time. The automatic one used to be 0 as well, which made the file unreadable.
#[test]
fn told_and_automatic_clients_never_share_an_id() {
    let (store, id) = store(10_000);
    let rec = store.recorder().unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            rec.set_context(Some(0), None);
            for _ in 0..200 {
                store.versions(Some(&[id])).unwrap();
            }
        });
        s.spawn(|| {
            for _ in 0..200 {
                store.flip(id, 1, Mode::Lww, None, None).unwrap();
            }
        });
    });
    let (h, dropped) = store.history().unwrap();
    assert_eq!(dropped, 0);
    let bytes = write_jsonl(&h);
    let back = parse_jsonl(&bytes).expect("the exported file reads back");
    assert_eq!(back.ops, h.ops);
    let mut clients: Vec<u32> = h.ops.iter().map(|o| o.client).collect();
    clients.sort_unstable();
    clients.dedup();
    // The setup thread and the flipping thread are automatic: 1 and 2, around the told 0.
    assert_eq!(clients, vec![0, 1, 2]);
    assert_eq!(check(&h).verdict, Verdict::Ok);
}

#[test]
fn callers_named_by_a_binding_are_clients_of_their_own() {
    let (store, id) = store(1_000);
    let (other, other_id) = self::store(1_000);
    let me = store.recorder().unwrap().id();
    let task = |n| Caller {
        told: Vec::new(),
        task: Some(n),
    };
    let told = Caller {
        told: vec![(me, 3)],
        task: Some(9),
    };
    with_caller(Some(task(7)), || store.versions(Some(&[id])).unwrap());
    with_caller(Some(told.clone()), || store.versions(Some(&[id])).unwrap());
    with_caller(Some(task(8)), || store.versions(Some(&[id])).unwrap());
    with_caller(Some(task(7)), || store.versions(Some(&[id])).unwrap());
    store.versions(Some(&[id])).unwrap();
    // A client told for one recorder is not another's: there the task counts.
    with_caller(Some(told), || other.versions(Some(&[other_id])).unwrap());
    let (h, _) = store.history().unwrap();
    let clients: Vec<u32> = h.ops.iter().map(|o| o.client).collect();
    // put_tree by the thread (first automatic: 0), task 7 -> 1, told 3, task 8 -> 2, task 7
    // again, the thread again.
    assert_eq!(clients, vec![0, 1, 3, 2, 1, 0]);
    let (h, _) = other.history().unwrap();
    let clients: Vec<u32> = h.ops.iter().map(|o| o.client).collect();
    assert_eq!(clients, vec![0, 1]);
}

/// Issue 18 (b): a ring that dropped the put of the tree its flips use. Judged as if whole,
/// the kept flips apply a tree that was never put: `illegal`, with no sign of the truncation.
#[test]
fn a_truncated_history_is_marked_and_never_judged() {
    let (store, id) = store(4);
    for _ in 0..6 {
        store.flip(id, 1, Mode::Lww, None, None).unwrap();
    }
    let (h, dropped) = store.history().unwrap();
    assert_eq!((h.ops.len(), dropped, h.dropped), (4, 3, 3));
    let r = check(&h);
    assert_eq!(r.verdict, Verdict::Unknown, "{r:?}");
    assert!(r.domain_violations.is_empty() && r.illegal.is_none());
    assert!(r
        .unknown_reason
        .as_deref()
        .unwrap()
        .starts_with("truncated history: the recording ring dropped 3 earlier operations"));
    assert_eq!(r.to_json()["dropped"], 3);

    let text = write_jsonl(&h);
    assert!(text.starts_with(b"{\"truncated\":{\"dropped\":3}}\n"));
    let back = parse_jsonl(&text).unwrap();
    assert_eq!((back.ops.clone(), back.dropped), (h.ops.clone(), 3));
    assert_eq!(check(&back).verdict, Verdict::Unknown);
    assert!(write_jepsen(&h).starts_with(b"; truncated: the recording ring dropped 3"));

    // The same operations taken as a whole history: the case the mark exists for.
    let whole = dnsrace_core::history::History {
        dropped: 0,
        ..h.clone()
    };
    assert_eq!(check(&whole).verdict, Verdict::Illegal);
}

#[test]
fn a_bad_truncation_header_is_refused_naming_line_1() {
    for bad in [
        "{\"truncated\":{\"dropped\":0}}\n",
        "{\"truncated\":{\"dropped\":\"3\"}}\n",
        "{\"truncated\":{\"dropped\":3},\"x\":1}\n",
        "{\"truncated\":{\"dropped\":3}}",
    ] {
        let e = parse_jsonl(bad.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("line 1:"), "{bad}: {e}");
    }
    // The header counts as line 1: the operations' lines are numbered after it.
    let e = parse_jsonl(b"{\"truncated\":{\"dropped\":3}}\n[]\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2:"), "{e}");
}
