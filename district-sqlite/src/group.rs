//! Group commit: writes that queue while the writer is busy go into one transaction with
//! one fsync.
//!
//! A caller hands [`GroupCommit::run`] a closure over the writer's connection and blocks.
//! One thread ("gridwalk-group-commit") takes every queued job, opens one `BEGIN
//! IMMEDIATE` transaction, runs each job inside its own savepoint (a job that fails rolls
//! back only its own writes), commits once, and only then hands each caller its result:
//! nothing is answered before the commit that holds it. Jobs run in the order they were
//! queued, on the one writer, so sequence numbers are still assigned and committed in order
//! (the cursor rule).

use crate::{Result, Store, StoreError};
use gridwalk_district::phases::Phase;
use rusqlite::Connection;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// How many jobs at most go into one transaction.
const MAX_BATCH: usize = 256;

/// What a job leaves to do once the batch's commit is known: answer its caller.
type Deliver = Box<dyn FnOnce(Option<&str>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Deliver + Send>;

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    stop: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

pub(super) struct GroupCommit {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A commit (or begin) that failed, as each caller's error.
fn batch_failed(message: &str) -> StoreError {
    StoreError::Sqlite(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR),
        Some(format!("group commit failed: {message}")),
    ))
}

impl GroupCommit {
    /// Start the commit thread over `writer` (shared with [`super::SqliteDistrict::with_writer`]).
    pub(super) fn start(writer: Arc<Mutex<Store>>) -> std::io::Result<GroupCommit> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
        });
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("gridwalk-group-commit".into())
            .spawn(move || commit_loop(&worker, &writer))?;
        Ok(GroupCommit {
            shared,
            thread: Some(thread),
        })
    }

    /// Run `f` in the next group transaction and return its result once that transaction
    /// has committed. An `Err` from `f` rolls back what `f` wrote, and nothing else.
    pub(super) fn run<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel::<Result<R>>(1);
        let job: Job = Box::new(move |conn: &Connection| -> Deliver {
            let out = run_in_savepoint(conn, f);
            Box::new(move |failed: Option<&str>| {
                let out = match (out, failed) {
                    (Ok(_), Some(m)) => Err(batch_failed(m)),
                    (out, _) => out,
                };
                let _ = tx.send(out);
            })
        });
        {
            let mut q = lock(&self.shared.queue);
            if q.stop {
                return Err(batch_failed("the district store is closing"));
            }
            q.jobs.push_back(job);
        }
        self.shared.ready.notify_one();
        // A dropped sender: the batch could not even begin, so the job never ran.
        rx.recv()
            .unwrap_or_else(|_| Err(batch_failed("the write could not begin")))
    }
}

impl GroupCommit {
    /// Queue `f` for the next group transaction without waiting for it: for what is not
    /// an acknowledgement (the sync log of a round that stored nothing, a log row's final
    /// figures). A failure is logged. [`GroupCommit::flush`] waits for everything queued.
    pub(super) fn submit<F>(&self, what: &'static str, f: F)
    where
        F: FnOnce(&Connection) -> Result<()> + Send + 'static,
    {
        let job: Job = Box::new(move |conn: &Connection| -> Deliver {
            let out = run_in_savepoint(conn, f);
            Box::new(move |failed: Option<&str>| {
                if let Err(e) = out {
                    tracing::error!(error = %e, what, "queued write failed");
                } else if let Some(m) = failed {
                    tracing::error!(error = %m, what, "queued write not committed");
                }
            })
        });
        let mut q = lock(&self.shared.queue);
        if q.stop {
            tracing::error!(what, "queued write dropped: the district store is closing");
            return;
        }
        q.jobs.push_back(job);
        drop(q);
        self.shared.ready.notify_one();
    }

    /// Wait until every write queued before this call has committed.
    pub(super) fn flush(&self) -> Result<()> {
        self.run(|_| Ok(()))
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        lock(&self.shared.queue).stop = true;
        self.shared.ready.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run_in_savepoint<R>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
    conn.execute_batch("SAVEPOINT job")?;
    let out = match catch_unwind(AssertUnwindSafe(|| f(conn))) {
        Ok(out) => out,
        Err(_) => {
            tracing::error!("a group-commit job panicked; its writes are rolled back");
            Err(batch_failed("a write panicked"))
        }
    };
    let end = if out.is_ok() {
        conn.execute_batch("RELEASE job")
    } else {
        conn.execute_batch("ROLLBACK TO job; RELEASE job")
    };
    end?;
    out
}

fn commit_loop(shared: &Shared, writer: &Mutex<Store>) {
    loop {
        let batch: Vec<Job> = {
            let mut q = lock(&shared.queue);
            while q.jobs.is_empty() && !q.stop {
                q = shared.ready.wait(q).unwrap_or_else(|p| p.into_inner());
            }
            if q.jobs.is_empty() {
                return; // stopping, and nothing left to write
            }
            let n = q.jobs.len().min(MAX_BATCH);
            q.jobs.drain(..n).collect()
        };
        let mut delivers = Vec::with_capacity(batch.len());
        let failed = {
            let store = lock(writer);
            let conn = store.connection();
            match conn.execute_batch("BEGIN IMMEDIATE") {
                Err(e) => Some(e.to_string()),
                Ok(()) => {
                    for job in batch {
                        delivers.push(job(conn));
                    }
                    let commit = gridwalk_district::phases::time(Phase::Commit);
                    let committed = conn.execute_batch("COMMIT");
                    drop(commit);
                    match committed {
                        Ok(()) => None,
                        Err(e) => {
                            let _ = conn.execute_batch("ROLLBACK");
                            Some(e.to_string())
                        }
                    }
                }
            }
        };
        if let Some(m) = &failed {
            tracing::error!(error = %m, jobs = delivers.len(), "group commit failed");
        }
        for d in delivers {
            d(failed.as_deref());
        }
    }
}
