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
//! | POST | `/console/api/issues/{id}/action` `{kind, note, department?, satisfaction?}` |
//! | GET | `/console/api/visits`, `/console/api/visits/{id}` |
//! | POST | `/console/api/visits/{id}/review` `{status: Reviewed|Flagged, comment}` |
//! | GET | `/console/api/devices`, `/console/api/sync-log?device_id=` |
//! | GET | `/console/api/households`, `/console/api/households/{id}` |
//! | POST | `/console/api/households/{id}/resolve` `{path, choice}` |
//! | GET | `/console/api/indicators?street=&community=&grid=&from=&to=` |

mod files;

use crate::error::ApiError;
use crate::routes::blocking;
use crate::{now_ms, AppState, SERVER_AUTHOR};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gridwalk_core::deadline::CATEGORIES;
use gridwalk_core::model::ReviewStatus;
use gridwalk_core::workflow;
use gridwalk_core::{Author, DocId};
use gridwalk_store::district::{
    ConsoleError, ConsoleScope, IssueAction, SqliteDistrict, SyncLogQuery, VisitQuery,
};
use gridwalk_store::{HouseholdQuery, IssueQuery};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use uuid::Uuid;

pub use files::console_dir;

/// The session cookie's name.
pub const COOKIE: &str = "gw_console";
/// The header that must carry the CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The console's routes, merged into the application by [`crate::router`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/api/login", post(login))
        .route("/console/api/logout", post(logout))
        .route("/console/api/me", get(me))
        .route("/console/api/config", get(config))
        .route("/console/api/issues", get(issues))
        .route("/console/api/issues/{id}", get(issue))
        .route("/console/api/issues/{id}/action", post(issue_action))
        .route("/console/api/visits", get(visits))
        .route("/console/api/visits/{id}", get(visit))
        .route("/console/api/visits/{id}/review", post(review))
        .route("/console/api/devices", get(devices))
        .route("/console/api/sync-log", get(sync_log))
        .route("/console/api/households", get(households))
        .route("/console/api/households/{id}", get(household))
        .route("/console/api/households/{id}/resolve", post(resolve))
        .route("/console/api/indicators", get(indicators))
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

