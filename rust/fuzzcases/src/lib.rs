//! Fuzz harnesses of `dnsrace-core`. Each takes arbitrary bytes, turns them into calls of the
//! public API with arbitrary (often invalid) arguments, and checks that every call returns
//! `Ok` or a typed `Error` (never panics) and that the store's invariants hold afterwards.
//!
//! The same functions run under libFuzzer (`fuzz/`, `make fuzz`) and, on a stable toolchain,
//! as proptest cases and saved regression inputs (`tests/`, part of `cargo test`).

use dnsrace_core::{
    Column, EndpointKey, Endpoints, Error, Fence, Leaf, Mode, OutcomeSink, PlanBuilder, Store,
    MAX_GENERATION,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Reads typed values from fuzz input; past the end it yields zeros, so every input is valid.
pub struct Input<'a> {
    bytes: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&b, rest)) => {
                self.bytes = rest;
                b
            }
            None => 0,
        }
    }

    pub fn u64(&mut self) -> u64 {
        let mut v = [0u8; 8];
        for b in &mut v {
            *b = self.u8();
        }
        u64::from_le_bytes(v)
    }

    /// Small values most of the time (they hit existing endpoints and plans), any value else.
    pub fn small_or_any(&mut self, small: u64) -> u64 {
        match self.u8() % 8 {
            0 => self.u64(),
            1 => MAX_GENERATION + (self.u8() as u64 % 3),
            2 => 0,
            _ => self.u8() as u64 % small.max(1),
        }
    }

    pub fn f64(&mut self) -> f64 {
        match self.u8() % 8 {
            0 => f64::from_bits(self.u64()),
            1 => {
                [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, -0.0][self.u8() as usize % 5]
            }
            _ => self.u8() as f64 / 4.0,
        }
    }

    pub fn text(&mut self) -> String {
        let len = self.u8() as usize % 24;
        let raw: Vec<u8> = (0..len).map(|_| self.u8()).collect();
        String::from_utf8_lossy(&raw).into_owned()
    }

    pub fn leaf(&mut self) -> Leaf {
        let addr = if self.u8().is_multiple_of(2) {
            IpAddr::V4(Ipv4Addr::new(10, 0, self.u8() % 4, self.u8() % 8))
        } else {
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0,
                0,
                0,
                0,
                0,
                self.u8() as u16 % 8,
            ))
        };
        Leaf {
            addr,
            weight: self.u8(),
        }
    }

    pub fn mode(&mut self) -> Mode {
        [Mode::Lww, Mode::IfNewer, Mode::Exact][self.u8() as usize % 3]
    }
}

/// Every error must be one of the typed variants (a panic would abort the fuzzer instead).
fn typed<T>(r: Result<T, Error>) -> Option<T> {
    r.ok()
}

/// A store of 1 to `most` endpoints (the count read from the input) named by `name`, and
/// their count.
fn store_with_endpoints(
    input: &mut Input<'_>,
    most: u8,
    name: impl Fn(usize) -> String,
) -> (Store, usize) {
    let store = Store::new();
    let n = 1 + (input.u8() % most) as usize;
    let names: Vec<String> = (0..n).map(name).collect();
    typed(store.add_endpoints(&names));
    (store, n)
}

/// The store's invariants, and a snapshot round trip that must give the same bytes.
pub fn check_invariants(store: &Store) {
    let n = store.len();
    let stats = store.stats();
    assert_eq!(stats.endpoints as usize, n);
    let aliases = store.aliases(None).expect("aliases of all");
    let rollbacks = store.rollbacks(None).expect("rollbacks of all");
    let mut dangling = 0u64;
    for (id, (&a, &r)) in aliases.iter().zip(&rollbacks).enumerate() {
        let id = id as u32;
        assert!(a <= MAX_GENERATION && r <= MAX_GENERATION);
        if a != 0 && !store.has_tree(id, a).expect("has_tree") {
            dangling += 1;
        }
        let state = store.state(id).expect("state");
        assert!(state.lease_token <= state.highest_fence);
        if state.lease_holder.is_none() {
            assert_eq!(state.lease_token, 0);
        }
    }
    assert_eq!(dangling, stats.dangling_aliases);
    assert_eq!(
        store.dangling_aliases(None).expect("dangling").len() as u64,
        dangling
    );
    let bytes = store.snapshot_bytes();
    let back = Store::from_snapshot_bytes(&bytes).expect("a store's own snapshot restores");
    assert_eq!(
        back.snapshot_bytes(),
        bytes,
        "snapshot round trip changed the store"
    );
}

