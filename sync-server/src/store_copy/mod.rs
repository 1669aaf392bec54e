//! `gridwalk-server store copy`: move a district between the embedded store (a data
//! directory: district.sqlite and blobs.sqlite) and PostgreSQL, either way.
//!
//! - **What moves**: every table in [`tables::TABLES`] (documents, changes with their
//!   sequence numbers, users and scopes, enrollments, devices, the sync log, handovers, the
//!   audit log, imports, photo references and bytes, the area tree and settings). What does
//!   not, and why, is [`tables::NOT_COPIED`]: projections are rebuilt on the target from
//!   the copied documents by the target's own code.
//! - **Resumable**: each table is read in key order in batches; every batch is written in
//!   one target transaction together with the progress record (`store_copy`: the last key
//!   written), so a copy stopped anywhere and run again carries on after the last batch
//!   that committed, without duplicates or loss.
//! - **Refuses** a target that holds any district rows, unless its progress record says
//!   it is a copy of this same source.
//! - **Verified**: at the end every table's row count and every grid's sync digest (each
//!   backend's own `DistrictStore::digests`) are compared and printed; a difference is an
//!   error (a non-zero exit).
//!
//! Stop every server on the source first: the copy reads the source as it is, and a write
//! made during the copy shows up as a difference at the verification, not as a loss.

mod pg_side;
mod sqlite_side;
pub mod tables;
mod value;
mod verify;

pub use value::{Progress, Row, Val};
pub use verify::{CopyReport, TableCount};

use crate::ServerError;
use std::io::Write;
use std::path::PathBuf;
use tables::{Mode, Table, TABLES};

