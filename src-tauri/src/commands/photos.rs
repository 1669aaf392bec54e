//! Photos (随手拍): take one (prepared in Rust off the UI thread, kept and queued for
//! upload in one transaction), attach taken photos to an issue, an event or a visit, show
//! them (thumbnail or full, from the device or downloaded on demand into a capped cache),
//! and the space they take. Bytes never go into a document: it holds `PhotoRef`s.

use super::now_ms;
use crate::dto::{PhotoDto, PhotoInput, PhotoSize, PhotoState, PhotoStorage};
use crate::error::{AppError, AppResult};
use crate::state::{AppState, DeviceStore};
use gridwalk_client::blobs::{BlobClient, Size};
use gridwalk_core::model::{is_sha256_hex, PhotoRef, MAX_PHOTOS, MAX_PHOTO_BYTES};
use gridwalk_photo::{PhotoError, Prepared, MAX_INPUT_BYTES};
use gridwalk_store::{NewPhoto, Store};
use std::collections::BTreeMap;
use tauri::ipc::{InvokeBody, Request, Response};
use tauri::State;

/// Downloaded photos (other devices' photos viewed here) take at most this much.
pub const CACHE_CAP_BYTES: i64 = 64 * 1024 * 1024;

/// Decode, orient, shrink, re-encode without EXIF, hash, thumbnail: the slow part, pure,
/// run on a blocking thread. Too large or unreadable photos are refused here, when taken.
pub(crate) fn prepare(original: &[u8]) -> AppResult<Prepared> {
    if original.len() > MAX_INPUT_BYTES {
        return Err(PhotoError::TooLarge {
            bytes: original.len(),
            max: MAX_INPUT_BYTES,
        }
        .into());
    }
    let p = gridwalk_photo::prepare(original, &gridwalk_photo::Options::default())?;
    if p.bytes.len() as i64 > MAX_PHOTO_BYTES {
        return Err(AppError::Photo {
            reason: "too_large".into(),
            message: format!(
                "照片处理后仍超过{MAX_PHOTO_BYTES}字节 / the prepared photo is still over {MAX_PHOTO_BYTES} bytes"
            ),
        });
    }
    Ok(p)
}

/// Keeps a prepared photo and queues it for upload (one transaction: a killed app keeps
/// both or neither).
pub(crate) fn keep(store: &mut Store, p: &Prepared, now: i64) -> AppResult<PhotoDto> {
    store.put_photo(
        &NewPhoto {
            sha256: &p.sha256,
            bytes: &p.bytes,
            thumb: &p.thumb,
            width: p.width,
            height: p.height,
            mime: p.mime,
        },
        now,
    )?;
    Ok(PhotoDto {
        sha256: p.sha256.clone(),
        bytes: p.bytes.len() as i64,
        width: i64::from(p.width),
        height: i64::from(p.height),
        taken_at: now,
        state: state_of(store, &p.sha256)?,
    })
}

/// 待上传 / 已上传, or taken elsewhere.
pub(crate) fn state_of(store: &Store, sha256: &str) -> AppResult<PhotoState> {
    Ok(match store.photo(sha256)? {
        Some(l) if !l.cached && l.uploaded => PhotoState::Uploaded,
        Some(l) if !l.cached => PhotoState::Pending,
        _ => PhotoState::Remote,
    })
}

/// The references a document gets for photos taken here: at most 9, each one on this
/// device (so a document never names a photo whose bytes no one has).
pub(crate) fn refs(store: &Store, input: &[PhotoInput]) -> AppResult<BTreeMap<String, PhotoRef>> {
    if input.len() > MAX_PHOTOS {
        return Err(AppError::field(
            "photos",
            "TooMany",
            &format!("最多{MAX_PHOTOS}张照片 / at most {MAX_PHOTOS} photos"),
        ));
    }
    let mut out = BTreeMap::new();
    for p in input {
        let local = match store.photo(&p.sha256)? {
            Some(l) if is_sha256_hex(&p.sha256) && !l.cached => l,
            _ => return Err(AppError::field(
                "photos",
                "NotTaken",
                "这张照片不在本机，请重新拍摄 / this photo is not on this device: take it again",
            )),
        };
        // Keyed by hash: the same photo twice is one reference.
        out.insert(
            p.sha256[..16].to_string(),
            PhotoRef {
                sha256: local.sha256,
                bytes: local.size,
                width: local.width,
                height: local.height,
                mime: local.mime,
                taken_at: p.taken_at,
                gps: None,
            },
        );
    }
    Ok(out)
}

