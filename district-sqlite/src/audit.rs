//! The audit log: who exported what, viewed full PII, signed in or failed to, revoked a
//! device, imported, changed users or areas. Append-only: the table's triggers refuse any
//! UPDATE or DELETE, so not even a bug in this crate can rewrite history.

use super::console::ConsoleScope;
use super::SqliteDistrict;
use crate::{Result, StoreError};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter};
use serde::{Deserialize, Serialize};

/// Most entries one page of [`SqliteDistrict::audit_log`] returns.
pub const AUDIT_PAGE_MAX: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    Export,
    PiiView,
    Login,
    LoginFailed,
    Logout,
    DeviceRevoked,
    Import,
    UserChanged,
    AreaChanged,
}

impl AuditKind {
    pub const ALL: [AuditKind; 9] = [
        AuditKind::Export,
        AuditKind::PiiView,
        AuditKind::Login,
        AuditKind::LoginFailed,
        AuditKind::Logout,
        AuditKind::DeviceRevoked,
        AuditKind::Import,
        AuditKind::UserChanged,
        AuditKind::AreaChanged,
    ];

    /// The stored name (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Export => "export",
            AuditKind::PiiView => "pii_view",
            AuditKind::Login => "login",
            AuditKind::LoginFailed => "login_failed",
            AuditKind::Logout => "logout",
            AuditKind::DeviceRevoked => "device_revoked",
            AuditKind::Import => "import",
            AuditKind::UserChanged => "user_changed",
            AuditKind::AreaChanged => "area_changed",
        }
    }

    pub fn parse(s: &str) -> Option<AuditKind> {
        AuditKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One audit entry. `id` is assigned on append (ignored there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// Milliseconds since the epoch (UTC).
    pub at: i64,
    pub user_id: String,
    pub username: String,
    pub role: String,
    pub kind: AuditKind,
    /// What happened, as JSON (an export: format, filters, rows, masked, reason, file).
    pub detail: serde_json::Value,
}

impl AuditEntry {
    /// An entry for something `scope`'s user did.
    pub fn by(scope: &ConsoleScope, kind: AuditKind, at: i64, detail: serde_json::Value) -> Self {
        AuditEntry {
            id: 0,
            at,
            user_id: scope.user_id.clone(),
            username: scope.username.clone(),
            role: scope.role.clone(),
            kind,
            detail,
        }
    }
}

/// A page of the audit log, newest first. `user` matches the user id or the username.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    pub kind: Option<AuditKind>,
    pub user: Option<String>,
    /// Entries at or after this time (ms).
    pub since: Option<i64>,
    /// Entries before this time (ms).
    pub until: Option<i64>,
    /// Page size: 0 means 100; at most [`AUDIT_PAGE_MAX`].
    pub limit: usize,
    /// The next page: entries with a smaller id than the last one seen.
    pub before_id: Option<i64>,
}

impl SqliteDistrict {
    /// Append an entry; returns its id.
    pub fn audit_append(&self, entry: &AuditEntry) -> Result<i64> {
        if entry.user_id.is_empty() {
            return Err(StoreError::BadRequest(
                "an audit entry needs the user who acted".into(),
            ));
        }
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
        let limit = match q.limit {
            0 => 100,
            n => n.min(AUDIT_PAGE_MAX),
        };
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
