//! The domain checks: rules of the store that need no search (O(n log n) per endpoint), each
//! reported with the operations that break it.

use super::{FastMap, Op, OpKind};
use crate::flip_types::{Mode, Outcome};

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
        OpKind::Flip(f) if f.outcome == Outcome::Applied => {
            Some((f.generation, f.mode, f.fence, f.rollback))
        }
        _ => None,
    }
}

/// The domain rules of one endpoint (`idx` in history order). An operation A precedes B when
/// A returned before B was called; a rule only fires when no other operation could have been
/// linearised in between to explain B.
pub(super) fn domain(ops: &[Op], endpoint: u32, idx: &[usize], out: &mut Vec<DomainViolation>) {
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
