//! Blobs, version 1 (docs/sync-protocol.md): photo bytes beside the sync API.
//!
//! | method | path | what |
//! |---|---|---|
//! | HEAD | `/api/v1/blobs/{sha256}` | how much the server holds: `Upload-Offset`, `Blob-Stored` |
//! | PUT | `/api/v1/blobs/{sha256}?offset=N&total=T` | one chunk at `N` of `T` bytes |
//! | GET | `/api/v1/blobs/{sha256}?size=thumb\|full` | the bytes (a thumbnail made on first ask) |
//!
//! A device token is required, and the photo must be referenced by a document in the
//! device's grids (documents sync first, bytes follow); otherwise 403 `not_referenced`,
//! the same whether or not the blob exists. The last chunk's bytes are hashed: a
//! mismatch is refused (422) and dropped.

use super::{bearer, blocking, declared_too_large, read_body};
use crate::error::ApiError;
use crate::{now_ms, AppState};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridwalk_core::model::is_sha256_hex;
use gridwalk_district_sqlite::blobs::{Appended, BlobSize, BlobStatus, MAX_BLOB_BYTES};
use gridwalk_district_sqlite::DeviceAuth;
use std::collections::BTreeMap;

/// Blob protocol version, in every answer's `Blob-Protocol` header.
pub const BLOB_PROTOCOL: &str = "1";
/// The largest chunk taken in one PUT.
pub const MAX_CHUNK: usize = MAX_BLOB_BYTES as usize;
/// Thumbnails the server makes: long edge and JPEG quality.
const THUMB_EDGE: u32 = 256;
const THUMB_QUALITY: u8 = 80;

fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": code, "message": message });
    (status, versioned(), Json(body)).into_response()
}

