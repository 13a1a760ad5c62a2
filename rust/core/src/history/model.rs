//! The store's model, one endpoint at a time: its state, and the answer it gives to each
//! operation from a state (compared with the answer recorded). The search runs it.

use std::hash::{Hash, Hasher};
use std::rc::Rc;

use super::fields::Field;
use super::{Op, OpKind};
use crate::error::MAX_TOKEN;
use crate::flip_types::{Mode, Outcome};

/// One endpoint's state as the store keeps it.
#[derive(Debug, Clone, Default)]
pub(super) struct State {
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
    pub(super) fn has_tree(&self, g: u64) -> bool {
        g != 0 && self.trees.binary_search(&g).is_ok()
    }

    /// The step to a copy of this state with `change` made.
    fn changed(&self, change: impl FnOnce(&mut State)) -> Step {
        let mut next = self.clone();
        change(&mut next);
        Step::New(next)
    }

    pub(super) fn describe(&self, holders: &[String]) -> String {
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

pub(super) enum Step {
    /// The recorded output is not what the model answers from this state.
    Fail,
    Same,
    New(State),
}

/// The store's answer to `op` from `s`, compared with the recorded one.
pub(super) fn step(s: &State, op: &OpKind) -> Step {
    match *op {
        OpKind::Flip(f) => {
            let model = if !s.has_tree(f.generation) {
                Outcome::Missing
            } else if f.fence.is_some_and(|fence| fence < s.fence) {
                Outcome::Fenced
            } else if !match f.mode {
                Mode::Lww => true,
                Mode::IfNewer => f.generation > s.alias,
                Mode::Exact => Some(s.version) == f.expected,
            } {
                Outcome::Stale
            } else if f.rollback && s.alias != 0 && !s.has_tree(s.alias) {
                Outcome::Dangling
            } else {
                Outcome::Applied
            };
            if model != f.outcome {
                return Step::Fail;
            }
            if f.outcome != Outcome::Applied {
                return Step::Same;
            }
            s.changed(|n| {
                if let Some(fence) = f.fence {
                    n.fence = n.fence.max(fence);
                }
                n.rollback = if f.rollback { s.alias } else { 0 };
                n.alias = f.generation;
                n.version += 1;
            })
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
                Some(t) => s.changed(|n| {
                    n.fence = t;
                    n.holder = Some(holder);
                    n.token = t;
                    n.expiry = now + ttl;
                }),
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
                Some(e) => s.changed(|n| n.expiry = e),
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
            s.changed(|n| {
                n.holder = None;
                n.token = 0;
                n.expiry = 0.0;
            })
        }
        OpKind::PutTree { generation } => match s.trees.binary_search(&generation) {
            // The store refuses a plan whose generation still has a tree: never recorded.
            Ok(_) => Step::Fail,
            Err(at) => s.changed(|n| {
                Rc::make_mut(&mut n.trees).insert(at, generation);
                n.trees_hash ^= splitmix(generation);
            }),
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
            s.changed(|n| {
                Rc::make_mut(&mut n.trees).remove(at);
                n.trees_hash ^= splitmix(generation);
            })
        }
    }
}

/// A well-mixed 64-bit key per operation (splitmix64).
pub(super) fn splitmix(i: u64) -> u64 {
    let mut z = i.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The operation's fields as words: `name value ... -> name value ...`.
pub(super) fn describe_op(op: &Op, holders: &[String]) -> String {
    let fields = op.kind.fields(holders);
    let mut out = String::new();
    let words = |out: &mut String, fields: &[Field<'_>]| {
        for &(name, value) in fields {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(name);
            out.push(' ');
            value.write_to(out, "null", |out, n| out.push_str(n));
        }
    };
    words(&mut out, fields.input());
    if !fields.output().is_empty() {
        out.push_str(if out.is_empty() { "->" } else { " ->" });
        words(&mut out, fields.output());
    }
    out
}
