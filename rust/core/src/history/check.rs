//! The linearizability checker: each endpoint's history against the store's model, and the
//! O(n log n) domain checks that need no search.
//!
//! Search (per endpoint; P-compositionality: the store's endpoints share no state, so a
//! history is linearizable iff each endpoint's is): the Wing–Gong algorithm with Lowe's
//! memoisation, as Porcupine runs it. Call and return events sorted by time form a doubly
//! linked list; the search walks it, tentatively linearising an operation at its call event
//! when the model accepts its recorded output, and backtracks when it meets the return event
//! of an operation it has not linearised yet. A cache of (set of linearised operations, model
//! state) pairs already explored cuts every repeated configuration.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::format::{mode_name, outcome_name};
use super::{FastMap, FastSet, History, Op, OpKind};
use crate::error::MAX_TOKEN;
use crate::store::{Mode, Outcome};

// ------------------------------------------------------------------------------ model

/// One endpoint's state as the store keeps it.
#[derive(Debug, Clone, Default)]
struct State {
    alias: u64,
    rollback: u64,
    version: u64,
    fence: u64,
    holder: Option<u32>,
    token: u64,
    expiry: f64,
    /// Generations with a tree for this endpoint, ascending: shared between the states of
    /// a search (copied only by a put or a delete), hashed incrementally (`trees_hash`, an
    /// XOR of one key per generation).
    trees: Rc<Vec<u64>>,
    trees_hash: u64,
}

impl PartialEq for State {
    fn eq(&self, o: &Self) -> bool {
        self.alias == o.alias
            && self.rollback == o.rollback
            && self.version == o.version
            && self.fence == o.fence
            && self.holder == o.holder
            && self.token == o.token
            && self.expiry.to_bits() == o.expiry.to_bits()
            && self.trees == o.trees
    }
}

impl Eq for State {}

impl Hash for State {
    fn hash<H: Hasher>(&self, h: &mut H) {
        (self.alias, self.rollback, self.version, self.fence).hash(h);
        (self.holder, self.token, self.expiry.to_bits()).hash(h);
        self.trees_hash.hash(h);
    }
}

impl State {
    fn has_tree(&self, g: u64) -> bool {
        g != 0 && self.trees.binary_search(&g).is_ok()
    }

    fn describe(&self, holders: &[String]) -> String {
        let g = |v: u64| {
            if v == 0 {
                "none".to_string()
            } else {
                v.to_string()
            }
        };
        let lease = match self.holder {
            Some(h) => format!(
                "{:?} token {} until {}",
                holders.get(h as usize).map_or("?", |s| s),
                self.token,
                self.expiry
            ),
            None => "none".into(),
        };
        format!(
            "alias {}, rollback {}, version {}, highest fence {}, lease {lease}, trees {:?}",
            g(self.alias),
            g(self.rollback),
            self.version,
            self.fence,
            self.trees
        )
    }
}

enum Step {
    /// The recorded output is not what the model answers from this state.
    Fail,
    Same,
    New(State),
}

