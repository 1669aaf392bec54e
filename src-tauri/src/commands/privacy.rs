//! Privacy: reveal a masked ID number or phone (recorded first), the reveal log, and
//! drafts of half-filled forms.

use super::{doc_id, now_ms};
use crate::dto::{AuditEntry, PiiField, RevealInput};
use crate::error::{AppError, AppResult};
use crate::state::{author, AppState};
use gridwalk_core::model as m;
use gridwalk_store::Store;
use tauri::State;

pub(crate) fn reveal_in(store: &Store, input: &RevealInput) -> AppResult<String> {
    let a = author(store)?;
    if input.reason.trim().is_empty() {
        return Err(AppError::field(
            "reason",
            "Required",
            "say why the full number is needed",
        ));
    }
    let h: m::Household = store.read(doc_id(&input.household_id)?)?;
    let value = match (&input.person_id, input.field) {
        (None, PiiField::Phone) => h.phone.clone(),
        (None, PiiField::IdNumber) => None,
        (Some(pid), field) => {
            let p = h
                .members
                .get(pid)
                .ok_or_else(|| AppError::not_found(format!("member {pid}")))?;
            match field {
                PiiField::Phone => p.phone.clone(),
                PiiField::IdNumber => p.id_number.clone(),
            }
        }
    }
    .ok_or_else(|| AppError::not_found("no value to reveal"))?;
    // Recorded before the value leaves: no reveal without its audit row.
    crate::local::record_reveal(
        store,
        &AuditEntry {
            at: now_ms(),
            user_id: a.user.to_string(),
            household_id: input.household_id.clone(),
            person_id: input.person_id.clone(),
            field: format!("{:?}", input.field),
            reason: input.reason.trim().to_string(),
        },
    )?;
    Ok(value)
}

#[tauri::command]
pub fn reveal_pii(state: State<'_, AppState>, input: RevealInput) -> AppResult<String> {
    reveal_in(&*state.store()?, &input)
}

#[tauri::command]
pub fn list_reveals(state: State<'_, AppState>) -> AppResult<Vec<AuditEntry>> {
    crate::local::reveals(&*state.store()?, 200)
}

#[tauri::command]
pub fn save_draft(state: State<'_, AppState>, key: String, json: String) -> AppResult<()> {
    crate::local::save_draft(&mut *state.store()?, &key, &json)
}

#[tauri::command]
pub fn load_draft(state: State<'_, AppState>, key: String) -> AppResult<Option<String>> {
    crate::local::load_draft(&*state.store()?, &key)
}

#[tauri::command]
pub fn clear_draft(state: State<'_, AppState>, key: String) -> AppResult<()> {
    crate::local::clear_draft(&*state.store()?, &key)
}
