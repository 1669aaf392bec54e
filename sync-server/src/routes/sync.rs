//! `POST /api/v1/sync`: one sync round — push, then pull — in one request.
//!
//! Order of checks: bearer token (401 before a byte of body is read), body size (413),
//! decoding (400 / 413 for a decompression bomb), protocol version (400), push (403 for a
//! document outside the device's scope: the whole push is refused and nothing is stored),
//! pull, digests, repair comparison. Every request that got past authentication is
//! written to the sync log, failed or not.

use super::{bearer, blocking, declared_too_large, read_body};
use crate::error::ApiError;
use crate::{now_ms, AppState, Metrics};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gridwalk_core::sync::{
    decode, decode_request, encode_response, plausible_version, supported_version, CodecError,
    PushOutcome, SyncRequest, CONTENT_TYPE, PROTOCOL_VERSION,
};
use gridwalk_district_sqlite::phases::{self, Phase};
use gridwalk_district_sqlite::{
    handle_sync_logged, DeviceAuth, DistrictStore, HandledSync, SyncLogEntry,
};
use serde::Deserialize;
use std::time::Instant;

/// What one successful round did, for the log and the metrics.
struct Round {
    handled: HandledSync,
    /// Changes in the pushed documents that were accepted (known ones included).
    changes_accepted: u64,
    /// The sync-log row the push wrote in its own transaction, if it stored one.
    log_id: Option<i64>,
}

/// Blocking work at once (authentication; decode, push, pull, encode), on the blocking
/// pool. More would only queue on two cores' worth of CPU, each with a reader connection
/// (the pool keeps 32); the rest wait here, cheaply. A round gives its slot back while its
/// push waits for the group commit (`phases::on_wait`), so the pushes waiting there are
/// not limited by it and share one commit, and the next rounds' work overlaps the fsync.
const ROUNDS_AT_ONCE: usize = 32;
static ROUND_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(ROUNDS_AT_ONCE);

pub(super) async fn sync(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    Metrics::add(&state.metrics.sync_requests, 1);
    let result = sync_inner(&state, &headers, body, started).await;
    state.metrics.sync_duration(started.elapsed());
    match result {
        Ok(bytes) => {
            Metrics::add(&state.metrics.sync_bytes_out, bytes.len() as u64);
            let mut resp = (StatusCode::OK, bytes).into_response();
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            resp
        }
        Err(e) => {
            state.metrics.sync_error(e.code);
            e.into_response()
        }
    }
}

async fn sync_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    started: Instant,
) -> Result<Bytes, ApiError> {
    let started_at = now_ms();
    let token = bearer(headers)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <device token>"))?;
    let store = state.store.clone();
    let waited = phases::time(Phase::SlotWait);
    let slot = ROUND_SLOTS
        .acquire()
        .await
        .map_err(|_| ApiError::internal())?;
    drop(waited);
    let auth = blocking(move || {
        let _t = phases::time(Phase::Auth);
        store
            .authenticate(&token, started_at)
            .map_err(ApiError::from_store)
    })
    .await?;
    // Not held while the body arrives: a slow link must not hold a slot.
    drop(slot);

    let limit = state.config.max_body_bytes;
    let reading = phases::time(Phase::Body);
    let body = if declared_too_large(headers, limit) {
        Err(ApiError::too_large(limit, "request body"))
    } else {
        read_body(body, limit, "request body").await
    };
    drop(reading);
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let (store, auth) = (state.store.clone(), auth.clone());
            let entry = failed_entry(&auth, started_at, started, 0, &e);
            let _ = blocking(move || {
                record(&*store, &entry);
                Ok(())
            })
            .await;
            return Err(e);
        }
    };
    Metrics::add(&state.metrics.sync_bytes_in, body.len() as u64);

    let store = state.store.clone();
    let max_decoded = state.config.max_decoded_bytes;
    let waited = phases::time(Phase::SlotWait);
    let slot = ROUND_SLOTS
        .acquire()
        .await
        .map_err(|_| ApiError::internal())?;
    drop(waited);
    let (result, accepted) = blocking(move || {
        // Given back while a push waits for the group commit (the writer's work and the
        // fsync): other rounds decide their pushes and pull meanwhile, and this round's
        // pull, after its commit, does not queue again behind new arrivals.
        let _release = phases::on_wait(Box::new(move || drop(slot)));
        let outcome = round(&*store, &auth, &body, max_decoded, started_at, started);
        let logging = phases::time(Phase::Log);
        let (result, accepted, entry) = match outcome {
            Ok((bytes, round)) => {
                let entry = round.handled.into_log(
                    &auth,
                    started_at,
                    millis(started),
                    body.len() as i64,
                    bytes.len() as i64,
                );
                match round.log_id {
                    Some(id) => finish(&*store, id, &entry),
                    None => record(&*store, &entry),
                }
                (Ok(bytes), round.changes_accepted, entry)
            }
            Err(e) => {
                let entry = failed_entry(&auth, started_at, started, body.len(), &e);
                record(&*store, &entry);
                (Err(e), 0, entry)
            }
        };
        drop(logging);
        if result.is_ok() {
            tracing::info!(
                device_id = %entry.device_id,
                user_id = %entry.user_id,
                docs_in = entry.docs_in,
                changes_in = entry.changes_in,
                docs_out = entry.docs_out,
                changes_out = entry.changes_out,
                rejected = entry.rejected,
                conflicts = entry.conflicts,
                bytes_in = entry.bytes_in,
                bytes_out = entry.bytes_out,
                ms = entry.duration_ms,
                "sync"
            );
        }
        Ok((result, accepted))
    })
    .await?;
    Metrics::add(&state.metrics.changes_pushed, accepted);
    result.map(Bytes::from)
}