/// Plan construction: builders fed arbitrary generations, sets, names and ids, then put.
pub fn plan_construction(data: &[u8]) {
    let mut input = Input::new(data);
    let store = Store::new();
    let names: Vec<String> = (0..4).map(|i| format!("ep{i}.fuzz")).collect();
    typed(store.add_endpoints(&names));
    while !input.is_empty() {
        let Some(mut builder) = typed(PlanBuilder::new(input.small_or_any(6))) else {
            continue;
        };
        let mut sets = Vec::new();
        for _ in 0..input.u8() % 6 {
            let leaves = (0..input.u8() % 5).map(|_| input.leaf()).collect();
            if let Some(s) = typed(builder.add_set(leaves)) {
                sets.push(s);
            }
        }
        for _ in 0..input.u8() % 8 {
            let set = match input.u8() % 4 {
                0 => input.u64() as u32,
                _ => sets
                    .get(input.u8() as usize % sets.len().max(1))
                    .copied()
                    .unwrap_or(0),
            };
            let key = match input.u8() % 4 {
                0 => EndpointKey::Name(input.text().into()),
                1 => EndpointKey::Name(names[input.u8() as usize % 4].to_uppercase().into()),
                2 => EndpointKey::Id(input.small_or_any(6) as u32),
                _ => {
                    let k = input.u8() as usize % 8;
                    let ids: Vec<u32> = (0..k).map(|_| input.small_or_any(6) as u32).collect();
                    let idx: Vec<u32> = (0..k + (input.u8().is_multiple_of(4)) as usize)
                        .map(|_| set)
                        .collect();
                    typed(builder.add_ids(&ids, &idx));
                    continue;
                }
            };
            typed(builder.add_endpoint(key, set));
        }
        let plan = builder.build();
        assert_eq!(plan.len(), plan.set_of().len());
        typed(store.put_plan(&plan));
    }
    check_invariants(&store);
}

/// Batch flips with arbitrary modes, expected versions, fences and batches, interleaved with
/// plan puts and deletes.
pub fn batch_flips(data: &[u8]) {
    let mut input = Input::new(data);
    let (store, n) = store_with_endpoints(&mut input, 12, |i| format!("e{i}.flip.fuzz"));
    let leaf_sets = [vec![input.leaf()], vec![], vec![input.leaf(), input.leaf()]];
    while !input.is_empty() {
        match input.u8() % 6 {
            0 | 1 => {
                let Some(mut b) = typed(PlanBuilder::new(input.small_or_any(8))) else {
                    continue;
                };
                let set = b
                    .add_set(leaf_sets[input.u8() as usize % 3].clone())
                    .unwrap_or(0);
                let ids: Vec<u32> = (0..n as u32)
                    .filter(|_| !input.u8().is_multiple_of(3))
                    .collect();
                let sets = vec![set; ids.len()];
                typed(b.add_ids(&ids, &sets));
                typed(store.put_plan(&b.build()));
            }
            2 => {
                let gens: Vec<u64> = (0..input.u8() % 4).map(|_| input.small_or_any(8)).collect();
                typed(store.delete_plans(&gens, input.u8().is_multiple_of(2)));
            }
            3 => {
                let id = input.small_or_any(n as u64 + 2) as u32;
                let mode = input.mode();
                let expected = (!input.u8().is_multiple_of(3)).then(|| input.small_or_any(6));
                let fence = (input.u8().is_multiple_of(2)).then(|| input.small_or_any(6));
                typed(store.flip_with(
                    id,
                    input.small_or_any(8),
                    mode,
                    expected,
                    fence,
                    !input.u8().is_multiple_of(4),
                ));
            }
            _ => {
                let all = input.u8().is_multiple_of(4);
                let ids: Vec<u32> = (0..input.u8() % 16)
                    .map(|_| input.small_or_any(n as u64 + 1) as u32)
                    .collect();
                let len = if all { n } else { ids.len() };
                let mode = input.mode();
                let expected: Option<Vec<u64>> = (!input.u8().is_multiple_of(3)).then(|| {
                    (0..len + (input.u8().is_multiple_of(8)) as usize)
                        .map(|_| input.small_or_any(6))
                        .collect()
                });
                let each: Vec<u64> = (0..len).map(|_| input.small_or_any(8)).collect();
                let fence = match input.u8() % 3 {
                    0 => Fence::None,
                    1 => Fence::All(input.small_or_any(8)),
                    _ => Fence::Each(&each),
                };
                let generation = input.small_or_any(8);
                let rollback = !input.u8().is_multiple_of(4);
                let batch = (!all).then_some(&ids[..]);
                let expected = expected.as_deref().map(Column::from);
                // With a sink the batch has the sink's length, checked by the store.
                let with_sink = input.u8().is_multiple_of(2);
                let batch_len = if with_sink {
                    len + (input.u8().is_multiple_of(8)) as usize
                } else {
                    len
                };
                let mut outcomes = vec![0u8; batch_len];
                let mut previous = vec![0u64; batch_len];
                let sink = with_sink.then_some(OutcomeSink {
                    outcomes: &mut outcomes,
                    previous: &mut previous,
                });
                let ids = Endpoints::from(batch);
                let counts = typed(
                    store.flip_endpoints(ids, generation, mode, expected, fence, rollback, sink),
                );
                if counts.is_some() {
                    assert!(outcomes.iter().all(|&o| o <= 4));
                }
                if let Some(c) = counts {
                    let total = c.applied + c.stale + c.fenced + c.missing + c.dangling;
                    assert_eq!(total as usize, batch_len);
                }
            }
        }
    }
    typed(store.resolve_many(None));
    check_invariants(&store);
}

