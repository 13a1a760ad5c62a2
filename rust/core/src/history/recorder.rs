//! The recorder: the ring of the last completed operations, the clock that stamps them, and
//! who made them (clients told, numbered automatically, or named by a binding).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;
use std::thread::ThreadId;
use std::time::Instant;

use parking_lot::Mutex;

use super::{FastMap, FastSet, Op, OpKind};

/// Who makes the calls of this thread, as a binding tells the recorders ([`with_caller`]):
/// the clients told per recorder (by [`Recorder::id`]), else a task the binding numbered (an
/// asyncio task in the Python binding), numbered automatically like a thread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub told: Vec<(u64, u32)>,
    pub task: Option<u64>,
}

thread_local! {
    /// The caller of [`with_caller`]'s scope.
    static SCOPED: RefCell<Option<Caller>> = const { RefCell::new(None) };
    /// The caller of the call this thread is making ([`Recorder::begin`] to `record`).
    static CURRENT: RefCell<Option<Caller>> = const { RefCell::new(None) };
}

/// Run `f` with its recorded calls made by `caller` (`None`: the thread's own identity, or
/// what [`Recorder::set_context`] told for this thread). Restores the previous caller after.
pub fn with_caller<T>(caller: Option<Caller>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Caller>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            SCOPED.with(|c| *c.borrow_mut() = previous);
        }
    }
    let _restore = Restore(SCOPED.with(|c| c.replace(caller)));
    f()
}

/// Where a binding says who calls, asked at the start of each call on a recording store
/// (outside [`with_caller`]), before the store takes any lock. Only such calls pay for it.
static CALLER_SOURCE: OnceLock<fn() -> Option<Caller>> = OnceLock::new();

/// Install the binding's caller source (once per process; later calls change nothing).
pub fn set_caller_source(source: fn() -> Option<Caller>) {
    let _ = CALLER_SOURCE.set(source);
}

/// Recorder ids, never reused (a binding keys its told clients by them).
static NEXT_RECORDER: AtomicU64 = AtomicU64::new(1);

/// A client numbered automatically: a thread, or a task its caller named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Auto {
    Thread(ThreadId),
    Task(u64),
}

struct Ring {
    /// (numbered automatically, operation): an automatic client's `client` is its number in
    /// order of first use, turned into an id no told client uses when the history is read.
    ops: VecDeque<(bool, Op)>,
    dropped: u64,
    autos: FastMap<Auto, u32>,
    /// The client each thread records as when told (`set_context`), else automatic.
    told: FastMap<ThreadId, u32>,
    /// Record only these endpoints (`None`: all). Each endpoint's history is complete on its
    /// own, so a sample of endpoints is still a checkable history.
    only: Option<FastSet<u32>>,
}

/// The ring of the last `capacity` completed operations, and the clock that stamps them.
pub struct Recorder {
    id: u64,
    capacity: usize,
    ring: Mutex<Ring>,
    epoch: Instant,
    virtual_on: AtomicBool,
    virtual_ns: AtomicU64,
    last: AtomicU64,
}

