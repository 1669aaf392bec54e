//! Ledger imports on the district side: which ID numbers already exist, and the kept
//! record of every import run (its report, whatever the outcome).

use super::SqliteDistrict;
use crate::Result;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// One import run as the admin's history lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRun {
    pub id: i64,
    pub at: i64,
    pub user_id: String,
    pub username: String,
    pub file_name: String,
    pub file_sha256: String,
    /// `dry_run`, `all_or_nothing` or `valid_only`.
    pub mode: String,
    pub rows_total: u64,
    pub rows_valid: u64,
    pub problems: u64,
    /// `None` when nothing was imported (a dry run, or refused because of problems).
    pub imported_households: Option<u64>,
}

impl SqliteDistrict {
    /// Which of `ids` some person in the district already has.
    pub fn existing_id_numbers(&self, ids: &[String]) -> Result<HashSet<String>> {
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT 1 FROM persons WHERE id_number = ?1 LIMIT 1")?;
            let mut found = HashSet::new();
            for id in ids {
                if stmt.exists([id])? {
                    found.insert(id.clone());
                }
            }
            Ok(found)
        })
    }

    /// Keep an import run and its report (JSON). Returns the run's id.
    pub fn record_import_run(&self, run: &ImportRun, report_json: &str) -> Result<i64> {
        self.with_writer(|store| {
            store.conn.execute(
                "INSERT INTO import_runs (at, user_id, username, file_name, file_sha256, mode,
                    rows_total, rows_valid, problems, imported_households, report)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    run.at,
                    run.user_id,
                    run.username,
                    run.file_name,
                    run.file_sha256,
                    run.mode,
                    run.rows_total as i64,
                    run.rows_valid as i64,
                    run.problems as i64,
                    run.imported_households.map(|n| n as i64),
                    report_json
                ],
            )?;
            Ok(store.conn.last_insert_rowid())
        })
    }

    /// The latest import runs, newest first.
    pub fn import_runs(&self, limit: usize) -> Result<Vec<ImportRun>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, at, user_id, username, file_name, file_sha256, mode, rows_total,
                        rows_valid, problems, imported_households
                 FROM import_runs ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit.min(1000) as i64], |r| {
                Ok(ImportRun {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    user_id: r.get(2)?,
                    username: r.get(3)?,
                    file_name: r.get(4)?,
                    file_sha256: r.get(5)?,
                    mode: r.get(6)?,
                    rows_total: r.get::<_, i64>(7)?.max(0) as u64,
                    rows_valid: r.get::<_, i64>(8)?.max(0) as u64,
                    problems: r.get::<_, i64>(9)?.max(0) as u64,
                    imported_households: r.get::<_, Option<i64>>(10)?.map(|n| n.max(0) as u64),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// The kept report of one import run.
    pub fn import_report(&self, id: i64) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.with_reader(|conn| {
            Ok(conn
                .query_row("SELECT report FROM import_runs WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?)
        })
    }
}
