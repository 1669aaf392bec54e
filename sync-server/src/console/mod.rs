//! The supervisor's console: its JSON API under `/console/api/` and the built front end
//! (console/dist) under `/console/`.
//!
//! Access: `POST /console/api/login` with `{username, password}` (JSON only) sets an
//! HttpOnly, SameSite=Strict session cookie and answers the CSRF token; every
//! state-changing request must carry it in `X-CSRF-Token`. Every query and action is
//! confined to the caller's scope (an admin: the district; a supervisor: their grids).
//!
//! | method | path |
//! |---|---|
//! | POST | `/console/api/login`, `/console/api/logout` |
//! | GET | `/console/api/me`, `/console/api/config` |
//! | GET | `/console/api/issues`, `/console/api/issues/{id}` |
//! | POST | `/console/api/issues/{id}/action` `{kind, note, department?, satisfaction?, photos?}` |
//! | POST | `/console/api/issues/{id}/photos` (a photo as body) → its metadata for `photos` |
//! | GET | `/console/api/visits`, `/console/api/visits/{id}` |
//! | POST | `/console/api/visits/{id}/review` `{status: Reviewed|Flagged, comment}` |
//! | GET | `/console/api/devices`, `/console/api/sync-log?device_id=`, `/console/api/handovers` |
//! | GET | `/console/api/households`, `/console/api/households/{id}` |
//! | POST | `/console/api/households/{id}/resolve` `{path, choice}` |
//! | GET | `/console/api/indicators?street=&community=&grid=&from=&to=` |
//! | POST | `/console/api/export` `{format, communities?, grids?, tags?, household_types?, visited_since?, full_pii?, reason?}` → the file |
//! | GET | `/console/api/audit?kind=&user=&before_id=&limit=` (a supervisor: their own exports) |
//! | POST | `/console/api/households/{id}/reveal` `{reason}` (admin; audited) |
//! | GET, POST | `/console/api/admin/users`, POST `/console/api/admin/users/{id}`, `…/{id}/enrollment-code` |
//! | GET | `/console/api/admin/devices`; POST `/console/api/admin/devices/{id}/revoke` |
//! | GET, POST | `/console/api/admin/area` (one street/community/grid/building per POST) |
//! | POST | `/console/api/admin/area/buildings?file_name=&dry_run=` (a buildings sheet as body) |
//! | POST | `/console/api/admin/settings` `{departments?, categories?, calendar?}` |
//! | POST | `/console/api/admin/import?file_name=&mode=dry_run|all_or_nothing|valid_only` (the file as body) |
//! | GET | `/console/api/admin/imports`, `/console/api/admin/imports/{id}/report` |
//!
//! Routes under `/console/api/admin/` need the admin role.

mod admin;
mod attach;
mod files;
mod issues;
mod ledger;
mod ledger_export;
pub mod ledger_import;
mod params;
mod photos;
mod review;

use crate::error::ApiError;
use crate::limits::{ClientAddr, MAX_LOGIN_BODY, MAX_UPLOAD_BODY};
use crate::routes::blocking;
use crate::{now_ms, AppState, SERVER_AUTHOR};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gridwalk_core::deadline::CATEGORIES;
use gridwalk_core::model::ReviewStatus;
use gridwalk_core::workflow;
use gridwalk_core::{Author, DocId};
use gridwalk_district_sqlite::{
    ConsoleError, ConsoleScope, ConsoleStore, IssueAction, SyncLogQuery, VisitQuery,
};
use gridwalk_store::{HouseholdQuery, IssueQuery};
use params::Params;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use uuid::Uuid;

pub use admin::import_buildings_blocking;

/// A console answer with personal data masked (issue 9): ID numbers to their last 4,
/// phones to `138****5678`, birth dates to `birth_year`, and phones and ID numbers inside
/// every free text (notes, findings, titles, event notes, conflict values, messages).
/// Every read of people's data leaves the console through this one edge.
fn masked<T: serde::Serialize>(value: T) -> Json<Value> {
    let mut v = json!(value);
    gridwalk_core::privacy::mask_json(&mut v);
    Json(v)
}