/// The store's answer to `op` from `s`, compared with the recorded one.
fn step(s: &State, op: &OpKind) -> Step {
    match *op {
        OpKind::Flip {
            generation,
            mode,
            expected,
            fence,
            rollback,
            outcome,
        } => {
            let model = if !s.has_tree(generation) {
                Outcome::Missing
            } else if fence.is_some_and(|f| f < s.fence) {
                Outcome::Fenced
            } else if !match mode {
                Mode::Lww => true,
                Mode::IfNewer => generation > s.alias,
                Mode::Exact => Some(s.version) == expected,
            } {
                Outcome::Stale
            } else if rollback && s.alias != 0 && !s.has_tree(s.alias) {
                Outcome::Dangling
            } else {
                Outcome::Applied
            };
            if model != outcome {
                return Step::Fail;
            }
            if outcome != Outcome::Applied {
                return Step::Same;
            }
            let mut n = s.clone();
            if let Some(f) = fence {
                n.fence = n.fence.max(f);
            }
            n.rollback = if rollback { s.alias } else { 0 };
            n.alias = generation;
            n.version += 1;
            Step::New(n)
        }
        OpKind::Read {
            alias,
            rollback,
            version,
        } => {
            if (alias, rollback, version) == (s.alias, s.rollback, s.version) {
                Step::Same
            } else {
                Step::Fail
            }
        }
        OpKind::Acquire {
            holder,
            ttl,
            now,
            token,
        } => {
            let held = s.holder.is_some_and(|h| h != holder) && now < s.expiry;
            let granted = (!held && s.fence < MAX_TOKEN).then_some(s.fence + 1);
            if granted != token {
                return Step::Fail;
            }
            match granted {
                None => Step::Same,
                Some(t) => {
                    let mut n = s.clone();
                    n.fence = t;
                    n.holder = Some(holder);
                    n.token = t;
                    n.expiry = now + ttl;
                    Step::New(n)
                }
            }
        }
        OpKind::Renew {
            holder,
            token,
            ttl,
            now,
            expiry,
        } => {
            let live = s.holder == Some(holder) && s.token == token && now < s.expiry;
            let model = live.then_some(now + ttl);
            if model.map(f64::to_bits) != expiry.map(f64::to_bits) {
                return Step::Fail;
            }
            match model {
                None => Step::Same,
                Some(e) => {
                    let mut n = s.clone();
                    n.expiry = e;
                    Step::New(n)
                }
            }
        }
        OpKind::Release {
            holder,
            token,
            released,
        } => {
            let matches = s.holder == Some(holder) && s.token == token;
            if matches != released {
                return Step::Fail;
            }
            if !matches {
                return Step::Same;
            }
            let mut n = s.clone();
            n.holder = None;
            n.token = 0;
            n.expiry = 0.0;
            Step::New(n)
        }
        OpKind::PutTree { generation } => match s.trees.binary_search(&generation) {
            // The store refuses a plan whose generation still has a tree: never recorded.
            Ok(_) => Step::Fail,
            Err(at) => {
                let mut n = s.clone();
                Rc::make_mut(&mut n.trees).insert(at, generation);
                n.trees_hash ^= splitmix(generation);
                Step::New(n)
            }
        },
        OpKind::DeleteTree {
            generation,
            safe,
            deleted,
        } => {
            let Ok(at) = s.trees.binary_search(&generation) else {
                // Recorded only for endpoints that had the tree.
                return Step::Fail;
            };
            let keep = safe && (s.alias == generation || s.rollback == generation);
            if keep == deleted {
                return Step::Fail;
            }
            if keep {
                return Step::Same;
            }
            let mut n = s.clone();
            Rc::make_mut(&mut n.trees).remove(at);
            n.trees_hash ^= splitmix(generation);
            Step::New(n)
        }
    }
}

// ------------------------------------------------------------------------------ search

/// What the search concluded for one endpoint.
enum Search {
    Ok(Vec<usize>),
    Illegal { window: Vec<usize>, reason: String },
    Unknown(Exceeded),
}

/// The bound a search ran past (its verdict is then `unknown`, never a guess).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// The time bound ([`CheckOptions::timeout`]).
    Time,
    /// The memory bound: more states in the memo than [`CheckOptions::max_states`].
    States,
    /// The allocator refused to grow the memo (below the memory bound).
    Allocation,
}

/// A well-mixed 64-bit key per operation (splitmix64).
fn splitmix(i: u64) -> u64 {
    let mut z = i.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Box<[u64]>);

impl Bits {
    fn new(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)].into_boxed_slice())
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
    fn get(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
}

/// The default time bound of a check (`dnsrace check`, `dnsrace view`, the Python API).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest time bound a caller may ask for (one day).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);
/// The default memory bound: states kept in the memo, summed over the endpoints being searched
/// at once. A state is a 16-byte fingerprint in a hash table (about 17 bytes with its control
/// byte, up to twice that while the table grows): 8 million states are about 140 MB, 280 MB
/// at the peak of a resize.
pub const DEFAULT_MAX_STATES: usize = 8_000_000;
/// The largest memory bound a caller may ask for (about 17 GB of memo).
pub const MAX_MAX_STATES: usize = 1 << 30;

/// Bounds and switches of a check. Memoisation can be switched off (tests show that it matters).
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// Give up after this long (`unknown` for the endpoints not finished; `None`: no bound,
    /// for tests and callers that bound the work otherwise).
    pub timeout: Option<Duration>,
    /// Give up on an endpoint whose memo would grow past this many states, counted over the
    /// searches running at once (`unknown` for it).
    pub max_states: usize,
    /// Report each endpoint's linearisation (for small histories and the viewer).
    pub linearizations: bool,
    /// Worker threads (0: the machine's parallelism).
    pub threads: usize,
    /// Lowe's cache of explored configurations (always on outside of tests).
    pub memoize: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            timeout: Some(DEFAULT_TIMEOUT),
            max_states: DEFAULT_MAX_STATES,
            linearizations: false,
            threads: 0,
            memoize: true,
        }
    }
}

/// The memory bound shared by the searches running at once: memo slots reserved.
struct Budget {
    max: usize,
    kept: AtomicUsize,
}

/// Lowe's cache of explored configurations, grown only within the [`Budget`] and with
/// `try_reserve`, so that a search that outgrows either gives `unknown` instead of aborting.
struct Memo<'a> {
    set: FastSet<(u64, u64)>,
    budget: &'a Budget,
    reserved: usize,
}

impl<'a> Memo<'a> {
    fn new(budget: &'a Budget) -> Self {
        Memo {
            set: FastSet::default(),
            budget,
            reserved: 0,
        }
    }

