//! Writing histories: `jsonl` and `jepsen` (formats: `format`).

use std::fmt::Write as _;

use super::fields::Field;
use super::format::TRUNCATED_KEY;
use super::{FastMap, History, OpKind};
use crate::flip_types::Outcome;

/// A JSON object of the fields, in their order.
fn write_json_object(out: &mut String, fields: &[Field<'_>]) {
    out.push('{');
    for (k, &(name, value)) in fields.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{name}\":");
        value.write_to(out, "null", |out, n| {
            let _ = write!(out, "\"{n}\"");
        });
    }
    out.push('}');
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
        let fields = op.kind.fields(&history.holders);
        out.push_str("\"input\":");
        write_json_object(&mut out, fields.input());
        out.push_str(",\"output\":");
        write_json_object(&mut out, fields.output());
        out.push_str("}\n");
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
        let fields = op.kind.fields(&history.holders);
        let args = edn_entries(fields.input());
        let (kind, value) = if completion == 0 {
            (":invoke", args)
        } else {
            let kind = if completed_ok(&op.kind) {
                ":ok"
            } else {
                ":fail"
            };
            (kind, args + &edn_entries(fields.output()))
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

/// The fields as EDN map entries (`, :key value`), names as keywords.
fn edn_entries(fields: &[Field<'_>]) -> String {
    let keyword = |name: &str| name.replace('_', "-");
    let mut out = String::new();
    for &(name, value) in fields {
        let _ = write!(out, ", :{} ", keyword(name));
        value.write_to(&mut out, "nil", |out, n| {
            out.push(':');
            out.push_str(&keyword(n));
        });
    }
    out
}

/// `:ok` unless the operation definitely changed nothing (a refused flip, lease or delete).
fn completed_ok(kind: &OpKind) -> bool {
    match *kind {
        OpKind::Flip(f) => f.outcome == Outcome::Applied,
        OpKind::Read { .. } | OpKind::PutTree { .. } => true,
        OpKind::Acquire { token, .. } => token.is_some(),
        OpKind::Renew { expiry, .. } => expiry.is_some(),
        OpKind::Release { released, .. } => released,
        OpKind::DeleteTree { deleted, .. } => deleted,
    }
}
