//! Issues: report one, list them, read the timeline, add a comment or feedback, mark one
//! solved on the spot (self-handled).

use super::{doc_id, now_ms, opt_text};
use crate::dto::{
    mirror, EventKind, IssueDetail, IssueEventInput, IssueFilter, IssuePage, NewIssue,
    TimelineEntry,
};
use crate::error::{AppError, AppResult};
use crate::mask::mask_free_text;
use crate::state::{actor, author, AppState};
use gridwalk_core::authorize::{self, Action, Actor, Facts, Image};
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
    let mut report = workflow::new_event(
        m::EventKind::Report,
        now,
        a.user.to_string(),
        a.device.to_string(),
        "",
    );
    report.photos = super::photos::refs(store, &input.photos)?;
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
    let household = match &input.household_id {
        Some(h) => Some((h.clone(), store.read::<m::Household>(doc_id(h)?)?.grid_id)),
        None => None,
    };
    let hg = household.as_ref().map(|(h, g)| (h.as_str(), g.as_str()));
    check(&actor(store)?, None, Image::Issue(&issue), hg)?;
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

/// The steps the app offers: of those the app takes (a comment, self-handling, and the
/// department's feedback recorded on its behalf), the ones the user's role may take
/// (`gridwalk_core::authorize`, the rule the server applies) and the issue's state allows.
fn allowed(actor: &Actor, state: Option<IssueState>) -> Vec<EventKind> {
    [
        m::EventKind::Comment,
        m::EventKind::SelfHandle,
        m::EventKind::Feedback,
    ]
    .into_iter()
    .filter(|k| authorize::may(actor, Action::IssueEvent(*k)))
    .filter(|k| workflow::transition(state, *k).is_ok())
    .filter_map(|k| mirror(&k).ok())
    .collect()
}

/// Refuse what the server would refuse, before anything is written.
pub(crate) fn check(
    actor: &Actor,
    before: Option<Image<'_>>,
    after: Image<'_>,
    household_grid: Option<(&str, &str)>,
) -> AppResult<()> {
    let facts = Facts {
        household_grids: household_grid
            .map(|(h, g)| (h.to_string(), g.to_string()))
            .into_iter()
            .collect(),
    };
    Ok(authorize::authorize(actor, before, after, &facts)?)
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
        allowed_events: match store.device_actor()? {
            Some(actor) => allowed(&actor, summary.state),
            None => vec![],
        },
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
                    photos: super::photos::dtos(store, &t.event.photos)?,
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
    let me = actor(store)?;
    if !matches!(
        input.kind,
        EventKind::Comment | EventKind::SelfHandle | EventKind::Feedback
    ) {
        return Err(AppError::bad_request(
            "the app adds comments, feedback and self-handling only",
        ));
    }
    // A photo alone is a note too (补充说明).
    if input.kind != EventKind::SelfHandle
        && input.note.trim().is_empty()
        && input.photos.is_empty()
    {
        return Err(AppError::field("note", "Required", "write what happened"));
    }
    let did = doc_id(&input.issue_id)?;
    let current: m::Issue = store.read(did)?;
    let kind: m::EventKind = mirror(&input.kind)?;
    let state = workflow::fold(&current).state;
    if workflow::transition(state, kind).is_err() {
        return Err(AppError::bad_request(
            "this step is not possible in the issue's current state",
        ));
    }
    let now = now_ms();
    let mut event = workflow::new_event(
        kind,
        now,
        a.user.to_string(),
        a.device.to_string(),
        input.note.trim(),
    );
    event.photos = super::photos::refs(store, &input.photos)?;
    let mut after = current.clone();
    after.events.insert(event.id.clone(), event.clone());
    check(
        &me,
        Some(Image::Issue(&current)),
        Image::Issue(&after),
        None,
    )?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_core::authorize::Role;
    use gridwalk_core::demo::{generate, DemoParams, DEFAULT_NOW_MS};

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: "me".into(),
            role,
            grids: Some(vec!["g".into()]),
            key_person_grant: false,
        }
    }

    #[test]
    fn the_app_offers_only_what_the_role_may_do_in_the_state() {
        use EventKind::*;
        let (w, s) = (actor(Role::Worker), actor(Role::Supervisor));
        assert_eq!(
            allowed(&w, Some(IssueState::Reported)),
            vec![Comment, SelfHandle]
        );
        // The department's feedback is recorded by a supervisor on its behalf only.
        assert_eq!(allowed(&w, Some(IssueState::InProgress)), vec![Comment]);
        assert_eq!(
            allowed(&s, Some(IssueState::InProgress)),
            vec![Comment, Feedback]
        );
        assert!(allowed(&actor(Role::Admin), Some(IssueState::Reported)).is_empty());
        assert!(allowed(&w, None).is_empty());
    }

    #[test]
    fn a_change_the_server_would_refuse_is_a_typed_forbidden_error() {
        let demo = generate(&DemoParams::single_grid(20, 5, DEFAULT_NOW_MS));
        let mut v = demo.visits[0].clone();
        (v.grid_id, v.worker_id) = ("g".into(), "someone else".into());
        let err = check(&actor(Role::Worker), None, Image::Visit(&v), None).unwrap_err();
        match err {
            AppError::Forbidden { path, message } => {
                assert_eq!(path.as_deref(), Some("worker_id"));
                assert!(message.contains(" / "), "zh-CN then English: {message}");
            }
            other => panic!("expected Forbidden, got {other:?}"),
        }
        v.worker_id = "me".into();
        assert_eq!(
            check(&actor(Role::Worker), None, Image::Visit(&v), None),
            Ok(())
        );
    }
}
