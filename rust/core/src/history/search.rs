//! The search, one endpoint at a time: the Wing–Gong algorithm with Lowe's memoisation, as
//! Porcupine runs it. Call and return events sorted by time form a doubly linked list; the
//! search walks it, tentatively linearising an operation at its call event when the model
//! accepts its recorded output, and backtracks when it meets the return event of an operation
//! it has not linearised yet. A cache of (set of linearised operations, model state) pairs
//! already explored cuts every repeated configuration; it grows only within a memory bound.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use super::model::{describe_op, splitmix, step, State, Step};
use super::{FastSet, Op};

/// What the search concluded for one endpoint.
pub(super) enum Search {
    Ok(Vec<usize>),
    Illegal { window: Vec<usize>, reason: String },
    Unknown(Exceeded),
}

/// The bound a search ran past (its verdict is then `unknown`, never a guess).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// The time bound ([`super::CheckOptions::timeout`]).
    Time,
    /// The memory bound: more states in the memo than [`super::CheckOptions::max_states`].
    States,
    /// The allocator refused to grow the memo (below the memory bound).
    Allocation,
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

/// The memory bound shared by the searches running at once: memo slots reserved.
pub(super) struct Budget {
    pub(super) max: usize,
    pub(super) kept: AtomicUsize,
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
pub(super) fn search(
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
