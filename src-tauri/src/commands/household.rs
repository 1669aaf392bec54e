//! One household: read it (masked), edit its fields and members, see and resolve its
//! conflicts. Every edit is one change, validated before it is written; the errors name
//! the field so the form can show them in place.

use super::{doc_id, now_ms, opt_text};
use crate::dto::{
    self, mirror, Conflict, ConflictValue, Household, HouseholdDetail, HouseholdPatch, MemberPatch,
    NewMember, Person,
};
use crate::error::{AppError, AppResult};
use crate::mask::{
    birth_year, mask_for_path, mask_free_text, mask_id_number, mask_phone, unmask_free_text,
};
use crate::state::{author, AppState};
use gridwalk_core::model as m;
use gridwalk_core::{CoreError, DocKind};
use gridwalk_store::{IssueQuery, Store};
use std::collections::BTreeMap;
use tauri::State;

fn person_dto(p: &m::Person) -> AppResult<Person> {
    Ok(Person {
        id: p.id.clone(),
        name: p.name.clone(),
        sex: mirror(&p.sex)?,
        birth_year: p.birth_date.as_deref().and_then(birth_year),
        id_number_masked: p.id_number.as_deref().map(mask_id_number),
        phone_masked: p.phone.as_deref().map(mask_phone),
        relation: mirror(&p.relation)?,
        population_type: mirror(&p.population_type)?,
        status: mirror(&p.status)?,
        tags: p
            .tags
            .iter()
            .filter(|(_, on)| **on)
            .map(|(t, _)| t.clone())
            .collect(),
        has_disability_cert: p.disability_cert.is_some(),
        notes: mask_free_text(&p.notes),
    })
}

pub(crate) fn household_dto(h: &m::Household) -> AppResult<Household> {
    let mut members: Vec<&m::Person> = h.members.values().collect();
    // Head first, then the living, then moved out and deceased.
    members.sort_by_key(|p| {
        (
            Some(&p.id) != h.head_person_id.as_ref(),
            p.status != m::PersonStatus::Living,
            p.name.clone(),
        )
    });
    let care_tags: Vec<String> = h.care_tags().into_iter().map(str::to_string).collect();
    let restricted = h.living_members().flat_map(|p| {
        p.restricted_tags
            .iter()
            .filter(|(_, on)| **on)
            .map(|(t, _)| t.as_str())
    });
    let rule = crate::queries::visit_rule(care_tags.iter().map(String::as_str).chain(restricted));
    Ok(Household {
        id: h.id.clone(),
        grid_id: h.grid_id.clone(),
        address: dto::Address {
            community_code: h.address.community_code.clone(),
            building_no: h.address.building_no.clone(),
            building_name: h.address.building_name.clone(),
            unit: h.address.unit.clone(),
            floor: h.address.floor,
            room: h.address.room.clone(),
            short: h.address.short(),
        },
        housing_use: mirror(&h.housing_use)?,
        household_type: mirror(&h.household_type)?,
        head_person_id: h.head_person_id.clone(),
        phone_masked: h.phone.as_deref().map(mask_phone),
        members: members
            .into_iter()
            .map(person_dto)
            .collect::<AppResult<_>>()?,
        notes: mask_free_text(&h.notes),
        gps: h.gps.map(|g| dto::Gps {
            lat: g.lat,
            lon: g.lon,
        }),
        care_tags,
        visit_rule: rule,
    })
}

fn display_value(path: &[String], v: &serde_json::Value) -> String {
    let text = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    mask_for_path(path, &text)
}

