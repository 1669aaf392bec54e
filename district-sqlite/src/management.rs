//! The admin's management of the district: users with their roles and scopes, the area
//! tree one level at a time (the district root first: `AdminStore::init_district`). (The
//! device list is the console's `console_devices`, every device for an admin.) Every call here is for an
//! admin; the console checks the role before calling, and the audit trail is written by
//! the caller that knows who asked.

use super::SqliteDistrict;
use crate::{Result, StoreError};
use gridwalk_core::area::AreaTree;
use gridwalk_district::admin::username_taken;
use gridwalk_district::AdminStore;
use rusqlite::{params, OptionalExtension};

pub use gridwalk_district::admin::{UserRow, UserUpdate};

impl AdminStore for SqliteDistrict {
    fn user_rows(&self) -> Result<Vec<UserRow>> {
        // `last_sync_at` is written with the (queued) sync-log rows.
        self.group.flush()?;
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(
                "SELECT u.user_id, u.username, u.display_name, u.role,
                        u.password_hash IS NOT NULL,
                        (SELECT count(*) FROM devices d WHERE d.user_id = u.user_id),
                        (SELECT count(*) FROM devices d
                          WHERE d.user_id = u.user_id AND d.revoked_at IS NULL),
                        (SELECT max(last_sync_at) FROM devices d WHERE d.user_id = u.user_id)
                 FROM users u ORDER BY u.role, u.username",
            )?;
            let mut grids = conn.prepare_cached(
                "SELECT grid_id FROM user_grids WHERE user_id = ?1 ORDER BY grid_id",
            )?;
            let mut areas = conn.prepare_cached(
                "SELECT area_code FROM user_areas WHERE user_id = ?1 ORDER BY area_code",
            )?;
            let mut out = Vec::new();
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let user_id: String = r.get(0)?;
                out.push(UserRow {
                    grids: grids
                        .query_map([&user_id], |r| r.get(0))?
                        .collect::<Result<_, _>>()?,
                    areas: areas
                        .query_map([&user_id], |r| r.get(0))?
                        .collect::<Result<_, _>>()?,
                    user_id,
                    username: r.get(1)?,
                    display_name: r.get(2)?,
                    role: r.get(3)?,
                    has_password: r.get(4)?,
                    devices: r.get(5)?,
                    active_devices: r.get(6)?,
                    last_sync_at: r.get(7)?,
                });
            }
            Ok(out)
        })
    }

    fn write_user(
        &self,
        exists: bool,
        user_id: &str,
        user: &UserUpdate,
        phc: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            write_user(&tx, exists, user_id, user, phc, now_ms)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn create_enrollment(&self, user_id: &str, ttl_ms: i64, now_ms: i64) -> Result<String> {
        SqliteDistrict::create_enrollment(self, user_id, ttl_ms, now_ms)
    }

    fn revoke_device(&self, device_id: &str, now_ms: i64) -> Result<bool> {
        SqliteDistrict::revoke_device(self, device_id, now_ms)
    }

    fn devices(&self) -> Result<Vec<gridwalk_district::DeviceInfo>> {
        SqliteDistrict::devices(self)
    }

    fn update_area_tree(
        &self,
        now_ms: i64,
        edit: &mut dyn FnMut(AreaTree) -> Result<AreaTree>,
    ) -> Result<AreaTree> {
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let tree = edit(read_tree(&tx)?)?;
            write_tree(&tx, &tree, now_ms)?;
            tx.commit()?;
            Ok(tree)
        })
    }

    fn update_area_tree_adding_user(
        &self,
        now_ms: i64,
        edit: &mut dyn FnMut(AreaTree) -> Result<AreaTree>,
        user_id: &str,
        user: &UserUpdate,
        phc: Option<&str>,
    ) -> Result<()> {
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let tree = edit(read_tree(&tx)?)?;
            write_tree(&tx, &tree, now_ms)?;
            write_user(&tx, false, user_id, user, phc, now_ms)?;
            tx.commit()?;
            Ok(())
        })
    }
}

fn read_tree(tx: &rusqlite::Transaction<'_>) -> Result<AreaTree> {
    let json: Option<String> = tx
        .query_row("SELECT tree FROM area_tree WHERE id = 1", [], |r| r.get(0))
        .optional()?;
    match json {
        Some(j) => serde_json::from_str(&j)
            .map_err(|e| StoreError::BadRequest(format!("stored area tree: {e}"))),
        None => Ok(AreaTree::default()),
    }
}

fn write_tree(tx: &rusqlite::Transaction<'_>, tree: &AreaTree, now_ms: i64) -> Result<()> {
    let json = serde_json::to_string(tree).map_err(|e| StoreError::BadRequest(e.to_string()))?;
    tx.execute(
        "INSERT INTO area_tree (id, tree, updated_at) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET tree = excluded.tree,
                                        updated_at = excluded.updated_at",
        params![json, now_ms],
    )?;
    Ok(())
}

/// Inserts (`exists` false) or updates a user with its scope and optional password hash.
fn write_user(
    tx: &rusqlite::Transaction<'_>,
    exists: bool,
    id: &str,
    u: &UserUpdate,
    phc: Option<&str>,
    now_ms: i64,
) -> Result<()> {
    let username = u.username.trim();
    let taken = |e: rusqlite::Error| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            username_taken(username)
        }
        e => e.into(),
    };
    if exists {
        let n = tx
            .execute(
                "UPDATE users SET username = ?2, display_name = ?3, role = ?4
                 WHERE user_id = ?1",
                params![id, username, u.display_name.trim(), u.role],
            )
            .map_err(taken)?;
        if n == 0 {
            return Err(StoreError::BadRequest(format!("no user {id}")));
        }
    } else {
        tx.execute(
            "INSERT INTO users (user_id, username, display_name, role, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, username, u.display_name.trim(), u.role, now_ms],
        )
        .map_err(taken)?;
    }
    tx.execute("DELETE FROM user_grids WHERE user_id = ?1", [id])?;
    tx.execute("DELETE FROM user_areas WHERE user_id = ?1", [id])?;
    for g in &u.grids {
        tx.execute(
            "INSERT OR IGNORE INTO user_grids (user_id, grid_id) VALUES (?1, ?2)",
            params![id, g],
        )?;
    }
    for a in &u.areas {
        tx.execute(
            "INSERT OR IGNORE INTO user_areas (user_id, area_code) VALUES (?1, ?2)",
            params![id, a],
        )?;
    }
    if let Some(phc) = phc {
        tx.execute(
            "UPDATE users SET password_hash = ?2 WHERE user_id = ?1",
            params![id, phc],
        )?;
    }
    // A new role or scope applies at once: open console sessions end.
    tx.execute("DELETE FROM console_sessions WHERE user_id = ?1", [id])?;
    Ok(())
}
