//! Sync: status, sync now, and the reference lists the screens need.

use crate::dto::{Label, Reference, Status};
use crate::error::AppResult;
use crate::keystore::KeyHome;
use crate::state::AppState;
use tauri::State;

pub(crate) fn status_of(state: &AppState) -> AppResult<Status> {
    let (key_storage, key_storage_reason) = match state.device.key_home() {
        KeyHome::SecretStore => ("secret_store", None),
        KeyHome::KeyFile { reason } => ("key_file", Some(reason)),
    };
    let store = state.store()?;
    let author = store.device_author()?;
    let actor = store.device_actor()?;
    let households: i64 =
        store
            .connection()
            .query_row("SELECT count(*) FROM households", [], |r| r.get(0))?;
    Ok(Status {
        enrolled: author.is_some(),
        display_name: store.meta_get("device.display_name")?,
        user_id: author.map(|a| a.user.to_string()),
        device_id: author.map(|a| a.device.to_string()),
        server_url: store.meta_get("server.url")?,
        grids: store.sync_grids()?,
        pending_changes: store.outbox_len()? as u32,
        last_sync_at: store.last_sync_at()?,
        households: households as u32,
        rejected: store
            .push_rejections()?
            .into_iter()
            .map(|r| crate::dto::Rejection {
                doc_id: r.doc_id,
                code: r.code,
                message: r.message,
            })
            .collect(),
        sync: state.sync.state(),
        data_dir: state.data_dir.display().to_string(),
        start_route: state.start_route.clone(),
        role: actor.as_ref().map(|a| a.role.as_str().to_string()),
        may_record_visit: actor.is_some_and(|a| {
            gridwalk_core::authorize::may(&a, gridwalk_core::authorize::Action::RecordVisit)
        }),
        key_storage: key_storage.to_string(),
        key_storage_reason,
    })
}

#[tauri::command]
pub fn get_status(state: State<'_, AppState>) -> AppResult<Status> {
    status_of(&state)
}

/// Start a sync now; progress and the result come as `sync-state` events.
#[tauri::command]
pub fn sync_now(state: State<'_, AppState>) -> AppResult<Status> {
    state.sync.request();
    status_of(&state)
}

#[tauri::command]
pub fn get_reference() -> AppResult<Reference> {
    use gridwalk_core::{deadline::CATEGORIES, model, workflow::IssueState};
    let label = |c: &str, zh: &str, en: &str| Label {
        code: c.into(),
        zh: zh.into(),
        en: en.into(),
    };
    Ok(Reference {
        care_tags: model::CARE_TAGS
            .iter()
            .map(|(c, zh, en)| label(c, zh, en))
            .collect(),
        high_risk_tags: model::HIGH_RISK_TAGS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        categories: CATEGORIES
            .iter()
            .map(|c| label(c.code, c.zh, c.en))
            .collect(),
        issue_states: IssueState::ALL
            .iter()
            .map(|s| {
                let code = serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                label(&code, s.zh(), s.en())
            })
            .collect(),
    })
}

/// Milliseconds since the process started, logged with its name: the benchmark's marks.
#[tauri::command]
pub fn perf_mark(state: State<'_, AppState>, name: String) -> f64 {
    let ms = state.started.elapsed().as_secs_f64() * 1000.0;
    eprintln!("gridwalk-perf {name} {ms:.1}");
    ms
}
