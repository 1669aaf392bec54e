//! The admin's management of the district: users with their roles and scopes, the area
//! tree one level at a time (the district root first: `init_district`). (The device list is the console's
//! `console_devices`, every device for an admin.) Every call here is for an
//! admin; the console checks the role before calling, and the audit trail is written by
//! the caller that knows who asked.

use super::SqliteDistrict;
use crate::{Result, StoreError};
use gridwalk_core::area::{AreaEdit, AreaTree, District};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

/// A user as the admin's user list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    /// Grids of a worker (and extra grids of a supervisor).
    pub grids: Vec<String>,
    /// Community or street codes of a supervisor.
    pub areas: Vec<String>,
    pub has_password: bool,
    pub devices: u32,
    pub active_devices: u32,
    pub last_sync_at: Option<i64>,
}

/// A new user or the new state of an existing one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserUpdate {
    pub username: String,
    pub display_name: String,
    /// `worker`, `supervisor` or `admin`.
    pub role: String,
    #[serde(default)]
    pub grids: Vec<String>,
    #[serde(default)]
    pub areas: Vec<String>,
    /// A new console password (supervisors and admins), at least 8 characters.
    #[serde(default)]
    pub password: Option<String>,
}

impl SqliteDistrict {
    /// Every user with scope, password set or not, and device counts.
    pub fn user_rows(&self) -> Result<Vec<UserRow>> {
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

    /// Create (`user_id` None) or update a user: name, role, scope and optionally the
    /// password, in one transaction. Grids and areas must exist in the area tree.
    pub fn save_user(&self, user_id: Option<&str>, u: &UserUpdate, now_ms: i64) -> Result<String> {
        let tree = self.area_tree()?.unwrap_or_default();
        let phc = check_user(u, &tree)?;
        let id = user_id
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            write_user(&tx, user_id.is_some(), &id, u, phc.as_deref(), now_ms)?;
            tx.commit()?;
            Ok(id)
        })
    }

    /// A new district from an empty data directory: the district root of the area tree
    /// and its first admin (with a console password), in one transaction. Refused when
    /// the directory already has a district. Returns the admin's user id.
    pub fn init_district(
        &self,
        district: District,
        admin: &UserUpdate,
        now_ms: i64,
    ) -> Result<String> {
        if admin.role != "admin" || admin.password.is_none() {
            return Err(StoreError::BadRequest(
                "区县的第一个用户须为管理员并设置控制台密码 / the first user of a district is an \
                 admin with a console password"
                    .into(),
            ));
        }
        let phc = check_user(admin, &AreaTree::default())?;
        let id = uuid::Uuid::now_v7().to_string();
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let mut tree = read_tree(&tx)?;
            if tree.has_district() {
                return Err(StoreError::BadRequest(format!(
                    "这个数据目录已有区县 {0}（{1}），不会覆盖 / this data directory already has \
                     the district {0} ({1}); it is not overwritten",
                    tree.district.name, tree.district.code
                )));
            }
            tree.apply(AreaEdit::District(district))?;
            write_tree(&tx, &tree, now_ms)?;
            write_user(&tx, false, &id, admin, phc.as_deref(), now_ms)?;
            tx.commit()?;
            Ok(id)
        })
    }

    /// Apply one edit to the area tree (validated; all or nothing), filling a new grid's
    /// or building's id and number. Returns the new tree.
    pub fn edit_area(&self, edit: AreaEdit, now_ms: i64) -> Result<AreaTree> {
        self.edit_area_all(vec![edit], now_ms)
    }

    /// Apply several edits (an imported buildings sheet) in one transaction: all or none.
    pub fn edit_area_all(&self, edits: Vec<AreaEdit>, now_ms: i64) -> Result<AreaTree> {
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let mut tree = read_tree(&tx)?;
            for edit in edits {
                // A new grid or building gets its id (and number) here, not from the admin.
                let edit = tree.complete(edit, || uuid::Uuid::now_v7().to_string());
                tree.apply(edit)?;
            }
            write_tree(&tx, &tree, now_ms)?;
            tx.commit()?;
            Ok(tree)
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

/// Checks a user's fields and scope against the tree; the password's hash if one is set.
fn check_user(u: &UserUpdate, tree: &AreaTree) -> Result<Option<String>> {
    let bad = |m: String| Err(StoreError::BadRequest(m));
    if !["worker", "supervisor", "admin"].contains(&u.role.as_str()) {
        return bad(format!(
            "角色（role）应为 worker、supervisor 或 admin / role must be worker, supervisor or \
             admin, not {:?}",
            u.role
        ));
    }
    let username = u.username.trim();
    if username.is_empty() || username.chars().any(char::is_whitespace) {
        return bad(
            "用户名（username）不能为空，也不能含空格 / the username must not be empty nor \
             contain spaces"
                .into(),
        );
    }
    if u.display_name.trim().is_empty() {
        return bad("姓名（display_name）不能为空 / the display name must not be empty".into());
    }
    // Names are shown on every console page and stored in the audit log.
    if username.chars().count() > super::console::MAX_USERNAME_CHARS
        || u.display_name.trim().chars().count() > 100
    {
        return bad(format!(
            "用户名最多{}个字、姓名最多100个字 / a username has at most {} characters and a \
             display name at most 100",
            super::console::MAX_USERNAME_CHARS,
            super::console::MAX_USERNAME_CHARS
        ));
    }
    for g in &u.grids {
        if tree.grid(g).is_none() {
            return bad(format!("区域中没有网格 {g} / no grid {g} in the area tree"));
        }
    }
    for a in &u.areas {
        if tree.community(a).is_none() && tree.street(a).is_none() {
            return bad(format!(
                "区域中没有社区或街道 {a} / no community or street {a} in the area tree"
            ));
        }
    }
    if u.role == "worker" && !u.areas.is_empty() {
        return bad(
            "网格员的范围是网格，不是社区或街道 / a grid worker's scope is grids, not \
             communities or streets"
                .into(),
        );
    }
    match &u.password {
        Some(p) if p.chars().count() < 8 => {
            bad("密码（password）至少8个字符 / a password needs at least 8 characters".into())
        }
        Some(p) if p.len() > super::console::MAX_PASSWORD_BYTES => bad(format!(
            "密码最多{} 字节 / a password has at most {} bytes",
            super::console::MAX_PASSWORD_BYTES,
            super::console::MAX_PASSWORD_BYTES
        )),
        Some(_) if u.role == "worker" => bad(
            "网格员在设备上登录，不设密码 / grid workers sign in on their device, not with a \
             password"
                .into(),
        ),
        Some(p) => Ok(Some(super::console::hash_password(p)?)),
        None => Ok(None),
    }
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
            StoreError::BadRequest(format!(
                "用户名 {username} 已被使用 / username {username:?} is taken"
            ))
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