pub(crate) fn detail(store: &Store, id: &str) -> AppResult<HouseholdDetail> {
    let did = doc_id(id)?;
    let doc = store.load(did)?;
    if doc.kind != DocKind::Household {
        return Err(AppError::not_found(format!("{id} is not a household")));
    }
    let h: m::Household = doc.read()?;
    let me = store.device_author()?;
    let conflicts = doc
        .conflicts()
        .into_iter()
        // Restricted fields never reach the worker's screen.
        .filter(|c| !c.path.iter().any(|p| p == "restricted_tags"))
        .map(|c| {
            let person_name = (c.path.first().map(String::as_str) == Some("members"))
                .then(|| {
                    c.path
                        .get(1)
                        .and_then(|pid| h.members.get(pid))
                        .map(|p| p.name.clone())
                })
                .flatten();
            Conflict {
                person_name,
                values: c
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| ConflictValue {
                        index: i as u32,
                        display: display_value(&c.path, &v.value),
                        author_user: v.author.map(|a| a.user.to_string()),
                        author_device: v.author.map(|a| a.device.to_string()),
                        mine: me.is_some() && v.author.map(|a| a.device) == me.map(|a| a.device),
                        at: v.at,
                    })
                    .collect(),
                path: c.path,
            }
        })
        .collect();
    let me_user = me.map(|a| a.user.to_string());
    let visits = crate::queries::household_visits(store, id, me_user.as_deref())?;
    let page = store.list_issues(&IssueQuery {
        household_id: Some(id.to_string()),
        now_ms: now_ms(),
        limit: 100,
        ..IssueQuery::default()
    })?;
    let ids: Vec<&str> = page.items.iter().map(|r| r.doc_id.as_str()).collect();
    let reporters = crate::queries::reporters(store, &ids)?;
    let now = now_ms();
    let issues = page
        .items
        .iter()
        .zip(reporters)
        .map(|(r, by)| crate::queries::issue_row(r, me_user.as_deref(), by.as_deref(), now))
        .collect();
    Ok(HouseholdDetail {
        household: household_dto(&h)?,
        conflicts,
        visits,
        issues,
    })
}

#[tauri::command]
pub fn get_household(state: State<'_, AppState>, id: String) -> AppResult<HouseholdDetail> {
    detail(&*state.store()?, &id)
}

fn schema(msg: String) -> CoreError {
    CoreError::Schema(msg)
}

fn set_tags(p: &mut m::Person, tags: &[String]) -> Result<(), CoreError> {
    for t in tags {
        if !m::is_care_tag(t) {
            return Err(schema(format!("unknown tag {t:?}")));
        }
    }
    // Tags are a map of tag → true: switch off what was removed, so a concurrent add of
    // another tag on another device is kept.
    for (t, on) in p.tags.iter_mut() {
        *on = tags.contains(t);
    }
    for t in tags {
        p.tags.insert(t.clone(), true);
    }
    p.tags.retain(|_, on| *on);
    Ok(())
}

pub(crate) fn update_household_in(
    store: &mut Store,
    id: &str,
    patch: HouseholdPatch,
) -> AppResult<HouseholdDetail> {
    let a = author(store)?;
    store.edit::<m::Household, _>(
        DocKind::Household,
        doc_id(id)?,
        a,
        now_ms(),
        "edit household",
        |h| {
            if let Some(u) = &patch.housing_use {
                h.housing_use = mirror(u).map_err(|e| schema(e.to_string()))?;
            }
            if let Some(t) = &patch.household_type {
                h.household_type = mirror(t).map_err(|e| schema(e.to_string()))?;
            }
            if let Some(p) = patch.phone.clone() {
                h.phone = opt_text(Some(p));
            }
            if let Some(n) = &patch.notes {
                // The form showed the note masked: keep the numbers it did not change.
                h.notes = unmask_free_text(n, &h.notes);
            }
            Ok(())
        },
    )?;
    detail(store, id)
}

#[tauri::command]
pub fn update_household(
    state: State<'_, AppState>,
    id: String,
    patch: HouseholdPatch,
) -> AppResult<HouseholdDetail> {
    update_household_in(&mut *state.store()?, &id, patch)
}

