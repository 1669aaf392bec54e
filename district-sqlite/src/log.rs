//! The sync log: one row per sync session, for supervisors to review.

use super::{SqliteDistrict, SyncLogEntry, SyncLogQuery};
use crate::Result;
use rusqlite::{params, types::Value, Connection};

/// Insert a sync-log row (and the device's last sync) on `conn`, in the caller's
/// transaction. Returns the row's id.
pub(super) fn insert_log(conn: &Connection, e: &SyncLogEntry) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO sync_log (device_id, user_id, started_at, duration_ms, docs_in,
            changes_in, docs_out, changes_out, bytes_in, bytes_out, conflicts, rejected,
            errors)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        e.device_id,
        e.user_id,
        e.started_at,
        e.duration_ms,
        e.docs_in,
        e.changes_in,
        e.docs_out,
        e.changes_out,
        e.bytes_in,
        e.bytes_out,
        e.conflicts,
        e.rejected,
        e.errors
    ])?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached("UPDATE devices SET last_sync_at = ?2 WHERE device_id = ?1")?
        .execute(params![e.device_id, e.started_at])?;
    Ok(id)
}

impl SqliteDistrict {
    /// Queued behind the group commit, not waited for: the row acknowledges nothing.
    /// Readers of the log ([`SqliteDistrict::sync_logs_impl`]) wait for the queue first.
    pub(super) fn record_sync_impl(&self, e: &SyncLogEntry) -> Result<()> {
        let e = e.clone();
        self.group
            .submit("sync log row", move |conn| insert_log(conn, &e).map(drop));
        Ok(())
    }

    /// The figures known only after the pull, on the row the push wrote. Queued.
    pub(super) fn finish_sync_log_impl(&self, id: i64, e: &SyncLogEntry) -> Result<()> {
        let e = e.clone();
        self.group.submit("sync log figures", move |conn| {
            conn.prepare_cached(
                "UPDATE sync_log SET duration_ms = ?2, docs_out = ?3, changes_out = ?4,
                    bytes_out = ?5
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                e.duration_ms,
                e.docs_out,
                e.changes_out,
                e.bytes_out
            ])?;
            Ok(())
        });
        Ok(())
    }

    pub(super) fn sync_logs_impl(&self, q: &SyncLogQuery) -> Result<Vec<SyncLogEntry>> {
        self.group.flush()?;
        self.with_reader(|conn| {
            let mut sql = String::from(
                "SELECT id, device_id, user_id, started_at, duration_ms, docs_in, changes_in,
                    docs_out, changes_out, bytes_in, bytes_out, conflicts, rejected, errors
                 FROM sync_log WHERE 1 = 1",
            );
            let mut args: Vec<Value> = Vec::new();
            if let Some(d) = &q.device_id {
                args.push(Value::Text(d.clone()));
                sql.push_str(&format!(" AND device_id = ?{}", args.len()));
            }
            if let Some(u) = &q.user_id {
                args.push(Value::Text(u.clone()));
                sql.push_str(&format!(" AND user_id = ?{}", args.len()));
            }
            if let Some(s) = q.since {
                args.push(Value::Integer(s));
                sql.push_str(&format!(" AND started_at >= ?{}", args.len()));
            }
            sql.push_str(&format!(
                " ORDER BY started_at DESC, id DESC LIMIT {}",
                if q.limit == 0 { 100 } else { q.limit.min(1000) }
            ));
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok(SyncLogEntry {
                    id: r.get(0)?,
                    device_id: r.get(1)?,
                    user_id: r.get(2)?,
                    started_at: r.get(3)?,
                    duration_ms: r.get(4)?,
                    docs_in: r.get(5)?,
                    changes_in: r.get(6)?,
                    docs_out: r.get(7)?,
                    changes_out: r.get(8)?,
                    bytes_in: r.get(9)?,
                    bytes_out: r.get(10)?,
                    conflicts: r.get(11)?,
                    rejected: r.get(12)?,
                    errors: r.get(13)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}
