//! The issue desk: list, open, and act on issues (each action an event in the document).

use super::*;
use gridwalk_district_sqlite::ConsoleStep;

#[derive(Deserialize, Default)]
pub(super) struct IssuesQ {
    state: Option<String>,
    overdue: Option<String>,
    grid: Option<String>,
    offset: Option<u32>,
    limit: Option<u32>,
}

pub(super) async fn issues(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<IssuesQ>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let district = state.console.clone();
    let page = run(move || {
        let query = IssueQuery {
            grid_ids: q.grid.map(|g| vec![g]),
            states: q
                .state
                .map(|s| s.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
            overdue: q.overdue,
            now_ms: now_ms(),
            offset: q.offset.unwrap_or(0) as usize,
            limit: q.limit.unwrap_or(50) as usize,
            ..Default::default()
        };
        district.console_issues(&scope, &query)
    })
    .await?;
    Ok(masked(page))
}

pub(super) async fn issue(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, false).await?;
    let id = doc_id(&id)?;
    let district = state.console.clone();
    let (issue, summary) = run(move || district.console_issue(&scope, id)).await?;
    Ok(masked(issue_json(&issue, &summary)))
}

fn issue_json(issue: &gridwalk_core::model::Issue, s: &workflow::IssueSummary) -> Value {
    // Masked by the caller ([`masked`]); the departments never get this view.
    let reporter = issue
        .reporter
        .as_ref()
        .map(|r| json!({"name": r.name, "phone": r.phone}));
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
        // Event id → its photos (the report's "before", feedback's and check's "after");
        // "" → photos given with the issue itself.
        "photos": photos_json(issue),
    })
}

fn photos_json(issue: &gridwalk_core::model::Issue) -> Value {
    let mut out = serde_json::Map::new();
    let own = std::iter::once((String::new(), &issue.photos));
    let events = issue.events.iter().map(|(id, e)| (id.clone(), &e.photos));
    for (id, photos) in own.chain(events).filter(|(_, p)| !p.is_empty()) {
        let list: Vec<&gridwalk_core::model::PhotoRef> = photos.values().collect();
        out.insert(id, json!(list));
    }
    Value::Object(out)
}

/// A step's body: the action, and the photos the supervisor attached (each uploaded
/// first through [`super::attach::upload`]).
#[derive(Deserialize)]
struct ActionBody {
    #[serde(flatten)]
    action: IssueAction,
    #[serde(default)]
    photos: Vec<gridwalk_core::model::PhotoRef>,
}

pub(super) async fn issue_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> R<Json<Value>> {
    let scope = session(&state, &headers, true).await?;
    let id = doc_id(&id)?;
    let ActionBody { action, photos } = json_body(
        &body,
        "{kind: File|Void|Dispatch|Check|Close|Return|Evaluate|Comment, note, photos?, …}",
    )?;
    let photos = super::attach::checked(state.blobs.clone(), photos).await?;
    let district = state.console.clone();
    let (issue, summary) = run(move || {
        let calendar = district.work_calendar()?;
        let categories = district.category_overrides()?;
        let step = ConsoleStep {
            author: author(&*district, &scope)?,
            now_ms: now_ms(),
            calendar: &calendar,
            categories: &categories,
        };
        district.issue_action_with_photos(&scope, id, &action, &photos, &step)?;
        district.console_issue(&scope, id)
    })
    .await?;
    Ok(masked(issue_json(&issue, &summary)))
}
