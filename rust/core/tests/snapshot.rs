//! Snapshots: a restored store equals the saved one in every observable way; every truncated,
//! corrupted, foreign or other-version file is refused with `Error::Snapshot`; a failed save
//! writes nothing and an existing snapshot is replaced whole.

use std::path::Path;

use dnsrace_core::{
    EndpointKey, Error, Fence, Leaf, Mode, Outcome, PlanBuilder, Store, SNAPSHOT_VERSION,
};

/// A store with every kind of state: names, three plans sharing sets, an IPv6 set, an empty
/// set, a deleted plan leaving a dangling alias, live and expired leases, fences and counters.
fn busy_store() -> Store {
    let store = Store::new();
    let names: Vec<String> = (0..3000).map(|i| format!("ep{i}.snap.test")).collect();
    let ids = store.add_endpoints(&names).unwrap();
    for g in 1..=4u64 {
        let mut b = PlanBuilder::new(g).unwrap();
        let v4 = b
            .add_set(
                (0..4u8)
                    .map(|j| Leaf::parse(&format!("10.{g}.0.{j}"), j * 10).unwrap())
                    .collect(),
            )
            .unwrap();
        let v6 = b
            .add_set(vec![Leaf::parse(&format!("2001:db8::{g}"), 255).unwrap()])
            .unwrap();
        let empty = b.add_set(Vec::new()).unwrap();
        // Plan 4 leaves the last endpoints without a tree.
        let covered = if g == 4 { &ids[..2000] } else { &ids[..] };
        for &id in covered {
            let set = match id % 7 {
                0 => v6,
                1 if g == 2 => empty,
                _ => v4,
            };
            b.add_endpoint(EndpointKey::Id(id), set).unwrap();
        }
        store.put_plan(&b.build()).unwrap();
    }
    store
        .flip_many(None, 1, Mode::IfNewer, None, Fence::None)
        .unwrap();
    store
        .flip_many(Some(&ids[..1500]), 2, Mode::Lww, None, Fence::All(3))
        .unwrap();
    store.delete_plans(&[1], false).unwrap();
    let mut token_of_5 = 0;
    for &id in &ids[..100] {
        let token = store.acquire_lease(id, "enactor-a", 10.0, 5.0).unwrap();
        if id == ids[5] {
            token_of_5 = token;
        }
    }
    for &id in &ids[100..120] {
        store.acquire_lease(id, "enactor-b", 1.0, 1.0).unwrap();
    }
    store
        .release_lease(ids[5], "enactor-a", token_of_5)
        .unwrap();
    assert_eq!(
        store.flip(ids[3], 4, Mode::IfNewer, None, Some(1)).unwrap(),
        Outcome::Fenced
    );
    store.resolve(ids[2999]).unwrap();
    store
}

fn assert_same(a: &Store, b: &Store) {
    assert_eq!(a.len(), b.len());
    assert_eq!(a.stats(), b.stats());
    assert_eq!(a.plan_generations(), b.plan_generations());
    assert_eq!(a.aliases(None).unwrap(), b.aliases(None).unwrap());
    assert_eq!(a.rollbacks(None).unwrap(), b.rollbacks(None).unwrap());
    assert_eq!(a.versions(None).unwrap(), b.versions(None).unwrap());
    for id in 0..a.len() as u32 {
        assert_eq!(a.state(id).unwrap(), b.state(id).unwrap());
        for g in 1..=4 {
            assert_eq!(a.has_tree(id, g).unwrap(), b.has_tree(id, g).unwrap());
        }
    }
}

#[test]
fn a_restored_store_equals_the_saved_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.snap");
    let store = busy_store();
    store.snapshot(&path).unwrap();
    let back = Store::restore(&path).unwrap();
    assert_same(&store, &back);
    // Resolving counts empty answers: compare the answers, then the counters again.
    for id in 0..store.len() as u32 {
        assert_eq!(store.resolve(id).unwrap(), back.resolve(id).unwrap());
    }
    assert_eq!(store.stats(), back.stats());
    // Encoding is deterministic: the restored store saves the same bytes.
    assert_eq!(store.snapshot_bytes(), back.snapshot_bytes());
}

