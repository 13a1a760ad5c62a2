//! The fuzz harnesses on a stable toolchain: arbitrary byte strings from proptest (a fixed
//! number of cases per target, so `cargo test` stays short), the snapshot seed mutated byte by
//! byte, and every saved regression input (`regressions/<target>/*`: inputs cargo fuzz found
//! or that once broke an invariant).

use std::path::Path;

use dnsrace_fuzzcases::{
    batch_flips, lease_sequence, plan_construction, seed_snapshot, snapshot_decode,
};
use proptest::prelude::*;

/// Cases per target: `DNSRACE_FUZZ_CASES`, else 20,000 (about a second each in release mode).
fn cases() -> u32 {
    std::env::var("DNSRACE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn plan_construction_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        plan_construction(&data);
    }

    #[test]
    fn batch_flips_never_panic(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
        batch_flips(&data);
    }

    #[test]
    fn lease_sequences_never_panic(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
        lease_sequence(&data);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_snapshot_decoder(
        data in proptest::collection::vec(any::<u8>(), 0..512)
    ) {
        snapshot_decode(&data);
    }

    #[test]
    fn mutated_snapshots_never_panic_the_decoder(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut data = seed_snapshot();
        for (pos, byte) in edits {
            let pos = pos % data.len();
            data[pos] = byte;
        }
        data.truncate(cut % (data.len() + 1));
        snapshot_decode(&data);
    }
}

#[test]
fn the_snapshot_seed_decodes() {
    snapshot_decode(&seed_snapshot());
}

/// A fuzz harness: arbitrary bytes in, a panic on a broken invariant.
type Harness = fn(&[u8]);

#[test]
fn saved_regression_inputs_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let targets: [(&str, Harness); 4] = [
        ("plan_construction", plan_construction),
        ("batch_flips", batch_flips),
        ("lease_sequence", lease_sequence),
        ("snapshot_decode", snapshot_decode),
    ];
    let mut ran = 0;
    for (name, target) in targets {
        let Ok(dir) = std::fs::read_dir(root.join(name)) else {
            continue;
        };
        for entry in dir {
            let path = entry.unwrap().path();
            target(&std::fs::read(&path).unwrap());
            ran += 1;
        }
    }
    assert!(ran > 0, "no regression inputs found under {root:?}");
}
