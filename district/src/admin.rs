//! The admin's management of the district above the SQL: users with their roles and
//! scopes, enrollment codes, devices, the area tree one edit at a time. [`AdminStore`] is
//! what a backend provides; the checks of a user ([`check_user`]) and of an area edit
//! (gridwalk-core's `area`) are made here, once. Every call is for an admin: the console
//! checks the role before calling, and the caller that knows who asked writes the audit
//! entry.

use crate::console::password::{check_new_password, hash_password};
use crate::console::{ConsoleStore, MAX_USERNAME_CHARS};
use crate::{DeviceInfo, Result, StoreError};
use gridwalk_core::area::{AreaEdit, AreaTree, District};
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

/// The message of a username already in use.
pub fn username_taken(username: &str) -> StoreError {
    StoreError::BadRequest(format!(
        "用户名 {username} 已被使用 / username {username:?} is taken"
    ))
}

/// Checks a user's fields and scope against the tree; the password's hash if one is set.
pub fn check_user(u: &UserUpdate, tree: &AreaTree) -> Result<Option<String>> {
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
    if username.chars().count() > MAX_USERNAME_CHARS || u.display_name.trim().chars().count() > 100
    {
        return bad(format!(
            "用户名最多{MAX_USERNAME_CHARS}个字、姓名最多100个字 / a username has at most \
             {MAX_USERNAME_CHARS} characters and a display name at most 100"
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
        Some(p) if check_new_password(p).is_err() => bad(format!(
            "密码（password）至少8个字符、最多{0}字节 / a password needs at least 8 \
             characters and at most {0} bytes",
            crate::console::password::MAX_PASSWORD_BYTES
        )),
        Some(_) if u.role == "worker" => bad(
            "网格员在设备上登录，不设密码 / grid workers sign in on their device, not with a \
             password"
                .into(),
        ),
        Some(p) => Ok(Some(hash_password(p)?)),
        None => Ok(None),
    }
}

/// Checks the first user of a new district: an admin with a console password, and the
/// fields [`check_user`] checks; the password's hash.
pub fn check_first_admin(admin: &UserUpdate) -> Result<Option<String>> {
    if admin.role != "admin" || admin.password.is_none() {
        return Err(StoreError::BadRequest(
            "区县的第一个用户须为管理员并设置控制台密码 / the first user of a district is an \
             admin with a console password"
                .into(),
        ));
    }
    check_user(admin, &AreaTree::default())
}

/// The refusal of a second `init_district`: the store already has `tree`'s district.
pub fn district_exists(tree: &AreaTree) -> StoreError {
    StoreError::BadRequest(format!(
        "这个库已有区县 {0}（{1}），不会覆盖 / this store already has the district {0} ({1}); \
         it is not overwritten",
        tree.district.name, tree.district.code
    ))
}

/// Apply edits to `tree` (a new grid's or building's id and number filled in here, not by
/// the admin); the new tree, or the first edit's refusal.
pub fn apply_area_edits(mut tree: AreaTree, edits: Vec<AreaEdit>) -> Result<AreaTree> {
    for edit in edits {
        let edit = tree.complete(edit, || uuid::Uuid::now_v7().to_string());
        tree.apply(edit)?;
    }
    Ok(tree)
}

/// What the admin's screens ask of a backend.
pub trait AdminStore: ConsoleStore {
    /// Every user with scope, password set or not, and device counts.
    fn user_rows(&self) -> Result<Vec<UserRow>>;
    /// Insert (`exists` false) or update a user with its grids, areas and optional
    /// password hash in one transaction, ending its console sessions (a new role or
    /// scope applies at once). A username in use is [`username_taken`].
    fn write_user(
        &self,
        exists: bool,
        user_id: &str,
        user: &UserUpdate,
        phc: Option<&str>,
        now_ms: i64,
    ) -> Result<()>;
    /// A one-time enrollment code for `user_id`, valid for `ttl_ms`.
    fn create_enrollment(&self, user_id: &str, ttl_ms: i64, now_ms: i64) -> Result<String>;
    /// Revoke a device; `false` when it was already revoked or is unknown.
    fn revoke_device(&self, device_id: &str, now_ms: i64) -> Result<bool>;
    /// Every enrolled device, revoked ones included.
    fn devices(&self) -> Result<Vec<DeviceInfo>>;
    /// Read the stored tree, run `edit` on it and store what it returns, in one write
    /// transaction that holds the tree against concurrent edits.
    fn update_area_tree(
        &self,
        now_ms: i64,
        edit: &mut dyn FnMut(AreaTree) -> Result<AreaTree>,
    ) -> Result<AreaTree>;
    /// [`AdminStore::update_area_tree`] and the insertion of a new user (`user_id`, with
    /// the optional password hash `phc`) in the same write transaction: both or neither.
    fn update_area_tree_adding_user(
        &self,
        now_ms: i64,
        edit: &mut dyn FnMut(AreaTree) -> Result<AreaTree>,
        user_id: &str,
        user: &UserUpdate,
        phc: Option<&str>,
    ) -> Result<()>;

    /// A new district from an empty store: the district root of the area tree and its
    /// first admin (with a console password), in one transaction. Refused
    /// ([`district_exists`]) when the store already has a district. The admin's user id.
    fn init_district(&self, district: District, admin: &UserUpdate, now_ms: i64) -> Result<String> {
        let phc = check_first_admin(admin)?;
        let id = uuid::Uuid::now_v7().to_string();
        self.update_area_tree_adding_user(
            now_ms,
            &mut |mut tree| {
                if tree.has_district() {
                    return Err(district_exists(&tree));
                }
                tree.apply(AreaEdit::District(district.clone()))?;
                Ok(tree)
            },
            &id,
            admin,
            phc.as_deref(),
        )?;
        Ok(id)
    }

    /// Create (`user_id` None) or update a user: name, role, scope and optionally the
    /// password. Grids and areas must exist in the area tree.
    fn save_user(&self, user_id: Option<&str>, u: &UserUpdate, now_ms: i64) -> Result<String> {
        let tree = self.area_tree()?.unwrap_or_default();
        let phc = check_user(u, &tree)?;
        let id = user_id
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        self.write_user(user_id.is_some(), &id, u, phc.as_deref(), now_ms)?;
        Ok(id)
    }

    /// Apply several edits (an imported buildings sheet) in one transaction: all or none.
    fn edit_area_all(&self, edits: Vec<AreaEdit>, now_ms: i64) -> Result<AreaTree> {
        // Cloned per attempt: a backend may run the transaction again after a lost race.
        self.update_area_tree(now_ms, &mut |tree| apply_area_edits(tree, edits.clone()))
    }

    /// Apply one edit to the area tree (validated; all or nothing). Returns the new tree.
    fn edit_area(&self, edit: AreaEdit, now_ms: i64) -> Result<AreaTree> {
        self.edit_area_all(vec![edit], now_ms)
    }
}