/// One end of a copy.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// A data directory (the embedded SQLite store).
    Data(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl Endpoint {
    fn open(&self, as_target: bool) -> Result<Box<dyn Side>, ServerError> {
        Ok(match (self, as_target) {
            (Endpoint::Data(dir), false) => Box::new(sqlite_side::SqliteSide::source(dir)?),
            (Endpoint::Data(dir), true) => Box::new(sqlite_side::SqliteSide::target(dir)?),
            (Endpoint::Postgres(url), _) => Box::new(pg_side::PgSide::open(url)?),
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Tests: stop (as if killed) after this many batches have committed.
    pub stop_after_batches: Option<usize>,
    /// Rows per batch instead of each table's own (tests use a small one).
    pub batch_rows: Option<usize>,
}

/// One backend as the copy sees it: rows in key order, written with the progress record.
pub(crate) trait Side {
    /// Names the store (no password): the progress record's `source`.
    fn describe(&self) -> String;
    fn count(&mut self, t: &Table) -> Result<i64, ServerError>;
    /// Rows in a table rebuilt on the target rather than copied ([`tables::DERIVED`]).
    fn count_derived(&mut self, table: &str) -> Result<i64, ServerError>;
    /// Up to `limit` rows after the key `after`, in key order.
    fn read(
        &mut self,
        t: &Table,
        after: Option<&[Val]>,
        limit: usize,
    ) -> Result<Vec<Row>, ServerError>;
    fn holds_rows(&mut self, t: &Table) -> Result<bool, ServerError>;
    /// The progress record; `None` when this store was never a copy's target.
    fn progress(&mut self) -> Result<Option<Vec<Progress>>, ServerError>;
    /// Create the progress record with these rows (the target is now this copy's).
    fn claim(&mut self, progress: &[Progress]) -> Result<(), ServerError>;
    /// Add `rows` (a `Replace` table: instead of its rows) and save `progress`, together.
    fn write(&mut self, t: &Table, rows: &[Row], progress: &Progress) -> Result<(), ServerError>;
    /// Every grid a document is in.
    fn grids(&mut self) -> Result<Vec<String>, ServerError>;
    /// The largest change sequence number (0: none).
    fn max_seq(&mut self) -> Result<i64, ServerError>;
    /// After the rows: sequences past the copied numbers, projections derived again.
    fn finish(&mut self) -> Result<(), ServerError>;
    /// The store as the sync server sees it (its digests are what devices compare).
    fn district(&self) -> Result<Box<dyn gridwalk_district_sqlite::DistrictStore>, ServerError>;
}

/// Copy the district at `from` into `to`, resuming a copy stopped earlier, then verify.
/// Progress and the verification table are written to `out`.
pub fn copy(
    from: &Endpoint,
    to: &Endpoint,
    options: &CopyOptions,
    out: &mut dyn Write,
) -> Result<CopyReport, ServerError> {
    let mut source = from.open(false)?;
    let mut target = to.open(true)?;
    let source_name = source.describe();
    if source_name == target.describe() {
        return Err(refused(format!(
            "源与目标是同一个库 / the source and the target are the same store ({source_name})"
        )));
    }
    let mut progress = start(&mut *target, &source_name)?;
    let resumed = progress.iter().any(|p| p.done || p.rows > 0);
    let copied_now = progress.iter().any(|p| !p.done);
    if resumed && copied_now {
        say(
            out,
            format!("继续未完成的复制 / resuming the copy from {source_name}"),
        )?;
    } else if resumed {
        say(
            out,
            format!(
                "已是完整副本，再次核对 / already a whole copy of {source_name}; verifying again"
            ),
        )?;
    }
    let mut batches = 0usize;
    for t in TABLES {
        let p = progress
            .iter_mut()
            .find(|p| p.table == t.name)
            .ok_or_else(|| refused(format!("the progress record has no row for {}", t.name)))?;
        if p.done {
            continue;
        }
        copy_table(&mut *source, &mut *target, t, p, options, &mut batches)?;
        say(out, format!("{:<14} {:>10} rows", t.name, p.rows))?;
    }
    if copied_now {
        target.finish()?;
    }
    let report = verify::verify(&mut *source, &mut *target, resumed)?;
    report.print(out)?;
    match report.differences() {
        None => Ok(report),
        Some(what) => Err(ServerError::Copy(format!(
            "复制后两边不一致 / the copy differs from its source: {what}"
        ))),
    }
}

fn refused(why: String) -> ServerError {
    ServerError::Copy(why)
}

fn say(out: &mut dyn Write, line: String) -> Result<(), ServerError> {
    writeln!(out, "{line}")?;
    Ok(())
}

/// The progress record: the target's own when it is a copy of this source; a new one when
/// it holds no district rows; otherwise a refusal.
fn start(target: &mut dyn Side, source: &str) -> Result<Vec<Progress>, ServerError> {
    if let Some(existing) = target.progress()? {
        if let Some(other) = existing.iter().find(|p| p.source != source) {
            return Err(refused(format!(
                "目标库是另一个源的副本 / the target is a copy of {}, not of {source}",
                other.source
            )));
        }
        // Tables added to the list since the copy began start from nothing.
        let mut all = existing;
        let missing: Vec<Progress> = TABLES
            .iter()
            .filter(|t| !all.iter().any(|p| p.table == t.name))
            .map(|t| fresh(t, source))
            .collect();
        all.extend(missing);
        target.claim(&all)?;
        return Ok(all);
    }
    for t in TABLES.iter().filter(|t| t.mode == Mode::Rows) {
        if target.holds_rows(t)? {
            return Err(refused(format!(
                "目标库不是空的 / the target is not empty: {} holds rows; copy into a new \
                 database or an empty data directory",
                t.name
            )));
        }
    }
    let all: Vec<Progress> = TABLES.iter().map(|t| fresh(t, source)).collect();
    target.claim(&all)?;
    Ok(all)
}

fn fresh(t: &Table, source: &str) -> Progress {
    Progress {
        table: t.name.to_string(),
        source: source.to_string(),
        last_key: None,
        rows: 0,
        done: false,
    }
}

/// One table, batch after batch from where its progress record says.
fn copy_table(
    source: &mut dyn Side,
    target: &mut dyn Side,
    t: &Table,
    p: &mut Progress,
    options: &CopyOptions,
    batches: &mut usize,
) -> Result<(), ServerError> {
    if t.mode == Mode::Replace {
        // Small: read whole, written whole in one transaction.
        let rows = source.read(t, None, usize::MAX)?;
        let done = Progress {
            rows: rows.len() as i64,
            done: true,
            ..p.clone()
        };
        target.write(t, &rows, &done)?;
        *p = done;
        return stop_point(options, batches);
    }
    let limit = options.batch_rows.unwrap_or(t.batch).max(1);
    loop {
        let after = p
            .last_key
            .as_deref()
            .map(|k| value::parse_key(t, k))
            .transpose()?;
        let rows = source.read(t, after.as_deref(), limit)?;
        let next = Progress {
            last_key: rows
                .last()
                .map(|r| value::key_json(t, r))
                .or(p.last_key.clone()),
            rows: p.rows + rows.len() as i64,
            done: rows.len() < limit,
            ..p.clone()
        };
        target.write(t, &rows, &next)?;
        *p = next;
        stop_point(options, batches)?;
        if p.done {
            return Ok(());
        }
    }
}

/// Counts a committed batch; the test hook stops the copy here.
fn stop_point(options: &CopyOptions, batches: &mut usize) -> Result<(), ServerError> {
    *batches += 1;
    if options.stop_after_batches == Some(*batches) {
        return Err(ServerError::Copy(format!(
            "复制在 {batches} 批后停止 / the copy was stopped after {batches} batches (test hook)"
        )));
    }
    Ok(())
}