    /// Whether `key` was new (and is now kept).
    fn insert(&mut self, key: (u64, u64)) -> Result<bool, Exceeded> {
        if self.set.len() == self.set.capacity() {
            let old = self.set.capacity();
            let extra = old.max(8);
            let before = self.budget.kept.fetch_add(extra, Relaxed);
            if before + extra > self.budget.max {
                self.budget.kept.fetch_sub(extra, Relaxed);
                return Err(Exceeded::States);
            }
            if self.set.try_reserve(old + extra - self.set.len()).is_err() {
                self.budget.kept.fetch_sub(extra, Relaxed);
                return Err(Exceeded::Allocation);
            }
            // The table rounds its capacity up: account what it really holds.
            let got = self.set.capacity() - old;
            if got >= extra {
                self.budget.kept.fetch_add(got - extra, Relaxed);
            } else {
                self.budget.kept.fetch_sub(extra - got, Relaxed);
            }
            self.reserved += got;
        }
        Ok(self.set.insert(key))
    }
}

impl Drop for Memo<'_> {
    fn drop(&mut self) {
        self.budget.kept.fetch_sub(self.reserved, Relaxed);
    }
}

/// Linearise one endpoint's operations (`idx`: their positions in `ops`, in history order).
#[allow(clippy::too_many_arguments)]
fn search(
    ops: &[Op],
    idx: &[usize],
    holders: &[String],
    memoize: bool,
    deadline: Option<Instant>,
    stop: &AtomicBool,
    budget: &Budget,
    capture_at: Option<usize>,
) -> Search {
    let m = idx.len();
    // Events: (time, 0 = call / 1 = return, local op). Calls sort before returns at equal times,
    // so operations that touch are concurrent.
    let mut events: Vec<(u64, u8, u32)> = Vec::with_capacity(2 * m);
    for (j, &i) in idx.iter().enumerate() {
        events.push((ops[i].call, 0, j as u32));
        events.push((ops[i].ret, 1, j as u32));
    }
    events.sort_unstable();
    // Doubly linked list over nodes 0..2m, head sentinel at 2m.
    let head = 2 * m;
    let mut next = vec![0usize; 2 * m + 1];
    let mut prev = vec![0usize; 2 * m + 1];
    let mut call_node = vec![0usize; m];
    let mut ret_node = vec![0usize; m];
    let mut node_op = vec![0u32; 2 * m];
    let mut node_is_call = vec![false; 2 * m];
    let mut order = head;
    for (n, &(_, kind, j)) in events.iter().enumerate() {
        node_op[n] = j;
        node_is_call[n] = kind == 0;
        if kind == 0 {
            call_node[j as usize] = n;
        } else {
            ret_node[j as usize] = n;
        }
        next[order] = n;
        prev[n] = order;
        order = n;
    }
    const END: usize = usize::MAX;
    next[order] = END;
    let lift = |next: &mut Vec<usize>, prev: &mut Vec<usize>, n: usize| {
        let (p, q) = (prev[n], next[n]);
        next[p] = q;
        if q != END {
            prev[q] = p;
        }
    };
    let unlift = |next: &mut Vec<usize>, prev: &mut Vec<usize>, n: usize| {
        let (p, q) = (prev[n], next[n]);
        next[p] = n;
        if q != END {
            prev[q] = n;
        }
    };

    let mut state = State::default();
    let mut linearized = Bits::new(m);
    // The cache holds 128-bit fingerprints of (linearised set, state): a Zobrist hash of the
    // set, updated in O(1) per step, and a hash of the state. Cloning and hashing the whole
    // set at each step made long histories quadratic; a collision (odds about k^2 / 2^128 for
    // k cached configurations) could only hide a linearisation, never invent one.
    let zobrist: Vec<u64> = (0..m as u64).map(splitmix).collect();
    let mut set_hash = 0u64;
    let hasher = foldhash::fast::FixedState::with_seed(0x5eed);
    let state_hash = |s: &State| hasher.hash_one(s);
    let mut cache = Memo::new(budget);
    // (call node of the linearised op, state before it)
    let mut stack: Vec<(usize, State)> = Vec::new();
    // The deepest point a dead branch reached (stack depth). Copying that configuration each
    // time the depth grew made the search quadratic: an illegal history is searched again to
    // capture it, with `capture_at` (the search is deterministic).
    let mut best_depth: Option<usize> = None;
    // (linearised set, stack ops, state, op whose return blocked) at `capture_at`.
    let mut best: Option<(Bits, Vec<u32>, State, u32)> = None;
    let mut entry = next[head];
    let mut steps = 0u64;
    while next[head] != END {
        steps += 1;
        if steps & 0xfff == 0 {
            if stop.load(Relaxed) {
                return Search::Unknown(Exceeded::Time);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                stop.store(true, Relaxed);
                return Search::Unknown(Exceeded::Time);
            }
        }
        if node_is_call[entry] {
            let j = node_op[entry] as usize;
            let taken = match step(&state, &ops[idx[j]].kind) {
                Step::Fail => None,
                Step::Same => Some(state.clone()),
                Step::New(s) => Some(s),
            };
            let mut moved = false;
            if let Some(new_state) = taken {
                let new_hash = set_hash ^ zobrist[j];
                let fresh = !memoize
                    || match cache.insert((new_hash, state_hash(&new_state))) {
                        Ok(fresh) => fresh,
                        Err(exceeded) => return Search::Unknown(exceeded),
                    };
                if fresh {
                    stack.push((entry, std::mem::replace(&mut state, new_state)));
                    linearized.set(j);
                    set_hash = new_hash;
                    lift(&mut next, &mut prev, entry);
                    lift(&mut next, &mut prev, ret_node[j]);
                    entry = next[head];
                    moved = true;
                }
            }
            if !moved {
                entry = next[entry];
            }
        } else {
            // The return of an operation not linearised yet: this branch is dead.
            if best_depth.is_none_or(|d| d < stack.len()) {
                best_depth = Some(stack.len());
            }
            if best.is_none() && capture_at == Some(stack.len()) {
                let ops_in = stack.iter().map(|&(n, _)| node_op[n]).collect();
                best = Some((linearized.clone(), ops_in, state.clone(), node_op[entry]));
                break;
            }
            let Some((top, before)) = stack.pop() else {
                break;
            };
            state = before;
            let j = node_op[top] as usize;
            linearized.clear(j);
            set_hash ^= zobrist[j];
            unlift(&mut next, &mut prev, ret_node[j]);
            unlift(&mut next, &mut prev, top);
            entry = next[top];
        }
    }
    if next[head] == END && best.is_none() {
        let order = stack
            .iter()
            .map(|&(n, _)| idx[node_op[n] as usize])
            .collect();
        return Search::Ok(order);
    }
    if capture_at.is_none() {
        if let Some(depth) = best_depth {
            drop(cache);
            return search(
                ops,
                idx,
                holders,
                memoize,
                deadline,
                stop,
                budget,
                Some(depth),
            );
        }
    }
    let Some((lin, lin_ops, best_state, blocked)) = best else {
        return Search::Illegal {
            window: idx.to_vec(),
            reason: "no linearisation".into(),
        };
    };
    // The window: the pending operations that could have been next when the search got
    // furthest (called before the blocked operation returned, not linearised), the linearised
    // operations concurrent with them, and the last linearised one (whose state they contradict).
    let blocked_ret = ops[idx[blocked as usize]].ret;
    let pending: Vec<usize> = (0..m)
        .filter(|&j| !lin.get(j) && ops[idx[j]].call <= blocked_ret)
        .collect();
    let earliest = pending.iter().map(|&j| ops[idx[j]].call).min().unwrap_or(0);
    let mut window: Vec<usize> = pending.iter().map(|&j| idx[j]).collect();
    for j in (0..m).filter(|&j| lin.get(j) && ops[idx[j]].ret >= earliest) {
        window.push(idx[j]);
    }
    if let Some(&last) = lin_ops.last() {
        window.push(idx[last as usize]);
    }
    window.sort_unstable();
    window.dedup();
    let b = idx[blocked as usize];
    let reason = format!(
        "op {} ({} {}) returned before any order of the operations pending with it could \
         produce its output: after the longest legal prefix ({} operations, last {}) the state \
         is {}; none of ops {:?} matches it",
        b + 1,
        ops[b].kind.name(),
        describe_op(&ops[b], holders),
        lin_ops.len(),
        lin_ops.last().map_or("none".to_string(), |&l| format!(
            "op {}",
            idx[l as usize] + 1
        )),
        best_state.describe(holders),
        pending.iter().map(|&j| idx[j] + 1).collect::<Vec<_>>()
    );
    Search::Illegal { window, reason }
}

