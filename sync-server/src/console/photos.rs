//! Photos in the console: `GET /console/api/photos/{sha256}?size=thumb|full`, scoped like
//! the records that reference them (a photo no document in the caller's grids references
//! is "not found", as a record out of scope is).

use super::*;
use crate::routes::blobs::{parse_size, serve_blob};
use axum::extract::Query;
use std::collections::BTreeMap;

pub(super) async fn photo(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(sha256): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    match photo_inner(state, headers, sha256, q).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn photo_inner(
    state: AppState,
    headers: HeaderMap,
    sha256: String,
    q: BTreeMap<String, String>,
) -> R<Response> {
    let scope = session(&state, &headers, false).await?;
    let size = parse_size(&q)?;
    if !gridwalk_core::model::is_sha256_hex(&sha256) {
        return Err(CErr(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "照片哈希应为64位小写十六进制 / a photo is named by 64 lowercase hex digits".into(),
        ));
    }
    let (refs, sha) = (state.refs.clone(), sha256.clone());
    let in_scope = run(move || Ok(refs.photo_in_scope(&sha, scope.grids.as_deref())?)).await?;
    if !in_scope {
        return Err(CErr(
            StatusCode::NOT_FOUND,
            "not_found",
            "photo not found".into(),
        ));
    }
    Ok(serve_blob(&state, sha256, size).await)
}
