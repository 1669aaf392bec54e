//! Photos the supervisor attaches to their own step of the issue loop (file, check,
//! return, …): `POST /console/api/issues/{id}/photos` with the photo's bytes as body.
//!
//! The photo is prepared here as a device prepares it (orientation applied, long edge
//! ≤ 1600 px, re-encoded without EXIF, a thumbnail beside it) and stored in the blob store
//! at once, counted to the supervisor's own quota; the answer is its metadata, which the
//! step then names (`{kind, note, photos: [...]}`): the step's event holds only the
//! metadata, as every document does. Until a step names it the photo is referenced by
//! nothing, is served to no one, and is collected after the grace period.

use super::*;
use axum::body::Bytes;
use gridwalk_core::model::{is_sha256_hex, PhotoRef, MAX_PHOTOS, MAX_PHOTO_SIDE, PHOTO_MIMES};
use gridwalk_district_sqlite::blobs::{Appended, BlobStatus, BlobStore};
use std::collections::BTreeMap;

/// The largest photo a supervisor may send (the original, before preparing).
pub const MAX_CONSOLE_PHOTO: usize = 20 * 1024 * 1024;

/// The blob store's quota account of a supervisor's console uploads.
fn account(scope: &ConsoleScope) -> String {
    format!("console:{}", scope.user_id)
}

fn too_large() -> CErr {
    CErr(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!(
            "照片文件不能超过{} MB / a photo file may be at most {} MB",
            MAX_CONSOLE_PHOTO >> 20,
            MAX_CONSOLE_PHOTO >> 20
        ),
    )
}

/// `POST /console/api/issues/{id}/photos`: one photo for a step on this issue.
pub(super) async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, true).await?;
    if scope.role == "admin" {
        // The issue loop is the supervisors' (an admin is offered no step).
        return Err(CErr(
            StatusCode::FORBIDDEN,
            "forbidden",
            "只有网格长可以为处置步骤添加照片 / only supervisors attach photos to issue steps"
                .into(),
        ));
    }
    let id = doc_id(&id)?;
    if body.len() > MAX_CONSOLE_PHOTO {
        return Err(too_large());
    }
    let (district, blobs) = (state.console.clone(), state.blobs.clone());
    let check = scope.clone();
    // Out of scope is "not found", before any work on the bytes.
    run(move || district.console_issue(&check, id).map(|_| ())).await?;
    let prepared = blocking(move || {
        Ok(gridwalk_photo::prepare(
            &body,
            &gridwalk_photo::Options::default(),
        ))
    })
    .await?
    .map_err(|e| CErr(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string()))?;
    let device = account(&scope);
    let now = now_ms();
    let p = prepared;
    let (sha, bytes, thumb) = (p.sha256.clone(), p.bytes.clone(), p.thumb.clone());
    let appended = blocking(move || {
        let r = blobs
            .append(&device, &sha, 0, bytes.len() as u64, &bytes, now)
            .map_err(ApiError::from_store)?;
        if r == Appended::Stored {
            blobs
                .put_thumb(&sha, &thumb)
                .map_err(ApiError::from_store)?;
        }
        Ok(r)
    })
    .await?;
    match appended {
        Appended::Stored => {}
        Appended::Quota { used, quota } => {
            let mb = |n: u64| n as f64 / 1_048_576.0;
            return Err(CErr(
                StatusCode::INSUFFICIENT_STORAGE,
                "quota",
                format!(
                    "您的照片空间已满（已用{:.1} MB，上限{:.1} MB），请联系管理员 / your photo space is full ({:.1} MB of {:.1} MB used): ask an administrator",
                    mb(used), mb(quota), mb(used), mb(quota)
                ),
            ));
        }
        Appended::TooLarge => return Err(too_large()),
        other => {
            return Err(CErr(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("the photo was not stored: {other:?}"),
            ))
        }
    }
    let photo = PhotoRef {
        sha256: p.sha256,
        bytes: p.bytes.len() as i64,
        width: i64::from(p.width),
        height: i64::from(p.height),
        mime: p.mime.into(),
        taken_at: now,
        gps: None,
    };
    Ok(Json(json!(photo)))
}

/// The photos a step names, checked: at most [`MAX_PHOTOS`], each well formed and stored
/// whole with the size it claims (a step never references bytes the server lacks).
pub(super) async fn checked(
    blobs: Arc<dyn BlobStore>,
    photos: Vec<PhotoRef>,
) -> R<BTreeMap<String, PhotoRef>> {
    if photos.len() > MAX_PHOTOS {
        return Err(CErr(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("一个步骤最多{MAX_PHOTOS}张照片 / at most {MAX_PHOTOS} photos on one step"),
        ));
    }
    let bad = |m: String| CErr(StatusCode::BAD_REQUEST, "bad_request", m);
    for p in &photos {
        let side = 1..=MAX_PHOTO_SIDE;
        if !is_sha256_hex(&p.sha256)
            || !PHOTO_MIMES.contains(&p.mime.as_str())
            || !side.contains(&p.width)
            || !side.contains(&p.height)
            || p.gps.is_some()
        {
            return Err(bad(format!("photo {:?} is not well formed", p.sha256)));
        }
    }
    let list = photos.clone();
    let statuses = blocking(move || {
        list.iter()
            .map(|p| blobs.status(&p.sha256).map_err(ApiError::from_store))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    for (p, s) in photos.iter().zip(statuses) {
        if s != (BlobStatus::Stored {
            size: p.bytes.max(0) as u64,
        }) {
            return Err(CErr(
                StatusCode::CONFLICT,
                "not_uploaded",
                "照片尚未上传，请重新添加 / a photo has not been uploaded: add it again".into(),
            ));
        }
    }
    Ok(photos
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("c{i}"), p))
        .collect())
}