/// The session cookie's name.
pub const COOKIE: &str = "gw_console";
/// The header that must carry the CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The console's routes, merged into the application by [`crate::router`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/console/api/login",
            post(login).layer(DefaultBodyLimit::max(MAX_LOGIN_BODY)),
        )
        .route("/console/api/logout", post(logout))
        .route("/console/api/me", get(me))
        .route("/console/api/config", get(config))
        .route("/console/api/issues", get(issues::issues))
        .route("/console/api/issues/{id}", get(issues::issue))
        .route(
            "/console/api/issues/{id}/action",
            post(issues::issue_action),
        )
        .route("/console/api/visits", get(review::visits))
        .route("/console/api/visits/{id}", get(review::visit))
        .route("/console/api/visits/{id}/review", post(review::review))
        .route("/console/api/photos/{sha256}", get(photos::photo))
        .route(
            "/console/api/issues/{id}/photos",
            post(attach::upload).layer(DefaultBodyLimit::max(attach::MAX_CONSOLE_PHOTO)),
        )
        .route("/console/api/devices", get(review::devices))
        .route("/console/api/sync-log", get(review::sync_log))
        .route("/console/api/handovers", get(review::handovers))
        .route("/console/api/households", get(ledger::households))
        .route("/console/api/households/{id}", get(ledger::household))
        .route(
            "/console/api/households/{id}/resolve",
            post(ledger::resolve),
        )
        .route("/console/api/indicators", get(ledger::indicators))
        .route("/console/api/export", post(ledger_export::export))
        .route("/console/api/audit", get(ledger_export::audit))
        .route(
            "/console/api/households/{id}/reveal",
            post(ledger_export::reveal_household),
        )
        .route(
            "/console/api/admin/users",
            get(admin::users).post(admin::create_user),
        )
        .route("/console/api/admin/users/{id}", post(admin::update_user))
        .route(
            "/console/api/admin/users/{id}/enrollment-code",
            post(admin::enrollment_code),
        )
        .route("/console/api/admin/devices", get(admin::devices))
        .route(
            "/console/api/admin/devices/{id}/revoke",
            post(admin::revoke_device),
        )
        .route(
            "/console/api/admin/area",
            get(admin::area).post(admin::edit_area),
        )
        .route(
            "/console/api/admin/area/buildings",
            post(admin::import_buildings).layer(DefaultBodyLimit::max(MAX_UPLOAD_BODY)),
        )
        .route("/console/api/admin/settings", post(admin::settings))
        .route(
            "/console/api/admin/import",
            post(ledger_import::import).layer(DefaultBodyLimit::max(MAX_UPLOAD_BODY)),
        )
        .route("/console/api/admin/imports", get(ledger_import::runs))
        .route(
            "/console/api/admin/imports/{id}/report",
            get(ledger_import::report),
        )
        .route(
            "/console/api/{*rest}",
            get(api_not_found).post(api_not_found),
        )
        .route("/console", get(files::redirect))
        .route("/console/", get(files::index))
        .route("/console/{*path}", get(files::file))
}

/// A console error as JSON `{error, message}` with its status.
pub struct CErr(StatusCode, &'static str, String);

impl IntoResponse for CErr {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1, "message": self.2}))).into_response()
    }
}

impl From<gridwalk_store::StoreError> for CErr {
    fn from(e: gridwalk_store::StoreError) -> CErr {
        CErr::from(ConsoleError::Store(e))
    }
}

impl From<ConsoleError> for CErr {
    fn from(e: ConsoleError) -> CErr {
        use StatusCode as S;
        let msg = e.to_string();
        match e {
            ConsoleError::BadCredentials => CErr(S::UNAUTHORIZED, "bad_credentials", msg),
            ConsoleError::Locked { .. } => CErr(
                S::TOO_MANY_REQUESTS,
                "locked",
                "登录失败次数过多，已锁定15分钟 / too many failed sign-ins for this account \
                 or from this address: locked for 15 minutes"
                    .into(),
            ),
            ConsoleError::Forbidden(m) => CErr(S::FORBIDDEN, "forbidden", m),
            ConsoleError::NoSession => CErr(S::UNAUTHORIZED, "unauthorized", msg),
            ConsoleError::NotFound(m) => CErr(S::NOT_FOUND, "not_found", format!("{m} not found")),
            ConsoleError::Conflict(m) => CErr(S::CONFLICT, "invalid_transition", m),
            ConsoleError::BadRequest(m) => CErr(S::BAD_REQUEST, "bad_request", m),
            ConsoleError::Store(e) => ApiError::from_store(e).into(),
        }
    }
}

impl From<ApiError> for CErr {
    fn from(e: ApiError) -> CErr {
        CErr(e.code.status(), e.code.as_str(), e.message)
    }
}

type R<T> = Result<T, CErr>;

async fn api_not_found() -> CErr {
    CErr(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such console endpoint".into(),
    )
}

