//! Users, their grids, enrollment codes and device tokens.
//!
//! Codes and tokens are random and never stored: only their SHA-256 is. They are long
//! random secrets (not passwords), so a fast hash is enough; a revoked device's token is
//! refused on its very next request.

use super::{DeviceAuth, DeviceInfo, Enrolled, NewUser, SqliteDistrict};
use crate::{Result, StoreError};
use gridwalk_core::authorize::Role;
use gridwalk_district::auth::{
    normalize_code, random_code, random_token, sha256_hex, BAD_ENROLLMENT_CODE,
};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub grids: Vec<String>,
}

fn user_grids(conn: &Connection, user_id: &str) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT grid_id FROM user_grids WHERE user_id = ?1 ORDER BY grid_id")?;
    let rows = stmt.query_map([user_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl SqliteDistrict {
    /// Create a user with the given grids (worker scope). Returns the user id.
    pub fn create_user(&self, user: &NewUser, now_ms: i64) -> Result<String> {
        if !["worker", "supervisor", "admin"].contains(&user.role.as_str()) {
            return Err(StoreError::BadRequest(format!(
                "role must be worker, supervisor or admin, not {:?}",
                user.role
            )));
        }
        let user_id = Uuid::now_v7().to_string();
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            tx.execute(
                "INSERT INTO users (user_id, username, display_name, role, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![user_id, user.username, user.display_name, user.role, now_ms],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::BadRequest(format!("username {:?} is taken", user.username))
                }
                e => e.into(),
            })?;
            for g in &user.grids {
                tx.execute(
                    "INSERT OR IGNORE INTO user_grids (user_id, grid_id) VALUES (?1, ?2)",
                    params![user_id, g],
                )?;
            }
            tx.commit()?;
            Ok(())
        })?;
        Ok(user_id)
    }

    pub fn user_by_name(&self, username: &str) -> Result<Option<UserInfo>> {
        self.with_reader(|conn| {
            let row: Option<(String, String, String, String)> = conn
                .query_row(
                    "SELECT user_id, username, display_name, role FROM users WHERE username = ?1",
                    [username],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            row.map(|(user_id, username, display_name, role)| {
                Ok(UserInfo {
                    grids: user_grids(conn, &user_id)?,
                    user_id,
                    username,
                    display_name,
                    role,
                })
            })
            .transpose()
        })
    }

    /// A one-time enrollment code for `user_id`, valid for `ttl_ms`.
    pub fn create_enrollment(&self, user_id: &str, ttl_ms: i64, now_ms: i64) -> Result<String> {
        let code = random_code();
        self.with_writer(|store| {
            let exists: bool = store
                .conn
                .query_row("SELECT 1 FROM users WHERE user_id = ?1", [user_id], |_| {
                    Ok(())
                })
                .optional()?
                .is_some();
            if !exists {
                return Err(StoreError::BadRequest(format!("no user {user_id}")));
            }
            store.conn.execute(
                "INSERT INTO enrollments (code_hash, user_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    sha256_hex(&normalize_code(&code)),
                    user_id,
                    now_ms,
                    now_ms + ttl_ms
                ],
            )?;
            Ok(())
        })?;
        Ok(code)
    }

    pub fn revoke_device(&self, device_id: &str, now_ms: i64) -> Result<bool> {
        self.with_writer(|store| {
            let n = store.conn.execute(
                "UPDATE devices SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
                params![device_id, now_ms],
            )?;
            Ok(n > 0)
        })
    }

    pub fn devices(&self) -> Result<Vec<DeviceInfo>> {
        // `last_sync_at` is written with the (queued) sync-log rows.
        self.group.flush()?;
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(
                "SELECT device_id, user_id, name, enrolled_at, revoked_at, last_sync_at
                 FROM devices ORDER BY enrolled_at",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(DeviceInfo {
                    device_id: r.get(0)?,
                    user_id: r.get(1)?,
                    name: r.get(2)?,
                    enrolled_at: r.get(3)?,
                    revoked_at: r.get(4)?,
                    last_sync_at: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    pub(super) fn authenticate_impl(&self, token: &str, _now_ms: i64) -> Result<DeviceAuth> {
        let hash = sha256_hex(token.trim());
        self.with_reader(|conn| {
            type Row = (String, String, Option<i64>, String, bool);
            let row: Option<Row> = conn
                .query_row(
                    "SELECT d.device_id, d.user_id, d.revoked_at, u.role, u.key_persons
                     FROM devices d JOIN users u USING (user_id) WHERE d.token_hash = ?1",
                    [&hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            match row {
                None => Err(StoreError::Unauthorized("unknown device token".into())),
                Some((device_id, _, Some(_), ..)) => Err(StoreError::Revoked { device_id }),
                Some((device_id, user_id, None, role, key_person_grant)) => Ok(DeviceAuth {
                    grids: user_grids(conn, &user_id)?,
                    role: Role::parse(&role).ok_or_else(|| {
                        StoreError::Unauthorized(format!("user {user_id} has no known role"))
                    })?,
                    key_person_grant,
                    device_id,
                    user_id,
                }),
            }
        })
    }

    pub(super) fn enroll_impl(
        &self,
        code: &str,
        device_name: &str,
        device_key: Option<&str>,
        now_ms: i64,
    ) -> Result<Enrolled> {
        let hash = sha256_hex(&normalize_code(code));
        let key_hash = gridwalk_district::auth::device_key_hash(device_key)?;
        let token = random_token();
        // Sync-log rows (and with them `last_sync_at`) may still be queued.
        self.group.flush()?;
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            expire_orphans(&tx, now_ms)?;
            type Row = (String, i64, Option<i64>, Option<String>, Option<String>);
            let row: Option<Row> = tx
                .query_row(
                    "SELECT user_id, expires_at, used_at, device_id, device_key_hash
                     FROM enrollments WHERE code_hash = ?1",
                    [&hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            // Unknown, used and expired codes get one answer: telling them apart would
            // tell a guesser which codes exist.
            let bad = || StoreError::Unauthorized(BAD_ENROLLMENT_CODE.into());
            let (user_id, device_id) = match row {
                Some((user_id, expires, None, ..)) if expires >= now_ms => {
                    let device_id = Uuid::now_v7().to_string();
                    tx.execute(
                        "UPDATE enrollments SET used_at = ?2, device_id = ?3, device_key_hash = ?4
                         WHERE code_hash = ?1",
                        params![hash, now_ms, device_id, key_hash],
                    )?;
                    let name: String = device_name.chars().take(100).collect();
                    tx.execute(
                        "INSERT INTO devices (device_id, user_id, name, token_hash, enrolled_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![device_id, user_id, name, sha256_hex(&token), now_ms],
                    )?;
                    (user_id, device_id)
                }
                // The same device again (its key): the first answer was lost on the way.
                // Only until it has synced once, and never for a revoked device.
                Some((user_id, _, Some(_), Some(device_id), Some(stored)))
                    if key_hash.as_deref() == Some(stored.as_str()) =>
                {
                    let n = tx.execute(
                        "UPDATE devices SET token_hash = ?2
                         WHERE device_id = ?1 AND revoked_at IS NULL AND last_sync_at IS NULL",
                        params![device_id, sha256_hex(&token)],
                    )?;
                    if n == 0 {
                        return Err(bad());
                    }
                    (user_id, device_id)
                }
                _ => return Err(bad()),
            };
            let (display_name, role, key_person_grant): (String, String, bool) = tx.query_row(
                "SELECT display_name, role, key_persons FROM users WHERE user_id = ?1",
                [&user_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let grids = user_grids(&tx, &user_id)?;
            tx.commit()?;
            Ok(Enrolled {
                device_id,
                user_id,
                display_name,
                token: token.clone(),
                grids,
                role,
                key_person_grant,
            })
        })
    }

    /// Revoke devices enrolled more than [`ORPHAN_AFTER_MS`] ago that never synced: their
    /// enrollment answer never arrived (the app syncs at once after enrolling). Returns
    /// how many.
    pub fn expire_orphan_devices(&self, now_ms: i64) -> Result<usize> {
        self.group.flush()?;
        self.with_writer(|store| expire_orphans(&store.conn, now_ms))
    }
}

pub use gridwalk_district::auth::ORPHAN_AFTER_MS;

fn expire_orphans(conn: &Connection, now_ms: i64) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE devices SET revoked_at = ?1
         WHERE revoked_at IS NULL AND last_sync_at IS NULL AND enrolled_at < ?2",
        params![now_ms, now_ms - ORPHAN_AFTER_MS],
    )?)
}
