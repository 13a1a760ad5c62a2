//! Reading `jsonl` histories, strictly (formats: `format`): every error names its
//! line, counted from 1.

use serde_json::{Map, Value};

use super::format::TRUNCATED_KEY;
use super::{FastMap, FlipOp, History, Op, OpKind};
use crate::error::{Error, Result, MAX_GENERATION, MAX_HOLDER_CHARS, MAX_TOKEN};
use crate::flip_types::{Mode, Outcome};

fn bad(line: usize, what: impl std::fmt::Display) -> Error {
    Error::InvalidHistory(format!("line {line}: {what}"))
}

struct Fields<'a> {
    map: &'a Map<String, Value>,
    line: usize,
    what: &'static str,
}

impl<'a> Fields<'a> {
    fn new(v: &'a Value, line: usize, what: &'static str, keys: &[&str]) -> Result<Self> {
        let Some(map) = v.as_object() else {
            return Err(bad(line, format_args!("{what} must be an object")));
        };
        for k in map.keys() {
            if !keys.contains(&k.as_str()) {
                return Err(bad(line, format_args!("{what}: unknown field {k:?}")));
            }
        }
        for k in keys {
            let optional = what == "input" && OPTIONAL.contains(k);
            if !(optional || map.contains_key(*k)) {
                return Err(bad(line, format_args!("{what}: missing field {k:?}")));
            }
        }
        Ok(Fields { map, line, what })
    }

    fn get(&self, key: &str) -> &'a Value {
        self.map.get(key).unwrap_or(&Value::Null)
    }

    fn err(&self, key: &str, why: &str) -> Error {
        bad(
            self.line,
            format_args!("{} field {key:?}: {why}", self.what),
        )
    }

    fn uint(&self, key: &str, max: u64) -> Result<u64> {
        match self.get(key).as_u64() {
            Some(v) if v <= max => Ok(v),
            _ => Err(self.err(key, &format!("must be an integer 0..{max}"))),
        }
    }

    fn positive(&self, key: &str, max: u64) -> Result<u64> {
        match self.get(key).as_u64() {
            Some(v) if (1..=max).contains(&v) => Ok(v),
            _ => Err(self.err(key, &format!("must be an integer 1..{max}"))),
        }
    }

    fn opt_positive(&self, key: &str, max: u64) -> Result<Option<u64>> {
        if self.get(key).is_null() {
            return Ok(None);
        }
        self.positive(key, max).map(Some)
    }

    fn boolean(&self, key: &str) -> Result<bool> {
        self.get(key)
            .as_bool()
            .ok_or_else(|| self.err(key, "must be true or false"))
    }

    fn str(&self, key: &str) -> Result<&'a str> {
        self.get(key)
            .as_str()
            .ok_or_else(|| self.err(key, "must be a string"))
    }

    fn float(&self, key: &str) -> Result<f64> {
        match self.get(key) {
            Value::Number(n) => n
                .as_f64()
                .filter(|f| f.is_finite())
                .ok_or_else(|| self.err(key, "must be a finite number")),
            _ => Err(self.err(key, "must be a number")),
        }
    }

    fn opt_float(&self, key: &str) -> Result<Option<f64>> {
        if self.get(key).is_null() {
            return Ok(None);
        }
        self.float(key).map(Some)
    }
}

struct Holders {
    names: Vec<String>,
    index: FastMap<String, u32>,
}

impl Holders {
    fn intern(&mut self, f: &Fields<'_>) -> Result<u32> {
        let name = f.str("holder")?;
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_HOLDER_CHARS {
            return Err(f.err(
                "holder",
                &format!("must be 1..{MAX_HOLDER_CHARS} characters"),
            ));
        }
        Ok(self.intern_name(name))
    }

    fn intern_name(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }
}

/// Input fields a line may leave out (`flip`'s `rollback`, true by default).
const OPTIONAL: &[&str] = &["rollback"];

const TOP: &[&str] = &[
    "client", "endpoint", "op", "call", "return", "input", "output",
];

