//! The HTTP application: routes and the small helpers they share.

mod admin;
pub mod blobs;
mod sync;

use crate::error::{ApiError, ErrorCode};
use crate::{now_ms, AppState};
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use gridwalk_core::area::AreaTree;
use gridwalk_district_sqlite::Enrolled;
use serde::{Deserialize, Serialize};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::limits::{ClientAddr, MAX_JSON_BODY, MAX_LOGIN_BODY};

/// The whole HTTP application.
///
/// | method | path | auth |
/// |---|---|---|
/// | GET | `/healthz` | – |
/// | GET | `/metrics` | metrics token (not served without one) |
/// | POST | `/api/v1/enroll` | enrollment code in the body |
/// | GET | `/api/v1/area` | device token |
/// | POST | `/api/v1/sync` | device token |
/// | GET | `/api/v1/sync-log` | admin token |
/// | GET | `/api/v1/devices` | admin token |
/// | POST | `/api/v1/devices/{id}/revoke` | admin token |
/// | HEAD, PUT, GET | `/api/v1/blobs/{sha256}` | device token, photo referenced in scope |
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/enroll", post(enroll))
        .route("/api/v1/area", get(area))
        .route("/api/v1/sync", post(sync::sync))
        .route("/api/v1/sync-log", get(admin::sync_log))
        .route("/api/v1/devices", get(admin::devices))
        .route("/api/v1/devices/{id}/revoke", post(admin::revoke))
        .route(
            "/api/v1/blobs/{sha256}",
            put(blobs::put).get(blobs::get).head(blobs::head),
        )
        .merge(crate::console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Every body has a limit: 64 KiB unless the route sets its own (login 8 KiB,
        // uploads 50 MiB); sync and enroll read theirs with an explicit limit.
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(axum::middleware::map_response(
            crate::limits::json_too_large,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this endpoint does not accept that method",
    )
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal().into_response()
}

/// Run blocking store work off the async runtime.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "blocking task failed");
            Err(ApiError::internal())
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

/// Read a request body, refusing it with 413 past `limit` bytes.
pub(crate) async fn read_body(body: Body, limit: usize, what: &str) -> Result<Bytes, ApiError> {
    use http_body_util::{BodyExt, LengthLimitError, Limited};
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(ApiError::too_large(limit, what)),
        Err(e) => {
            tracing::info!(error = %e, "request body could not be read");
            Err(ApiError::bad_request(
                "the request body could not be read completely",
            ))
        }
    }
}

/// `Content-Length` above `limit`: refuse before reading anything.
pub(crate) fn declared_too_large(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

/// `GET /healthz`: 200 `ok` when the store answers.
async fn healthz(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    match blocking(move || store.ping().map_err(ApiError::from_store)).await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({
                "error": "unavailable",
                "message": "the district store does not answer",
            })),
        )
            .into_response(),
    }
}

/// `GET /metrics`: Prometheus text, only with `Authorization: Bearer <metrics token>`.
/// Without a configured token it is not served at all (404), so that a server on a
/// public address does not tell anyone its traffic.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = state.config.metrics_token.as_deref() else {
        return not_found().await.into_response();
    };
    let sent = bearer(&headers).unwrap_or_default();
    if !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        return ApiError::unauthorized("missing or wrong Authorization: Bearer <metrics token>")
            .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Compare secrets without stopping at the first differing byte.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, Deserialize)]
struct EnrollRequest {
    code: String,
    #[serde(default)]
    device_name: String,
    /// A secret the device chose (16–128 characters): a retry of the same code with the
    /// same key gets the same device back, so a lost answer does not burn the code.
    #[serde(default)]
    device_key: Option<String>,
}

/// What a device receives for its enrollment code.
#[derive(Debug, Serialize, Deserialize)]
pub struct EnrollResponse {
    #[serde(flatten)]
    pub enrolled: Enrolled,
    /// The district's area tree (streets, communities, grids, buildings), when set.
    pub area: Option<AreaTree>,
}

/// `POST /api/v1/enroll` `{code, device_name, device_key?}`: one-time code → device id and
/// token. The same code with the same `device_key` again (the answer was lost) gets the
/// same device and a fresh token, until that device has synced.
async fn enroll(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(e) = state.limits.enroll(ip).await {
        return e.into_response();
    }
    match enroll_inner(state, headers, body).await {
        Ok(r) => (StatusCode::OK, Json(r)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn enroll_inner(
    state: AppState,
    headers: HeaderMap,
    body: Body,
) -> Result<EnrollResponse, ApiError> {
    if declared_too_large(&headers, MAX_LOGIN_BODY) {
        return Err(ApiError::too_large(MAX_LOGIN_BODY, "request body"));
    }
    let bytes = read_body(body, MAX_LOGIN_BODY, "request body").await?;
    let req: EnrollRequest = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "expected JSON {{\"code\": \"…\", \"device_name\": \"…\"}}: {e}"
        ))
    })?;
    let name = if req.device_name.trim().is_empty() {
        "device".to_string()
    } else {
        req.device_name.trim().to_string()
    };
    let store = state.store.clone();
    let resp = blocking(move || {
        let enrolled = match &req.device_key {
            Some(key) => store.enroll_with_key(&req.code, &name, key, now_ms()),
            None => store.enroll(&req.code, &name, now_ms()),
        }
        .map_err(ApiError::from_store)?;
        let area = match store.area_tree() {
            Ok(tree) => tree,
            Err(e) => {
                tracing::error!(error = %e, "area tree could not be read at enrollment");
                None
            }
        };
        Ok(EnrollResponse { enrolled, area })
    })
    .await?;
    crate::Metrics::add(&state.metrics.enrollments, 1);
    tracing::info!(
        device_id = %resp.enrolled.device_id,
        user_id = %resp.enrolled.user_id,
        "device enrolled"
    );
    Ok(resp)
}

/// `GET /api/v1/area` (device token): the area tree, `null` when none is set.
async fn area(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        return ApiError::unauthorized("missing Authorization: Bearer <device token>")
            .into_response();
    };
    let store = state.store.clone();
    let result = blocking(move || {
        store
            .authenticate(&token, now_ms())
            .map_err(ApiError::from_store)?;
        store.area_tree().map_err(ApiError::from_store)
    })
    .await;
    match result {
        Ok(tree) => Json(tree).into_response(),
        Err(e) => e.into_response(),
    }
}
