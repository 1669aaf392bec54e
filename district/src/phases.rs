//! Where a sync round's server time goes: wall time and count per phase, summed over
//! every request of this process. The server prints them on `/metrics`
//! (`gridwalk_sync_phase_*`) and `gridwalk-bench load` reads them before and after a run
//! to show the breakdown per sync (issue 11: measure before changing). Relaxed atomics
//! only, so timing costs two clock reads and two adds per phase.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// One part of a round, in the order a round goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a round slot (the server's limit on blocking work at once).
    SlotWait,
    /// The bearer token looked up.
    Auth,
    /// The request body read from the network.
    Body,
    /// The request body decompressed and decoded.
    Decode,
    /// Pushed documents parsed, merged, scope-checked, authorised and validated in
    /// memory, off the writer.
    PushDecide,
    /// From handing a push to the writer until its result came back (queueing, the
    /// writer's work for the whole batch, the commit).
    GroupWait,
    /// One push's writes on the writer (SQLite: inside the group transaction).
    PushApply,
    /// One group transaction's COMMIT, the fsync (counted per batch).
    Commit,
    /// The whole write transaction of a push (PostgreSQL: locks, writes, sequencing,
    /// commit).
    PushTx,
    /// The pull: the changes after the device's cursors.
    Pull,
    /// The response encoded and compressed.
    Encode,
    /// The round's sync-log row written or finished.
    Log,
}

impl Phase {
    pub const ALL: [Phase; 12] = [
        Phase::SlotWait,
        Phase::Auth,
        Phase::Body,
        Phase::Decode,
        Phase::PushDecide,
        Phase::GroupWait,
        Phase::PushApply,
        Phase::Commit,
        Phase::PushTx,
        Phase::Pull,
        Phase::Encode,
        Phase::Log,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::SlotWait => "slot_wait",
            Phase::Auth => "auth",
            Phase::Body => "body",
            Phase::Decode => "decode",
            Phase::PushDecide => "push_decide",
            Phase::GroupWait => "group_wait",
            Phase::PushApply => "push_apply",
            Phase::Commit => "commit",
            Phase::PushTx => "push_tx",
            Phase::Pull => "pull",
            Phase::Encode => "encode",
            Phase::Log => "log",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

const N: usize = Phase::ALL.len();
#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
static MICROS: [AtomicU64; N] = [ZERO; N];
static COUNTS: [AtomicU64; N] = [ZERO; N];

/// Add one occurrence of `phase` that took `d`.
pub fn record(phase: Phase, d: Duration) {
    let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    MICROS[phase.index()].fetch_add(micros, Relaxed);
    COUNTS[phase.index()].fetch_add(1, Relaxed);
}

/// Times `phase` until dropped.
#[must_use = "the phase is timed until this is dropped"]
pub struct Timer {
    phase: Phase,
    start: Instant,
}

impl Drop for Timer {
    fn drop(&mut self) {
        record(self.phase, self.start.elapsed());
    }
}

/// Start timing `phase`; it is recorded when the returned timer is dropped.
pub fn time(phase: Phase) -> Timer {
    Timer {
        phase,
        start: Instant::now(),
    }
}

/// Run `f`, timed as `phase`.
pub fn timed<R>(phase: Phase, f: impl FnOnce() -> R) -> R {
    let _t = time(phase);
    f()
}

/// Every phase with its total microseconds and count so far.
pub fn snapshot() -> Vec<(Phase, u64, u64)> {
    Phase::ALL
        .iter()
        .map(|p| {
            (
                *p,
                MICROS[p.index()].load(Relaxed),
                COUNTS[p.index()].load(Relaxed),
            )
        })
        .collect()
}

thread_local! {
    /// What this thread's round gives back when it starts waiting for another thread
    /// (its server slot): see [`on_wait`].
    static ON_WAIT: std::cell::RefCell<Option<Box<dyn FnOnce()>>> =
        const { std::cell::RefCell::new(None) };
}

/// Until the returned guard is dropped, [`waiting`] on this thread runs `release` (once).
/// The server gives its round slot back this way while a push waits for the group commit,
/// so that other rounds decide their pushes and pull meanwhile.
pub fn on_wait(release: Box<dyn FnOnce()>) -> WaitGuard {
    ON_WAIT.with(|w| *w.borrow_mut() = Some(release));
    WaitGuard(())
}

/// Clears [`on_wait`]'s hook (running it if it has not run): threads are pooled.
#[must_use = "the hook is cleared when this is dropped"]
pub struct WaitGuard(());

impl Drop for WaitGuard {
    fn drop(&mut self) {
        if let Some(release) = ON_WAIT.with(|w| w.borrow_mut().take()) {
            release();
        }
    }
}

/// This thread is about to wait for another one (the writer): run the hook, if any.
pub fn waiting() {
    if let Some(release) = ON_WAIT.with(|w| w.borrow_mut().take()) {
        release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timer_adds_its_phase_once() {
        let before = snapshot()[Phase::Encode.index()];
        timed(Phase::Encode, || {
            std::thread::sleep(Duration::from_millis(2))
        });
        let after = snapshot()[Phase::Encode.index()];
        assert_eq!(after.2, before.2 + 1);
        assert!(after.1 >= before.1 + 2_000);
    }

    #[test]
    fn the_wait_hook_runs_once_and_is_cleared() {
        use std::sync::atomic::AtomicUsize;
        use std::sync::Arc;
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let guard = on_wait(Box::new(move || {
            r.fetch_add(1, Relaxed);
        }));
        waiting();
        waiting();
        drop(guard);
        assert_eq!(runs.load(Relaxed), 1);
        // Not run by a guard that finds it already run, nor by a later wait.
        waiting();
        assert_eq!(runs.load(Relaxed), 1);
        let r = runs.clone();
        drop(on_wait(Box::new(move || {
            r.fetch_add(1, Relaxed);
        })));
        assert_eq!(
            runs.load(Relaxed),
            2,
            "the guard runs a hook that never ran"
        );
    }
}