#[tauri::command]
pub fn add_member(
    state: State<'_, AppState>,
    household_id: String,
    member: NewMember,
) -> AppResult<HouseholdDetail> {
    let mut store = state.store()?;
    let a = author(&store)?;
    let pid = uuid::Uuid::now_v7().to_string();
    store.edit::<m::Household, _>(
        DocKind::Household,
        doc_id(&household_id)?,
        a,
        now_ms(),
        "add member",
        |h| {
            let mut p = m::Person {
                id: pid.clone(),
                name: member.name.trim().to_string(),
                sex: mirror(&member.sex).map_err(|e| schema(e.to_string()))?,
                birth_date: opt_text(member.birth_date.clone()),
                id_number: opt_text(member.id_number.clone()).map(|s| s.to_uppercase()),
                phone: opt_text(member.phone.clone()),
                relation: mirror(&member.relation).map_err(|e| schema(e.to_string()))?,
                population_type: mirror(&member.population_type)
                    .map_err(|e| schema(e.to_string()))?,
                status: m::PersonStatus::Living,
                tags: BTreeMap::new(),
                restricted_tags: BTreeMap::new(),
                disability_cert: opt_text(member.disability_cert.clone()),
                notes: member.notes.clone(),
            };
            set_tags(&mut p, &member.tags)?;
            if p.relation == m::Relation::Head && h.head_person_id.is_none() {
                h.head_person_id = Some(pid.clone());
            }
            h.members.insert(pid.clone(), p);
            Ok(())
        },
    )?;
    detail(&store, &household_id)
}

pub(crate) fn update_member_in(
    store: &mut Store,
    household_id: &str,
    person_id: &str,
    patch: MemberPatch,
) -> AppResult<HouseholdDetail> {
    let a = author(store)?;
    store.edit::<m::Household, _>(
        DocKind::Household,
        doc_id(household_id)?,
        a,
        now_ms(),
        "edit member",
        |h| {
            let p = h
                .members
                .get_mut(person_id)
                .ok_or_else(|| schema(format!("no member {person_id}")))?;
            if let Some(v) = &patch.name {
                p.name = v.trim().to_string();
            }
            if let Some(v) = &patch.sex {
                p.sex = mirror(v).map_err(|e| schema(e.to_string()))?;
            }
            if let Some(v) = patch.birth_date.clone() {
                p.birth_date = opt_text(Some(v));
            }
            if let Some(v) = patch.id_number.clone() {
                p.id_number = opt_text(Some(v)).map(|s| s.to_uppercase());
            }
            if let Some(v) = patch.phone.clone() {
                p.phone = opt_text(Some(v));
            }
            if let Some(v) = &patch.relation {
                p.relation = mirror(v).map_err(|e| schema(e.to_string()))?;
            }
            if let Some(v) = &patch.population_type {
                p.population_type = mirror(v).map_err(|e| schema(e.to_string()))?;
            }
            if let Some(v) = &patch.status {
                p.status = mirror(v).map_err(|e| schema(e.to_string()))?;
            }
            if let Some(v) = patch.disability_cert.clone() {
                p.disability_cert = opt_text(Some(v));
            }
            if let Some(v) = &patch.notes {
                p.notes = unmask_free_text(v, &p.notes);
            }
            if let Some(tags) = &patch.tags {
                set_tags(p, tags)?;
            }
            Ok(())
        },
    )?;
    detail(store, household_id)
}

#[tauri::command]
pub fn update_member(
    state: State<'_, AppState>,
    household_id: String,
    person_id: String,
    patch: MemberPatch,
) -> AppResult<HouseholdDetail> {
    update_member_in(&mut *state.store()?, &household_id, &person_id, patch)
}

/// Keep one side of a conflict: `choice` is the index of the value in `get_household`'s
/// conflict (the app looks the real value up, so masked values never round-trip).
#[tauri::command]
pub fn resolve_conflict(
    state: State<'_, AppState>,
    household_id: String,
    path: Vec<String>,
    choice: u32,
) -> AppResult<HouseholdDetail> {
    let mut store = state.store()?;
    let a = author(&store)?;
    let did = doc_id(&household_id)?;
    let doc = store.load(did)?;
    let conflict = doc
        .conflicts()
        .into_iter()
        .find(|c| c.path == path)
        .ok_or_else(|| AppError::not_found("this conflict was already resolved"))?;
    let chosen = conflict
        .values
        .get(choice as usize)
        .ok_or_else(|| AppError::bad_request("no such value in the conflict"))?
        .value
        .clone();
    store.resolve_conflict(did, a, now_ms(), &path, &chosen)?;
    detail(&store, &household_id)
}