fn describe_op(op: &Op, holders: &[String]) -> String {
    let h = |i: u32| holders.get(i as usize).map_or("?", |s| s).to_string();
    let opt = |v: Option<u64>| v.map_or("null".into(), |v| v.to_string());
    match &op.kind {
        OpKind::Flip {
            generation,
            mode,
            expected,
            fence,
            rollback,
            outcome,
        } => format!(
            "generation {generation} mode {} expected {} fence {} rollback {rollback} -> {}",
            mode_name(*mode),
            opt(*expected),
            opt(*fence),
            outcome_name(*outcome)
        ),
        OpKind::Read {
            alias,
            rollback,
            version,
        } => format!("-> alias {alias} rollback {rollback} version {version}"),
        OpKind::Acquire {
            holder,
            ttl,
            now,
            token,
        } => format!(
            "holder {:?} ttl {ttl} now {now} -> token {}",
            h(*holder),
            opt(*token)
        ),
        OpKind::Renew {
            holder,
            token,
            ttl,
            now,
            expiry,
        } => format!(
            "holder {:?} token {token} ttl {ttl} now {now} -> expiry {expiry:?}",
            h(*holder)
        ),
        OpKind::Release {
            holder,
            token,
            released,
        } => format!(
            "holder {:?} token {token} -> released {released}",
            h(*holder)
        ),
        OpKind::PutTree { generation } => format!("generation {generation}"),
        OpKind::DeleteTree {
            generation,
            safe,
            deleted,
        } => format!("generation {generation} safe {safe} -> deleted {deleted}"),
    }
}

