//! The linearizability checker's driver: each endpoint's history searched against the store's
//! model (P-compositionality: the store's endpoints share no state, so a history is
//! linearizable iff each endpoint's is), in parallel over endpoints, plus the domain checks,
//! within a time and a memory bound; and the result document.
//!
//! Modules, as Porcupine separates them: `model` (states and steps), `search`
//! (Wing–Gong/Lowe), `domain` (rules without search), this driver.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::domain::{domain, DomainViolation};
use super::search::{search, Budget, Exceeded, Search};
use super::{FastSet, History};

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