fn versioned() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (
            header::HeaderName::from_static("blob-protocol"),
            HeaderValue::from_static(BLOB_PROTOCOL),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

fn not_referenced() -> Response {
    refusal(
        StatusCode::FORBIDDEN,
        "not_referenced",
        "没有您范围内的记录引用这张照片（请先同步记录） / no record in your scope references this photo (sync the record first)",
    )
}

fn bad_hash() -> ApiError {
    ApiError::bad_request(
        "照片哈希应为64位小写十六进制 / the path must name a blob by 64 lowercase hex digits",
    )
}

/// The device behind the token, if the photo is referenced in its scope.
async fn device_for(
    state: &AppState,
    headers: &HeaderMap,
    sha256: &str,
) -> Result<Option<DeviceAuth>, ApiError> {
    if !is_sha256_hex(sha256) {
        return Err(bad_hash());
    }
    let Some(token) = bearer(headers) else {
        return Err(ApiError::unauthorized(
            "missing Authorization: Bearer <device token>",
        ));
    };
    let (store, refs, sha) = (state.store.clone(), state.refs.clone(), sha256.to_string());
    blocking(move || {
        let auth = store
            .authenticate(&token, now_ms())
            .map_err(ApiError::from_store)?;
        let ok = refs
            .photo_in_scope(&sha, Some(&auth.grids))
            .map_err(ApiError::from_store)?;
        Ok(ok.then_some(auth))
    })
    .await
}

/// Only the named parameters, each parsed; anything else is a 400 naming it.
fn params(q: &BTreeMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    match q.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::bad_request(format!(
            "unknown query parameter {k:?} (allowed: {})",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn number(q: &BTreeMap<String, String>, name: &str) -> Result<u64, ApiError> {
    q.get(name)
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::bad_request(format!("query parameter {name} must be a number of bytes"))
        })
}

/// `HEAD /api/v1/blobs/{sha256}`: `Upload-Offset` (bytes held; the size when stored)
/// and `Blob-Stored` (`1` when stored whole).
pub(super) async fn head(
    State(state): State<AppState>,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> Response {
    match device_for(&state, &headers, &sha256).await {
        Ok(Some(_)) => {}
        Ok(None) => return StatusCode::FORBIDDEN.into_response(),
        Err(e) => return e.into_response(),
    }
    let blobs = state.blobs.clone();
    let status = blocking(move || blobs.status(&sha256).map_err(ApiError::from_store)).await;
    match status {
        Ok(s) => {
            let (offset, stored) = match s {
                BlobStatus::Stored { size } => (size, "1"),
                BlobStatus::Partial { offset } => (offset, "0"),
            };
            let mut r = (StatusCode::OK, versioned()).into_response();
            let h = r.headers_mut();
            h.insert("upload-offset", HeaderValue::from(offset));
            h.insert("blob-stored", HeaderValue::from_static(stored));
            r
        }
        Err(e) => e.into_response(),
    }
}

/// `PUT /api/v1/blobs/{sha256}?offset=N&total=T`: one chunk.
pub(super) async fn put(
    State(state): State<AppState>,
    Path(sha256): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match put_inner(state, sha256, q, headers, body).await {
        Ok(r) | Err(r) => r,
    }
}

async fn put_inner(
    state: AppState,
    sha256: String,
    q: BTreeMap<String, String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let e = |e: ApiError| e.into_response();
    let Some(device) = device_for(&state, &headers, &sha256).await.map_err(e)? else {
        return Err(not_referenced());
    };
    params(&q, &["offset", "total"]).map_err(e)?;
    let (offset, total) = (
        number(&q, "offset").map_err(e)?,
        number(&q, "total").map_err(e)?,
    );
    let too_large = || {
        refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &format!(
                "照片不能超过{MAX_BLOB_BYTES}字节 / a photo may be at most {MAX_BLOB_BYTES} bytes"
            ),
        )
    };
    if total > MAX_BLOB_BYTES || declared_too_large(&headers, MAX_CHUNK) {
        return Err(too_large());
    }
    let chunk = read_body(body, MAX_CHUNK, "chunk").await.map_err(e)?;
    let blobs = state.blobs.clone();
    let appended = blocking(move || {
        blobs
            .append(&device.device_id, &sha256, offset, total, &chunk, now_ms())
            .map_err(ApiError::from_store)
    })
    .await
    .map_err(e)?;
    let offset_body = |status: StatusCode, n: u64| {
        let mut r = (
            status,
            versioned(),
            Json(serde_json::json!({ "offset": n })),
        )
            .into_response();
        r.headers_mut()
            .insert("upload-offset", HeaderValue::from(n));
        r
    };
    Ok(match appended {
        Appended::Offset(n) => offset_body(StatusCode::OK, n),
        Appended::Stored => (
            StatusCode::CREATED,
            versioned(),
            Json(serde_json::json!({ "stored": true })),
        )
            .into_response(),
        Appended::WrongOffset(n) => {
            let mut r = offset_body(StatusCode::CONFLICT, n);
            let body = serde_json::json!({
                "error": "offset",
                "message": format!("服务器已有{n}字节，请从此处继续 / the server holds {n} bytes: continue from there"),
                "offset": n,
            });
            *r.body_mut() = Body::from(body.to_string());
            r
        }
        Appended::Mismatch => refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            "mismatch",
            "照片内容与哈希不符，已丢弃 / the bytes do not match the hash and were dropped",
        ),
        Appended::TooLarge => too_large(),
        Appended::Quota { used, quota } => {
            let mb = |n: u64| n as f64 / 1_048_576.0;
            refusal(
                StatusCode::INSUFFICIENT_STORAGE,
                "quota",
                &format!(
                    "本设备的照片空间已满（已用{:.1} MB，上限{:.1} MB），请联系管理员 / this device's photo space is full ({:.1} MB of {:.1} MB used): ask an administrator",
                    mb(used), mb(quota), mb(used), mb(quota)
                ),
            )
        }
    })
}

/// `GET /api/v1/blobs/{sha256}?size=thumb|full` (full when not given).
pub(super) async fn get(
    State(state): State<AppState>,
    Path(sha256): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let size = match parse_size(&q) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    match device_for(&state, &headers, &sha256).await {
        Ok(Some(_)) => serve_blob(&state, sha256, size).await,
        Ok(None) => not_referenced(),
        Err(e) => e.into_response(),
    }
}

/// `size=thumb|full`, the only parameter of a blob read.
pub fn parse_size(q: &BTreeMap<String, String>) -> Result<BlobSize, ApiError> {
    params(q, &["size"])?;
    match q.get("size").map(String::as_str) {
        None | Some("full") => Ok(BlobSize::Full),
        Some("thumb") => Ok(BlobSize::Thumb),
        Some(other) => Err(ApiError::bad_request(format!(
            "size must be thumb or full, not {other:?}"
        ))),
    }
}

/// The bytes of a stored blob (the caller checked scope); a thumbnail is made from the
/// stored photo the first time it is asked for.
pub async fn serve_blob(state: &AppState, sha256: String, size: BlobSize) -> Response {
    let blobs = state.blobs.clone();
    let found = blocking(move || {
        if let Some(b) = blobs.read(&sha256, size).map_err(ApiError::from_store)? {
            return Ok(Some(b));
        }
        if size == BlobSize::Full {
            return Ok(None);
        }
        let Some(full) = blobs
            .read(&sha256, BlobSize::Full)
            .map_err(ApiError::from_store)?
        else {
            return Ok(None);
        };
        match gridwalk_photo::thumbnail(&full, THUMB_EDGE, THUMB_QUALITY) {
            Ok(thumb) => {
                blobs
                    .put_thumb(&sha256, &thumb)
                    .map_err(ApiError::from_store)?;
                Ok(Some(thumb))
            }
            Err(e) => {
                // Not an image we can read: the full bytes stand in for the thumbnail.
                tracing::warn!(sha256 = %sha256, error = %e, "no thumbnail for a stored blob");
                Ok(Some(full))
            }
        }
    })
    .await;
    match found {
        Ok(Some(bytes)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, max-age=31536000, immutable"),
                ),
                (
                    header::HeaderName::from_static("blob-protocol"),
                    HeaderValue::from_static(BLOB_PROTOCOL),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => refusal(
            StatusCode::NOT_FOUND,
            "not_uploaded",
            "照片尚未上传到服务器 / the photo has not reached the server yet",
        ),
        Err(e) => e.into_response(),
    }
}

/// How often unreferenced blobs are collected.
const GC_EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// Collects blobs no document references (and abandoned partial uploads) older than the
/// grace period, once at start and then daily, in a background task. The task holds the
/// stores only weakly: it ends once the server's state is gone.
pub fn spawn_gc(state: &AppState) -> tokio::task::JoinHandle<()> {
    let refs = std::sync::Arc::downgrade(&state.refs);
    let blobs = std::sync::Arc::downgrade(&state.blobs);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(GC_EVERY);
        loop {
            tick.tick().await;
            let (Some(refs), Some(blobs)) = (refs.upgrade(), blobs.upgrade()) else {
                return;
            };
            let done = blocking(move || {
                let referenced = refs.referenced_photos().map_err(ApiError::from_store)?;
                let before = now_ms() - gridwalk_district_sqlite::blobs::GC_GRACE_MS;
                blobs
                    .collect_garbage(&|h| referenced.contains(h), before)
                    .map_err(ApiError::from_store)
            })
            .await;
            match done {
                Ok(r) if r.blobs + r.partials > 0 => tracing::info!(
                    blobs = r.blobs,
                    bytes = r.bytes,
                    partials = r.partials,
                    "unreferenced photo blobs collected"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e.message, "photo blob collection failed"),
            }
        }
    })
}