// ------------------------------------------------------------------------------ domain checks

/// A violation of a domain rule found without search.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainViolation {
    pub check: &'static str,
    pub endpoint: u32,
    pub ops: Vec<usize>,
    pub detail: String,
}

fn applied_flip(op: &Op) -> Option<(u64, Mode, Option<u64>, bool)> {
    match op.kind {
        OpKind::Flip {
            generation,
            mode,
            fence,
            rollback,
            outcome: Outcome::Applied,
            ..
        } => Some((generation, mode, fence, rollback)),
        _ => None,
    }
}

/// The domain rules of one endpoint (`idx` in history order). An operation A precedes B when
/// A returned before B was called; a rule only fires when no other operation could have been
/// linearised in between to explain B.
fn domain(ops: &[Op], endpoint: u32, idx: &[usize], out: &mut Vec<DomainViolation>) {
    let flips: Vec<usize> = idx
        .iter()
        .copied()
        .filter(|&i| applied_flip(&ops[i]).is_some())
        .collect();
    if flips.is_empty() {
        return;
    }
    let gen_of = |i: usize| applied_flip(&ops[i]).map_or(0, |f| f.0);
    let mut by_ret = flips.clone();
    by_ret.sort_by_key(|&i| ops[i].ret);
    let mut by_call = flips.clone();
    by_call.sort_by_key(|&i| ops[i].call);
    // Prefix maxima by return: (generation, op).
    let mut best_gen: Vec<(u64, usize)> = Vec::with_capacity(by_ret.len());
    for &i in &by_ret {
        let prev = best_gen.last().copied().unwrap_or((0, usize::MAX));
        best_gen.push(if gen_of(i) >= prev.0 {
            (gen_of(i), i)
        } else {
            prev
        });
    }
    // Applied flips that may lower an alias (lww, exact), by call, with running max return.
    let lowering: Vec<usize> = by_call
        .iter()
        .copied()
        .filter(|&i| applied_flip(&ops[i]).is_some_and(|f| f.1 != Mode::IfNewer))
        .collect();
    let mut lowering_max_ret: Vec<u64> = Vec::with_capacity(lowering.len());
    for &i in &lowering {
        let prev = lowering_max_ret.last().copied().unwrap_or(0);
        lowering_max_ret.push(prev.max(ops[i].ret));
    }

    // 1. if_newer never lowers (nor repeats) the generation.
    for &b in &flips {
        let (g, mode, _, _) = applied_flip(&ops[b]).unwrap_or((0, Mode::Lww, None, false));
        if mode != Mode::IfNewer {
            continue;
        }
        let (call, ret) = (ops[b].call, ops[b].ret);
        // Latest return of a lowering flip that may come before b (called before b returned).
        let k = lowering.partition_point(|&i| ops[i].call < ret);
        let r = k.checked_sub(1).map(|p| lowering_max_ret[p]);
        let witness = match r {
            None => {
                let p = by_ret.partition_point(|&i| ops[i].ret < call);
                (p > 0 && best_gen[p - 1].0 >= g).then(|| best_gen[p - 1].1)
            }
            Some(r) => {
                // Only flips entirely after every such lowering flip and before b.
                let from = by_call.partition_point(|&i| ops[i].call < r);
                by_call[from..]
                    .iter()
                    .take_while(|&&i| ops[i].call < call)
                    .copied()
                    .filter(|&i| ops[i].ret < call && gen_of(i) >= g)
                    .max_by_key(|&i| gen_of(i))
            }
        };
        if let Some(a) = witness {
            out.push(DomainViolation {
                check: "if_newer_lowered",
                endpoint,
                ops: vec![a, b],
                detail: format!(
                    "op {} applied if_newer generation {g} after op {} had applied \
                     generation {} (nothing in between could lower the alias)",
                    b + 1,
                    a + 1,
                    gen_of(a)
                ),
            });
        }
    }

    // 2. An accepted fence is never below a fence accepted or granted before.
    let mut fences: Vec<(u64, u64, usize)> = idx
        .iter()
        .filter_map(|&i| match ops[i].kind {
            OpKind::Acquire { token: Some(t), .. } => Some((ops[i].ret, t, i)),
            _ => applied_flip(&ops[i]).and_then(|f| f.2.map(|t| (ops[i].ret, t, i))),
        })
        .collect();
    fences.sort_unstable();
    let mut fence_max: Vec<(u64, usize)> = Vec::with_capacity(fences.len());
    for &(_, t, i) in &fences {
        let prev = fence_max.last().copied().unwrap_or((0, usize::MAX));
        fence_max.push(if t > prev.0 { (t, i) } else { prev });
    }
    for &b in &flips {
        let Some(fb) = applied_flip(&ops[b]).and_then(|f| f.2) else {
            continue;
        };
        let p = fences.partition_point(|&(r, _, _)| r < ops[b].call);
        if p > 0 && fence_max[p - 1].0 > fb {
            let (t, a) = fence_max[p - 1];
            out.push(DomainViolation {
                check: "fence_lowered",
                endpoint,
                ops: vec![a, b],
                detail: format!(
                    "op {} was accepted with fence {fb} below fence {t} of op {}, which \
                     completed before it",
                    b + 1,
                    a + 1
                ),
            });
        }
    }

    // 3. No flip applied to a missing tree.
    let mut trees: FastMap<u64, (Vec<usize>, Vec<usize>)> = FastMap::default();
    for &i in idx {
        match ops[i].kind {
            OpKind::PutTree { generation } => trees.entry(generation).or_default().0.push(i),
            OpKind::DeleteTree {
                generation,
                deleted: true,
                ..
            } => trees.entry(generation).or_default().1.push(i),
            _ => {}
        }
    }
    let none = (Vec::new(), Vec::new());
    for &b in &flips {
        let g = gen_of(b);
        let (call, ret) = (ops[b].call, ops[b].ret);
        let (puts, deletes) = trees.get(&g).unwrap_or(&none);
        let put_before = puts.iter().any(|&p| ops[p].call < ret);
        let deleted = deletes
            .iter()
            .copied()
            .filter(|&i| ops[i].ret < call)
            .max_by_key(|&i| ops[i].call);
        let gone = deleted.filter(|&d| {
            !puts
                .iter()
                .any(|&p| ops[p].ret > ops[d].call && ops[p].call < ret)
        });
        if !put_before || gone.is_some() {
            let mut involved = vec![b];
            involved.extend(gone);
            involved.sort_unstable();
            out.push(DomainViolation {
                check: "flip_to_missing_tree",
                endpoint,
                ops: involved,
                detail: match gone {
                    Some(d) => {
                        format!(
                            "op {} applied generation {g}, whose tree op {} had deleted",
                            b + 1,
                            d + 1
                        )
                    }
                    None => format!(
                        "op {} applied generation {g}, whose tree was never put",
                        b + 1
                    ),
                },
            });
        }
    }

    // 4. Safe clean-up never deletes the tree the alias or the rollback refers to.
    let longest = flips
        .iter()
        .map(|&i| ops[i].ret - ops[i].call)
        .max()
        .unwrap_or(0);
    for &d in idx {
        let OpKind::DeleteTree {
            generation: g,
            safe: true,
            deleted: true,
        } = ops[d].kind
        else {
            continue;
        };
        let (call, ret) = (ops[d].call, ops[d].ret);
        let p = by_ret.partition_point(|&i| ops[i].ret < call);
        if p == 0 {
            continue;
        }
        // Applied flips other than `skip` that may be linearised after `from`'s call and
        // before d.
        // (Flips returning after ret + the longest flip were called after d returned.)
        let interferes = |from: usize, skip: &[usize]| {
            let q = by_ret.partition_point(|&i| ops[i].ret <= ops[from].call);
            by_ret[q..]
                .iter()
                .take_while(|&&i| ops[i].ret <= ret.saturating_add(longest))
                .any(|&i| !skip.contains(&i) && ops[i].call < ret)
        };
        let l1 = by_ret[p - 1];
        let mut found = None;
        if !interferes(l1, &[l1]) {
            if gen_of(l1) == g {
                found = Some((vec![l1, d], "alias"));
            } else if applied_flip(&ops[l1]).is_some_and(|f| f.3) && p >= 2 {
                let l2 = by_ret[p - 2];
                if ops[l2].ret < ops[l1].call && !interferes(l2, &[l1, l2]) && gen_of(l2) == g {
                    found = Some((vec![l2, l1, d], "rollback"));
                }
            }
        }
        if let Some((involved, what)) = found {
            out.push(DomainViolation {
                check: "safe_delete_live",
                endpoint,
                ops: involved,
                detail: format!(
                    "op {}: safe clean-up deleted tree {g} while the endpoint's {what} \
                     referred to it",
                    d + 1
                ),
            });
        }
    }
}