#[test]
fn a_restored_store_keeps_working_like_the_original() {
    let store = busy_store();
    let back = Store::from_snapshot_bytes(&store.snapshot_bytes()).unwrap();
    for s in [&store, &back] {
        // Lease of enactor-a on endpoint 0 lives until 15.0 on the caller's clock.
        assert!(matches!(
            s.acquire_lease(0, "enactor-c", 1.0, 14.9),
            Err(Error::LeaseHeld(_))
        ));
        assert_eq!(s.acquire_lease(0, "enactor-c", 1.0, 15.0).unwrap(), 5);
        assert_eq!(s.acquire_lease(110, "enactor-a", 1.0, 2.0).unwrap(), 5);
        assert_eq!(
            s.flip(3, 3, Mode::IfNewer, None, Some(1)).unwrap(),
            Outcome::Fenced
        );
        assert_eq!(
            s.flip(10, 3, Mode::IfNewer, None, None).unwrap(),
            Outcome::Applied
        );
        s.add_endpoints(&["late.snap.test"]).unwrap();
        s.delete_plans(&[2], true).unwrap();
    }
    assert_same(&store, &back);
}

#[test]
fn an_empty_store_round_trips() {
    let store = Store::new();
    let back = Store::from_snapshot_bytes(&store.snapshot_bytes()).unwrap();
    assert_eq!(back.len(), 0);
    assert_eq!(store.snapshot_bytes(), back.snapshot_bytes());
}

fn snapshot_error(bytes: &[u8]) -> String {
    match Store::from_snapshot_bytes(bytes) {
        Err(Error::Snapshot(m)) => m,
        Err(other) => panic!("wrong error class: {other:?}"),
        Ok(_) => panic!("accepted a damaged snapshot"),
    }
}

#[test]
fn every_truncation_is_refused() {
    let bytes = {
        let s = Store::new();
        let ids = s.add_endpoints(&["a.test", "b.test"]).unwrap();
        let mut b = PlanBuilder::new(1).unwrap();
        let set = b
            .add_set(vec![Leaf::parse("10.0.0.1", 1).unwrap()])
            .unwrap();
        b.add_ids(&ids, &[set, set]).unwrap();
        s.put_plan(&b.build()).unwrap();
        s.acquire_lease(0, "h", 1.0, 0.0).unwrap();
        s.snapshot_bytes()
    };
    for len in 0..bytes.len() {
        snapshot_error(&bytes[..len]);
    }
    let mut longer = bytes.clone();
    longer.push(0);
    snapshot_error(&longer);
}

#[test]
fn every_flipped_bit_is_refused() {
    let s = Store::new();
    s.add_endpoints(&["a.test", "b.test"]).unwrap();
    let bytes = s.snapshot_bytes();
    for pos in 0..bytes.len() {
        for bit in 0..8 {
            let mut bad = bytes.clone();
            bad[pos] ^= 1 << bit;
            snapshot_error(&bad);
        }
    }
}

#[test]
fn foreign_and_other_version_files_are_named_as_such() {
    assert!(snapshot_error(b"").contains("not a dnsrace snapshot"));
    assert!(snapshot_error(b"PK\x03\x04 a zip file, not ours").contains("not a dnsrace snapshot"));
    let mut bytes = Store::new().snapshot_bytes();
    bytes[8..12].copy_from_slice(&(SNAPSHOT_VERSION + 1).to_le_bytes());
    let msg = snapshot_error(&bytes);
    assert!(msg.contains("version 2 is not supported"), "{msg}");
}

#[test]
fn a_huge_count_does_not_allocate() {
    // A NAME section claiming 2^60 names in a few bytes, with a valid checksum.
    let mut bytes = Store::new().snapshot_bytes();
    let payload = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10];
    let mut section = b"NAME".to_vec();
    section.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    section.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    section.extend_from_slice(&payload);
    // Replace the empty store's NAME section (16 head bytes + 1 payload byte).
    bytes.splice(16..33, section);
    assert!(snapshot_error(&bytes).contains("larger than the data"));
}

#[test]
fn a_failed_save_writes_nothing_and_a_save_replaces_the_old_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = busy_store();
    let listing = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    for bad in [
        dir.path().to_path_buf(),
        dir.path().join("missing").join("x.snap"),
        Path::new("").to_path_buf(),
    ] {
        assert!(
            matches!(store.snapshot(&bad), Err(Error::Snapshot(_))),
            "{bad:?}"
        );
    }
    assert!(listing(dir.path()).is_empty());
    let path = dir.path().join("s.snap");
    Store::new().snapshot(&path).unwrap();
    store.snapshot(&path).unwrap();
    assert_eq!(listing(dir.path()), ["s.snap"]);
    assert_same(&store, &Store::restore(&path).unwrap());
    assert!(matches!(
        Store::restore(&dir.path().join("nope")),
        Err(Error::Snapshot(_))
    ));
}
