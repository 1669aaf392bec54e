//! Ledger export from the console and the audit log viewer.
//!
//! An export is written to a temporary file by the store (which appends its audit entry
//! when the file is complete), then streamed to the browser from the open file handle:
//! memory stays constant however many households go out. Masked by default; full ID
//! numbers and phones only for an admin with a stated reason (the store enforces it).

use super::admin::admin_session;
use super::*;
use axum::body::Body;
use gridwalk_district_sqlite::{
    AuditEntry, AuditKind, AuditQuery, ExportFiles, ExportFilter, ExportFormat, PiiMode,
};

#[derive(Deserialize)]
pub(super) struct ExportBody {
    format: ExportFormat,
    #[serde(default)]
    communities: Vec<String>,
    #[serde(default)]
    streets: Vec<String>,
    #[serde(default)]
    grids: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    household_types: Vec<String>,
    /// `YYYY-MM-DD`, local (Asia/Shanghai).
    #[serde(default)]
    visited_since: Option<String>,
    #[serde(default)]
    full_pii: bool,
    #[serde(default)]
    reason: Option<String>,
}

pub(super) async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: String,
) -> R<Response> {
    let scope = session(&state, &headers, true).await?;
    let b: ExportBody = json_body(
        &body,
        "{format: csv|xlsx|geojson, communities?, streets?, grids?, tags?, household_types?, visited_since?, full_pii?, reason?}",
    )?;
    if b.reason
        .as_deref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
    {
        return Err(reason_too_long());
    }
    let visited_since = match b.visited_since.as_deref().filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(
            d.parse()
                .ok()
                .and_then(gridwalk_core::deadline::local_midnight_ms)
                .ok_or(CErr(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("visited_since {d:?} is not a date YYYY-MM-DD"),
                ))?,
        ),
    };
    let filter = ExportFilter {
        area_codes: b.communities.into_iter().chain(b.streets).collect(),
        grids: b.grids,
        care_tags: b.tags,
        household_types: b.household_types,
        visited_since,
        ..Default::default()
    };
    let pii = if b.full_pii {
        PiiMode::Full {
            reason: b.reason.unwrap_or_default(),
        }
    } else {
        PiiMode::Masked
    };
    let format = b.format;
    let district = state.console.clone();
    let (file, summary, name) = run(move || {
        let at = now_ms();
        let dir = tempfile::tempdir()
            .map_err(|e| ConsoleError::Store(gridwalk_store::StoreError::Export(e.to_string())))?;
        let stamp = chrono::DateTime::from_timestamp_millis(at)
            .map(|t| t.format("%Y%m%d-%H%M%S").to_string())
            .unwrap_or_default();
        let name = format!("gridwalk-ledger-{stamp}.{}", format.extension());
        let path = dir.path().join(&name);
        // A refused full-PII export is audited by the store, and answered 403 here.
        let summary = district
            .export_to_file(&filter, &scope, pii, format, &path, at)
            .map_err(|e| match e {
                gridwalk_store::StoreError::Unauthorized(m) => ConsoleError::Forbidden(m),
                e => ConsoleError::Store(e),
            })?;
        // Open, then let the directory go: on Unix the open handle still reads the file.
        let file = std::fs::File::open(&path)
            .map_err(|e| ConsoleError::Store(gridwalk_store::StoreError::Export(e.to_string())))?;
        drop(dir);
        Ok((file, summary, name))
    })
    .await?;
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    let disposition = format!("attachment; filename=\"{name}\"; filename*=UTF-8''{name}");
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.mime_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(summary.bytes));
    h.insert("x-gridwalk-rows", HeaderValue::from(summary.rows));
    h.insert("x-gridwalk-audit-id", HeaderValue::from(summary.audit_id));
    Ok(resp)
}

#[derive(Deserialize, Default)]
pub(super) struct AuditQ {
    kind: Option<String>,
    user: Option<String>,
    limit: Option<u32>,
    before_id: Option<i64>,
}

/// The audit log: an admin sees every entry; a supervisor only their own exports.
pub(super) async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<AuditQ>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(AuditKind::parse(k).ok_or(CErr(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("no audit entry kind {k:?}"),
        ))?),
    };
    let query = if scope.is_admin() {
        AuditQuery {
            kind,
            user: q.user.filter(|u| !u.is_empty()),
            limit: q.limit.unwrap_or(50) as usize,
            before_id: q.before_id,
            ..Default::default()
        }
    } else {
        AuditQuery {
            kind: Some(AuditKind::Export),
            user: Some(scope.user_id.clone()),
            limit: q.limit.unwrap_or(50) as usize,
            before_id: q.before_id,
            ..Default::default()
        }
    };
    let console = state.console.clone();
    let items = run(move || Ok(console.audit_log(&query)?)).await?;
    Ok(masked(json!({ "items": items })))
}

/// A full-PII view of one household (admin, with a reason): unmasked ID numbers and
/// phones, recorded in the audit log before the answer leaves.
#[derive(Deserialize)]
pub(super) struct RevealBody {
    reason: String,
}

pub(super) async fn reveal_household(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> R<Json<Value>> {
    let scope = admin_session(&state, &headers, true).await?;
    let id = doc_id(&id)?;
    let b: RevealBody = json_body(&body, "{reason}")?;
    if b.reason.trim().chars().count() > MAX_REASON_CHARS {
        return Err(reason_too_long());
    }
    if b.reason.trim().chars().count() < 4 {
        return Err(CErr(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "state the reason for viewing full ID numbers and phones (4 characters or more)".into(),
        ));
    }
    let console = state.console.clone();
    let household = run(move || {
        let doc = console.load_document(id)?;
        if doc.kind != gridwalk_core::DocKind::Household {
            return Err(ConsoleError::NotFound("household".into()));
        }
        let h: gridwalk_core::model::Household = doc
            .read()
            .map_err(|e| ConsoleError::BadRequest(format!("household {id}: {e}")))?;
        if !scope.may_see(&h.grid_id) {
            return Err(ConsoleError::NotFound("household".into()));
        }
        console.audit_append(&AuditEntry::by(
            &scope,
            AuditKind::PiiView,
            now_ms(),
            json!({"household_id": id.to_string(), "reason": b.reason.trim()}),
        ))?;
        Ok(h)
    })
    .await?;
    let members: Vec<Value> = household
        .members
        .values()
        .map(|p| json!({"id": p.id, "name": p.name, "id_number": p.id_number, "phone": p.phone}))
        .collect();
    Ok(Json(
        json!({"household_id": household.id, "phone": household.phone, "members": members}),
    ))
}

/// The longest reason kept in the append-only audit log.
const MAX_REASON_CHARS: usize = 500;

fn reason_too_long() -> CErr {
    CErr(
        StatusCode::BAD_REQUEST,
        "bad_request",
        format!(
            "理由最多{MAX_REASON_CHARS}个字 / a reason has at most {MAX_REASON_CHARS} characters"
        ),
    )
}
