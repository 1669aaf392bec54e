//! Review: workers' visits (mark reviewed or flag) and devices' sync logs.

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct VisitsQ {
    grid: Option<String>,
    worker: Option<String>,
    /// A local date `YYYY-MM-DD` (Asia/Shanghai).
    day: Option<String>,
    review: Option<String>,
    offset: Option<u32>,
    limit: Option<u32>,
}

pub(super) async fn visits(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<VisitsQ>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let (from, to) = match q.day.as_deref().filter(|d| !d.is_empty()) {
        None => (None, None),
        Some(d) => {
            let day = chrono_day(d).ok_or(CErr(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("day {d:?} is not YYYY-MM-DD"),
            ))?;
            (Some(day), Some(day + 86_400_000))
        }
    };
    let query = VisitQuery {
        grid_id: q.grid.filter(|g| !g.is_empty()),
        worker_id: q.worker.filter(|w| !w.is_empty()),
        from,
        to,
        review: q.review.filter(|r| !r.is_empty()),
        offset: q.offset.unwrap_or(0) as usize,
        limit: q.limit.unwrap_or(50) as usize,
    };
    let district = state.console.clone();
    let (items, total) = run(move || district.console_visits(&scope, &query)).await?;
    Ok(masked(json!({"items": items, "total": total})))
}

/// Local midnight (Asia/Shanghai) of `YYYY-MM-DD`, in ms.
fn chrono_day(d: &str) -> Option<i64> {
    let date = d.parse().ok()?;
    gridwalk_core::deadline::local_midnight_ms(date)
}

pub(super) async fn visit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let id = doc_id(&id)?;
    let district = state.console.clone();
    let v = run(move || district.console_visit(&scope, id)).await?;
    Ok(masked(v))
}

#[derive(Deserialize)]
pub(super) struct ReviewBody {
    status: ReviewStatus,
    #[serde(default)]
    comment: String,
}

pub(super) async fn review(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, true).await?;
    let id = doc_id(&id)?;
    let b: ReviewBody = json_body(&body, "{status: Reviewed|Flagged, comment}")?;
    let district = state.console.clone();
    let v = run(move || {
        let author = author(&*district, &scope)?;
        district.review_visit(&scope, id, b.status, &b.comment, author, now_ms())
    })
    .await?;
    Ok(masked(v))
}

pub(super) async fn devices(State(state): State<AppState>, headers: HeaderMap) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let console = state.console.clone();
    let list = run(move || console.console_devices(&scope, now_ms())).await?;
    Ok(masked(list))
}

#[derive(Deserialize)]
pub(super) struct SyncLogQ {
    device_id: String,
    limit: Option<u32>,
}

pub(super) async fn sync_log(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<SyncLogQ>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let console = state.console.clone();
    let entries = run(move || {
        if !console.console_device_in_scope(&scope, &q.device_id)? {
            return Err(ConsoleError::NotFound(format!("device {}", q.device_id)));
        }
        Ok(console.sync_logs(&SyncLogQuery {
            device_id: Some(q.device_id),
            limit: q.limit.unwrap_or(50) as usize,
            ..Default::default()
        })?)
    })
    .await?;
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            let errors: Value = serde_json::from_str(&e.errors).unwrap_or(Value::Array(vec![]));
            let mut v = json!(e);
            v["errors"] = errors;
            v
        })
        .collect();
    // Rejection messages may quote a refused value.
    Ok(masked(entries))
}

#[derive(Deserialize, Default)]
pub(super) struct HandoversQ {
    limit: Option<u32>,
}

/// Unsynced edits handed over by moved workers' devices, for documents in scope: which
/// document and fields, by whom, when (no values).
pub(super) async fn handovers(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<HandoversQ>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let console = state.console.clone();
    let items =
        run(move || console.console_handovers(&scope, q.limit.unwrap_or(100).min(1000) as usize))
            .await?;
    Ok(masked(json!({ "items": items })))
}