fn parse_line(text: &str, line: usize, holders: &mut Holders) -> Result<Op> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        if e.is_eof() {
            bad(line, "truncated JSON object")
        } else {
            bad(line, format_args!("invalid JSON: {e}"))
        }
    })?;
    let top = Fields::new(&value, line, "operation", TOP)?;
    let client = top.uint("client", u32::MAX as u64)? as u32;
    let endpoint = top.uint("endpoint", u32::MAX as u64 - 1)? as u32;
    let call = top.uint("call", i64::MAX as u64)?;
    let ret = top.uint("return", i64::MAX as u64)?;
    if ret < call {
        return Err(bad(
            line,
            format_args!("return {ret} is before call {call}"),
        ));
    }
    let op = top.str("op")?;
    let (input, output) = (top.get("input"), top.get("output"));
    let io = |ikeys: &[&str], okeys: &[&str]| -> Result<(Fields<'_>, Fields<'_>)> {
        Ok((
            Fields::new(input, line, "input", ikeys)?,
            Fields::new(output, line, "output", okeys)?,
        ))
    };
    let kind = match op {
        "flip" => {
            let (i, o) = io(
                &[
                    "generation",
                    "mode",
                    "expected_version",
                    "fence",
                    "rollback",
                ],
                &["outcome"],
            )?;
            let generation = i.positive("generation", MAX_GENERATION)?;
            let mode = Mode::parse(i.str("mode")?)
                .map_err(|_| i.err("mode", "must be \"lww\", \"if_newer\" or \"exact\""))?;
            let expected = if i.get("expected_version").is_null() {
                None
            } else {
                Some(i.uint("expected_version", i64::MAX as u64)?)
            };
            if (mode == Mode::Exact) != expected.is_some() {
                return Err(i.err(
                    "expected_version",
                    "must be an integer with mode \"exact\" and null otherwise",
                ));
            }
            OpKind::Flip(FlipOp {
                generation,
                mode,
                expected,
                fence: i.opt_positive("fence", MAX_TOKEN)?,
                // The format names four inputs; `rollback` (written always) defaults
                // to true.
                rollback: i.get("rollback").is_null() || i.boolean("rollback")?,
                outcome: Outcome::parse(o.str("outcome")?).ok_or_else(|| {
                    o.err(
                        "outcome",
                        "must be applied, outdated, fenced, missing or dangling",
                    )
                })?,
            })
        }
        "read" => {
            let (_, o) = io(&[], &["alias", "rollback", "version"])?;
            OpKind::Read {
                alias: o.opt_positive("alias", MAX_GENERATION)?.unwrap_or(0),
                rollback: o.opt_positive("rollback", MAX_GENERATION)?.unwrap_or(0),
                version: o.uint("version", i64::MAX as u64)?,
            }
        }
        "acquire" => {
            let (i, o) = io(&["holder", "ttl", "now"], &["token"])?;
            OpKind::Acquire {
                holder: holders.intern(&i)?,
                ttl: positive_ttl(&i)?,
                now: i.float("now")?,
                token: o.opt_positive("token", MAX_TOKEN)?,
            }
        }
        "renew" => {
            let (i, o) = io(&["holder", "token", "ttl", "now"], &["expiry"])?;
            OpKind::Renew {
                holder: holders.intern(&i)?,
                token: i.positive("token", MAX_TOKEN)?,
                ttl: positive_ttl(&i)?,
                now: i.float("now")?,
                expiry: o.opt_float("expiry")?,
            }
        }
        "release" => {
            let (i, o) = io(&["holder", "token"], &["released"])?;
            OpKind::Release {
                holder: holders.intern(&i)?,
                token: i.positive("token", MAX_TOKEN)?,
                released: o.boolean("released")?,
            }
        }
        "put_tree" => {
            let (i, _) = io(&["generation"], &[])?;
            OpKind::PutTree {
                generation: i.positive("generation", MAX_GENERATION)?,
            }
        }
        "delete_tree" => {
            let (i, o) = io(&["generation", "safe"], &["deleted"])?;
            OpKind::DeleteTree {
                generation: i.positive("generation", MAX_GENERATION)?,
                safe: i.boolean("safe")?,
                deleted: o.boolean("deleted")?,
            }
        }
        other => {
            return Err(bad(
                line,
                format_args!(
                    "unknown op {other:?} (flip, read, acquire, renew, release, put_tree, \
                     delete_tree)"
                ),
            ))
        }
    };
    Ok(Op {
        client,
        endpoint,
        call,
        ret,
        kind,
    })
}

fn positive_ttl(f: &Fields<'_>) -> Result<f64> {
    let ttl = f.float("ttl")?;
    if ttl > 0.0 {
        Ok(ttl)
    } else {
        Err(f.err("ttl", "must be > 0"))
    }
}