/// Only the version field, to tell an old or new client from a broken body.
#[derive(Deserialize)]
struct VersionOnly {
    protocol: u16,
}

/// Decode, then answer with the store's [`handle_sync`] (push, pull, digests, repair),
/// then encode. Blocking.
fn round(
    store: &dyn DistrictStore,
    auth: &DeviceAuth,
    body: &[u8],
    max_decoded: usize,
    started_at: i64,
    started: Instant,
) -> Result<(Vec<u8>, Round), ApiError> {
    let decoding = phases::time(Phase::Decode);
    // Also the shape older devices send (no handover).
    let req: SyncRequest = match decode_request(body, max_decoded) {
        Ok(r) => r,
        Err(CodecError::Decode(reason)) => {
            // A message of another protocol version may not even parse: say so if it is one.
            let err = match decode::<VersionOnly>(body, max_decoded) {
                Ok(v) if !supported_version(v.protocol) && plausible_version(v.protocol) => {
                    CodecError::Version {
                        got: v.protocol,
                        supported: PROTOCOL_VERSION,
                    }
                }
                _ => CodecError::Decode(reason),
            };
            return Err(ApiError::from_codec(err, body));
        }
        Err(e) => return Err(ApiError::from_codec(e, body)),
    };
    // Every version from the oldest supported is answered, in its own response shape.
    if !supported_version(req.protocol) {
        return Err(ApiError::from_codec(
            CodecError::Version {
                got: req.protocol,
                supported: PROTOCOL_VERSION,
            },
            body,
        ));
    }
    drop(decoding);
    // The row as known before the push; a push writes it in its own transaction.
    let log =
        HandledSync::default().into_log(auth, started_at, millis(started), body.len() as i64, 0);
    let (resp, handled, log_id) = handle_sync_logged(store, auth, &req, now_ms(), Some(&log))
        .map_err(ApiError::from_store)?;
    let changes_accepted = resp
        .pushed
        .iter()
        .filter(|r| r.outcome == PushOutcome::Accepted)
        .filter_map(|r| req.push.iter().find(|p| p.doc_id == r.doc_id))
        .map(|p| p.changes.len() as u64)
        .sum();
    let encoded = phases::timed(Phase::Encode, || encode_response(&resp, req.protocol));
    Ok((
        encoded,
        Round {
            handled,
            changes_accepted,
            log_id,
        },
    ))
}

fn millis(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

fn failed_entry(
    auth: &DeviceAuth,
    started_at: i64,
    started: Instant,
    bytes_in: usize,
    e: &ApiError,
) -> SyncLogEntry {
    tracing::warn!(
        device_id = %auth.device_id,
        user_id = %auth.user_id,
        code = e.code.as_str(),
        message = %e.message,
        "sync refused"
    );
    SyncLogEntry {
        device_id: auth.device_id.clone(),
        user_id: auth.user_id.clone(),
        started_at,
        duration_ms: millis(started),
        bytes_in: bytes_in as i64,
        errors: serde_json::json!([{
            "doc_id": null,
            "code": e.code.as_str(),
            "message": e.message,
        }])
        .to_string(),
        ..SyncLogEntry::default()
    }
}

/// The round's final figures on the row its push wrote; a failure is logged.
fn finish(store: &dyn DistrictStore, id: i64, entry: &SyncLogEntry) {
    if let Err(e) = store.finish_sync_log(id, entry) {
        tracing::error!(error = %e, device_id = %entry.device_id, "sync log row not updated");
    }
}

/// Write a sync log row; a failure to log is logged, not turned into a failed sync.
fn record(store: &dyn DistrictStore, entry: &SyncLogEntry) {
    if let Err(e) = store.record_sync(entry) {
        tracing::error!(error = %e, device_id = %entry.device_id, "sync log row not written");
    }
}
