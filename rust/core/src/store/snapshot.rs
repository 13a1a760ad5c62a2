//! Snapshots: the whole store in one versioned, checksummed binary file, written atomically.
//!
//! Format version 1 (all integers little-endian; `varint` is unsigned LEB128, at most 10 bytes):
//!
//! ```text
//! header   b"DNSRSNAP" (8 bytes), format version u32, reserved u32 = 0
//! section  tag [u8; 4], payload length u64, crc32 of the payload u32, payload
//!          in this order: NAME HOLD SETS PLAN SLOT CNTR, then END (empty payload)
//! NAME     varint count; count name lengths (u8, names are <= 253 bytes); the names back to back
//! HOLD     varint count; per holder: varint length, UTF-8 bytes
//! SETS     varint count; per set: varint leaves; per leaf: family u8 (4 or 6), 4 or 16 address
//!          bytes, weight u8
//! PLAN     varint count; per plan: varint generation, varint length L (<= endpoints), then L
//!          varints: set index + 1 of endpoint 0..L, or 0 for no tree
//! SLOT     per endpoint in id order: flags u8 (bit i set: field i is not zero), then the set
//!          fields as varints (alias, rollback, version, lease token, highest fence, holder
//!          index + 1) and the lease expiry as f64 bits
//! CNTR     the counters of `Stats` that are not gauges, as varints
//! ```
//!
//! Varints and flags keep an endpoint at a few bytes beyond its name (most fields are small or
//! zero). Lease expiries are saved as they are: times on the caller's clock, so a restored store
//! sees the same leases live or expired at the same `now`.
//!
//! Decoding trusts nothing: every count is checked against the bytes left before anything is
//! allocated for it, so arbitrary input gives an error, never a panic or a huge allocation.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use parking_lot::{Mutex, RwLock};

use super::layout::{locate, Shard, Slot, NO_TREE, SHARDS};
use super::leases::Holders;
use super::plans::Trees;
use super::stats::Counters;
use super::{Inner, Store};
use crate::error::{check_holder, Error, Result, MAX_GENERATION, MAX_TOKEN};
use crate::name::{canonical_name, NameTable};
use crate::target::{canonical_set, Leaf, SetTable, TargetSet};

/// First bytes of every snapshot file.
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"DNSRSNAP";
/// The format version this build writes and the only one it reads.
pub const SNAPSHOT_VERSION: u32 = 1;

const SECTIONS: [&[u8; 4]; 7] = [
    b"NAME", b"HOLD", b"SETS", b"PLAN", b"SLOT", b"CNTR", b"END\0",
];
const HEADER_LEN: usize = 16;
const SECTION_HEAD_LEN: usize = 16;
const COUNTERS: usize = 9;

fn corrupt(why: impl std::fmt::Display) -> Error {
    Error::Snapshot(format!("not a valid dnsrace snapshot: {why}"))
}

// ------------------------------------------------------------------------------ encoding

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends one section: tag, length, crc32 and the payload `fill` writes.
fn section(out: &mut Vec<u8>, tag: &[u8; 4], fill: impl FnOnce(&mut Vec<u8>)) {
    let head = out.len();
    out.extend_from_slice(tag);
    out.extend_from_slice(&[0u8; 12]);
    let start = out.len();
    fill(out);
    let len = (out.len() - start) as u64;
    let crc = crc32fast::hash(&out[start..]);
    out[head + 4..head + 12].copy_from_slice(&len.to_le_bytes());
    out[head + 12..head + 16].copy_from_slice(&crc.to_le_bytes());
}

impl Store {
    /// The whole store as snapshot bytes (format above), from one consistent view: the plan
    /// table, the holder table and every shard are locked together while encoding.
    pub fn snapshot_bytes(&self) -> Vec<u8> {
        let inner = self.inner.read();
        // Lock order holders -> shards: nobody takes the holder table while holding a shard.
        let holders = self.holders.read();
        let shards = self.lock_all(inner.names.len());
        let n = inner.names.len();
        let mut out = Vec::with_capacity(HEADER_LEN + inner.names.name_bytes() + n * 24 + 4096);
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());

