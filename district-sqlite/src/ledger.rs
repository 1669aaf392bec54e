//! The household ledger at the console (masked, with history and conflicts, and
//! conflict resolution sequenced for devices) and the desk's configuration.

use super::console::{ConsoleError, ConsoleResult, ConsoleScope};
use super::issues::not_found;
use super::SqliteDistrict;
use crate::{docs, projection, validate_document, StoreError};
use gridwalk_core::authorize::Owned;
use gridwalk_core::privacy::{mask_for_path, mask_json};
use gridwalk_core::{Author, DocId, DocKind, Document};
use serde::{Deserialize, Serialize};

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

impl SqliteDistrict {
    /// A household in scope: masked, with its history (who changed which fields, when)
    /// and its open conflicts (values masked; choose one by index to resolve).
    pub fn console_household(
        &self,
        scope: &ConsoleScope,
        id: DocId,
    ) -> ConsoleResult<HouseholdDetail> {
        let grid = self.scoped_doc(scope, id, DocKind::Household)?;
        let doc = self.load_document(id).map_err(not_found("household", id))?;
        let mut household = doc.to_json();
        mask_json(&mut household);
        // Key-person tags come from their own documents, for roles that may hold them;
        // anything a household still carries is never served.
        let holder = scope.actor().may_hold_key_persons();
        let key_persons = match holder {
            true => self.key_person_tags(&id.to_string())?,
            false => Default::default(),
        };
        if let Some(members) = household.get_mut("members").and_then(|m| m.as_object_mut()) {
            for (pid, person) in members.iter_mut() {
                if let Some(p) = person.as_object_mut() {
                    let tags = key_persons.get(pid).cloned().unwrap_or_default();
                    p.insert("restricted_tags".into(), serde_json::json!(tags));
                }
            }
        }
        let hidden = |path: &str| !holder && path.contains("restricted_tags");
        let names = self.user_names()?;
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
        Ok(HouseholdDetail {
            doc_id: id.to_string(),
            grid_id: grid,
            household,
            history,
            conflicts,
        })
    }

    /// Restricted tags of a household's members, from its key-person documents.
    fn key_person_tags(
        &self,
        household_id: &str,
    ) -> crate::Result<std::collections::BTreeMap<String, std::collections::BTreeMap<String, bool>>>
    {
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT persons FROM key_persons WHERE household_id = ?1")?;
            let rows = stmt.query_map([household_id], |r| r.get::<_, String>(0))?;
            let mut out: std::collections::BTreeMap<_, std::collections::BTreeMap<_, _>> =
                Default::default();
            for json in rows {
                let persons: std::collections::BTreeMap<
                    String,
                    std::collections::BTreeMap<String, bool>,
                > = serde_json::from_str(&json?).unwrap_or_default();
                for (pid, tags) in persons {
                    out.entry(pid)
                        .or_default()
                        .extend(tags.into_iter().filter(|(_, on)| *on));
                }
            }
            Ok(out)
        })
    }

    fn user_names(&self) -> crate::Result<std::collections::HashMap<String, String>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare("SELECT user_id, display_name FROM users")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Resolve a conflict on the server: write the value chosen (by its index among the
    /// conflict's values) as `author`. Like [`crate::Store::resolve_conflict`], but the
    /// change is sequenced like [`SqliteDistrict::edit_document`]'s, so devices get it.
    pub fn resolve_conflict(
        &self,
        scope: &ConsoleScope,
        id: DocId,
        path: &[String],
        choice: usize,
        author: Author,
        now_ms: i64,
    ) -> ConsoleResult<()> {
        self.scoped_doc(scope, id, DocKind::Household)?;
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let (mut doc, grid): (Document, String) = docs::load(&tx, id)?;
            let conflict = doc
                .conflicts()
                .into_iter()
                .find(|c| c.path == path)
                .ok_or_else(|| {
                    StoreError::BadRequest(format!("no conflict at {}", path.join(".")))
                })?;
            let chosen = conflict
                .values
                .get(choice)
                .ok_or_else(|| {
                    StoreError::BadRequest(format!("no value #{choice} at that conflict"))
                })?
                .value
                .clone();
            let before_image = Owned::read(&doc).map_err(|source| StoreError::Doc {
                doc_id: id.to_string(),
                source,
            })?;
            let before = doc.heads();
            doc.resolve_conflict(author, now_ms, path, &chosen)
                .map_err(|source| StoreError::Doc {
                    doc_id: id.to_string(),
                    source,
                })?;
            validate_document(&doc, now_ms)?;
            super::server_edits::authorize_document(
                &tx,
                &scope.actor(),
                Some(&before_image),
                &doc,
            )??;
            docs::append(&tx, &doc, &before, now_ms)?;
            super::server_edits::record_server_changes(&tx, &doc, &grid, &before, now_ms)?;
            projection::upsert(&tx, &doc, &grid)?;
            tx.commit()?;
            Ok(())
        })
        .map_err(|e| match e {
            StoreError::BadRequest(m) => ConsoleError::BadRequest(m),
            e => ConsoleError::Store(e),
        })
    }
}
