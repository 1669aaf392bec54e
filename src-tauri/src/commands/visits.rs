//! Visits (a log: appended, never rewritten) and the Today screen.

use super::{doc_id, now_ms, opt_text};
use crate::dto::{mirror, NewVisit, Today, VisitRule};
use crate::error::AppResult;
use crate::state::{actor, author, AppState};
use gridwalk_core::authorize::Image;
use gridwalk_core::model as m;
use gridwalk_core::DocId;
use gridwalk_store::{IssueQuery, Store};
use tauri::State;

pub(crate) fn create_visit_in(store: &mut Store, input: NewVisit) -> AppResult<String> {
    let a = author(store)?;
    let h: m::Household = store.read(doc_id(&input.household_id)?)?;
    let id = DocId::new_v7();
    let now = now_ms();
    let visit = m::Visit {
        id: id.to_string(),
        household_id: h.id,
        grid_id: h.grid_id,
        worker_id: a.user.to_string(),
        device_id: a.device.to_string(),
        at: now,
        mode: mirror(&input.mode)?,
        findings: input.findings.trim().to_string(),
        needs: input.needs.trim().to_string(),
        follow_up: opt_text(input.follow_up),
        linked_issues: input.linked_issues.into_iter().map(|i| (i, true)).collect(),
        photos: super::photos::refs(store, &input.photos)?,
        gps: input.gps.map(|g| m::Gps {
            lat: g.lat,
            lon: g.lon,
        }),
        review: None,
    };
    let hg = Some((visit.household_id.as_str(), visit.grid_id.as_str()));
    super::issues::check(&actor(store)?, None, Image::Visit(&visit), hg)?;
    store.create_visit(&visit, a, now)?;
    Ok(id.to_string())
}

#[tauri::command]
pub fn create_visit(state: State<'_, AppState>, visit: NewVisit) -> AppResult<String> {
    create_visit_in(&mut *state.store()?, visit)
}

const OPEN_STATES: [&str; 7] = [
    "Reported",
    "Filed",
    "Dispatched",
    "InProgress",
    "Feedback",
    "Checking",
    "SelfHandled",
];

pub(crate) fn today_of(store: &Store, now: i64) -> AppResult<Today> {
    let today = gridwalk_store::local_date(now)
        .format("%Y-%m-%d")
        .to_string();
    let due = crate::queries::due_visits(store, now)?;
    let count = |r: VisitRule| due.iter().filter(|d| d.rule == r).count() as u32;
    let (w, mo, q) = (
        count(VisitRule::Weekly),
        count(VisitRule::Monthly),
        count(VisitRule::Quarterly),
    );
    let me = store.device_author()?.map(|a| a.user.to_string());
    let my_open_issues = match &me {
        Some(user) => store
            .list_issues(&IssueQuery {
                states: OPEN_STATES.iter().map(|s| s.to_string()).collect(),
                reported_by: Some(user.clone()),
                now_ms: now,
                limit: 100,
                ..IssueQuery::default()
            })?
            .items
            .iter()
            .map(|r| crate::queries::issue_row(r, Some(user), Some(user), now))
            .collect(),
        None => vec![],
    };
    Ok(Today {
        due_total: due.len() as u32,
        due_weekly: w,
        due_monthly: mo,
        due_quarterly: q,
        due_visits: due.into_iter().take(100).collect(),
        follow_ups: crate::queries::follow_ups(store, &today, 50)?,
        my_open_issues,
        pending_changes: store.outbox_len()? as u32,
        last_sync_at: store.last_sync_at()?,
        today,
    })
}

#[tauri::command]
pub fn get_today(state: State<'_, AppState>) -> AppResult<Today> {
    today_of(&*state.store()?, now_ms())
}
