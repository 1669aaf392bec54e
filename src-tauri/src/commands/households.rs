//! The household list: search (name, pinyin initials, address fragment, phone or ID
//! tail), tag filters, paging, and the building → unit tree.

use crate::dto::{Building, HouseholdPage, HouseholdQuery, HouseholdRow};
use crate::error::AppResult;
use crate::mask::mask_phone;
use crate::state::AppState;
use gridwalk_core::search_keys::pinyin_initials;
use tauri::State;

pub(crate) fn search(
    store: &gridwalk_store::Store,
    q: &HouseholdQuery,
) -> AppResult<HouseholdPage> {
    let page = store.search_households(&gridwalk_store::HouseholdQuery {
        text: q.text.clone().filter(|t| !t.trim().is_empty()),
        tags: q.tags.clone(),
        building_no: q.building_no.clone(),
        unit: q.unit.clone(),
        grid_ids: None,
        sort: gridwalk_store::HouseholdSort::Address,
        offset: q.offset as usize,
        limit: if q.limit == 0 { 50 } else { q.limit as usize },
    })?;
    Ok(HouseholdPage {
        total: page.total as u32,
        offset: page.offset as u32,
        items: page
            .items
            .into_iter()
            .map(|r| HouseholdRow {
                head_initials: pinyin_initials(&r.head_name),
                id: r.doc_id,
                address: r.address,
                building_no: r.building_no,
                unit: r.unit,
                room: r.room,
                head_name: r.head_name,
                phone_masked: r.phone.as_deref().map(mask_phone),
                member_count: r.member_count as u32,
                tags: r.tags,
                last_visit_at: r.last_visit_at,
                complete: r.complete,
                conflicts: r.conflicts as u32,
            })
            .collect(),
    })
}

#[tauri::command]
pub fn search_households(
    state: State<'_, AppState>,
    query: HouseholdQuery,
) -> AppResult<HouseholdPage> {
    search(&*state.store()?, &query)
}

#[tauri::command]
pub fn list_buildings(state: State<'_, AppState>) -> AppResult<Vec<Building>> {
    crate::queries::buildings(&*state.store()?)
}
