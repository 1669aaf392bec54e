//! Admin API, guarded by a bearer admin token (`--admin-token` / `GRIDWALK_ADMIN_TOKEN`)
//! until console sessions replace it. Without a configured token it answers 403.

use super::{bearer, blocking};
use crate::error::{ApiError, ErrorCode};
use crate::{now_ms, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridwalk_district_sqlite::{SyncLogEntry, SyncLogQuery};
use serde::Deserialize;

/// Equal in time independent of where the strings differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = state.config.admin_token.as_deref() else {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the admin API is disabled: no admin token is configured on the server",
        ));
    };
    match bearer(headers) {
        Some(t) if constant_time_eq(t.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::unauthorized("the admin token is not valid")),
        None => Err(ApiError::unauthorized(
            "missing Authorization: Bearer <admin token>",
        )),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct LogParams {
    device_id: Option<String>,
    user_id: Option<String>,
    /// ms since the epoch: only sessions started at or after it.
    since: Option<i64>,
    /// 1..=1000, default 100.
    limit: Option<usize>,
}

/// A sync log row with its `errors` as JSON rather than a string holding JSON.
fn entry_json(e: SyncLogEntry) -> serde_json::Value {
    let errors: serde_json::Value =
        serde_json::from_str(&e.errors).unwrap_or(serde_json::Value::String(e.errors.clone()));
    let mut v = serde_json::to_value(&e).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("errors".into(), errors);
    }
    v
}

/// `GET /api/v1/sync-log?device_id=&user_id=&since=&limit=`: newest first.
pub(super) async fn sync_log(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<LogParams>, QueryRejection>,
) -> Response {
    let result = async {
        require_admin(&state, &headers)?;
        let Query(p) = params.map_err(|e| {
            ApiError::bad_request(format!(
                "query parameters: {} (device_id, user_id: text; since: ms; limit: 1..1000)",
                e.body_text()
            ))
        })?;
        let query = SyncLogQuery {
            device_id: p.device_id.filter(|s| !s.is_empty()),
            user_id: p.user_id.filter(|s| !s.is_empty()),
            since: p.since,
            limit: p.limit.unwrap_or(100).clamp(1, 1000),
        };
        let store = state.store.clone();
        let rows = blocking(move || store.sync_logs(&query).map_err(ApiError::from_store)).await?;
        Ok::<_, ApiError>(rows.into_iter().map(entry_json).collect::<Vec<_>>())
    }
    .await;
    match result {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/v1/devices`: every enrolled device, revoked ones included.
pub(super) async fn devices(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = require_admin(&state, &headers) {
        return e.into_response();
    }
    let district = state.console.clone();
    match blocking(move || district.devices().map_err(ApiError::from_store)).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v1/devices/{id}/revoke`: its token is refused from the next request on,
/// and the device is told to wipe its data.
pub(super) async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(device_id): Path<String>,
) -> Response {
    if let Err(e) = require_admin(&state, &headers) {
        return e.into_response();
    }
    let district = state.console.clone();
    let result = blocking(move || {
        let now = now_ms();
        let changed = district
            .revoke_device(&device_id, now)
            .map_err(ApiError::from_store)?;
        if changed {
            tracing::info!(%device_id, "device revoked");
            return Ok(serde_json::json!({ "device_id": device_id, "revoked": true }));
        }
        let devices = district.devices().map_err(ApiError::from_store)?;
        match devices.into_iter().find(|d| d.device_id == device_id) {
            Some(d) => Ok(serde_json::json!({
                "device_id": device_id,
                "revoked": true,
                "revoked_at": d.revoked_at,
                "already": true,
            })),
            None => Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no device {device_id}"),
            )),
        }
    })
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}
