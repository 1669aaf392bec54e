//! Issues: report one, list them, read the timeline, add a comment or feedback, mark one
//! solved on the spot (self-handled).

use super::{doc_id, now_ms, opt_text};
use crate::dto::{
    mirror, EventKind, IssueDetail, IssueEventInput, IssueFilter, IssuePage, NewIssue,
    TimelineEntry,
};
use crate::error::{AppError, AppResult};
use crate::mask::mask_free_text;
use crate::state::{author, AppState};
use gridwalk_core::model as m;
use gridwalk_core::workflow::{self, IssueState};
use gridwalk_core::{DocId, DocKind};
use gridwalk_store::{IssueQuery, Store};
use std::collections::BTreeMap;
use tauri::State;

pub(crate) fn report_issue_in(store: &mut Store, input: NewIssue) -> AppResult<String> {
    let a = author(store)?;
    let (grid_id, place) = match &input.household_id {
        Some(hid) => {
            let h: m::Household = store.read(doc_id(hid)?)?;
            let place = opt_text(Some(input.place.clone())).unwrap_or_else(|| h.address.short());
            (h.grid_id, place)
        }
        None => (
            store
                .sync_grids()?
                .into_iter()
                .next()
                .ok_or_else(AppError::not_enrolled)?,
            input.place.trim().to_string(),
        ),
    };
    let now = now_ms();
    let report = workflow::new_event(
        m::EventKind::Report,
        now,
        a.user.to_string(),
        a.device.to_string(),
        "",
    );
    let id = DocId::new_v7();
    let reporter = opt_text(input.reporter_name.clone()).map(|name| m::Reporter {
        name,
        phone: opt_text(input.reporter_phone.clone()),
    });
    let issue = m::Issue {
        id: id.to_string(),
        grid_id,
        category: input.category.clone(),
        title: input.title.trim().to_string(),
        description: input.description.trim().to_string(),
        place,
        household_id: input.household_id.clone(),
        reporter,
        urgency: mirror(&input.urgency)?,
        photos: BTreeMap::new(),
        gps: input.gps.map(|g| m::Gps {
            lat: g.lat,
            lon: g.lon,
        }),
        created_at: now,
        events: BTreeMap::from([(report.id.clone(), report)]),
    };
    store.create_issue(&issue, a, now)?;
    Ok(id.to_string())
}

#[tauri::command]
pub fn report_issue(state: State<'_, AppState>, issue: NewIssue) -> AppResult<String> {
    report_issue_in(&mut *state.store()?, issue)
}