        section(&mut out, SECTIONS[0], |o| {
            put_varint(o, n as u64);
            for id in 0..n as u32 {
                o.push(inner.names.name(id).len() as u8);
            }
            for id in 0..n as u32 {
                o.extend_from_slice(inner.names.name(id).as_bytes());
            }
        });
        section(&mut out, SECTIONS[1], |o| {
            put_varint(o, holders.names.len() as u64);
            for h in &holders.names {
                put_varint(o, h.len() as u64);
                o.extend_from_slice(h.as_bytes());
            }
        });
        // Live target sets get dense indices in the file.
        let mut dense = vec![NO_TREE; inner.sets.capacity_len()];
        let mut live: Vec<&TargetSet> = Vec::with_capacity(inner.sets.live());
        for (i, set) in inner.sets.iter_live() {
            dense[i as usize] = live.len() as u32;
            live.push(set);
        }
        section(&mut out, SECTIONS[2], |o| {
            put_varint(o, live.len() as u64);
            for set in &live {
                put_varint(o, set.len() as u64);
                for leaf in set.iter() {
                    match leaf.addr {
                        IpAddr::V4(a) => {
                            o.push(4);
                            o.extend_from_slice(&a.octets());
                        }
                        IpAddr::V6(a) => {
                            o.push(6);
                            o.extend_from_slice(&a.octets());
                        }
                    }
                    o.push(leaf.weight);
                }
            }
        });
        section(&mut out, SECTIONS[3], |o| {
            put_varint(o, inner.plans.len() as u64);
            for (&generation, trees) in &inner.plans {
                put_varint(o, generation);
                // Trailing endpoints without a tree are implied by the length.
                let len = trees
                    .by_endpoint
                    .iter()
                    .rposition(|&t| t != NO_TREE)
                    .map_or(0, |p| p + 1);
                put_varint(o, len as u64);
                for &t in &trees.by_endpoint[..len] {
                    put_varint(
                        o,
                        if t == NO_TREE {
                            0
                        } else {
                            dense[t as usize] as u64 + 1
                        },
                    );
                }
            }
        });
        section(&mut out, SECTIONS[4], |o| {
            for id in 0..n as u32 {
                let (s, i) = locate(id);
                let slot = shards[s].slot(i);
                let fields = [
                    slot.alias,
                    slot.rollback,
                    slot.version,
                    slot.lease_token,
                    slot.highest_fence,
                    slot.holder as u64,
                ];
                let expiry = slot.lease_expiry.to_bits();
                let mut flags = 0u8;
                for (bit, &f) in fields.iter().enumerate() {
                    flags |= ((f != 0) as u8) << bit;
                }
                flags |= ((expiry != 0) as u8) << 6;
                o.push(flags);
                for &f in &fields {
                    if f != 0 {
                        put_varint(o, f);
                    }
                }
                if expiry != 0 {
                    o.extend_from_slice(&expiry.to_le_bytes());
                }
            }
        });
        section(&mut out, SECTIONS[5], |o| {
            for c in self.counters.all() {
                put_varint(o, c.load(Relaxed));
            }
        });
        section(&mut out, SECTIONS[6], |_| {});
        out
    }

    /// Save the store to `path` atomically: a temporary file in the same directory, fsync,
    /// rename over `path`, fsync of the directory. A crash at any moment leaves the old file or
    /// the new one under `path`, never a torn one. Fails with [`Error::Snapshot`] (nothing
    /// written) when `path` is a directory or its directory is missing or not writable.
    pub fn snapshot(&self, path: &Path) -> Result<()> {
        check_output_path(path)?;
        let bytes = self.snapshot_bytes();
        write_atomic(path, &bytes)
            .map_err(|e| Error::Snapshot(format!("cannot write snapshot {path:?}: {e}")))
    }

    /// A new store from a snapshot file. Any unreadable, truncated, corrupted, foreign or
    /// other-version file gives [`Error::Snapshot`].
    pub fn restore(path: &Path) -> Result<Store> {
        let bytes = read_regular_file(path)
            .map_err(|e| Error::Snapshot(format!("cannot read snapshot {path:?}: {e}")))?;
        Store::from_snapshot_bytes(&bytes)
    }

    /// A new store from snapshot bytes (see [`Store::snapshot_bytes`]).
    pub fn from_snapshot_bytes(bytes: &[u8]) -> Result<Store> {
        let sections = split_sections(bytes)?;
        let names = decode_names(sections[0])?;
        let n = names.len();
        let holders = decode_holders(sections[1])?;
        let sets = decode_sets(sections[2])?;
        let (plans, uses) = decode_plans(sections[3], n, sets.len())?;
        let mut set_table = SetTable::new();
        let mut table_index = Vec::with_capacity(sets.len());
        for (set, &refs) in sets.iter().zip(&uses) {
            if refs == 0 {
                return Err(corrupt("a target set no tree uses"));
            }
            table_index.push(set_table.acquire(set, refs));
        }
        let (mut trees, mut records_live) = (0u64, 0u64);
        let plans: BTreeMap<u64, Trees> = plans
            .into_iter()
            .map(|(generation, mut by_endpoint)| {
                let (mut count, mut records) = (0u64, 0u64);
                for t in by_endpoint.iter_mut().filter(|t| **t != NO_TREE) {
                    count += 1;
                    records += sets[*t as usize].len() as u64;
                    *t = table_index[*t as usize];
                }
                by_endpoint.resize(n, NO_TREE);
                trees += count;
                records_live += records;
                let t = Trees {
                    by_endpoint,
                    count,
                    records,
                    whole: Vec::new(),
                };
                (generation, t)
            })
            .collect();
        let per_shard = decode_slots(sections[4], n, holders.names.len())?;
        let counters = decode_counters(sections[5])?;
        let store = Store {
            inner: RwLock::new(Inner {
                names,
                plans,
                sets: set_table,
                trees,
                records_live,
            }),
            holders: RwLock::new(holders),
            shards: per_shard.into_iter().map(Mutex::new).collect(),
            counters: Counters::default(),
            empty: Vec::new().into(),
            history: None,
        };
        for (c, v) in store.counters.all().into_iter().zip(counters) {
            c.store(v, Relaxed);
        }
        Ok(store)
    }
}