/// Run blocking console work off the runtime.
async fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ConsoleError> + Send + 'static,
) -> R<T> {
    let out = blocking(move || Ok(f())).await?;
    out.map_err(CErr::from)
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// The caller's session: scope and CSRF token. `mutating` requests must echo the token.
async fn session(state: &AppState, headers: &HeaderMap, mutating: bool) -> R<ConsoleScope> {
    let token = cookie_token(headers).ok_or(CErr(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "not signed in".into(),
    ))?;
    let console = state.console.clone();
    let (csrf, scope) = run(move || console.console_session(&token, now_ms())).await?;
    if mutating {
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if sent != Some(csrf.as_str()) {
            return Err(CErr(
                StatusCode::FORBIDDEN,
                "csrf",
                "missing or wrong X-CSRF-Token header".into(),
            ));
        }
    }
    Ok(scope)
}

fn author<D: ConsoleStore + ?Sized>(
    district: &D,
    scope: &ConsoleScope,
) -> Result<Author, ConsoleError> {
    let user = Uuid::parse_str(&scope.user_id).unwrap_or(SERVER_AUTHOR.user);
    Ok(Author::new(user, district.console_device_id()?))
}

/// Parse a JSON request body; a malformed one is a 400 saying what was expected.
fn json_body<T: serde::de::DeserializeOwned>(body: &str, expected: &str) -> R<T> {
    serde_json::from_str(body).map_err(|e| {
        CErr(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("expected {expected}: {e}"),
        )
    })
}

fn doc_id(s: &str) -> R<DocId> {
    DocId::parse(s).ok_or(CErr(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("{s:?} is not a document id"),
    ))
}

fn scope_json(scope: &ConsoleScope) -> Value {
    json!({
        "user_id": scope.user_id, "username": scope.username,
        "display_name": scope.display_name, "role": scope.role, "grids": scope.grids,
    })
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    body: String,
) -> R<Response> {
    state.limits.login(ip).await?;
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_type {
        return Err(CErr(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            "sign in with a JSON body (Content-Type: application/json)".into(),
        ));
    }
    let b: LoginBody = json_body(&body, "{username, password}")?;
    let console = state.console.clone();
    let address = ip.to_string();
    let s = run(move || console.console_login(b.username.trim(), &b.password, &address, now_ms()))
        .await?;
    let secure = if state.config.tls.is_some() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        s.token,
        (s.expires_at - now_ms()) / 1000
    );
    let mut resp = Json(json!({"csrf": s.csrf, "user": scope_json(&s.scope)})).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> R<Response> {
    let scope = session(&state, &headers, true).await?;
    if let Some(token) = cookie_token(&headers) {
        let console = state.console.clone();
        run(move || {
            console.console_logout(&token)?;
            console.audit_append(&gridwalk_district_sqlite::AuditEntry::by(
                &scope,
                gridwalk_district_sqlite::AuditKind::Logout,
                now_ms(),
                json!({}),
            ))?;
            Ok(())
        })
        .await?;
    }
    let mut resp = Json(json!({"ok": true})).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "gw_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(resp)
}

async fn me(State(state): State<AppState>, headers: HeaderMap) -> R<Json<Value>> {
    let token = cookie_token(&headers).unwrap_or_default();
    let console = state.console.clone();
    let (csrf, scope) = run(move || console.console_session(&token, now_ms())).await?;
    let console = state.console.clone();
    let area = run(move || Ok(console.area_tree()?)).await?;
    // The area tree cut to the scope: grids, their communities and streets.
    let area = area.map(|t| {
        let grids: Vec<_> = t.grids.iter().filter(|g| scope.may_see(&g.id)).collect();
        let communities: Vec<_> = t
            .communities
            .iter()
            .filter(|c| grids.iter().any(|g| g.community_code == c.code))
            .collect();
        let streets: Vec<_> = t
            .streets
            .iter()
            .filter(|s| communities.iter().any(|c| c.street_code == s.code))
            .collect();
        json!({"district": t.district, "streets": streets, "communities": communities, "grids": grids})
    });
    Ok(Json(
        json!({"csrf": csrf, "user": scope_json(&scope), "area": area}),
    ))
}

async fn config(State(state): State<AppState>, headers: HeaderMap) -> R<Json<Value>> {
    session(&state, &headers, false).await?;
    let console = state.console.clone();
    let (deps, overrides, calendar) = run(move || {
        Ok((
            console.departments()?,
            console.category_overrides()?,
            console.work_calendar()?,
        ))
    })
    .await?;
    let categories: Vec<Value> = CATEGORIES
        .iter()
        .map(|c| {
            let limit = gridwalk_core::deadline::limit_for(c.code, &overrides);
            json!({"code": c.code, "zh": c.zh, "en": c.en, "limit": limit})
        })
        .collect();
    let departments: Vec<Value> = deps
        .into_iter()
        .map(|(code, zh, en)| json!({"code": code, "zh": zh, "en": en}))
        .collect();
    let care_tags: Vec<Value> = gridwalk_core::model::CARE_TAGS
        .iter()
        .map(|(code, zh, en)| json!({"code": code, "zh": zh, "en": en}))
        .collect();
    Ok(Json(json!({
        "departments": departments, "categories": categories, "calendar": calendar,
        "care_tags": care_tags,
    })))
}
