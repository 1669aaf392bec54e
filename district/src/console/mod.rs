//! The supervisor's console above the SQL: password sign-in, sessions with a CSRF token,
//! the lockout after repeated failures, per-address rate limits, and the area scope of a
//! console user. [`ConsoleStore`] is what a backend provides (rows read and written in
//! its transactions); the flow of a sign-in and the scope rule are written once here, as
//! its provided methods, so SQLite and PostgreSQL behave the same. Everything lives in
//! the database, so several servers on one PostgreSQL share sessions, locks and limits.
//!
//! Scope: an admin sees the whole district; a supervisor sees the grids in `user_grids`
//! plus every grid of the communities and streets listed in `user_areas`. Every console
//! query and action takes a [`ConsoleScope`] and refuses what lies outside it.

pub mod lockout;
pub mod password;

use crate::audit::{AuditEntry, AuditKind, AuditStore};
use crate::auth::sha256_hex;
use crate::{DistrictStore, Result, StoreError};
use gridwalk_core::authorize::{Actor, Role};
use lockout::{address_key, username_key, RateWindow};
use password::{dummy_hash, hash_password, random_secret, verify_password, MAX_PASSWORD_BYTES};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use uuid::Uuid;

/// The longest username kept anywhere (login failures, the audit log); longer is refused.
pub const MAX_USERNAME_CHARS: usize = 64;
/// A console session lasts 12 hours.
pub const SESSION_MS: i64 = 12 * 3_600_000;

/// Why a console request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("{0}")]
    Store(#[from] StoreError),
    /// Wrong username or password (never says which).
    #[error("wrong username or password")]
    BadCredentials,
    #[error("too many failed logins: this account is locked until {until} (ms since the epoch)")]
    Locked { until: i64 },
    /// The user exists but may not use the console (a worker).
    #[error("{0}")]
    Forbidden(String),
    #[error("not signed in, or the session has expired")]
    NoSession,
    /// Not found, or outside the caller's scope (the two are not told apart).
    #[error("{0} not found")]
    NotFound(String),
    /// The action is not legal in the current state (the reason from the workflow).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
}

pub type ConsoleResult<T> = std::result::Result<T, ConsoleError>;

/// Who is asking and what they may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleScope {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    /// `supervisor` or `admin`.
    pub role: String,
    /// The grids in scope; `None` for an admin (every grid).
    pub grids: Option<Vec<String>>,
    /// `users.key_persons`: a supervisor granted key-person data (重点人员).
    pub key_person_grant: bool,
}

impl ConsoleScope {
    /// The signed-in user as the author of the console's edits (see
    /// [`gridwalk_core::authorize`]).
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id.clone(),
            role: Role::parse(&self.role).unwrap_or(Role::Worker),
            grids: self.grids.clone(),
            key_person_grant: self.key_person_grant,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }

    pub fn may_see(&self, grid_id: &str) -> bool {
        match &self.grids {
            None => true,
            Some(g) => g.iter().any(|x| x == grid_id),
        }
    }

    /// Narrow to `wanted` (filters): the grids both in scope and wanted.
    pub fn narrow(&self, wanted: Option<Vec<String>>) -> Option<Vec<String>> {
        match (&self.grids, wanted) {
            (None, w) => w,
            (Some(g), None) => Some(g.clone()),
            (Some(g), Some(w)) => Some(w.into_iter().filter(|x| g.contains(x)).collect()),
        }
    }
}

/// A signed-in console session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// The cookie value (only returned at login; its hash is stored).
    pub token: String,
    pub csrf: String,
    pub expires_at: i64,
    pub scope: ConsoleScope,
}

/// What a sign-in reads of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user_id: String,
    pub role: String,
    pub password_hash: Option<String>,
}

/// What a scope is computed from: the user and its grids and areas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRows {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub key_person_grant: bool,
    pub grids: Vec<String>,
    /// Community and street codes (`user_areas`).
    pub areas: Vec<String>,
}

/// A session to store, and the failure counters a successful sign-in clears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub token_hash: String,
    pub user_id: String,
    pub csrf: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// The username's `login_failures` key: deleted.
    pub username_key: String,
    /// The address's key: its reserved attempt taken back (one failure less).
    pub address_key: String,
}