impl Counters {
    fn all(&self) -> [&AtomicU64; COUNTERS] {
        [
            &self.flips_applied,
            &self.stale_flips,
            &self.stale_rejections,
            &self.fenced_rejections,
            &self.missing_rejections,
            &self.dangling_rejections,
            &self.empty_answers,
            &self.lease_conflicts,
            &self.leases_granted,
        ]
    }
}

// ------------------------------------------------------------------------------ files

// The atomic writer has its own module (shared with history exports); its old path stays.
pub use crate::atomic_file::write_atomic;
use crate::atomic_file::{output_path_problem, read_regular_file};

/// Refuse an output path that cannot become a file before doing any work: a directory, a
/// missing parent directory, or a parent that is not a directory.
pub fn check_output_path(path: &Path) -> Result<()> {
    match output_path_problem(path) {
        Some(why) => Err(Error::Snapshot(format!(
            "cannot write snapshot {path:?}: {why}"
        ))),
        None => Ok(()),
    }
}

// ------------------------------------------------------------------------------ decoding

/// A bounds-checked reader over one section's payload.
struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { bytes, what }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(corrupt(format_args!("{} section ends early", self.what)));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err(corrupt(format_args!("{}: number too large", self.what)));
            }
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt(format_args!("{}: number too long", self.what)))
    }

    /// A count of items each at least `min_bytes` long: never more than the bytes left allow,
    /// so a corrupted count cannot make the decoder allocate more than the file's size.
    fn count(&mut self, min_bytes: usize) -> Result<usize> {
        let n = self.varint()?;
        if n > (self.bytes.len() / min_bytes.max(1)) as u64 {
            return Err(corrupt(format_args!(
                "{}: count {n} larger than the data",
                self.what
            )));
        }
        Ok(n as usize)
    }

    fn finish(&self) -> Result<()> {
        if !self.bytes.is_empty() {
            return Err(corrupt(format_args!(
                "{} section has {} bytes too many",
                self.what,
                self.bytes.len()
            )));
        }
        Ok(())
    }
}

