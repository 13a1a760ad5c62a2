//! Writing histories: `jsonl` and `jepsen` (formats: `format`).

use std::fmt::Write as _;

use super::format::TRUNCATED_KEY;
use super::{FastMap, History, Op, OpKind};
use crate::flip_types::Outcome;

struct Opt<T>(Option<T>);

impl<T: std::fmt::Display> std::fmt::Display for Opt<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(v) => write!(f, "{v}"),
            None => f.write_str("null"),
        }
    }
}

/// A finite float written so that it reads back bit for bit (shortest round-trip form).
struct F(f64);

impl std::fmt::Display for F {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"?\"".into())
}

fn gen_or_null(g: u64) -> Opt<u64> {
    Opt((g != 0).then_some(g))
}

/// The `jsonl` form of a history: one line per operation, in the history's order, after a
/// `{"truncated":{"dropped":N}}` line when the recording ring dropped older operations.
pub fn write_jsonl(history: &History) -> Vec<u8> {
    let mut out = String::with_capacity(history.ops.len() * 160);
    if history.dropped > 0 {
        let _ = writeln!(
            out,
            "{{\"{TRUNCATED_KEY}\":{{\"dropped\":{}}}}}",
            history.dropped
        );
    }
    let holder = |h: u32| json_str(history.holders.get(h as usize).map_or("?", |s| s));
    for op in &history.ops {
        let _ = write!(
            out,
            "{{\"client\":{},\"endpoint\":{},\"op\":\"{}\",\"call\":{},\"return\":{},",
            op.client,
            op.endpoint,
            op.kind.name(),
            op.call,
            op.ret
        );
        let _ = match &op.kind {
            OpKind::Flip {
                generation,
                mode,
                expected,
                fence,
                rollback,
                outcome,
            } => write!(
                out,
                "\"input\":{{\"generation\":{generation},\"mode\":\"{}\",\"expected_version\":{},\
                 \"fence\":{},\"rollback\":{rollback}}},\"output\":{{\"outcome\":\"{}\"}}}}",
                mode.name(),
                Opt(*expected),
                Opt(*fence),
                outcome.name()
            ),
            OpKind::Read {
                alias,
                rollback,
                version,
            } => write!(
                out,
                "\"input\":{{}},\"output\":{{\"alias\":{},\"rollback\":{},\"version\":{version}}}}}",
                gen_or_null(*alias),
                gen_or_null(*rollback)
            ),
            OpKind::Acquire {
                holder: h,
                ttl,
                now,
                token,
            } => write!(
                out,
                "\"input\":{{\"holder\":{},\"ttl\":{},\"now\":{}}},\"output\":{{\"token\":{}}}}}",
                holder(*h),
                F(*ttl),
                F(*now),
                Opt(*token)
            ),
            OpKind::Renew {
                holder: h,
                token,
                ttl,
                now,
                expiry,
            } => write!(
                out,
                "\"input\":{{\"holder\":{},\"token\":{token},\"ttl\":{},\"now\":{}}},\
                 \"output\":{{\"expiry\":{}}}}}",
                holder(*h),
                F(*ttl),
                F(*now),
                Opt(expiry.map(F))
            ),
            OpKind::Release {
                holder: h,
                token,
                released,
            } => write!(
                out,
                "\"input\":{{\"holder\":{},\"token\":{token}}},\"output\":{{\"released\":{released}}}}}",
                holder(*h)
            ),
            OpKind::PutTree { generation } => write!(
                out,
                "\"input\":{{\"generation\":{generation}}},\"output\":{{}}}}"
            ),
            OpKind::DeleteTree {
                generation,
                safe,
                deleted,
            } => write!(
                out,
                "\"input\":{{\"generation\":{generation},\"safe\":{safe}}},\
                 \"output\":{{\"deleted\":{deleted}}}}}"
            ),
        };
        out.push('\n');
    }
    out.into_bytes()
}