/// The rows a backend keeps for the console. The provided methods are the console's
/// sign-in, session and scope logic, the same on every backend.
pub trait ConsoleStore: DistrictStore + AuditStore {
    /// A user's id, role and password hash by username.
    fn credentials(&self, username: &str) -> Result<Option<Credentials>>;
    /// In one write transaction, for each `(key, max failures)` in order: read its
    /// `login_failures` row, apply [`lockout::attempt`], write the counted row. Returns
    /// the first lock met (that key's row is then left as it was).
    fn reserve_attempts(&self, keys: &[(String, i64)], now_ms: i64) -> Result<Option<i64>>;
    /// A key's stored lock, if it ends after `now_ms`.
    fn locked_until(&self, key: &str, now_ms: i64) -> Result<Option<i64>>;
    /// Store a session after a successful sign-in, clear the username's failures, take
    /// the address's attempt back and drop expired sessions, in one transaction.
    fn open_session(&self, session: &NewSession) -> Result<()>;
    /// `(user_id, csrf, expires_at)` of a stored session.
    fn session_row(&self, token_hash: &str) -> Result<Option<(String, String, i64)>>;
    fn delete_session(&self, token_hash: &str) -> Result<()>;
    fn scope_rows(&self, user_id: &str) -> Result<Option<ScopeRows>>;
    /// Store a password hash and end the user's sessions; `false` when no such user.
    fn store_password_hash(&self, username: &str, phc: &str) -> Result<bool>;
    /// Grant or withdraw a supervisor's key-person data; refused for other roles.
    fn set_key_person_grant(&self, user_id: &str, granted: bool) -> Result<()>;
    /// Add a community or street code to a user's scope.
    fn add_user_area(&self, user_id: &str, area_code: &str) -> Result<()>;
    /// The console's device id: one fixed UUID per district, made on first use, so that
    /// changes made in the console are attributed to (supervisor user, console).
    fn console_device_id(&self) -> Result<Uuid>;
    /// In one write transaction: read the key's rate row, apply [`lockout::rate_hit`],
    /// write it; whether the hit is allowed.
    fn rate_window(
        &self,
        key: &str,
        hit: &dyn Fn(Option<RateWindow>) -> (RateWindow, bool),
    ) -> Result<bool>;

    /// One hit against a per-minute limit shared by every server on this database
    /// (`kind`: "login", "enroll"; `address`: the client's).
    fn rate_limit(&self, kind: &str, address: &str, per_minute: u32, now_ms: i64) -> Result<bool> {
        let key = format!("{kind}:{address}");
        self.rate_window(&key, &|row| lockout::rate_hit(row, per_minute, now_ms))
    }

    /// Set (or replace) a user's console password (at least 8 characters); the user's
    /// open sessions end.
    fn set_password(&self, username: &str, password: &str) -> Result<()> {
        password::check_new_password(password)?;
        let phc = hash_password(password)?;
        if !self.store_password_hash(username, &phc)? {
            return Err(StoreError::BadRequest(format!(
                "no user named {username:?}"
            )));
        }
        Ok(())
    }