impl Recorder {
    pub fn new(capacity: usize) -> Self {
        Recorder {
            id: NEXT_RECORDER.fetch_add(1, Relaxed),
            capacity,
            ring: Mutex::new(Ring {
                ops: VecDeque::with_capacity(capacity.min(4096)),
                dropped: 0,
                autos: FastMap::default(),
                told: FastMap::default(),
                only: None,
            }),
            epoch: Instant::now(),
            virtual_on: AtomicBool::new(false),
            virtual_ns: AtomicU64::new(0),
            last: AtomicU64::new(0),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// This recorder's id, unique in the process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Record the calling thread's next operations as `client` (`None`: numbered
    /// automatically) and, with `time_ns`, stamp them on that virtual clock from now on
    /// (`None` keeps the store's current clock; [`Recorder::real_time`] returns to real time).
    /// A caller given by [`with_caller`] takes precedence over the thread's client.
    pub fn set_context(&self, client: Option<u32>, time_ns: Option<u64>) {
        let me = std::thread::current().id();
        {
            let mut ring = self.ring.lock();
            match client {
                Some(c) => ring.told.insert(me, c),
                None => ring.told.remove(&me),
            };
        }
        self.set_time(time_ns);
    }

    /// Stamp operations on the virtual clock `time_ns` from now on (`None`: no change).
    pub fn set_time(&self, time_ns: Option<u64>) {
        if let Some(t) = time_ns {
            self.virtual_ns.store(t, Relaxed);
            self.virtual_on.store(true, Relaxed);
        }
    }

    pub fn real_time(&self) {
        self.virtual_on.store(false, Relaxed);
    }

    /// The start of a call: who makes it (the scope's caller, else the binding's source), kept
    /// for `record`, and the call's timestamp.
    pub fn begin(&self) -> u64 {
        let caller = SCOPED
            .with(|c| c.borrow().clone())
            .or_else(|| CALLER_SOURCE.get().and_then(|source| source()));
        CURRENT.with(|c| *c.borrow_mut() = caller);
        self.stamp()
    }

    /// A timestamp: real nanoseconds since the store was made, or the virtual time bumped past
    /// the last stamp (strictly increasing).
    pub fn stamp(&self) -> u64 {
        if self.virtual_on.load(Relaxed) {
            let v = self.virtual_ns.load(Relaxed);
            let mut last = self.last.load(Relaxed);
            loop {
                let t = v.max(last + 1);
                match self.last.compare_exchange_weak(last, t, Relaxed, Relaxed) {
                    Ok(_) => return t,
                    Err(seen) => last = seen,
                }
            }
        }
        let t = self.epoch.elapsed().as_nanos() as u64;
        // Keep real time above any virtual stamp given before (one clock per history).
        self.last.fetch_max(t, Relaxed).max(t)
    }

    /// Record completed operations of the calling thread (one call, one client).
    pub fn record(&self, ops: impl IntoIterator<Item = (u32, OpKind)>, call: u64, ret: u64) {
        if self.capacity == 0 {
            return;
        }
        let me = std::thread::current().id();
        let (told, task) = CURRENT.with(|c| match &*c.borrow() {
            Some(caller) => (
                caller
                    .told
                    .iter()
                    .find(|(r, _)| *r == self.id)
                    .map(|&(_, c)| c),
                caller.task,
            ),
            None => (None, None),
        });
        let mut ring = self.ring.lock();
        let (auto, client) = match (told, task, ring.told.get(&me)) {
            (Some(c), _, _) => (false, c),
            (None, Some(t), _) => (true, ring.auto(Auto::Task(t))),
            (None, None, Some(&c)) => (false, c),
            (None, None, None) => (true, ring.auto(Auto::Thread(me))),
        };
        for (endpoint, kind) in ops {
            if ring
                .only
                .as_ref()
                .is_some_and(|only| !only.contains(&endpoint))
            {
                continue;
            }
            if ring.ops.len() == self.capacity {
                ring.ops.pop_front();
                ring.dropped += 1;
            }
            ring.ops.push_back((
                auto,
                Op {
                    client,
                    endpoint,
                    call,
                    ret,
                    kind,
                },
            ));
        }
    }

    /// The recorded operations ordered by call time (ties in recording order), and how many
    /// older ones the ring dropped. Automatic clients get, in order of first use, the lowest
    /// ids no told client of these operations uses: the two never share an id.
    pub fn ops(&self) -> (Vec<Op>, u64) {
        let ring = self.ring.lock();
        let told: FastSet<u32> = ring
            .ops
            .iter()
            .filter(|(auto, _)| !auto)
            .map(|(_, o)| o.client)
            .collect();
        let mut autos: Vec<u32> = ring
            .ops
            .iter()
            .filter(|(auto, _)| *auto)
            .map(|(_, o)| o.client)
            .collect();
        autos.sort_unstable();
        autos.dedup();
        let mut ids: FastMap<u32, u32> = FastMap::default();
        let mut free = (0u32..).filter(|c| !told.contains(c));
        for a in autos {
            ids.insert(a, free.next().unwrap_or(u32::MAX));
        }
        let mut ops: Vec<Op> = ring
            .ops
            .iter()
            .map(|(auto, o)| {
                let mut o = o.clone();
                if *auto {
                    o.client = ids.get(&o.client).copied().unwrap_or(o.client);
                }
                o
            })
            .collect();
        ops.sort_by_key(|o| o.call);
        (ops, ring.dropped)
    }

    /// Record only the operations on `endpoints` from now on (`None`: every endpoint).
    pub fn only_endpoints(&self, endpoints: Option<&[u32]>) {
        self.ring.lock().only = endpoints.map(|e| e.iter().copied().collect());
    }

    pub fn clear(&self) {
        let mut ring = self.ring.lock();
        ring.ops.clear();
        ring.dropped = 0;
    }
}

impl Ring {
    /// The number of an automatic client, given in order of first use.
    fn auto(&mut self, key: Auto) -> u32 {
        let next = self.autos.len() as u32;
        *self.autos.entry(key).or_insert(next)
    }
}
