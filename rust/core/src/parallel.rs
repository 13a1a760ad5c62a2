//! Large copies shared with one helper thread.
//!
//! One core copies a few MB at about half the rate two cores reach on the machines measured
//! here: a column that fits the last-level cache is bound by one core's cache traffic (its
//! reads plus the read-for-ownership of the output), not by memory. A read of a whole column
//! therefore offers its tasks to a helper thread, parked between calls, and works on them
//! itself at the same time: tasks are claimed one by one from a shared counter, so the caller
//! never waits for a helper that has not started (a busy machine, a forked child where the
//! helper does not exist): it then does every task itself, as without the helper. It waits
//! only for the tasks the helper has claimed and not yet finished.
//!
//! No lock is taken here (a child forked while another thread held one would wait on it
//! forever): the offer is one atomic slot, the helper is spawned once per process.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize};
use std::sync::Arc;
use std::thread::Thread;

/// A task body with its borrows' lifetime erased; see [`share`] for why this is sound.
type Task<'a> = dyn Fn(usize) + Sync + 'a;

/// One call's tasks. The helper holds an `Arc` of it, so the counters outlive the call; the
/// task body (borrowed from the caller's frame) is only run for a claimed task below `tasks`,
/// and the caller returns only once every such task is done.
struct Job {
    tasks: usize,
    next: AtomicUsize,
    done: AtomicUsize,
    panicked: AtomicBool,
    task: *const Task<'static>,
}

// SAFETY: `task` points to a `Sync` closure that is only called while the caller waits in
// `share` (see `Job`); the counters are atomics.
unsafe impl Send for Job {}
unsafe impl Sync for Job {}

impl Job {
    /// Claim and run tasks until none is left.
    fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Relaxed);
            if i >= self.tasks {
                return;
            }
            // SAFETY: task `i` is claimed and not done, so the caller is still in `share`
            // and every borrow of the closure is live.
            let task = unsafe { &*self.task };
            if catch_unwind(AssertUnwindSafe(|| task(i))).is_err() {
                self.panicked.store(true, Relaxed);
            }
            self.done.fetch_add(1, Release);
        }
    }
}

/// The helper of this process: its offer slot (an `Arc<Job>` turned into a raw pointer, or
/// null) and its thread, to unpark.
struct Helper {
    pid: u32,
    offer: AtomicPtr<Job>,
    thread: Thread,
    placement: placement::Placement,
}

static HELPER: AtomicPtr<Helper> = AtomicPtr::new(std::ptr::null_mut());
static SPAWNING: AtomicBool = AtomicBool::new(false);

/// Below this many tasks' worth of work a caller works alone; see [`worth_sharing`].
const MIN_SHARED_ITEMS: usize = 1 << 16;

/// Whether a copy of `items` 8-byte values is worth offering: waking the helper costs a few
/// microseconds, about what one core copies 512 KB in (at 500,000 items a whole-column read
/// takes ~0.28 ms alone, ~0.14 ms shared).
pub(crate) fn worth_sharing(items: usize) -> bool {
    items >= MIN_SHARED_ITEMS
}

/// This process's helper, spawned on first use (and again in a forked child, where the
/// parent's helper thread does not exist). None while another thread is spawning it or if
/// the thread cannot be spawned: the caller then works alone.
fn helper() -> Option<&'static Helper> {
    let pid = std::process::id();
    let current = HELPER.load(Acquire);
    // SAFETY: a published helper is leaked, never freed.
    if let Some(h) = unsafe { current.as_ref() } {
        if h.pid == pid {
            return Some(h);
        }
    }
    if SPAWNING.swap(true, AcqRel) {
        return None;
    }
    let spawned = std::thread::Builder::new()
        .name("dnsrace-copy".into())
        .spawn(serve);
    let published = spawned.ok().map(|handle| {
        let h: &'static Helper = Box::leak(Box::new(Helper {
            pid,
            offer: AtomicPtr::new(std::ptr::null_mut()),
            thread: handle.thread().clone(),
            placement: placement::Placement::default(),
        }));
        HELPER.store(h as *const Helper as *mut Helper, Release);
        h.thread.unpark(); // it waits for its `Helper` to be published
        h
    });
    SPAWNING.store(false, Release);
    published
}

/// The helper thread: take an offered job, work on it, park when there is none.
fn serve() {
    let me = std::thread::current().id();
    let helper = loop {
        // SAFETY: published helpers are leaked.
        match unsafe { HELPER.load(Acquire).as_ref() } {
            Some(h) if h.thread.id() == me => break h,
            _ => std::thread::park(),
        }
    };
    helper.placement.register_helper();
    loop {
        let offered = helper.offer.swap(std::ptr::null_mut(), AcqRel);
        if offered.is_null() {
            std::thread::park();
            continue;
        }
        // SAFETY: the slot owned one strong count of this `Arc` (see `share`).
        let job = unsafe { Arc::from_raw(offered) };
        job.work();
    }
}