    /// Check a username and password and open a session. Five failures within 15 minutes
    /// lock the username for 15 minutes (a locked account is refused even with the right
    /// password); twenty from one address lock the address. Workers may not sign in.
    fn console_login(
        &self,
        username: &str,
        password: &str,
        address: &str,
        now_ms: i64,
    ) -> ConsoleResult<ConsoleSession> {
        if username.chars().count() > MAX_USERNAME_CHARS || password.len() > MAX_PASSWORD_BYTES {
            // Refused before anything is stored: a 5 MB username must not reach
            // `login_failures` or the append-only audit log.
            return Err(ConsoleError::BadRequest(format!(
                "用户名最多{MAX_USERNAME_CHARS}个字、密码最多{MAX_PASSWORD_BYTES}字节 / a \
                 username has at most {MAX_USERNAME_CHARS} characters and a password at \
                 most {MAX_PASSWORD_BYTES} bytes"
            )));
        }
        // The attempt is counted (and the lock checked) in one write transaction before
        // the password is verified, so parallel guesses cannot all pass the check.
        let (user_key, addr_key) = (username_key(username), address_key(address));
        let keys = [
            (user_key.clone(), lockout::LOCKOUT_FAILURES),
            (addr_key.clone(), lockout::ADDRESS_LOCKOUT_FAILURES),
        ];
        if let Some(until) = self.reserve_attempts(&keys, now_ms)? {
            return Err(ConsoleError::Locked { until });
        }
        let row = self.credentials(username)?;
        let ok = match &row {
            Some(Credentials {
                password_hash: Some(phc),
                ..
            }) => verify_password(password, phc),
            _ => {
                let _ = verify_password(password, dummy_hash());
                false
            }
        };
        let user = match row {
            Some(user) if ok => user,
            row => {
                let until = self.locked_until(&user_key, now_ms)?;
                let (user_id, role) = row.map_or(("(unknown)".to_string(), String::new()), |u| {
                    (u.user_id, u.role)
                });
                self.audit_append(&AuditEntry {
                    id: 0,
                    at: now_ms,
                    user_id,
                    username: username.to_string(),
                    role,
                    kind: AuditKind::LoginFailed,
                    detail: serde_json::json!({ "locked_until": until }),
                })?;
                return Err(match until {
                    Some(until) => ConsoleError::Locked { until },
                    None => ConsoleError::BadCredentials,
                });
            }
        };
        if user.role == "worker" {
            return Err(ConsoleError::Forbidden(
                "a grid worker's account cannot sign in to the supervisor's console".into(),
            ));
        }
        let token = random_secret();
        let csrf = random_secret();
        let expires_at = now_ms + SESSION_MS;
        self.open_session(&NewSession {
            token_hash: sha256_hex(&token),
            user_id: user.user_id.clone(),
            csrf: csrf.clone(),
            created_at: now_ms,
            expires_at,
            username_key: user_key,
            address_key: addr_key,
        })?;
        let scope = self.console_scope(&user.user_id)?;
        self.audit_append(&AuditEntry::by(
            &scope,
            AuditKind::Login,
            now_ms,
            serde_json::json!({}),
        ))?;
        Ok(ConsoleSession {
            token,
            csrf,
            expires_at,
            scope,
        })
    }

    /// The session behind a cookie token, with its CSRF token and scope.
    fn console_session(&self, token: &str, now_ms: i64) -> ConsoleResult<(String, ConsoleScope)> {
        match self.session_row(&sha256_hex(token))? {
            Some((user_id, csrf, expires)) if expires > now_ms => {
                Ok((csrf, self.console_scope(&user_id)?))
            }
            _ => Err(ConsoleError::NoSession),
        }
    }

    fn console_logout(&self, token: &str) -> Result<()> {
        self.delete_session(&sha256_hex(token))
    }

    /// What `user_id` may see: every grid for an admin; for a supervisor their grids plus
    /// the grids of their communities and streets.
    fn console_scope(&self, user_id: &str) -> ConsoleResult<ConsoleScope> {
        let rows = self
            .scope_rows(user_id)?
            .ok_or_else(|| StoreError::Unauthorized("no such user".into()))?;
        let grids = match rows.role.as_str() {
            "admin" => None,
            "supervisor" => {
                let tree = match rows.areas.is_empty() {
                    true => None,
                    false => self.area_tree()?,
                };
                Some(supervisor_grids(&rows, tree.as_ref()))
            }
            _ => {
                return Err(ConsoleError::Forbidden(
                    "a grid worker's account cannot use the supervisor's console".into(),
                ))
            }
        };
        Ok(ConsoleScope {
            user_id: user_id.to_string(),
            username: rows.username,
            display_name: rows.display_name,
            role: rows.role,
            grids,
            key_person_grant: rows.key_person_grant,
        })
    }
}

/// A supervisor's grids: their own plus those of their communities and streets.
pub fn supervisor_grids(
    rows: &ScopeRows,
    tree: Option<&gridwalk_core::area::AreaTree>,
) -> Vec<String> {
    let mut set: BTreeSet<String> = rows.grids.iter().cloned().collect();
    if let Some(tree) = tree {
        for g in &tree.grids {
            let street = tree
                .communities
                .iter()
                .find(|c| c.code == g.community_code)
                .map(|c| c.street_code.as_str());
            if rows
                .areas
                .iter()
                .any(|a| *a == g.community_code || Some(a.as_str()) == street)
            {
                set.insert(g.id.clone());
            }
        }
    }
    set.into_iter().collect()
}
