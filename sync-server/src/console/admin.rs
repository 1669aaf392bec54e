//! The admin's screens: users (roles and scope), devices (revoke a lost phone), the area
//! tree. Admin role only; a supervisor gets 403 from every route here.

use super::*;
use gridwalk_core::area::AreaEdit;
use gridwalk_district_sqlite::{AuditEntry, AuditKind, ConsoleBackend, UserUpdate};

/// The caller's session, refused unless it is an admin's.
pub(super) async fn admin_session(
    state: &AppState,
    headers: &HeaderMap,
    mutating: bool,
) -> R<ConsoleScope> {
    let scope = session(state, headers, mutating).await?;
    if !scope.is_admin() {
        return Err(CErr(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this needs the district admin role".into(),
        ));
    }
    Ok(scope)
}

pub(super) async fn users(State(state): State<AppState>, headers: HeaderMap) -> R<Json<Value>> {
    admin_session(&state, &headers, false).await?;
    let console = state.console.clone();
    let users = run(move || Ok(console.user_rows()?)).await?;
    Ok(Json(json!({ "items": users })))
}

/// `POST /console/api/admin/users` (create) and `/console/api/admin/users/{id}` (update).
pub(super) async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: String,
) -> R<Json<Value>> {
    save_user(state, headers, None, body).await
}

pub(super) async fn update_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> R<Json<Value>> {
    save_user(state, headers, Some(id), body).await
}

async fn save_user(
    state: AppState,
    headers: HeaderMap,
    id: Option<String>,
    body: String,
) -> R<Json<Value>> {
    let scope = admin_session(&state, &headers, true).await?;
    let u: UserUpdate = json_body(
        &body,
        "{username, display_name, role, grids, areas, password?}",
    )?;
    let console = state.console.clone();
    let saved = run(move || {
        let at = now_ms();
        let user_id = console.save_user(id.as_deref(), &u, at)?;
        console.audit_append(&AuditEntry::by(
            &scope,
            AuditKind::UserChanged,
            at,
            json!({
                "user_id": user_id, "username": u.username, "role": u.role,
                "grids": u.grids, "areas": u.areas, "password_set": u.password.is_some(),
                "created": id.is_none(),
            }),
        ))?;
        Ok(user_id)
    })
    .await?;
    Ok(Json(json!({ "user_id": saved })))
}

#[derive(Deserialize)]
pub(super) struct EnrollBody {
    #[serde(default)]
    ttl_hours: Option<i64>,
}

/// A one-time enrollment code for a worker's new device.
pub(super) async fn enrollment_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> R<Json<Value>> {
    let scope = admin_session(&state, &headers, true).await?;
    let b: EnrollBody = if body.trim().is_empty() {
        EnrollBody { ttl_hours: None }
    } else {
        json_body(&body, "{ttl_hours?}")?
    };
    let hours = b.ttl_hours.unwrap_or(72).clamp(1, 24 * 30);
    let console = state.console.clone();
    let code = run(move || {
        let at = now_ms();
        let code = console.create_enrollment(&id, hours * 3_600_000, at)?;
        console.audit_append(&AuditEntry::by(
            &scope,
            AuditKind::UserChanged,
            at,
            json!({"user_id": id, "enrollment_code_hours": hours}),
        ))?;
        Ok(code)
    })
    .await?;
    Ok(Json(json!({ "code": code, "ttl_hours": hours })))
}

pub(super) async fn devices(State(state): State<AppState>, headers: HeaderMap) -> R<Json<Value>> {
    // The supervisors' device overview, which for an admin's scope is every device.
    let scope = admin_session(&state, &headers, false).await?;
    let console = state.console.clone();
    let devices = run(move || console.console_devices(&scope, now_ms())).await?;
    Ok(Json(json!({ "items": devices })))
}

