//! Users, their grids, enrollment codes, device tokens and the sync log on PostgreSQL.
//! Codes and tokens are made and hashed by [`gridwalk_district::auth`], as on SQLite.

use crate::{db, PgDistrict, Result, StoreError};
use gridwalk_core::authorize::Role;
use gridwalk_district::auth::{
    device_key_hash, normalize_code, random_code, random_token, sha256_hex, BAD_ENROLLMENT_CODE,
    ORPHAN_AFTER_MS,
};
use gridwalk_district::{DeviceAuth, DeviceInfo, Enrolled, NewUser, SyncLogEntry, SyncLogQuery};
use postgres::types::{ToSql, Type};
use postgres::GenericClient;
use uuid::Uuid;

fn user_grids(c: &mut impl GenericClient, user_id: &str) -> Result<Vec<String>> {
    let rows = c
        .query(
            "SELECT grid_id FROM user_grids WHERE user_id = $1 ORDER BY grid_id",
            &[&user_id],
        )
        .map_err(db)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

impl PgDistrict {
    /// Replace the area tree (validated first).
    pub fn set_area_tree(&self, tree: &gridwalk_core::area::AreaTree, now_ms: i64) -> Result<()> {
        tree.validate()?;
        let json = serde_json::to_value(tree).map_err(|e| StoreError::BadRequest(e.to_string()))?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO area_tree (id, tree, updated_at) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO UPDATE SET tree = excluded.tree,
                     updated_at = excluded.updated_at",
                &[&json, &now_ms],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    /// Create a user with the given grids (worker scope). Returns the user id.
    pub fn create_user(&self, user: &NewUser, now_ms: i64) -> Result<String> {
        if Role::parse(&user.role).is_none() {
            return Err(StoreError::BadRequest(format!(
                "role must be worker, supervisor or admin, not {:?}",
                user.role
            )));
        }
        let user_id = Uuid::now_v7().to_string();
        let taken = self.read(|tx| {
            Ok(tx
                .query_opt("SELECT 1 FROM users WHERE username = $1", &[&user.username])
                .map_err(db)?
                .is_some())
        })?;
        if taken {
            return Err(StoreError::BadRequest(format!(
                "username {:?} is taken",
                user.username
            )));
        }
        self.write(|tx| {
            tx.execute(
                "INSERT INTO users (user_id, username, display_name, role, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &user_id,
                    &user.username,
                    &user.display_name,
                    &user.role,
                    &now_ms,
                ],
            )
            .map_err(db)?;
            crate::manage::replace_user_grids(tx, &user_id, &user.grids)
        })?;
        Ok(user_id)
    }

    /// Replace a user's grids (an admin moved the worker).
    pub fn set_user_grids(&self, user_id: &str, grids: &[String]) -> Result<()> {
        self.write(|tx| crate::manage::replace_user_grids(tx, user_id, grids))
    }

    /// Nothing put into the store yet: no user, no document (`serve --demo` loads then).
    pub fn is_empty(&self) -> Result<bool> {
        self.read(|tx| {
            Ok(tx
                .query_one(
                    "SELECT NOT EXISTS (SELECT 1 FROM users) AND NOT EXISTS (SELECT 1 FROM docs)",
                    &[],
                )
                .map_err(db)?
                .get(0))
        })
    }

    /// A user by name: id, username, display name.
    pub fn user_by_name(&self, username: &str) -> Result<Option<(String, String, String)>> {
        self.read(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT user_id, username, display_name FROM users WHERE username = $1",
                    &[&username],
                )
                .map_err(db)?
                .map(|r| (r.get(0), r.get(1), r.get(2))))
        })
    }

    /// Every enrolled device, revoked ones included.
    pub fn devices(&self) -> Result<Vec<DeviceInfo>> {
        self.read(|tx| {
            let rows = tx
                .query(
                    "SELECT device_id, user_id, name, enrolled_at, revoked_at, last_sync_at
                     FROM devices ORDER BY enrolled_at",
                    &[],
                )
                .map_err(db)?;
            Ok(rows
                .iter()
                .map(|r| DeviceInfo {
                    device_id: r.get(0),
                    user_id: r.get(1),
                    name: r.get(2),
                    enrolled_at: r.get(3),
                    revoked_at: r.get(4),
                    last_sync_at: r.get(5),
                })
                .collect())
        })
    }

    /// A one-time enrollment code for `user_id`, valid for `ttl_ms`.
    pub fn create_enrollment(&self, user_id: &str, ttl_ms: i64, now_ms: i64) -> Result<String> {
        let code = random_code();
        let hash = sha256_hex(&normalize_code(&code));
        self.write(|tx| {
            let exists = tx
                .query_opt("SELECT 1 FROM users WHERE user_id = $1", &[&user_id])
                .map_err(db)?
                .is_some();
            if !exists {
                return Err(StoreError::BadRequest(format!("no user {user_id}")));
            }
            tx.execute(
                "INSERT INTO enrollments (code_hash, user_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[&hash, &user_id, &now_ms, &(now_ms + ttl_ms)],
            )
            .map_err(db)?;
            Ok(())
        })?;
        Ok(code)
    }

    pub fn revoke_device(&self, device_id: &str, now_ms: i64) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE devices SET revoked_at = $2
                     WHERE device_id = $1 AND revoked_at IS NULL",
                    &[&device_id, &now_ms],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
    }

    pub(crate) fn authenticate_impl(&self, token: &str) -> Result<DeviceAuth> {
        let hash = sha256_hex(token.trim());
        // Every sync asks this: one statement (its own snapshot, so device, user and grids
        // agree), typed so that it is one round trip, without a transaction around it.
        let row = self
            .conn()?
            .query_typed_opt(
                "SELECT d.device_id, d.user_id, d.revoked_at, u.role, u.key_persons,
                        ARRAY(SELECT g.grid_id FROM user_grids g
                              WHERE g.user_id = d.user_id ORDER BY g.grid_id)
                 FROM devices d JOIN users u USING (user_id) WHERE d.token_hash = $1",
                &[(&hash, Type::TEXT)],
            )
            .map_err(db)?;
        let Some(row) = row else {
            return Err(StoreError::Unauthorized("unknown device token".into()));
        };
        let device_id: String = row.get(0);
        let user_id: String = row.get(1);
        if row.get::<_, Option<i64>>(2).is_some() {
            return Err(StoreError::Revoked { device_id });
        }
        let role: String = row.get(3);
        Ok(DeviceAuth {
            grids: row.get(5),
            role: Role::parse(&role).ok_or_else(|| {
                StoreError::Unauthorized(format!("user {user_id} has no known role"))
            })?,
            key_person_grant: row.get(4),
            device_id,
            user_id,
        })
    }

    /// Revoke devices enrolled more than [`ORPHAN_AFTER_MS`] ago that never synced (their
    /// enrollment answer never arrived); as on SQLite. Returns how many.
    pub fn expire_orphan_devices(&self, now_ms: i64) -> Result<usize> {
        self.write(|tx| expire_orphans(tx, now_ms))
    }

    /// Enroll with a code; with `device_key`, a retry of the same code with the same key
    /// (the first answer was lost) gets the same device and a fresh token, until that
    /// device has synced once and never when it is revoked (as on SQLite).
    pub(crate) fn enroll_impl(
        &self,
        code: &str,
        device_name: &str,
        device_key: Option<&str>,
        now_ms: i64,
    ) -> Result<Enrolled> {
        let hash = sha256_hex(&normalize_code(code));
        let key_hash = device_key_hash(device_key)?;
        let new_device_id = Uuid::now_v7().to_string();
        let token = random_token();
        self.write(|tx| {
            // Devices that never received their answer and never synced: revoked.
            expire_orphans(tx, now_ms)?;
            // FOR UPDATE: two servers given the same code at once enroll one device.
            let row = tx
                .query_opt(
                    "SELECT user_id, expires_at, used_at, device_id, device_key_hash
                     FROM enrollments WHERE code_hash = $1 FOR UPDATE",
                    &[&hash],
                )
                .map_err(db)?;
            // Unknown, used and expired codes get one answer.
            let bad = || StoreError::Unauthorized(BAD_ENROLLMENT_CODE.into());
            let Some(row) = row else {
                return Err(bad());
            };
            let user_id: String = row.get(0);
            let used_at: Option<i64> = row.get(2);
            let stored_device: Option<String> = row.get(3);
            let stored_key: Option<String> = row.get(4);
            let device_id =
                match (used_at, stored_device, stored_key) {
                    (None, ..) if row.get::<_, i64>(1) >= now_ms => {
                        tx.execute(
                        "UPDATE enrollments SET used_at = $2, device_id = $3, device_key_hash = $4
                         WHERE code_hash = $1",
                        &[&hash, &now_ms, &new_device_id, &key_hash],
                    )
                    .map_err(db)?;
                        let name: String = device_name.chars().take(100).collect();
                        tx.execute(
                        "INSERT INTO devices (device_id, user_id, name, token_hash, enrolled_at)
                         VALUES ($1, $2, $3, $4, $5)",
                        &[&new_device_id, &user_id, &name, &sha256_hex(&token), &now_ms],
                    )
                    .map_err(db)?;
                        new_device_id.clone()
                    }
                    // The same device again (its key): the first answer was lost on the way.
                    (Some(_), Some(device_id), Some(stored))
                        if key_hash.as_deref() == Some(stored.as_str()) =>
                    {
                        let n = tx
                            .execute(
                                "UPDATE devices SET token_hash = $2
                             WHERE device_id = $1 AND revoked_at IS NULL
                               AND last_sync_at IS NULL",
                                &[&device_id, &sha256_hex(&token)],
                            )
                            .map_err(db)?;
                        if n == 0 {
                            return Err(bad());
                        }
                        device_id
                    }
                    _ => return Err(bad()),
                };
            let u = tx
                .query_one(
                    "SELECT display_name, role, key_persons FROM users WHERE user_id = $1",
                    &[&user_id],
                )
                .map_err(db)?;
            let grids = user_grids(&mut **tx, &user_id)?;
            Ok(Enrolled {
                device_id,
                user_id: user_id.clone(),
                display_name: u.get(0),
                token: token.clone(),
                grids,
                role: u.get(1),
                key_person_grant: u.get(2),
            })
        })
    }

    /// A round's row when it stored no push (a pull, an idle sync, a refusal).
    pub(crate) fn record_sync_impl(&self, e: &SyncLogEntry) -> Result<()> {
        let errors = log_errors(e);
        self.log_write(|tx| {
            tx.query_typed(INSERT_LOG, &log_params(e, &errors))
                .map_err(db)?;
            Ok(())
        })
    }

    /// The round's final figures on the row its push wrote (`push_logged`).
    pub(crate) fn finish_sync_log_impl(&self, id: i64, e: &SyncLogEntry) -> Result<()> {
        self.log_write(|tx| {
            tx.query_typed(
                "UPDATE sync_log SET duration_ms = $2, docs_out = $3, changes_out = $4,
                     bytes_out = $5
                 WHERE id = $1",
                &[
                    (&id, Type::INT8),
                    (&e.duration_ms, Type::INT8),
                    (&e.docs_out, Type::INT8),
                    (&e.changes_out, Type::INT8),
                    (&e.bytes_out, Type::INT8),
                ],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    /// A sync-log write that does not wait for its WAL flush (`synchronous_commit` off for
    /// this transaction only). Every round writes one, and the device waits for it: a
    /// flush each would double a pushing round's fsyncs. What an operating-system crash
    /// in the next moment could lose is figures only: a stored push's row was written
    /// durably in the push's own transaction (invariant 10), and the embedded store
    /// queues these rows without waiting at all.
    fn log_write(&self, f: impl FnOnce(&mut crate::Tx<'_>) -> Result<()>) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.tx(|c| c.transaction())?;
        tx.batch_execute("SET LOCAL synchronous_commit TO OFF")
            .map_err(db)?;
        f(&mut tx)?;
        tx.commit()
    }

    pub(crate) fn sync_logs_impl(&self, q: &SyncLogQuery) -> Result<Vec<SyncLogEntry>> {
        let mut sql = String::from(
            "SELECT id, device_id, user_id, started_at, duration_ms, docs_in, changes_in,
                docs_out, changes_out, bytes_in, bytes_out, conflicts, rejected, errors::text
             FROM sync_log WHERE true",
        );
        let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        if let Some(d) = &q.device_id {
            args.push(Box::new(d.clone()));
            sql.push_str(&format!(" AND device_id = ${}", args.len()));
        }
        if let Some(u) = &q.user_id {
            args.push(Box::new(u.clone()));
            sql.push_str(&format!(" AND user_id = ${}", args.len()));
        }
        if let Some(s) = q.since {
            args.push(Box::new(s));
            sql.push_str(&format!(" AND started_at >= ${}", args.len()));
        }
        sql.push_str(&format!(
            " ORDER BY started_at DESC, id DESC LIMIT {}",
            if q.limit == 0 { 100 } else { q.limit.min(1000) }
        ));
        self.read(|tx| {
            let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
            let rows = tx.query(&sql, &params).map_err(db)?;
            Ok(rows
                .iter()
                .map(|r| SyncLogEntry {
                    id: r.get(0),
                    device_id: r.get(1),
                    user_id: r.get(2),
                    started_at: r.get(3),
                    duration_ms: r.get(4),
                    docs_in: r.get(5),
                    changes_in: r.get(6),
                    docs_out: r.get(7),
                    changes_out: r.get(8),
                    bytes_in: r.get(9),
                    bytes_out: r.get(10),
                    conflicts: r.get(11),
                    rejected: r.get(12),
                    errors: r.get(13),
                })
                .collect())
        })
    }
}

/// One sync-log row and the device's last sync time, in the caller's transaction; the
/// row's id.
/// A sync-log row and the device's last sync, in one statement (one round trip).
const INSERT_LOG: &str = "WITH logged AS (
        INSERT INTO sync_log (device_id, user_id, started_at, duration_ms, docs_in,
            changes_in, docs_out, changes_out, bytes_in, bytes_out, conflicts, rejected,
            errors)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        RETURNING id),
     seen AS (UPDATE devices SET last_sync_at = $3 WHERE device_id = $1)
     SELECT id FROM logged";

fn log_errors(e: &SyncLogEntry) -> serde_json::Value {
    serde_json::from_str(&e.errors).unwrap_or_else(|_| serde_json::json!([]))
}

fn log_params<'a>(
    e: &'a SyncLogEntry,
    errors: &'a serde_json::Value,
) -> [(&'a (dyn ToSql + Sync), Type); 13] {
    const BIG: Type = Type::INT8;
    [
        (&e.device_id, Type::TEXT),
        (&e.user_id, Type::TEXT),
        (&e.started_at, BIG),
        (&e.duration_ms, BIG),
        (&e.docs_in, BIG),
        (&e.changes_in, BIG),
        (&e.docs_out, BIG),
        (&e.changes_out, BIG),
        (&e.bytes_in, BIG),
        (&e.bytes_out, BIG),
        (&e.conflicts, BIG),
        (&e.rejected, BIG),
        (errors, Type::JSONB),
    ]
}

/// Write a sync-log row in `tx` (a push's own transaction: invariant 10); its id.
pub(crate) fn insert_log(tx: &mut crate::Tx<'_>, e: &SyncLogEntry) -> Result<i64> {
    let errors = log_errors(e);
    let rows = tx
        .query_typed(INSERT_LOG, &log_params(e, &errors))
        .map_err(db)?;
    rows.first()
        .map(|r| r.get(0))
        .ok_or_else(|| StoreError::Database("the sync-log insert returned no id".into()))
}

fn expire_orphans(tx: &mut postgres::Transaction<'_>, now_ms: i64) -> Result<usize> {
    let n = tx
        .execute(
            "UPDATE devices SET revoked_at = $1
             WHERE revoked_at IS NULL AND last_sync_at IS NULL AND enrolled_at < $2",
            &[&now_ms, &(now_ms - ORPHAN_AFTER_MS)],
        )
        .map_err(db)?;
    Ok(n as usize)
}