/// What the UI shows of a document's photos, oldest first.
pub(crate) fn dtos(store: &Store, photos: &BTreeMap<String, PhotoRef>) -> AppResult<Vec<PhotoDto>> {
    let mut out = photos
        .values()
        .map(|p| -> AppResult<PhotoDto> {
            Ok(PhotoDto {
                sha256: p.sha256.clone(),
                bytes: p.bytes,
                width: p.width,
                height: p.height,
                taken_at: p.taken_at,
                state: state_of(store, &p.sha256)?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    out.sort_by(|a, b| (a.taken_at, &a.sha256).cmp(&(b.taken_at, &b.sha256)));
    Ok(out)
}

fn join_error(e: impl std::fmt::Display) -> AppError {
    AppError::Storage {
        message: format!("photo task failed: {e}"),
    }
}

/// The photo's bytes as the request body (`invoke('take_photo', bytes)`): no JSON array
/// of millions of numbers. Prepared on a blocking thread; the store is locked only to
/// write the result.
#[tauri::command]
pub async fn take_photo(state: State<'_, AppState>, request: Request<'_>) -> AppResult<PhotoDto> {
    let device = state.unlocked_device()?;
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(AppError::bad_request("send the photo's bytes as the body"));
    };
    // Checked before anything is copied or decoded.
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(PhotoError::TooLarge {
            bytes: bytes.len(),
            max: MAX_INPUT_BYTES,
        }
        .into());
    }
    let bytes = bytes.clone();
    let prepared = tauri::async_runtime::spawn_blocking(move || prepare(&bytes))
        .await
        .map_err(join_error)??;
    let mut store = device.store();
    keep(&mut store, &prepared, now_ms())
}

/// The thumbnail or the full photo, from the device, else downloaded from the server into
/// the cache (capped; photos taken here are never trimmed). Raw bytes to the webview.
#[tauri::command]
pub async fn get_photo(
    state: State<'_, AppState>,
    sha256: String,
    size: PhotoSize,
) -> AppResult<Response> {
    if !is_sha256_hex(&sha256) {
        return Err(AppError::bad_request("not a photo hash"));
    }
    let device = state.unlocked_device()?;
    let bytes = tauri::async_runtime::spawn_blocking(move || photo_bytes(&device, &sha256, size))
        .await
        .map_err(join_error)??;
    Ok(Response::new(bytes))
}

pub(crate) fn local_bytes(
    store: &Store,
    sha256: &str,
    size: PhotoSize,
) -> AppResult<Option<Vec<u8>>> {
    Ok(match size {
        PhotoSize::Thumb => store.photo_thumb(sha256)?,
        PhotoSize::Full => store.photo_bytes(sha256)?,
    })
}

fn photo_bytes(device: &DeviceStore, sha256: &str, size: PhotoSize) -> AppResult<Vec<u8>> {
    let mut client = {
        let store = device.store();
        if let Some(b) = local_bytes(&store, sha256, size)? {
            return Ok(b);
        }
        BlobClient::from_store(&store)?
    };
    // The network without the store's lock: the UI's other commands go on meanwhile.
    let wire = match size {
        PhotoSize::Thumb => Size::Thumb,
        PhotoSize::Full => Size::Full,
    };
    let Some(bytes) = client.download(sha256, wire)? else {
        return Err(AppError::not_found(
            "照片尚未上传到服务器 / the photo is not on the server yet",
        ));
    };
    let (full, thumb) = match size {
        PhotoSize::Thumb => (None, Some(bytes.as_slice())),
        PhotoSize::Full => (Some(bytes.as_slice()), None),
    };
    device
        .store()
        .put_downloaded_photo(sha256, full, thumb, CACHE_CAP_BYTES, now_ms())?;
    Ok(bytes)
}

pub(crate) fn storage_of(store: &Store) -> AppResult<PhotoStorage> {
    let s = store.photo_storage()?;
    Ok(PhotoStorage {
        pending: s.pending,
        pending_bytes: s.pending_bytes,
        uploaded: s.uploaded,
        uploaded_bytes: s.uploaded_bytes,
        cached_bytes: s.cached_bytes,
        cache_cap_bytes: CACHE_CAP_BYTES,
        thumb_bytes: s.thumb_bytes,
    })
}

#[tauri::command]
pub fn photo_storage(state: State<'_, AppState>) -> AppResult<PhotoStorage> {
    storage_of(&*state.store()?)
}

/// Frees the full bytes of photos the server confirmed (never of pending ones) and the
/// download cache; thumbnails stay, full photos download again when opened.
pub(crate) fn free_in(store: &mut Store) -> AppResult<PhotoStorage> {
    store.free_uploaded_photos()?;
    store.trim_photo_cache(0)?;
    storage_of(store)
}

#[tauri::command]
pub fn free_photo_space(state: State<'_, AppState>) -> AppResult<PhotoStorage> {
    free_in(&mut *state.store()?)
}

#[cfg(test)]
mod tests;