impl From<ConsoleError> for CErr {
    fn from(e: ConsoleError) -> CErr {
        use StatusCode as S;
        let msg = e.to_string();
        match e {
            ConsoleError::BadCredentials => CErr(S::UNAUTHORIZED, "bad_credentials", msg),
            ConsoleError::Locked { .. } => CErr(
                S::TOO_MANY_REQUESTS,
                "locked",
                "too many failed logins: this account is locked for 15 minutes".into(),
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
    let district = state.district.clone();
    let (csrf, scope) = run(move || district.console_session(&token, now_ms())).await?;
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

fn author(district: &SqliteDistrict, scope: &ConsoleScope) -> Result<Author, ConsoleError> {
    let user = Uuid::parse_str(&scope.user_id).unwrap_or(SERVER_AUTHOR.user);
    Ok(Author::new(user, district.console_device_id()?))
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

async fn login(State(state): State<AppState>, headers: HeaderMap, body: String) -> R<Response> {
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
    let b: LoginBody = serde_json::from_str(&body).map_err(|e| {
        CErr(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("expected {{username, password}}: {e}"),
        )
    })?;
    let district = state.district.clone();
    let s = run(move || district.console_login(b.username.trim(), &b.password, now_ms())).await?;
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
    session(&state, &headers, true).await?;
    if let Some(token) = cookie_token(&headers) {
        let district = state.district.clone();
        run(move || Ok(district.console_logout(&token)?)).await?;
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
    let district = state.district.clone();
    let (csrf, scope) = run(move || district.console_session(&token, now_ms())).await?;
    let district = state.district.clone();
    let area = run(move || Ok(district.area_tree()?)).await?;
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
    let district = state.district.clone();
    let (deps, overrides) =
        run(move || Ok((district.departments()?, district.category_overrides()?))).await?;
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
    Ok(Json(
        json!({"departments": departments, "categories": categories}),
    ))
}

#[derive(Deserialize, Default)]
struct IssuesQ {
    state: Option<String>,
    overdue: Option<String>,
    grid: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

async fn issues(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<IssuesQ>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let district = state.district.clone();
    let page = run(move || {
        let query = IssueQuery {
            grid_ids: scope.narrow(q.grid.map(|g| vec![g])),
            states: q
                .state
                .map(|s| s.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
            overdue: q.overdue,
            now_ms: now_ms(),
            offset: q.offset.unwrap_or(0),
            limit: q.limit.unwrap_or(50),
            ..Default::default()
        };
        Ok(district.with_writer(|s| s.list_issues(&query))?)
    })
    .await?;
    Ok(Json(json!(page)))
}

async fn issue(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let id = doc_id(&id)?;
    let district = state.district.clone();
    let (issue, summary) = run(move || district.console_issue(&scope, id)).await?;
    Ok(Json(issue_json(&issue, &summary)))
}

fn issue_json(issue: &gridwalk_core::model::Issue, s: &workflow::IssueSummary) -> Value {
    // The reporter's phone is masked; the departments never get this view.
    let reporter = issue.reporter.as_ref().map(|r| {
        json!({"name": r.name, "phone": r.phone.as_deref().map(gridwalk_store::district::mask_phone)})
    });
    json!({
        "id": issue.id, "grid_id": issue.grid_id, "category": issue.category,
        "title": issue.title, "description": issue.description, "place": issue.place,
        "household_id": issue.household_id, "urgency": issue.urgency, "reporter": reporter,
        "created_at": issue.created_at,
        "state": s.state, "deadline": s.deadline, "department": s.department,
        "dispatched_at": s.dispatched_at, "closed_at": s.closed_at,
        "closed_on_time": s.closed_on_time, "rework_count": s.rework_count,
        "satisfaction": s.satisfaction,
        "overdue": s.overdue_level(now_ms()),
        "timeline": s.timeline,
    })
}

async fn issue_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, true).await?;
    let id = doc_id(&id)?;
    let action: IssueAction = serde_json::from_str(&body).map_err(|e| {
        CErr(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("expected {{kind: File|Void|Dispatch|Check|Close|Return|Evaluate|Comment, note, …}}: {e}"),
        )
    })?;
    let district = state.district.clone();
    let (issue, summary) = run(move || {
        let author = author(&district, &scope)?;
        let calendar = district.work_calendar()?;
        let categories = district.category_overrides()?;
        district.issue_action(
            &scope,
            id,
            &action,
            author,
            now_ms(),
            &calendar,
            &categories,
        )?;
        district.console_issue(&scope, id)
    })
    .await?;
    Ok(Json(issue_json(&issue, &summary)))
}

#[derive(Deserialize, Default)]
struct VisitsQ {
    grid: Option<String>,
    worker: Option<String>,
    /// A local date `YYYY-MM-DD` (Asia/Shanghai).
    day: Option<String>,
    review: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

async fn visits(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<VisitsQ>,
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
        offset: q.offset.unwrap_or(0),
        limit: q.limit.unwrap_or(50),
    };
    let district = state.district.clone();
    let (items, total) = run(move || district.console_visits(&scope, &query)).await?;
    Ok(Json(json!({"items": items, "total": total})))
}

/// Local midnight (Asia/Shanghai) of `YYYY-MM-DD`, in ms.
fn chrono_day(d: &str) -> Option<i64> {
    let date = d.parse().ok()?;
    gridwalk_core::deadline::local_midnight_ms(date)
}

async fn visit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let id = doc_id(&id)?;
    let district = state.district.clone();
    let v = run(move || district.console_visit(&scope, id)).await?;
    Ok(Json(json!(v)))
}

#[derive(Deserialize)]
struct ReviewBody {
    status: ReviewStatus,
    #[serde(default)]
    comment: String,
}

async fn review(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, true).await?;
    let id = doc_id(&id)?;
    let b: ReviewBody = serde_json::from_str(&body).map_err(|e| {
        CErr(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("expected {{status: Reviewed|Flagged, comment}}: {e}"),
        )
    })?;
    let district = state.district.clone();
    let v = run(move || {
        let author = author(&district, &scope)?;
        district.review_visit(&scope, id, b.status, &b.comment, author, now_ms())
    })
    .await?;
    Ok(Json(json!(v)))
}

async fn devices(State(state): State<AppState>, headers: HeaderMap) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let district = state.district.clone();
    let list = run(move || district.console_devices(&scope, now_ms())).await?;
    Ok(Json(json!(list)))
}

#[derive(Deserialize)]
struct SyncLogQ {
    device_id: String,
    limit: Option<usize>,
}

async fn sync_log(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SyncLogQ>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let district = state.district.clone();
    let store = state.store.clone();
    let entries = run(move || {
        if !district.console_device_in_scope(&scope, &q.device_id)? {
            return Err(ConsoleError::NotFound(format!("device {}", q.device_id)));
        }
        Ok(store.sync_logs(&SyncLogQuery {
            device_id: Some(q.device_id),
            limit: q.limit.unwrap_or(50),
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
    Ok(Json(Value::Array(entries)))
}

#[derive(Deserialize, Default)]
struct HouseholdsQ {
    q: Option<String>,
    grid: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

async fn households(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HouseholdsQ>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let district = state.district.clone();
    let page = run(move || {
        let query = HouseholdQuery {
            text: q.q.filter(|t| !t.trim().is_empty()),
            grid_ids: scope.narrow(q.grid.filter(|g| !g.is_empty()).map(|g| vec![g])),
            offset: q.offset.unwrap_or(0),
            limit: q.limit.unwrap_or(50),
            ..Default::default()
        };
        Ok(district.with_writer(|s| s.search_households(&query))?)
    })
    .await?;
    let mut v = json!(page);
    if let Some(items) = v["items"].as_array_mut() {
        for item in items {
            if let Some(p) = item["phone"].as_str() {
                item["phone"] = gridwalk_store::district::mask_phone(p).into();
            }
        }
    }
    Ok(Json(v))
}

async fn household(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let id = doc_id(&id)?;
    let district = state.district.clone();
    let d = run(move || district.console_household(&scope, id)).await?;
    Ok(Json(json!(d)))
}

#[derive(Deserialize)]
struct ResolveBody {
    path: Vec<String>,
    choice: usize,
}

async fn resolve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, true).await?;
    let id = doc_id(&id)?;
    let b: ResolveBody = serde_json::from_str(&body).map_err(|e| {
        CErr(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("expected {{path, choice}}: {e}"),
        )
    })?;
    let district = state.district.clone();
    let d = run(move || {
        let author = author(&district, &scope)?;
        district.resolve_conflict(&scope, id, &b.path, b.choice, author, now_ms())?;
        district.console_household(&scope, id)
    })
    .await?;
    Ok(Json(json!(d)))
}

#[derive(Deserialize, Default)]
struct IndicatorsQ {
    street: Option<String>,
    community: Option<String>,
    grid: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
}

async fn indicators(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<IndicatorsQ>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let district: Arc<SqliteDistrict> = state.district.clone();
    let started = std::time::Instant::now();
    let out = run(move || {
        let nonempty = |s: &Option<String>| s.clone().filter(|x| !x.is_empty());
        let wanted = match (
            nonempty(&q.grid),
            nonempty(&q.community),
            nonempty(&q.street),
        ) {
            (Some(g), _, _) => Some(vec![g]),
            (None, c, s) if c.is_some() || s.is_some() => {
                let Some(tree) = district.area_tree()? else {
                    return Ok(district.scoped_indicators(
                        &scope,
                        Some(vec![]),
                        q.from,
                        q.to,
                        now_ms(),
                    )?);
                };
                Some(
                    tree.grids
                        .iter()
                        .filter(|g| {
                            let street = tree
                                .communities
                                .iter()
                                .find(|x| x.code == g.community_code)
                                .map(|x| x.street_code.clone());
                            c.as_ref().is_none_or(|c| *c == g.community_code)
                                && s.as_ref().is_none_or(|s| Some(s) == street.as_ref())
                        })
                        .map(|g| g.id.clone())
                        .collect(),
                )
            }
            _ => None,
        };
        Ok(district.scoped_indicators(&scope, wanted, q.from, q.to, now_ms())?)
    })
    .await?;
    let mut v = json!(out);
    v["server_ms"] = json!(started.elapsed().as_millis() as u64);
    Ok(Json(v))
}