/// The `jepsen` form: EDN maps, one per line, an `:invoke` and its completion (`:ok`, or
/// `:fail` when the operation definitely changed nothing: a refused flip, lease or delete) per
/// operation, ordered by time. A Jepsen process has one operation in flight: the k-th
/// operation of one batch call of client `c` runs as process `c + k * C` (C: clients).
pub fn write_jepsen(history: &History) -> Vec<u8> {
    let clients = history.ops.iter().map(|o| o.client + 1).max().unwrap_or(1) as u64;
    // The position of each op within its batch (same client, call and return in a row).
    let mut slot = vec![0u64; history.ops.len()];
    let mut last: FastMap<u32, (u64, u64, u64)> = FastMap::default();
    for (i, op) in history.ops.iter().enumerate() {
        let e = last.entry(op.client).or_insert((u64::MAX, u64::MAX, 0));
        let k = if (e.0, e.1) == (op.call, op.ret) {
            e.2 + 1
        } else {
            0
        };
        *e = (op.call, op.ret, k);
        slot[i] = k;
    }
    let mut events: Vec<(u64, u8, usize, u8)> = Vec::with_capacity(history.ops.len() * 2);
    for (i, op) in history.ops.iter().enumerate() {
        events.push((op.call, 1, i, 0));
        events.push(if op.ret == op.call {
            (op.ret, 1, i, 1)
        } else {
            (op.ret, 0, i, 1)
        });
    }
    events.sort_unstable();
    let holder = |h: u32| json_str(history.holders.get(h as usize).map_or("?", |s| s));
    let mut out = String::with_capacity(events.len() * 140);
    if history.dropped > 0 {
        let _ = writeln!(
            out,
            "; truncated: the recording ring dropped {} earlier operations",
            history.dropped
        );
    }
    for (index, &(time, _, i, completion)) in events.iter().enumerate() {
        let op = &history.ops[i];
        let (args, result, ok) = edn_value(op, &holder);
        let (kind, value) = if completion == 0 {
            (":invoke", args)
        } else {
            (if ok { ":ok" } else { ":fail" }, format!("{args}{result}"))
        };
        let _ = writeln!(
            out,
            "{{:index {index}, :type {kind}, :process {}, :f :{}, :time {time}, \
             :value {{:endpoint {}{value}}}}}",
            op.client as u64 + slot[i] * clients,
            op.kind.name().replace('_', "-"),
            op.endpoint
        );
    }
    out.into_bytes()
}

fn edn_opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "nil".into(), |v| v.to_string())
}

/// (arguments, results, ok) of an operation as EDN map entries.
fn edn_value(op: &Op, holder: &impl Fn(u32) -> String) -> (String, String, bool) {
    match &op.kind {
        OpKind::Flip {
            generation,
            mode,
            expected,
            fence,
            rollback,
            outcome,
        } => (
            format!(
                ", :generation {generation}, :mode :{}, :expected-version {}, :fence {}, \
                 :rollback {rollback}",
                mode.name().replace('_', "-"),
                edn_opt(*expected),
                edn_opt(*fence)
            ),
            format!(", :outcome :{}", outcome.name()),
            *outcome == Outcome::Applied,
        ),
        OpKind::Read {
            alias,
            rollback,
            version,
        } => (
            String::new(),
            format!(
                ", :alias {}, :rollback {}, :version {version}",
                edn_opt((*alias != 0).then_some(*alias)),
                edn_opt((*rollback != 0).then_some(*rollback))
            ),
            true,
        ),
        OpKind::Acquire {
            holder: h,
            ttl,
            now,
            token,
        } => (
            format!(
                ", :holder {}, :ttl {}, :now {}",
                holder(*h),
                F(*ttl),
                F(*now)
            ),
            format!(", :token {}", edn_opt(*token)),
            token.is_some(),
        ),
        OpKind::Renew {
            holder: h,
            token,
            ttl,
            now,
            expiry,
        } => (
            format!(
                ", :holder {}, :token {token}, :ttl {}, :now {}",
                holder(*h),
                F(*ttl),
                F(*now)
            ),
            format!(", :expiry {}", edn_opt(expiry.map(F))),
            expiry.is_some(),
        ),
        OpKind::Release {
            holder: h,
            token,
            released,
        } => (
            format!(", :holder {}, :token {token}", holder(*h)),
            format!(", :released {released}"),
            *released,
        ),
        OpKind::PutTree { generation } => {
            (format!(", :generation {generation}"), String::new(), true)
        }
        OpKind::DeleteTree {
            generation,
            safe,
            deleted,
        } => (
            format!(", :generation {generation}, :safe {safe}"),
            format!(", :deleted {deleted}"),
            *deleted,
        ),
    }
}
