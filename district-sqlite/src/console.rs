//! The supervisor's console: password logins (argon2), sessions with a CSRF token,
//! lockout after repeated failures, and the area scope of a console user.
//!
//! Scope: an admin sees the whole district; a supervisor sees the grids in `user_grids`
//! plus every grid of the communities and streets listed in `user_areas`. Every console
//! query and action takes a [`ConsoleScope`] and refuses what lies outside it.

use super::audit::{AuditEntry, AuditKind};
use super::SqliteDistrict;
use crate::{Result, StoreError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use gridwalk_core::authorize::{Actor, Role};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use uuid::Uuid;

/// Failed logins that lock a username.
pub const LOCKOUT_FAILURES: i64 = 5;
/// How long a lock lasts, and the window the failures are counted in: 15 minutes.
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;
/// Failed logins from one address (any usernames) within [`LOCKOUT_MS`] that lock it.
pub const ADDRESS_LOCKOUT_FAILURES: i64 = 20;
/// The longest username kept anywhere (login failures, the audit log); longer is refused.
pub const MAX_USERNAME_CHARS: usize = 64;
/// The longest password verified (argon2 of megabytes is work for nobody's benefit).
pub const MAX_PASSWORD_BYTES: usize = 1024;
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

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The `login_failures` key of a client address; usernames cannot start with a NUL.
fn address_key(address: &str) -> String {
    format!("\u{0}addr:{address}")
}

fn random_secret() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(Uuid::new_v4().as_bytes())
        .map_err(|e| StoreError::BadRequest(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::BadRequest(format!("password hash: {e}")))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fixed hash to verify against when the username is unknown, so that the answer takes
/// as long as for a known one.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a password of anyone").unwrap_or_default())
}

impl SqliteDistrict {
    /// Set (or replace) a user's console password. At least 8 characters.
    pub fn set_password(&self, username: &str, password: &str) -> Result<()> {
        if password.chars().count() < 8 {
            return Err(StoreError::BadRequest(
                "a password needs at least 8 characters".into(),
            ));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(StoreError::BadRequest(format!(
                "a password has at most {MAX_PASSWORD_BYTES} bytes"
            )));
        }
        let phc = hash_password(password)?;
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let n = tx.execute(
                "UPDATE users SET password_hash = ?2 WHERE username = ?1",
                params![username, phc],
            )?;
            if n == 0 {
                return Err(StoreError::BadRequest(format!(
                    "no user named {username:?}"
                )));
            }
            // Whoever knew the old password is signed out: every open session ends.
            tx.execute(
                "DELETE FROM console_sessions
                 WHERE user_id = (SELECT user_id FROM users WHERE username = ?1)",
                [username],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Grant or withdraw key-person data (重点人员) for a supervisor: their devices pull
    /// key-person documents and the console shows restricted tags only while granted.
    /// Workers never hold it and admins always do, so only supervisors take the grant.
    pub fn set_key_person_grant(&self, user_id: &str, granted: bool) -> Result<()> {
        self.with_writer(|store| {
            let n = store.conn.execute(
                "UPDATE users SET key_persons = ?2 WHERE user_id = ?1 AND role = 'supervisor'",
                params![user_id, granted],
            )?;
            match n {
                0 => Err(StoreError::BadRequest(format!(
                    "no supervisor {user_id}: only a supervisor takes the key-person grant"
                ))),
                _ => Ok(()),
            }
        })
    }

    /// Add a community or street code to a user's scope.
    pub fn add_user_area(&self, user_id: &str, area_code: &str) -> Result<()> {
        self.with_writer(|store| {
            store.conn.execute(
                "INSERT OR IGNORE INTO user_areas (user_id, area_code) VALUES (?1, ?2)",
                params![user_id, area_code],
            )?;
            Ok(())
        })
    }

    /// Check a username and password and open a session. Five failures within 15 minutes
    /// lock the username for 15 minutes (a locked account is refused even with the right
    /// password). Workers may not sign in to the console.
    pub fn console_login(
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
        self.reserve_login_attempt(username, address, now_ms)?;
        let row: Option<(String, String, Option<String>)> = self.with_reader(|conn| {
            Ok(conn
                .query_row(
                    "SELECT user_id, role, password_hash FROM users WHERE username = ?1",
                    [username],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?)
        })?;
        let ok = match &row {
            Some((_, _, Some(phc))) => verify_password(password, phc),
            _ => {
                let _ = verify_password(password, dummy_hash());
                false
            }
        };
        if !ok {
            let until = self.login_locked_until(username, now_ms)?;
            let (user_id, role) = match &row {
                Some((id, role, _)) => (id.clone(), role.clone()),
                None => ("(unknown)".to_string(), String::new()),
            };
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
        let (user_id, role, _) = row.expect("checked above");
        if role == "worker" {
            return Err(ConsoleError::Forbidden(
                "a grid worker's account cannot sign in to the supervisor's console".into(),
            ));
        }
        let token = random_secret();
        let csrf = random_secret();
        let expires_at = now_ms + SESSION_MS;
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            tx.execute("DELETE FROM login_failures WHERE username = ?1", [username])?;
            // The address's reserved attempt was not a failure.
            tx.execute(
                "UPDATE login_failures SET failures = MAX(failures - 1, 0) WHERE username = ?1",
                [address_key(address)],
            )?;
            tx.execute(
                "DELETE FROM console_sessions WHERE expires_at < ?1",
                [now_ms],
            )?;
            tx.execute(
                "INSERT INTO console_sessions (token_hash, user_id, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![sha256_hex(&token), user_id, csrf, now_ms, expires_at],
            )?;
            tx.commit()?;
            Ok(())
        })?;
        let scope = self.console_scope(&user_id)?;
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

    /// Count an attempt for the username and for the address in one transaction, and
    /// refuse it when either is locked or has used up its failures in the window. A
    /// successful login takes its attempt back.
    fn reserve_login_attempt(
        &self,
        username: &str,
        address: &str,
        now_ms: i64,
    ) -> ConsoleResult<()> {
        let locked = self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let mut locked = None;
            for (key, max) in [
                (username.to_string(), LOCKOUT_FAILURES),
                (address_key(address), ADDRESS_LOCKOUT_FAILURES),
            ] {
                let row: Option<(i64, i64, Option<i64>)> = tx
                    .query_row(
                        "SELECT failures, first_failure_at, locked_until FROM login_failures
                         WHERE username = ?1",
                        [&key],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()?;
                let (failures, first, until) = match row {
                    Some((n, first, until)) if now_ms - first < LOCKOUT_MS => (n, first, until),
                    Some((_, _, until)) => (0, now_ms, until),
                    None => (0, now_ms, None),
                };
                if let Some(until) = until.filter(|u| *u > now_ms) {
                    locked = Some(until);
                    continue;
                }
                if failures >= max {
                    locked = Some(now_ms + LOCKOUT_MS);
                    continue;
                }
                // The attempt that uses the last try also sets the lock; a success clears it.
                let failures = failures + 1;
                let until = (failures >= max).then_some(now_ms + LOCKOUT_MS);
                tx.execute(
                    "INSERT INTO login_failures (username, failures, first_failure_at, locked_until)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (username) DO UPDATE SET failures = excluded.failures,
                        first_failure_at = excluded.first_failure_at,
                        locked_until = excluded.locked_until",
                    params![key, failures, first, until],
                )?;
            }
            tx.commit()?;
            Ok(locked)
        })?;
        match locked {
            Some(until) => Err(ConsoleError::Locked { until }),
            None => Ok(()),
        }
    }

    /// After a failed attempt: the lock's end when the username is now locked.
    fn login_locked_until(&self, username: &str, now_ms: i64) -> Result<Option<i64>> {
        self.with_reader(|conn| {
            Ok(conn
                .query_row(
                    "SELECT locked_until FROM login_failures WHERE username = ?1",
                    [username],
                    |r| r.get::<_, Option<i64>>(0),
                )
                .optional()?
                .flatten()
                .filter(|u| *u > now_ms))
        })
    }

    /// The session behind a cookie token, with its CSRF token and scope.
    pub fn console_session(
        &self,
        token: &str,
        now_ms: i64,
    ) -> ConsoleResult<(String, ConsoleScope)> {
        let row: Option<(String, String, i64)> = self.with_reader(|conn| {
            Ok(conn
                .query_row(
                    "SELECT user_id, csrf, expires_at FROM console_sessions WHERE token_hash = ?1",
                    [sha256_hex(token)],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?)
        })?;
        match row {
            Some((user_id, csrf, expires)) if expires > now_ms => {
                Ok((csrf, self.console_scope(&user_id)?))
            }
            _ => Err(ConsoleError::NoSession),
        }
    }

    pub fn console_logout(&self, token: &str) -> Result<()> {
        self.with_writer(|store| {
            store.conn.execute(
                "DELETE FROM console_sessions WHERE token_hash = ?1",
                [sha256_hex(token)],
            )?;
            Ok(())
        })
    }

    /// What `user_id` may see: every grid for an admin; for a supervisor their grids plus
    /// the grids of their communities and streets.
    pub fn console_scope(&self, user_id: &str) -> ConsoleResult<ConsoleScope> {
        let (username, display_name, role, grant, grids, areas) = self.with_reader(|conn| {
            let (username, display_name, role, grant): (String, String, String, bool) = conn
                .query_row(
                    "SELECT username, display_name, role, key_persons FROM users
                     WHERE user_id = ?1",
                    [user_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?
                .ok_or_else(|| StoreError::Unauthorized("no such user".into()))?;
            let mut stmt =
                conn.prepare_cached("SELECT grid_id FROM user_grids WHERE user_id = ?1")?;
            let grids: Vec<String> = stmt
                .query_map([user_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut stmt =
                conn.prepare_cached("SELECT area_code FROM user_areas WHERE user_id = ?1")?;
            let areas: Vec<String> = stmt
                .query_map([user_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok((username, display_name, role, grant, grids, areas))
        })?;
        let grids = match role.as_str() {
            "admin" => None,
            "supervisor" => {
                let mut set: BTreeSet<String> = grids.into_iter().collect();
                if !areas.is_empty() {
                    if let Some(tree) = self.area_tree()? {
                        for g in &tree.grids {
                            let street = tree
                                .communities
                                .iter()
                                .find(|c| c.code == g.community_code)
                                .map(|c| c.street_code.as_str());
                            if areas
                                .iter()
                                .any(|a| *a == g.community_code || Some(a.as_str()) == street)
                            {
                                set.insert(g.id.clone());
                            }
                        }
                    }
                }
                Some(set.into_iter().collect())
            }
            _ => {
                return Err(ConsoleError::Forbidden(
                    "a grid worker's account cannot use the supervisor's console".into(),
                ))
            }
        };
        Ok(ConsoleScope {
            user_id: user_id.to_string(),
            username,
            display_name,
            role,
            grids,
            key_person_grant: grant,
        })
    }

    /// The console's device id: one fixed UUID per server store, made on first use, so
    /// that changes made in the console are attributed to (supervisor user, console).
    pub fn console_device_id(&self) -> Result<Uuid> {
        const KEY: &str = "console.device_id";
        self.with_writer(|store| {
            if let Some(id) = store.meta_get(KEY)?.and_then(|s| Uuid::parse_str(&s).ok()) {
                return Ok(id);
            }
            let id = Uuid::now_v7();
            store.meta_set(KEY, &id.to_string())?;
            Ok(id)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewUser;

    fn district() -> (tempfile::TempDir, SqliteDistrict) {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = SqliteDistrict::open(dir.path()).expect("open");
        (dir, d)
    }

    #[test]
    fn login_lockout_and_sessions() {
        let (_dir, d) = district();
        let user = NewUser {
            username: "sup".into(),
            display_name: "主任".into(),
            role: "supervisor".into(),
            grids: vec!["g1".into()],
        };
        let id = d.create_user(&user, 0).expect("user");
        d.set_password("sup", "correct horse").expect("password");
        assert!(d.set_password("sup", "short").is_err());
        let s = d
            .console_login("sup", "correct horse", "192.0.2.1", 1_000)
            .expect("login");
        assert_eq!(s.scope.user_id, id);
        assert_eq!(s.scope.grids, Some(vec!["g1".to_string()]));
        let (csrf, scope) = d.console_session(&s.token, 2_000).expect("session");
        assert_eq!(csrf, s.csrf);
        assert!(scope.may_see("g1") && !scope.may_see("g2"));
        assert!(matches!(
            d.console_session(&s.token, s.expires_at + 1),
            Err(ConsoleError::NoSession)
        ));
        d.console_logout(&s.token).expect("logout");
        assert!(d.console_session(&s.token, 2_000).is_err());

        for i in 0..4 {
            assert!(matches!(
                d.console_login("sup", "wrong", "192.0.2.1", 10_000 + i),
                Err(ConsoleError::BadCredentials)
            ));
        }
        assert!(matches!(
            d.console_login("sup", "wrong", "192.0.2.1", 10_010),
            Err(ConsoleError::Locked { .. })
        ));
        // Locked even with the right password, until 15 minutes have passed.
        assert!(matches!(
            d.console_login("sup", "correct horse", "192.0.2.1", 20_000),
            Err(ConsoleError::Locked { .. })
        ));
        assert!(d
            .console_login("sup", "correct horse", "192.0.2.1", 10_010 + LOCKOUT_MS + 1)
            .is_ok());
    }
}