/// Check header, section order, lengths and checksums; the payloads in section order.
fn split_sections(bytes: &[u8]) -> Result<Vec<&[u8]>> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != SNAPSHOT_MAGIC {
        return Err(Error::Snapshot(
            "not a dnsrace snapshot (no DNSRSNAP header)".into(),
        ));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or_default());
    if version != SNAPSHOT_VERSION {
        return Err(Error::Snapshot(format!(
            "snapshot format version {version} is not supported (this build reads version \
             {SNAPSHOT_VERSION})"
        )));
    }
    if bytes[12..16] != [0; 4] {
        return Err(corrupt("reserved header bytes are not zero"));
    }
    let mut rest = &bytes[HEADER_LEN..];
    let mut payloads = Vec::with_capacity(SECTIONS.len());
    for tag in SECTIONS {
        let name = String::from_utf8_lossy(tag)
            .trim_end_matches('\0')
            .to_owned();
        if rest.len() < SECTION_HEAD_LEN {
            return Err(corrupt(format_args!("truncated before section {name}")));
        }
        if &rest[..4] != tag {
            return Err(corrupt(format_args!("section {name} expected")));
        }
        let len = u64::from_le_bytes(rest[4..12].try_into().unwrap_or_default());
        let crc = u32::from_le_bytes(rest[12..16].try_into().unwrap_or_default());
        rest = &rest[SECTION_HEAD_LEN..];
        if len > rest.len() as u64 {
            return Err(corrupt(format_args!("section {name} is truncated")));
        }
        let (payload, after) = rest.split_at(len as usize);
        if crc32fast::hash(payload) != crc {
            return Err(corrupt(format_args!("checksum of section {name} differs")));
        }
        payloads.push(payload);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(corrupt("bytes after the END section"));
    }
    Ok(payloads)
}

fn decode_names(payload: &[u8]) -> Result<NameTable> {
    let mut r = Reader::new(payload, "NAME");
    let n = r.count(2)?;
    if n >= u32::MAX as usize - 1 {
        return Err(corrupt("too many endpoints"));
    }
    let lengths = r.take(n)?;
    let total: usize = lengths.iter().map(|&l| l as usize).sum();
    let mut names = NameTable::new();
    names.reserve(n, total);
    for &len in lengths {
        let raw = r.take(len as usize)?;
        let text = std::str::from_utf8(raw).map_err(|_| corrupt("a name is not UTF-8"))?;
        let canon = canonical_name(text).map_err(corrupt)?;
        if *canon != *text {
            return Err(corrupt(format_args!("name {text:?} is not canonical")));
        }
        if !names.insert(text)?.1 {
            return Err(corrupt(format_args!("name {text:?} appears twice")));
        }
    }
    r.finish()?;
    Ok(names)
}

fn decode_holders(payload: &[u8]) -> Result<Holders> {
    let mut r = Reader::new(payload, "HOLD");
    let n = r.count(2)?;
    let mut holders = Holders::default();
    for i in 0..n {
        let len = r.count(1)?;
        let text = std::str::from_utf8(r.take(len)?)
            .map_err(|_| corrupt("a lease holder is not UTF-8"))?;
        check_holder(text).map_err(corrupt)?;
        if holders.index.insert(text.into(), i as u32).is_some() {
            return Err(corrupt(format_args!("holder {text:?} appears twice")));
        }
        holders.names.push(text.into());
    }
    r.finish()?;
    Ok(holders)
}

fn decode_sets(payload: &[u8]) -> Result<Vec<TargetSet>> {
    let mut r = Reader::new(payload, "SETS");
    let n = r.count(1)?;
    let mut sets = Vec::with_capacity(n);
    for _ in 0..n {
        let leaves = r.count(6)?;
        let mut set = Vec::with_capacity(leaves);
        for _ in 0..leaves {
            let addr = match r.byte()? {
                4 => {
                    let b: [u8; 4] = r.take(4)?.try_into().unwrap_or_default();
                    IpAddr::V4(Ipv4Addr::from(b))
                }
                6 => {
                    let b: [u8; 16] = r.take(16)?.try_into().unwrap_or_default();
                    IpAddr::V6(Ipv6Addr::from(b))
                }
                other => return Err(corrupt(format_args!("address family {other}"))),
            };
            set.push(Leaf {
                addr,
                weight: r.byte()?,
            });
        }
        let canon = canonical_set(set.clone()).map_err(corrupt)?;
        if *canon != *set {
            return Err(corrupt("a target set is not sorted"));
        }
        sets.push(canon);
    }
    r.finish()?;
    Ok(sets)
}

type DecodedPlans = (Vec<(u64, Vec<u32>)>, Vec<u32>);

