//! A household at the console: masked, with its history and open conflicts; and a
//! conflict resolved by choosing one of its values.

use super::KeyPersonTags;
use crate::console::ConsoleScope;
use crate::{Result, StoreError};
use gridwalk_core::privacy::{mask_for_path, mask_json};
use gridwalk_core::{Author, Document};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A household as the console shows it: masked PII, history and open conflicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HouseholdDetail {
    pub doc_id: String,
    pub grid_id: String,
    /// The household masked ([`gridwalk_core::privacy::mask_json`]): ID numbers, phones,
    /// birth dates as `birth_year`, free text.
    pub household: serde_json::Value,
    pub history: Vec<serde_json::Value>,
    pub conflicts: Vec<serde_json::Value>,
}

/// The restricted tags (those on) of a household's members, from the `persons` JSON of
/// its key-person documents; a row that does not parse adds nothing.
pub(super) fn key_person_tags(rows: &[String]) -> KeyPersonTags {
    let mut out = KeyPersonTags::new();
    for json in rows {
        let persons: KeyPersonTags = serde_json::from_str(json).unwrap_or_default();
        for (pid, tags) in persons {
            out.entry(pid)
                .or_default()
                .extend(tags.into_iter().filter(|(_, on)| *on));
        }
    }
    out
}

/// The console's view of a household document. Key-person tags are those of
/// `key_persons` (empty for a role that may not hold them); anything a household still
/// carries is never served, nor a history entry or conflict about them for such a role.
pub(super) fn detail(
    scope: &ConsoleScope,
    doc: &Document,
    grid_id: String,
    key_persons: &KeyPersonTags,
    names: &HashMap<String, String>,
) -> HouseholdDetail {
    let mut household = doc.to_json();
    mask_json(&mut household);
    let holder = scope.actor().may_hold_key_persons();
    if let Some(members) = household.get_mut("members").and_then(|m| m.as_object_mut()) {
        for (pid, person) in members.iter_mut() {
            if let Some(p) = person.as_object_mut() {
                let tags = key_persons.get(pid).cloned().unwrap_or_default();
                p.insert("restricted_tags".into(), serde_json::json!(tags));
            }
        }
    }
    let hidden = |path: &str| !holder && path.contains("restricted_tags");
    let who = |a: &Option<Author>| -> serde_json::Value {
        match a {
            Some(a) => {
                let user = a.user.to_string();
                serde_json::json!({
                    "user_id": user,
                    "name": names.get(&user).cloned().unwrap_or_else(|| "系统 / server".into()),
                    "device_id": a.device.to_string(),
                })
            }
            None => serde_json::Value::Null,
        }
    };
    let history = doc
        .history()
        .iter()
        .map(|h| {
            let fields: Vec<&String> = h.fields.iter().filter(|f| !hidden(f)).collect();
            serde_json::json!({
                "hash": h.hash, "at": h.at, "message": h.message, "fields": fields,
                "author": who(&h.author),
            })
        })
        .collect();
    let conflicts = doc
        .conflicts()
        .iter()
        .filter(|c| !c.path.iter().any(|p| hidden(p)))
        .map(|c| {
            let values: Vec<serde_json::Value> = c
                .values
                .iter()
                .map(|v| {
                    // A side's value masked as its field would be: an ID, phone or
                    // birth date by its path, free text for the phones inside it.
                    let mut value = v.value.clone();
                    match value.as_str().map(|s| mask_for_path(&c.path, s)) {
                        Some(masked) => value = masked.into(),
                        None => mask_json(&mut value),
                    }
                    serde_json::json!({"value": value, "at": v.at, "author": who(&v.author)})
                })
                .collect();
            serde_json::json!({"path": c.path, "values": values})
        })
        .collect();
    HouseholdDetail {
        doc_id: doc.id.to_string(),
        grid_id,
        household,
        history,
        conflicts,
    }
}

/// Write the value chosen (by its index among the conflict's values) at `path`.
pub(super) fn resolve(
    doc: &mut Document,
    path: &[String],
    choice: usize,
    author: Author,
    now_ms: i64,
) -> Result<()> {
    let conflict = doc
        .conflicts()
        .into_iter()
        .find(|c| c.path == path)
        .ok_or_else(|| StoreError::BadRequest(format!("no conflict at {}", path.join("."))))?;
    let chosen = conflict
        .values
        .get(choice)
        .ok_or_else(|| StoreError::BadRequest(format!("no value #{choice} at that conflict")))?
        .value
        .clone();
    let id = doc.id;
    doc.resolve_conflict(author, now_ms, path, &chosen)
        .map(|_| ())
        .map_err(|source| StoreError::Doc {
            doc_id: id.to_string(),
            source,
        })
}