/// Revoke a device (a lost phone): its token is refused from now on, and on its next
/// contact the device is told to wipe its local data.
pub(super) async fn revoke_device(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> R<Json<Value>> {
    let scope = admin_session(&state, &headers, true).await?;
    let console = state.console.clone();
    let revoked = run(move || {
        let at = now_ms();
        let revoked = console.revoke_device(&id, at)?;
        if revoked {
            console.audit_append(&AuditEntry::by(
                &scope,
                AuditKind::DeviceRevoked,
                at,
                json!({"device_id": id}),
            ))?;
        }
        Ok(revoked)
    })
    .await?;
    Ok(Json(json!({ "revoked": revoked })))
}

pub(super) async fn area(State(state): State<AppState>, headers: HeaderMap) -> R<Json<Value>> {
    admin_session(&state, &headers, false).await?;
    let console = state.console.clone();
    let tree = run(move || Ok(console.area_tree()?.unwrap_or_default())).await?;
    Ok(Json(json!(tree)))
}

/// Create or change one street, community, grid or building.
pub(super) async fn edit_area(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: String,
) -> R<Json<Value>> {
    let scope = admin_session(&state, &headers, true).await?;
    let edit: AreaEdit = json_body(
        &body,
        "{level: district|street|community|grid|building, …fields}",
    )?;
    let console = state.console.clone();
    let tree = run(move || {
        let at = now_ms();
        // A new grid or building gets its id and number here, not from the browser.
        let current = console.area_tree()?.unwrap_or_default();
        let edit = current.complete(edit, || Uuid::now_v7().to_string());
        let what = edit.describe();
        let tree = console.edit_area(edit, at)?;
        console.audit_append(&AuditEntry::by(
            &scope,
            AuditKind::AreaChanged,
            at,
            json!({"edit": what}),
        ))?;
        Ok(tree)
    })
    .await?;
    Ok(Json(json!(tree)))
}

#[derive(Deserialize)]
pub(super) struct SettingsBody {
    #[serde(default)]
    departments: Option<Vec<gridwalk_district_sqlite::Department>>,
    #[serde(default)]
    categories: Option<Vec<gridwalk_core::deadline::CategoryConfig>>,
    #[serde(default)]
    calendar: Option<gridwalk_core::deadline::WorkCalendar>,
}

/// Departments, category time limits and the working-day calendar; each part optional.
pub(super) async fn settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: String,
) -> R<Json<Value>> {
    let scope = admin_session(&state, &headers, true).await?;
    let b: SettingsBody = json_body(&body, "{departments?, categories?, calendar?}")?;
    let console = state.console.clone();
    run(move || {
        let mut changed = Vec::new();
        if let Some(d) = &b.departments {
            console.set_departments(d)?;
            changed.push("departments");
        }
        if let Some(c) = &b.categories {
            console.set_category_overrides(c)?;
            changed.push("categories");
        }
        if let Some(c) = &b.calendar {
            console.set_work_calendar(c)?;
            changed.push("calendar");
        }
        console.audit_append(&AuditEntry::by(
            &scope,
            AuditKind::AreaChanged,
            now_ms(),
            json!({"settings": changed}),
        ))?;
        Ok(())
    })
    .await?;
    Ok(Json(json!({"ok": true})))
}

#[derive(Deserialize)]
pub(super) struct AreaImportQ {
    file_name: String,
    /// Only check (`true`), or apply when there is no problem.
    #[serde(default)]
    dry_run: bool,
}

/// Buildings from a spreadsheet: every row checked; applied all together or not at all.
pub(super) async fn import_buildings(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<AreaImportQ>,
    body: axum::body::Bytes,
) -> R<Json<Value>> {
    let scope = admin_session(&state, &headers, true).await?;
    let console = state.console.clone();
    let answer = run(move || {
        let answer = import_buildings_blocking(&*console, &body, &q.file_name, q.dry_run)?;
        if answer["applied"] == true {
            console.audit_append(&AuditEntry::by(
                &scope,
                AuditKind::AreaChanged,
                now_ms(),
                json!({"buildings_imported": answer["buildings"], "file_name": q.file_name}),
            ))?;
        }
        Ok(answer)
    })
    .await?;
    Ok(Json(answer))
}

/// A buildings sheet checked against the area tree and, unless `dry_run` or any row is
/// wrong, applied in one transaction: `{applied, buildings, problems}`. The console and
/// `gridwalk-server area buildings` both call this; the caller writes the audit entry.
pub fn import_buildings_blocking(
    district: &dyn ConsoleBackend,
    bytes: &[u8],
    file_name: &str,
    dry_run: bool,
) -> Result<Value, ConsoleError> {
    let table = gridwalk_ledger::read::read_table(bytes, file_name)
        .map_err(|e| ConsoleError::BadRequest(format!("{file_name}: {e}")))?;
    let tree = district.area_tree()?.unwrap_or_default();
    let planned = gridwalk_core::area::plan_buildings(&table, &tree, || Uuid::now_v7().to_string());
    let edits = match planned {
        Err(problems) => {
            return Ok(json!({"applied": false, "buildings": 0, "problems": problems}))
        }
        Ok(edits) => edits,
    };
    let count = edits.len();
    if !dry_run {
        district.edit_area_all(edits, now_ms())?;
    }
    Ok(json!({"applied": !dry_run, "buildings": count, "problems": []}))
}