/// Plans with file set indices (`NO_TREE` for none), and how many trees use each set.
fn decode_plans(payload: &[u8], endpoints: usize, sets: usize) -> Result<DecodedPlans> {
    let mut r = Reader::new(payload, "PLAN");
    let n = r.count(2)?;
    let mut plans = Vec::with_capacity(n);
    let mut uses = vec![0u32; sets];
    let mut last = 0u64;
    for _ in 0..n {
        let generation = r.varint()?;
        if generation == 0 || generation > MAX_GENERATION || generation <= last {
            return Err(corrupt(format_args!(
                "plan generation {generation} out of order or out of range"
            )));
        }
        last = generation;
        let len = r.count(1)?;
        if len > endpoints || len == 0 {
            return Err(corrupt(format_args!(
                "plan {generation} covers {len} endpoints of {endpoints}"
            )));
        }
        let mut by_endpoint = Vec::with_capacity(endpoints);
        for _ in 0..len {
            let t = r.varint()?;
            if t == 0 {
                by_endpoint.push(NO_TREE);
                continue;
            }
            let set = t - 1;
            if set >= sets as u64 {
                return Err(corrupt(format_args!(
                    "plan {generation}: set {set} unknown"
                )));
            }
            uses[set as usize] = uses[set as usize]
                .checked_add(1)
                .ok_or_else(|| corrupt("set used too often"))?;
            by_endpoint.push(set as u32);
        }
        if by_endpoint.last() == Some(&NO_TREE) {
            return Err(corrupt(format_args!(
                "plan {generation} ends without a tree"
            )));
        }
        plans.push((generation, by_endpoint));
    }
    r.finish()?;
    Ok((plans, uses))
}

/// The control records, already spread over the shards.
fn decode_slots(payload: &[u8], endpoints: usize, holders: usize) -> Result<Vec<Shard>> {
    let mut r = Reader::new(payload, "SLOT");
    if endpoints > payload.len() {
        return Err(corrupt("SLOT section ends early"));
    }
    let mut per_shard = [0usize; SHARDS];
    for id in 0..endpoints {
        per_shard[locate(id as u32).0] += 1;
    }
    let mut shards: Vec<Shard> = per_shard.iter().map(|&n| Shard::with_capacity(n)).collect();
    for id in 0..endpoints {
        let flags = r.byte()?;
        if flags >> 7 != 0 {
            return Err(corrupt(format_args!("SLOT: flags {flags:#x}")));
        }
        let mut fields = [0u64; 6];
        for (bit, f) in fields.iter_mut().enumerate() {
            if flags & (1 << bit) != 0 {
                *f = r.varint()?;
                if *f == 0 {
                    return Err(corrupt("SLOT: zero stored as set"));
                }
            }
        }
        let [alias, rollback, version, lease_token, highest_fence, holder] = fields;
        if alias > MAX_GENERATION || rollback > MAX_GENERATION {
            return Err(corrupt("SLOT: generation out of range"));
        }
        // Counters past the token range could overflow when the store later bumps them.
        if version > MAX_TOKEN || lease_token > highest_fence || highest_fence > MAX_TOKEN {
            return Err(corrupt("SLOT: version or token out of range"));
        }
        if holder > holders as u64 {
            return Err(corrupt(format_args!("SLOT: holder {holder} unknown")));
        }
        let lease_expiry = if flags & (1 << 6) != 0 {
            let bits: [u8; 8] = r.take(8)?.try_into().unwrap_or_default();
            f64::from_bits(u64::from_le_bytes(bits))
        } else {
            0.0
        };
        if lease_expiry.is_nan() {
            return Err(corrupt("SLOT: lease expiry is not a number"));
        }
        // Ids ascend, so each shard's records arrive in index order.
        shards[locate(id as u32).0].push(Slot {
            alias,
            rollback,
            version,
            lease_token,
            highest_fence,
            lease_expiry,
            holder: holder as u32,
        });
    }
    r.finish()?;
    Ok(shards)
}

fn decode_counters(payload: &[u8]) -> Result<[u64; COUNTERS]> {
    let mut r = Reader::new(payload, "CNTR");
    let mut out = [0u64; COUNTERS];
    for c in &mut out {
        *c = r.varint()?;
    }
    r.finish()?;
    Ok(out)
}