// ------------------------------------------------------------------------------ result

impl Exceeded {
    fn describe(self, opts: &CheckOptions) -> String {
        match self {
            Exceeded::Time => format!(
                "time bound exceeded: {} s (raise it with --timeout or timeout=)",
                opts.timeout.map_or(0.0, |t| t.as_secs_f64())
            ),
            Exceeded::States => format!(
                "memory bound exceeded: more than {} states kept in the memo (raise it with \
                 --max-states or max_states=)",
                opts.max_states
            ),
            Exceeded::Allocation => {
                "memory allocation failed while growing the memo (below the memory bound)".into()
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Illegal,
    Unknown,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Illegal => "illegal",
            Verdict::Unknown => "unknown",
        }
    }
}

/// The endpoint (of the illegal ones, the lowest id) whose history cannot be linearised.
#[derive(Debug, Clone, PartialEq)]
pub struct Illegal {
    pub endpoint: u32,
    pub window: Vec<usize>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    pub verdict: Verdict,
    pub operations: usize,
    pub endpoints: usize,
    pub elapsed_s: Option<f64>,
    pub illegal: Option<Illegal>,
    pub illegal_endpoints: Vec<u32>,
    pub domain_violations: Vec<DomainViolation>,
    pub linearizations: Option<BTreeMap<u32, Vec<usize>>>,
    pub unknown_endpoints: Vec<u32>,
    /// Why some endpoints are `unknown`: the bounds exceeded, in words (`None` when none is).
    pub unknown_reason: Option<String>,
    /// Operations the recording ring dropped before this history (> 0: not judged).
    pub dropped: u64,
    /// The bounds the check ran with.
    pub timeout: Option<Duration>,
    pub max_states: usize,
}

impl CheckResult {
    /// The result as the documented JSON document. Operations are numbered from 1 there, as
    /// people count them (op N: the N-th operation of the file; `op_base` says so), while the
    /// fields of this struct index `History::ops` from 0.
    pub fn to_json(&self) -> Value {
        let people = |ops: &[usize]| ops.iter().map(|&i| i + 1).collect::<Vec<_>>();
        let mut doc = json!({
            "op_base": 1,
            "verdict": self.verdict.name(),
            "operations": self.operations,
            "endpoints": self.endpoints,
            "elapsed_s": self.elapsed_s,
            "illegal": self.illegal.as_ref().map(|i| json!({
                "endpoint": i.endpoint,
                "window": people(&i.window),
                "reason": i.reason,
            })),
            "illegal_endpoints": self.illegal_endpoints,
            "domain_violations": self.domain_violations.iter().map(|v| json!({
                "check": v.check,
                "endpoint": v.endpoint,
                "ops": people(&v.ops),
                "detail": v.detail,
            })).collect::<Vec<_>>(),
            "unknown_endpoints": self.unknown_endpoints,
            "unknown_reason": self.unknown_reason,
            "dropped": self.dropped,
            "bounds": {
                "timeout_s": self.timeout.map(|t| t.as_secs_f64()),
                "max_states": self.max_states,
            },
        });
        if let Some(lin) = &self.linearizations {
            doc["linearizations"] = json!(lin
                .iter()
                .map(|(e, order)| (e.to_string(), json!(people(order))))
                .collect::<serde_json::Map<String, Value>>());
        }
        doc
    }
}

/// [`check_with`] with the default options.
pub fn check(history: &History) -> CheckResult {
    check_with(history, CheckOptions::default())
}

/// Check a history: linearizability per endpoint, in parallel over endpoints, plus the domain
/// checks. Never panics on any history (the parser has validated it).
pub fn check_with(history: &History, opts: CheckOptions) -> CheckResult {
    let start = Instant::now();
    let deadline = opts.timeout.map(|t| start + t);
    let ops = &history.ops;
    if history.dropped > 0 {
        return truncated(history, opts, start);
    }
    // Partition: op positions grouped by endpoint, history order kept within each.
    let mut keyed: Vec<u64> = ops
        .iter()
        .enumerate()
        .map(|(i, o)| ((o.endpoint as u64) << 32) | i as u64)
        .collect();
    keyed.sort_unstable();
    let flat: Vec<usize> = keyed.iter().map(|k| (k & 0xffff_ffff) as usize).collect();
    let mut groups: Vec<(u32, usize, usize)> = Vec::new();
    let mut s = 0;
    while s < flat.len() {
        let e = ops[flat[s]].endpoint;
        let mut t = s;
        while t < flat.len() && ops[flat[t]].endpoint == e {
            t += 1;
        }
        groups.push((e, s, t));
        s = t;
    }
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    }
    .clamp(1, groups.len().max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let budget = Budget {
        max: opts.max_states,
        kept: AtomicUsize::new(0),
    };
    const BATCH: usize = 256;
    type Part = (Vec<(u32, Search)>, Vec<DomainViolation>);
    let work = || -> Part {
        let mut results = Vec::new();
        let mut violations = Vec::new();
        loop {
            let from = next.fetch_add(BATCH, Relaxed);
            if from >= groups.len() {
                break;
            }
            for &(e, s, t) in &groups[from..(from + BATCH).min(groups.len())] {
                let idx = &flat[s..t];
                domain(ops, e, idx, &mut violations);
                let r = if stop.load(Relaxed) {
                    Search::Unknown(Exceeded::Time)
                } else {
                    search(
                        ops,
                        idx,
                        &history.holders,
                        opts.memoize,
                        deadline,
                        &stop,
                        &budget,
                        None,
                    )
                };
                results.push((e, r));
            }
        }
        (results, violations)
    };
    let parts: Vec<Part> = if threads == 1 {
        vec![work()]
    } else {
        std::thread::scope(|sc| {
            let handles: Vec<_> = (0..threads).map(|_| sc.spawn(work)).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    let mut illegal: Option<Illegal> = None;
    let mut illegal_endpoints = Vec::new();
    let mut unknown = Vec::new();
    let mut violations = Vec::new();
    let mut lin = opts.linearizations.then(BTreeMap::new);
    let mut done = 0usize;
    let mut answered = Vec::new();
    let mut exceeded: Vec<Exceeded> = Vec::new();
    for (results, v) in parts {
        violations.extend(v);
        for (e, r) in results {
            done += 1;
            answered.push(e);
            match r {
                Search::Ok(order) => {
                    if let Some(l) = lin.as_mut() {
                        l.insert(e, order);
                    }
                }
                Search::Illegal { window, reason } => {
                    illegal_endpoints.push(e);
                    if illegal.as_ref().is_none_or(|i| e < i.endpoint) {
                        illegal = Some(Illegal {
                            endpoint: e,
                            window,
                            reason,
                        });
                    }
                }
                Search::Unknown(why) => {
                    unknown.push(e);
                    if !exceeded.contains(&why) {
                        exceeded.push(why);
                    }
                }
            }
        }
    }
    // A worker that panicked (never expected) leaves its endpoints unanswered: unknown.
    if done < groups.len() {
        let answered: FastSet<u32> = answered.into_iter().collect();
        unknown.extend(groups.iter().map(|g| g.0).filter(|e| !answered.contains(e)));
    }
    exceeded.sort_by_key(|e| *e as u8);
    let unknown_reason = (!unknown.is_empty()).then(|| {
        exceeded
            .iter()
            .map(|e| e.describe(&opts))
            .collect::<Vec<_>>()
            .join("; ")
    });
    illegal_endpoints.sort_unstable();
    unknown.sort_unstable();
    violations.sort_by(|a, b| (a.endpoint, &a.ops).cmp(&(b.endpoint, &b.ops)));
    let verdict = if illegal.is_some() || !violations.is_empty() {
        Verdict::Illegal
    } else if !unknown.is_empty() {
        Verdict::Unknown
    } else {
        Verdict::Ok
    };
    CheckResult {
        verdict,
        operations: ops.len(),
        endpoints: groups.len(),
        elapsed_s: Some(start.elapsed().as_secs_f64()),
        illegal,
        illegal_endpoints,
        domain_violations: violations,
        linearizations: lin,
        unknown_endpoints: unknown,
        unknown_reason: unknown_reason.filter(|r| !r.is_empty()).or_else(|| {
            (verdict == Verdict::Unknown).then(|| "a search thread failed (internal)".into())
        }),
        dropped: 0,
        timeout: opts.timeout,
        max_states: opts.max_states,
    }
}

/// A truncated history is not judged: its first operations ran from a state nobody recorded,
/// so a search could only guess (and would call a correct store illegal).
fn truncated(history: &History, opts: CheckOptions, start: Instant) -> CheckResult {
    let mut endpoints: Vec<u32> = history.ops.iter().map(|o| o.endpoint).collect();
    endpoints.sort_unstable();
    endpoints.dedup();
    CheckResult {
        verdict: Verdict::Unknown,
        operations: history.ops.len(),
        endpoints: endpoints.len(),
        elapsed_s: Some(start.elapsed().as_secs_f64()),
        illegal: None,
        illegal_endpoints: Vec::new(),
        domain_violations: Vec::new(),
        linearizations: opts.linearizations.then(BTreeMap::new),
        unknown_endpoints: endpoints,
        unknown_reason: Some(format!(
            "truncated history: the recording ring dropped {} earlier operations, so the state \
             the kept ones start from is unknown (record with a larger history= capacity, or \
             only some endpoints with set_history_endpoints)",
            history.dropped
        )),
        dropped: history.dropped,
        timeout: opts.timeout,
        max_states: opts.max_states,
    }
}
