//! The admin's management on PostgreSQL: [`AdminStore`] for [`PgDistrict`] (users with
//! their scopes, enrollment codes, devices, the area tree). The checks are
//! gridwalk-district's `admin`, as on SQLite.

use crate::{db, PgDistrict, Result, StoreError};
use gridwalk_core::area::AreaTree;
use gridwalk_district::admin::{username_taken, AdminStore, UserRow, UserUpdate};
use gridwalk_district::DeviceInfo;
use postgres::error::SqlState;
use postgres::Transaction;

/// The advisory lock an area-tree edit holds: "gw-area".
const AREA_TREE_LOCK: i64 = 0x0067_772d_6172_6561;

impl AdminStore for PgDistrict {
    fn user_rows(&self) -> Result<Vec<UserRow>> {
        self.read(|tx| {
            let rows = tx
                .query(
                    "SELECT u.user_id, u.username, u.display_name, u.role,
                        u.password_hash IS NOT NULL,
                        (SELECT count(*) FROM devices d WHERE d.user_id = u.user_id),
                        (SELECT count(*) FROM devices d
                          WHERE d.user_id = u.user_id AND d.revoked_at IS NULL),
                        (SELECT max(last_sync_at) FROM devices d WHERE d.user_id = u.user_id),
                        ARRAY(SELECT grid_id FROM user_grids g WHERE g.user_id = u.user_id
                              ORDER BY grid_id),
                        ARRAY(SELECT area_code FROM user_areas a WHERE a.user_id = u.user_id
                              ORDER BY area_code)
                     FROM users u ORDER BY u.role, u.username",
                    &[],
                )
                .map_err(db)?;
            Ok(rows
                .iter()
                .map(|r| UserRow {
                    user_id: r.get(0),
                    username: r.get(1),
                    display_name: r.get(2),
                    role: r.get(3),
                    has_password: r.get(4),
                    devices: u32::try_from(r.get::<_, i64>(5)).unwrap_or(u32::MAX),
                    active_devices: u32::try_from(r.get::<_, i64>(6)).unwrap_or(u32::MAX),
                    last_sync_at: r.get(7),
                    grids: r.get(8),
                    areas: r.get(9),
                })
                .collect())
        })
    }

    fn write_user(
        &self,
        exists: bool,
        id: &str,
        u: &UserUpdate,
        phc: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        insert_or_update_user(&mut tx, exists, id, u, phc, now_ms)?;
        tx.commit().map_err(db)
    }

    fn create_enrollment(&self, user_id: &str, ttl_ms: i64, now_ms: i64) -> Result<String> {
        PgDistrict::create_enrollment(self, user_id, ttl_ms, now_ms)
    }

    fn revoke_device(&self, device_id: &str, now_ms: i64) -> Result<bool> {
        PgDistrict::revoke_device(self, device_id, now_ms)
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>> {
        PgDistrict::devices(self)
    }

    fn update_area_tree(
        &self,
        now_ms: i64,
        edit: &mut dyn FnMut(AreaTree) -> Result<AreaTree>,
    ) -> Result<AreaTree> {
        self.write(|tx| {
            let tree = edit(read_tree_locked(tx)?)?;
            write_tree(tx, &tree, now_ms)?;
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
        self.write(|tx| {
            let tree = edit(read_tree_locked(tx)?)?;
            write_tree(tx, &tree, now_ms)?;
            insert_or_update_user(tx, false, user_id, user, phc, now_ms)
        })
    }
}

/// The stored area tree (empty before the first edit), read under [`AREA_TREE_LOCK`]:
/// held until COMMIT, so another server's edit (even the very first, when there is no row
/// to lock yet) waits and then reads this one's tree.
fn read_tree_locked(tx: &mut Transaction<'_>) -> Result<AreaTree> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AREA_TREE_LOCK])
        .map_err(db)?;
    let stored = tx
        .query_opt("SELECT tree FROM area_tree WHERE id = 1", &[])
        .map_err(db)?;
    match stored {
        Some(r) => serde_json::from_value(r.get(0))
            .map_err(|e| StoreError::BadRequest(format!("stored area tree: {e}"))),
        None => Ok(AreaTree::default()),
    }
}

fn write_tree(tx: &mut Transaction<'_>, tree: &AreaTree, now_ms: i64) -> Result<()> {
    let json = serde_json::to_value(tree).map_err(|e| StoreError::BadRequest(e.to_string()))?;
    tx.execute(
        "INSERT INTO area_tree (id, tree, updated_at) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET tree = excluded.tree,
             updated_at = excluded.updated_at",
        &[&json, &now_ms],
    )
    .map_err(db)?;
    Ok(())
}

/// Inserts (`exists` false) or updates a user with its scope and optional password hash,
/// in `tx`. A taken username is [`username_taken`] (not a race a retry would win).
fn insert_or_update_user(
    tx: &mut Transaction<'_>,
    exists: bool,
    id: &str,
    u: &UserUpdate,
    phc: Option<&str>,
    now_ms: i64,
) -> Result<()> {
    let username = u.username.trim();
    let display = u.display_name.trim();
    let written = if exists {
        tx.execute(
            "UPDATE users SET username = $2, display_name = $3, role = $4
             WHERE user_id = $1",
            &[&id, &username, &display, &u.role],
        )
    } else {
        tx.execute(
            "INSERT INTO users (user_id, username, display_name, role, created_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[&id, &username, &display, &u.role, &now_ms],
        )
    };
    // A unique violation is a taken username, not a race to retry.
    let n = match written {
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            return Err(username_taken(username))
        }
        other => other.map_err(db)?,
    };
    if n == 0 {
        return Err(StoreError::BadRequest(format!("no user {id}")));
    }
    tx.execute("DELETE FROM user_areas WHERE user_id = $1", &[&id])
        .map_err(db)?;
    replace_user_grids(tx, id, &u.grids)?;
    tx.execute(
        "INSERT INTO user_areas (user_id, area_code)
         SELECT $1, a FROM unnest($2::text[]) AS a ON CONFLICT DO NOTHING",
        &[&id, &u.areas],
    )
    .map_err(db)?;
    if let Some(phc) = phc {
        tx.execute(
            "UPDATE users SET password_hash = $2 WHERE user_id = $1",
            &[&id, &phc],
        )
        .map_err(db)?;
    }
    // A new role or scope applies at once: open console sessions end.
    tx.execute("DELETE FROM console_sessions WHERE user_id = $1", &[&id])
        .map_err(db)?;
    Ok(())
}

/// `user_id`'s grids are `grids` from now on: one statement each way, not one per grid.
pub(crate) fn replace_user_grids(
    tx: &mut Transaction<'_>,
    user_id: &str,
    grids: &[String],
) -> Result<()> {
    tx.execute("DELETE FROM user_grids WHERE user_id = $1", &[&user_id])
        .map_err(db)?;
    tx.execute(
        "INSERT INTO user_grids (user_id, grid_id)
         SELECT $1, g FROM unnest($2::text[]) AS g ON CONFLICT DO NOTHING",
        &[&user_id, &grids],
    )
    .map_err(db)?;
    Ok(())
}
