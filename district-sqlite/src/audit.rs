//! The audit log: who exported what, viewed full PII, signed in or failed to, revoked a
//! device, imported, changed users or areas. Append-only: the table's triggers refuse any
//! UPDATE or DELETE, so not even a bug in this crate can rewrite history.

use super::SqliteDistrict;
use crate::Result;
pub use gridwalk_district::audit::{
    check_entry, AuditEntry, AuditKind, AuditQuery, AuditStore, AUDIT_PAGE_MAX,
};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter};

impl AuditStore for SqliteDistrict {
    fn audit_append(&self, entry: &AuditEntry) -> Result<i64> {
        SqliteDistrict::audit_append(self, entry)
    }

    fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        SqliteDistrict::audit_log(self, query)
    }
}

impl SqliteDistrict {
    /// Append an entry; returns its id.
    pub fn audit_append(&self, entry: &AuditEntry) -> Result<i64> {
        check_entry(entry)?;
        self.with_writer(|store| {
            store.conn.execute(
                "INSERT INTO audit_log (at, user_id, username, role, kind, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    entry.at,
                    entry.user_id,
                    entry.username,
                    entry.role,
                    entry.kind.as_str(),
                    entry.detail.to_string()
                ],
            )?;
            Ok(store.conn.last_insert_rowid())
        })
    }

    /// One page of the audit log, newest first.
    pub fn audit_log(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut conditions = vec!["1 = 1".to_string()];
        let mut args: Vec<Value> = Vec::new();
        // Each condition names its argument by number: `?` becomes `?N`.
        let mut add = |sql: &str, v: Value| {
            args.push(v);
            conditions.push(sql.replace('?', &format!("?{}", args.len())));
        };
        if let Some(kind) = q.kind {
            add("kind = ?", Value::Text(kind.as_str().into()));
        }
        if let Some(user) = &q.user {
            add("(user_id = ? OR username = ?)", Value::Text(user.clone()));
        }
        if let Some(since) = q.since {
            add("at >= ?", Value::Integer(since));
        }
        if let Some(until) = q.until {
            add("at < ?", Value::Integer(until));
        }
        if let Some(before) = q.before_id {
            add("id < ?", Value::Integer(before));
        }
        let limit = q.page_size();
        let sql = format!(
            "SELECT id, at, user_id, username, role, kind, detail FROM audit_log
             WHERE {} ORDER BY id DESC LIMIT {limit}",
            conditions.join(" AND ")
        );
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(args), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, at, user_id, username, role, kind, detail) = row?;
                // An entry of a kind this version does not know is skipped, not an error.
                let Some(kind) = AuditKind::parse(&kind) else {
                    continue;
                };
                out.push(AuditEntry {
                    id,
                    at,
                    user_id,
                    username,
                    role,
                    kind,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                });
            }
            Ok(out)
        })
    }
}