/// Lease sequences: acquire, renew and release with arbitrary holders, tokens, TTLs and times.
/// Tokens granted on one endpoint must strictly increase.
pub fn lease_sequence(data: &[u8]) {
    let mut input = Input::new(data);
    let (store, n) = store_with_endpoints(&mut input, 6, |i| format!("l{i}.lease.fuzz"));
    let holders = ["enactor-a", "enactor-b", ""];
    let mut last_token = vec![0u64; n];
    while !input.is_empty() {
        let holder = match input.u8() % 4 {
            3 => input.text(),
            h => holders[h as usize].to_owned(),
        };
        let id = input.small_or_any(n as u64 + 1) as u32;
        let (ttl, now) = (input.f64(), input.f64());
        match input.u8() % 5 {
            0 | 1 => {
                if let Some(token) = typed(store.acquire_lease(id, &holder, ttl, now)) {
                    assert!(token > last_token[id as usize], "token did not increase");
                    last_token[id as usize] = token;
                }
            }
            2 => {
                let ids: Vec<u32> = (0..input.u8() % 8)
                    .map(|_| input.small_or_any(n as u64 + 1) as u32)
                    .collect();
                if let Some(tokens) = typed(store.acquire_leases(&ids, &holder, ttl, now)) {
                    for (&id, t) in ids.iter().zip(tokens) {
                        if let Some(t) = t {
                            assert!(t > last_token[id as usize], "token did not increase");
                            last_token[id as usize] = t;
                        }
                    }
                }
            }
            3 => {
                let token = input.small_or_any(8);
                typed(store.renew_lease(id, &holder, token, ttl, now));
            }
            _ => {
                let token = input.small_or_any(8);
                if input.u8().is_multiple_of(2) {
                    typed(store.release_lease(id, &holder, token));
                } else {
                    let ids = vec![id; 1 + (input.u8() % 2) as usize];
                    let tokens = vec![token; 1 + (input.u8() % 2) as usize];
                    typed(store.release_leases(&ids, &holder, &tokens));
                }
            }
        }
    }
    check_invariants(&store);
}

/// Snapshot decoding: arbitrary bytes give a store or `Error::Snapshot`, never a panic; a
/// store that decodes saves itself back to bytes that decode to the same store.
pub fn snapshot_decode(data: &[u8]) {
    match Store::from_snapshot_bytes(data) {
        Ok(store) => {
            let again = store.snapshot_bytes();
            let back = Store::from_snapshot_bytes(&again).expect("re-encoded snapshot restores");
            assert_eq!(back.snapshot_bytes(), again);
            check_invariants(&store);
        }
        Err(Error::Snapshot(_)) => {}
        Err(other) => panic!("snapshot decoding gave a non-snapshot error: {other:?}"),
    }
}

/// A valid snapshot of a small busy store: a seed for the snapshot fuzzer, so that mutations
/// start from a file that passes the checksums.
pub fn seed_snapshot() -> Vec<u8> {
    let store = Store::new();
    let ids = store
        .add_endpoints(&["a.seed.fuzz", "b.seed.fuzz", "c.seed.fuzz"])
        .expect("valid names");
    for g in 1..=3 {
        let mut b = PlanBuilder::new(g).expect("valid generation");
        let set = b
            .add_set(vec![Leaf::parse("10.0.0.1", 5).expect("valid address")])
            .expect("valid set");
        b.add_ids(&ids[..2], &[set, set]).expect("fresh ids");
        store.put_plan(&b.build()).expect("fresh plan");
    }
    store
        .flip_many(None, 2, Mode::Lww, None, Fence::All(3))
        .expect("valid flip");
    store
        .acquire_lease(ids[0], "h", 5.0, 1.0)
        .expect("free lease");
    store.snapshot_bytes()
}
