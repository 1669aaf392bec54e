//! The audit log's entries and the [`AuditStore`] trait: who exported what, viewed full
//! PII, signed in or failed to, revoked a device, imported, changed users or areas. Each
//! backend keeps it append-only in the database itself (SQLite: triggers that abort
//! UPDATE and DELETE; PostgreSQL: a trigger that raises on them).

use crate::console::ConsoleScope;
use crate::Result;
use serde::{Deserialize, Serialize};

/// Most entries one page of [`AuditStore::audit_log`] returns.
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

impl AuditQuery {
    /// The page size asked for, within bounds.
    pub fn page_size(&self) -> usize {
        match self.limit {
            0 => 100,
            n => n.min(AUDIT_PAGE_MAX),
        }
    }
}

/// The append-only audit log, on either backend.
pub trait AuditStore: Send + Sync {
    /// Append an entry; returns its id. An entry needs the user who acted.
    fn audit_append(&self, entry: &AuditEntry) -> Result<i64>;
    /// One page of the audit log, newest first; entries of kinds this version does not
    /// know are skipped.
    fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;
}

/// The check every backend makes before appending.
pub fn check_entry(entry: &AuditEntry) -> Result<()> {
    if entry.user_id.is_empty() {
        return Err(crate::StoreError::BadRequest(
            "an audit entry needs the user who acted".into(),
        ));
    }
    Ok(())
}