/// Read a `jsonl` history. Strict: every line one operation object with exactly the
/// documented fields and types; the file ends with a newline (else it was truncated); each
/// client sequential in file order (an operation starts after the client's previous one
/// returned, or shares its call and return: one batch). Lines may otherwise come in any order
/// (the store writes them by call time). Errors name the line
/// (1-based) as [`Error::InvalidHistory`].
pub fn parse_jsonl(bytes: &[u8]) -> Result<History> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        bad(line, "not UTF-8 text")
    })?;
    let (text, dropped, first) = truncation(text)?;
    // Lines are parsed in chunks on several threads; the order checks then run over the
    // merged operations in one pass. Of several errors, the one on the first line is given.
    const CHUNK_BYTES: usize = 1 << 20;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let parts = if text.len() < 2 * CHUNK_BYTES {
        1
    } else {
        threads
    };
    let mut chunks: Vec<(&str, usize)> = Vec::with_capacity(parts);
    let (mut rest, mut line) = (text, first);
    for k in 0..parts {
        let cut = if k + 1 == parts {
            rest.len()
        } else {
            let target = (text.len() / parts).min(rest.len());
            rest[target..]
                .find('\n')
                .map_or(rest.len(), |p| target + p + 1)
        };
        let (chunk, tail) = rest.split_at(cut);
        chunks.push((chunk, line));
        line += chunk.bytes().filter(|&b| b == b'\n').count();
        rest = tail;
    }
    let parsed: Vec<Chunk> = if chunks.len() == 1 {
        vec![parse_chunk(chunks[0].0, chunks[0].1)]
    } else {
        std::thread::scope(|sc| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|&(c, l)| sc.spawn(move || parse_chunk(c, l)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| Chunk {
                        ops: Vec::new(),
                        holders: Vec::new(),
                        error: Some(bad(0, "internal error while parsing")),
                    })
                })
                .collect()
        })
    };
    let mut holders = Holders {
        names: Vec::new(),
        index: FastMap::default(),
    };
    let mut ops = Vec::with_capacity(parsed.iter().map(|c| c.ops.len()).sum());
    let mut clients: FastMap<u32, (u64, u64)> = FastMap::default();
    for (chunk, &(_, first_line)) in parsed.into_iter().zip(&chunks) {
        let remap: Vec<u32> = chunk
            .holders
            .iter()
            .map(|name| holders.intern_name(name))
            .collect();
        for (k, mut op) in chunk.ops.into_iter().enumerate() {
            let line = first_line + k;
            if let Some(&(call, ret)) = clients.get(&op.client) {
                if (call, ret) != (op.call, op.ret) && op.call < ret {
                    return Err(bad(
                        line,
                        format_args!(
                            "non-monotonic times: client {} calls at {} before its previous \
                             operation returned at {ret}",
                            op.client, op.call
                        ),
                    ));
                }
            }
            clients.insert(op.client, (op.call, op.ret));
            match &mut op.kind {
                OpKind::Acquire { holder, .. }
                | OpKind::Renew { holder, .. }
                | OpKind::Release { holder, .. } => *holder = remap[*holder as usize],
                _ => {}
            }
            ops.push(op);
        }
        if let Some(e) = chunk.error {
            return Err(e);
        }
    }
    Ok(History {
        ops,
        holders: holders.names,
        dropped,
    })
}

/// The operations' text, the number of operations dropped before them and the line the
/// operations start on: a first line `{"truncated":{"dropped":N}}` (N >= 1) marks a history
/// whose recording ring dropped older operations.
fn truncation(text: &str) -> Result<(&str, u64, usize)> {
    let first = text.split('\n').next().unwrap_or("");
    if !first
        .trim_start()
        .starts_with(&format!("{{\"{TRUNCATED_KEY}\""))
    {
        return Ok((text, 0, 1));
    }
    let Some(end) = text.find('\n') else {
        return Err(bad(1, "truncated: the last line has no end of line"));
    };
    let value: Value = serde_json::from_str(first.trim_end_matches('\r'))
        .map_err(|e| bad(1, format_args!("invalid JSON: {e}")))?;
    let header = Fields::new(&value, 1, "truncation header", &[TRUNCATED_KEY])?;
    let inner = Fields::new(header.get(TRUNCATED_KEY), 1, "truncated", &["dropped"])?;
    let dropped = inner.positive("dropped", i64::MAX as u64)?;
    Ok((&text[end + 1..], dropped, 2))
}

/// The operations of consecutive lines (holders numbered locally), up to the first bad one.
struct Chunk {
    ops: Vec<Op>,
    holders: Vec<String>,
    error: Option<Error>,
}

fn parse_chunk(text: &str, first_line: usize) -> Chunk {
    let mut holders = Holders {
        names: Vec::new(),
        index: FastMap::default(),
    };
    let mut ops = Vec::with_capacity(text.len() / 150);
    let mut rest = text;
    let mut line = first_line;
    let mut error = None;
    while !rest.is_empty() {
        let Some(end) = rest.find('\n') else {
            error = Some(bad(line, "truncated: the last line has no end of line"));
            break;
        };
        let (this, next) = (&rest[..end], &rest[end + 1..]);
        rest = next;
        let this = this.strip_suffix('\r').unwrap_or(this);
        if this.trim().is_empty() {
            error = Some(bad(line, "empty line"));
            break;
        }
        match parse_line(this, line, &mut holders) {
            Ok(op) => ops.push(op),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
        line += 1;
    }
    Chunk {
        ops,
        holders: holders.names,
        error,
    }
}