/// Run `task(0)`, ..., `task(tasks - 1)`, each once, on this thread and, when it is free, the
/// helper thread; returns when every task is done. Tasks run in any order and may run at the
/// same time, so they must touch disjoint data. A panic in a task is raised here, after every
/// task has finished.
pub(crate) fn share(tasks: usize, task: &Task<'_>) {
    let job = Arc::new(Job {
        tasks,
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        panicked: AtomicBool::new(false),
        // SAFETY (lifetime erased): `job.work` calls it only for claimed tasks, and this
        // function does not return (nor unwind: task panics are caught) before all are done.
        task: unsafe { std::mem::transmute::<&Task<'_>, &'static Task<'static>>(task) },
    });
    let offer = match helper().filter(|_| tasks > 1) {
        Some(h) => {
            let raw = Arc::into_raw(Arc::clone(&job)).cast_mut();
            let null = std::ptr::null_mut();
            if h.offer.compare_exchange(null, raw, AcqRel, Acquire).is_ok() {
                h.placement.keep_off_the_callers_cpu();
                h.thread.unpark();
                Some((h, raw))
            } else {
                // The helper is busy with another caller's job: work alone.
                // SAFETY: `raw` came from `Arc::into_raw` above and was not published.
                drop(unsafe { Arc::from_raw(raw) });
                None
            }
        }
        None => None,
    };
    job.work();
    if let Some((h, raw)) = offer {
        let null = std::ptr::null_mut();
        if h.offer.compare_exchange(raw, null, AcqRel, Acquire).is_ok() {
            // Not taken: the count the slot owned is ours again. (`raw` cannot have been
            // taken and offered again: only this call offers it, once.)
            // SAFETY: as above.
            drop(unsafe { Arc::from_raw(raw) });
        }
    }
    // The helper's last claimed task, if any: a few microseconds unless it was preempted.
    let mut spins = 0u32;
    while job.done.load(Acquire) < tasks {
        spins += 1;
        if spins < 1 << 12 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    if job.panicked.load(Relaxed) {
        resume_unwind(Box::new("a shared copy task panicked"));
    }
}

/// Where the helper may run: on Linux, the CPUs the caller may use, less the one it is on
/// (all of them if it may use only that one: a process pinned to one CPU keeps its helper
/// there too). Woken while the other CPUs are busy, the scheduler would otherwise put the
/// helper on the caller's own CPU (to share its cache), where the two copy in turns instead of
/// at once. Set at every shared call (two system calls, against a copy of 512 KB or more),
/// so that the helper follows the caller's CPUs as they change.
mod placement {
    #[cfg(target_os = "linux")]
    mod imp {
        use std::sync::atomic::AtomicI32;
        use std::sync::atomic::Ordering::Relaxed;

        #[derive(Default)]
        pub(in crate::parallel) struct Placement {
            /// The helper's thread id (0 until it has started).
            tid: AtomicI32,
        }

        impl Placement {
            #[cfg(test)]
            pub(in crate::parallel) fn tid(&self) -> i32 {
                self.tid.load(Relaxed)
            }

            /// Called by the helper thread as it starts.
            pub(in crate::parallel) fn register_helper(&self) {
                // SAFETY: gettid has no preconditions.
                self.tid.store(unsafe { libc::gettid() }, Relaxed);
            }

            pub(in crate::parallel) fn keep_off_the_callers_cpu(&self) {
                let tid = self.tid.load(Relaxed);
                if tid == 0 {
                    return;
                }
                // SAFETY: a zeroed cpu_set_t is an empty set; the calls get its size; `cpu`
                // is checked within the set.
                unsafe {
                    let cpu = libc::sched_getcpu();
                    let mut set: libc::cpu_set_t = std::mem::zeroed();
                    let size = std::mem::size_of_val(&set);
                    if cpu < 0 || libc::sched_getaffinity(0, size, &mut set) != 0 {
                        return;
                    }
                    if libc::CPU_COUNT(&set) > 1 && (cpu as usize) < 8 * size {
                        libc::CPU_CLR(cpu as usize, &mut set);
                    }
                    libc::sched_setaffinity(tid, size, &set);
                }
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    mod imp {
        #[derive(Default)]
        pub(in crate::parallel) struct Placement;

        impl Placement {
            pub(in crate::parallel) fn register_helper(&self) {}
            pub(in crate::parallel) fn keep_off_the_callers_cpu(&self) {}
        }
    }

    pub(super) use imp::Placement;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::time::{Duration, Instant};

    /// The helper really works beside the caller: each of two tasks waits (boundedly) for the
    /// other to have started, which only two threads running at once satisfy. Other tests may
    /// hold the helper for a moment (then a call works alone), so a few calls are allowed;
    /// without the helper none succeeds and the test fails.
    #[test]
    fn two_threads_run_tasks_at_once() {
        let together = (0..200).any(|_| {
            let started = AtomicU32::new(0);
            let threads = parking_lot::Mutex::new(Vec::new());
            share(2, &|_| {
                started.fetch_add(1, Relaxed);
                let bound = Instant::now() + Duration::from_millis(100);
                while started.load(Relaxed) < 2 && Instant::now() < bound {
                    std::thread::yield_now();
                }
                threads.lock().push(std::thread::current().id());
            });
            let threads = threads.into_inner();
            assert_eq!(threads.len(), 2, "each task runs once");
            threads[0] != threads[1]
        });
        assert!(together, "no call had its two tasks run on two threads");
    }

    /// The CPUs a thread may use (None if they cannot be read).
    #[cfg(target_os = "linux")]
    fn cpus_of(tid: i32) -> Option<Vec<usize>> {
        // SAFETY: a zeroed set of the size given; reads of it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(tid, std::mem::size_of_val(&set), &mut set) != 0 {
                return None;
            }
            Some(
                (0..libc::CPU_SETSIZE as usize)
                    .filter(|&c| libc::CPU_ISSET(c, &set))
                    .collect(),
            )
        }
    }

    /// Restrict the calling thread to `cpus`.
    #[cfg(target_os = "linux")]
    fn pin(cpus: &[usize]) {
        // SAFETY: a set of CPUs this thread may use.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &c in cpus {
                libc::CPU_SET(c, &mut set);
            }
            libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set);
        }
    }

    /// On Linux, a shared call puts the helper on the caller's CPUs less the one the caller
    /// is on, or on that one if the caller may use no other. Other tests' calls move it too
    /// (after theirs), so a few calls are allowed; without the placement the helper keeps
    /// the CPUs it started with and the test fails.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_helper_leaves_the_callers_cpu_within_the_callers_cpus() {
        let cpus = cpus_of(0).expect("this thread's CPUs");
        if cpus.len() < 2 {
            return; // one CPU: the helper has nowhere else to go
        }
        let checked = std::thread::spawn(move || {
            let placed = |expected: &dyn Fn(usize) -> Vec<usize>| {
                (0..200).any(|_| {
                    // SAFETY: sched_getcpu has no preconditions.
                    let before = unsafe { libc::sched_getcpu() } as usize;
                    share(2, &|_| {});
                    let after = unsafe { libc::sched_getcpu() } as usize;
                    let tid = helper().expect("a helper").placement.tid();
                    std::thread::sleep(Duration::from_millis(1));
                    before == after && tid != 0 && cpus_of(tid) == Some(expected(before))
                })
            };
            // The caller may use two CPUs: the helper gets the other one.
            pin(&cpus[..2]);
            let other = |on: usize| cpus[..2].iter().copied().filter(|&c| c != on).collect();
            let left = placed(&other);
            // The caller may use one CPU: the helper is kept to it as well.
            pin(&cpus[1..2]);
            let kept = placed(&|_| vec![cpus[1]]);
            (left, kept)
        });
        assert_eq!(checked.join().unwrap(), (true, true));
    }

    /// Every task runs exactly once, whoever claims it, across many calls (the helper takes
    /// some, the caller the rest, offers left untaken are taken back).
    #[test]
    fn every_task_runs_once() {
        for tasks in [0, 1, 2, 3, 64, 1000] {
            for _ in 0..20 {
                let runs: Vec<AtomicU32> = (0..tasks).map(|_| AtomicU32::new(0)).collect();
                share(tasks, &|i| {
                    runs[i].fetch_add(1, Relaxed);
                });
                assert!(runs.iter().all(|r| r.load(Relaxed) == 1), "{tasks} tasks");
            }
        }
    }

    /// Callers on several threads at once each get all their tasks done (one of them has the
    /// helper, the others work alone).
    #[test]
    fn concurrent_callers() {
        std::thread::scope(|scope| {
            for t in 0..4u64 {
                scope.spawn(move || {
                    for _ in 0..50 {
                        let sum = AtomicUsize::new(0);
                        share(100, &|i| {
                            sum.fetch_add(i * t as usize, Relaxed);
                        });
                        assert_eq!(sum.load(Relaxed), 4950 * t as usize);
                    }
                });
            }
        });
    }

    /// A task's panic reaches the caller after every task has finished.
    #[test]
    fn a_panic_is_raised_after_all_tasks() {
        let done = AtomicU32::new(0);
        let caught = catch_unwind(AssertUnwindSafe(|| {
            share(64, &|i| {
                if i == 3 {
                    panic!("task 3");
                }
                done.fetch_add(1, Relaxed);
            })
        }));
        assert!(caught.is_err());
        assert_eq!(done.load(Relaxed), 63);
    }
}