pub(crate) fn list_in(store: &Store, f: &IssueFilter) -> AppResult<IssuePage> {
    let me = store.device_author()?.map(|a| a.user.to_string());
    let now = now_ms();
    let page = store.list_issues(&IssueQuery {
        household_id: f.household_id.clone(),
        reported_by: if f.mine {
            me.clone().or(Some(String::new()))
        } else {
            None
        },
        states: if f.open_only {
            [
                "Reported",
                "Filed",
                "Dispatched",
                "InProgress",
                "Feedback",
                "Checking",
                "SelfHandled",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        } else {
            vec![]
        },
        now_ms: now,
        offset: f.offset as usize,
        limit: if f.limit == 0 { 50 } else { f.limit as usize },
        ..IssueQuery::default()
    })?;
    let ids: Vec<&str> = page.items.iter().map(|r| r.doc_id.as_str()).collect();
    let by = crate::queries::reporters(store, &ids)?;
    Ok(IssuePage {
        total: page.total as u32,
        items: page
            .items
            .iter()
            .zip(by)
            .map(|(r, by)| crate::queries::issue_row(r, me.as_deref(), by.as_deref(), now))
            .collect(),
    })
}

#[tauri::command]
pub fn list_issues(state: State<'_, AppState>, filter: IssueFilter) -> AppResult<IssuePage> {
    list_in(&*state.store()?, &filter)
}

/// What the worker's app offers in a state: a comment always, self-handling a freshly
/// reported issue, feedback while it is in progress.
fn allowed(state: Option<IssueState>) -> Vec<EventKind> {
    let mut out = vec![];
    if state.is_some() {
        out.push(EventKind::Comment);
    }
    match state {
        Some(IssueState::Reported) => out.push(EventKind::SelfHandle),
        Some(IssueState::InProgress) => out.push(EventKind::Feedback),
        _ => {}
    }
    out
}

pub(crate) fn detail_in(store: &Store, id: &str) -> AppResult<IssueDetail> {
    let did = doc_id(id)?;
    let doc = store.load(did)?;
    if doc.kind != DocKind::Issue {
        return Err(AppError::not_found(format!("{id} is not an issue")));
    }
    let issue: m::Issue = doc.read()?;
    let summary = workflow::fold(&issue);
    let me = store.device_author()?.map(|a| a.user.to_string());
    let page = store.list_issues(&IssueQuery {
        household_id: issue.household_id.clone(),
        now_ms: now_ms(),
        limit: 500,
        ..IssueQuery::default()
    })?;
    let row = page
        .items
        .iter()
        .find(|r| r.doc_id == id)
        .ok_or_else(|| AppError::not_found(format!("issue {id}")))?;
    let by = issue.timeline().first().map(|e| e.by_user.clone());
    let household_address = match &issue.household_id {
        Some(h) => doc_id(h)
            .ok()
            .and_then(|d| store.read::<m::Household>(d).ok())
            .map(|h| h.address.short()),
        None => None,
    };
    Ok(IssueDetail {
        row: crate::queries::issue_row(row, me.as_deref(), by.as_deref(), now_ms()),
        description: mask_free_text(&issue.description),
        place: mask_free_text(&issue.place),
        household_address,
        department: summary.department.clone(),
        allowed_events: allowed(summary.state),
        timeline: summary
            .timeline
            .iter()
            .map(|t| {
                Ok(TimelineEntry {
                    id: t.event.id.clone(),
                    kind: mirror(&t.event.kind)?,
                    at: t.event.at,
                    mine: me.as_deref() == Some(t.event.by_user.as_str()),
                    by_user: t.event.by_user.clone(),
                    note: mask_free_text(&t.event.note),
                    department: t.event.department.clone(),
                    deadline: t.event.deadline,
                    applied: t.applied,
                    rejected_reason: t.rejected_reason.clone(),
                    state_after: t.state_after.map(|s| mirror(&s)).transpose()?,
                })
            })
            .collect::<AppResult<_>>()?,
    })
}

#[tauri::command]
pub fn get_issue(state: State<'_, AppState>, id: String) -> AppResult<IssueDetail> {
    detail_in(&*state.store()?, &id)
}

pub(crate) fn add_event_in(store: &mut Store, input: IssueEventInput) -> AppResult<IssueDetail> {
    let a = author(store)?;
    if !matches!(
        input.kind,
        EventKind::Comment | EventKind::SelfHandle | EventKind::Feedback
    ) {
        return Err(AppError::bad_request(
            "the worker's app adds comments, feedback and self-handling only",
        ));
    }
    if input.kind != EventKind::SelfHandle && input.note.trim().is_empty() {
        return Err(AppError::field("note", "Required", "write what happened"));
    }
    let did = doc_id(&input.issue_id)?;
    let current: m::Issue = store.read(did)?;
    let state = workflow::fold(&current).state;
    if !allowed(state).contains(&input.kind) {
        return Err(AppError::bad_request(
            "this step is not possible in the issue's current state",
        ));
    }
    let now = now_ms();
    let event = workflow::new_event(
        mirror(&input.kind)?,
        now,
        a.user.to_string(),
        a.device.to_string(),
        input.note.trim(),
    );
    store.edit::<m::Issue, _>(DocKind::Issue, did, a, now, "issue event", |i| {
        i.events.insert(event.id.clone(), event);
        Ok(())
    })?;
    detail_in(store, &input.issue_id)
}

#[tauri::command]
pub fn add_issue_event(
    state: State<'_, AppState>,
    input: IssueEventInput,
) -> AppResult<IssueDetail> {
    add_event_in(&mut *state.store()?, input)
}
