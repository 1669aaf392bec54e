//! Ledger imports on SQLite ([`ImportStore`]): the kept runs, what the district has that a
//! ledger describes (for the re-import's diff), and writing an import. The types and the
//! update of a matched household are shared (`gridwalk_district::imports`); this write is
//! SQLite's own, tuned for a district's ledger in one transaction (a larger page cache;
//! each new household's projection from the validated value, not read back).

use super::server_edits::{authorize_document, record_server_changes};
use super::SqliteDistrict;
use crate::{docs, projection, validate_document, Result, StoreError};
use gridwalk_core::authorize::{Actor, Owned};
use gridwalk_core::ledger::import::reimport::{
    covered_buildings, Existing, ExistingHousehold, HouseholdUpdate,
};
use gridwalk_core::ledger::ImportPlan;
use gridwalk_core::model::split_key_persons;
use gridwalk_core::model::Household;
use gridwalk_core::{Author, DocId, DocKind, Document};
use gridwalk_district::imports::{
    apply_update, check_new, ImportRun, ImportStore, ImportWritten, NewImported, IMPORT_RUNS_MAX,
};
use rusqlite::{params, OptionalExtension};
use std::collections::{BTreeSet, HashSet};

impl SqliteDistrict {
    /// Which of `ids` some person in the district already has.
    pub fn existing_id_numbers(&self, ids: &[String]) -> Result<HashSet<String>> {
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT 1 FROM persons WHERE id_number = ?1 LIMIT 1")?;
            let mut found = HashSet::new();
            for id in ids {
                if stmt.exists([id])? {
                    found.insert(id.clone());
                }
            }
            Ok(found)
        })
    }
}

impl ImportStore for SqliteDistrict {
    fn record_import_run(&self, run: &ImportRun, report_json: &str) -> Result<i64> {
        self.with_writer(|store| {
            store.conn.execute(
                "INSERT INTO import_runs (at, user_id, username, file_name, file_sha256, mode,
                    rows_total, rows_valid, problems, imported_households, report)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    run.at,
                    run.user_id,
                    run.username,
                    run.file_name,
                    run.file_sha256,
                    run.mode,
                    run.rows_total as i64,
                    run.rows_valid as i64,
                    run.problems as i64,
                    run.imported_households.map(|n| n as i64),
                    report_json
                ],
            )?;
            Ok(store.conn.last_insert_rowid())
        })
    }

    fn import_runs(&self, limit: usize) -> Result<Vec<ImportRun>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, at, user_id, username, file_name, file_sha256, mode, rows_total,
                        rows_valid, problems, imported_households
                 FROM import_runs ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit.min(IMPORT_RUNS_MAX) as i64], |r| {
                Ok(ImportRun {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    user_id: r.get(2)?,
                    username: r.get(3)?,
                    file_name: r.get(4)?,
                    file_sha256: r.get(5)?,
                    mode: r.get(6)?,
                    rows_total: r.get::<_, i64>(7)?.max(0) as u64,
                    rows_valid: r.get::<_, i64>(8)?.max(0) as u64,
                    problems: r.get::<_, i64>(9)?.max(0) as u64,
                    imported_households: r.get::<_, Option<i64>>(10)?.map(|n| n.max(0) as u64),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn import_report(&self, id: i64) -> Result<Option<String>> {
        self.with_reader(|conn| {
            Ok(conn
                .query_row("SELECT report FROM import_runs WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?)
        })
    }

    fn reimport_existing(&self, plan: &ImportPlan) -> Result<Existing> {
        let buildings = covered_buildings(plan);
        self.with_reader(|conn| {
            let mut existing = Existing {
                buildings: buildings.clone(),
                ..Existing::default()
            };
            let any: bool =
                conn.query_row("SELECT EXISTS (SELECT 1 FROM households)", [], |r| r.get(0))?;
            if !any {
                return Ok(existing);
            }
            let mut ids: BTreeSet<String> = BTreeSet::new();
            let mut in_building = conn.prepare_cached(
                "SELECT doc_id FROM households WHERE community_code = ?1 AND building_no = ?2",
            )?;
            for (community, building) in &buildings {
                let rows = in_building.query_map([community, building], |r| r.get(0))?;
                for id in rows {
                    ids.insert(id?);
                }
            }
            let mut is_household =
                conn.prepare_cached("SELECT 1 FROM households WHERE doc_id = ?1")?;
            for h in &plan.households {
                if is_household.exists([&h.household.id])? {
                    ids.insert(h.household.id.clone());
                }
            }
            let mut home = conn.prepare_cached(
                "SELECT household_id FROM persons
                 WHERE id_number = ?1 AND status = 'Living' LIMIT 1",
            )?;
            for p in plan
                .households
                .iter()
                .flat_map(|h| h.household.members.values())
            {
                let Some(id) = p.id_number.as_deref() else {
                    continue;
                };
                let found: Option<String> = home.query_row([id], |r| r.get(0)).optional()?;
                if let Some(h) = found {
                    existing.id_number_homes.insert(id.to_string(), h.clone());
                    ids.insert(h);
                }
            }
            let mut base_of =
                conn.prepare_cached("SELECT ledger FROM import_bases WHERE doc_id = ?1")?;
            for id in ids {
                let Some(doc_id) = DocId::parse(&id) else {
                    continue;
                };
                let Some((doc, grid_id)) = docs::try_load(conn, doc_id)? else {
                    continue;
                };
                let Ok(current) = doc.read::<Household>() else {
                    continue;
                };
                let base: Option<String> = base_of.query_row([&id], |r| r.get(0)).optional()?;
                let base = base.and_then(|j| serde_json::from_str(&j).ok());
                existing.households.insert(
                    id,
                    ExistingHousehold {
                        grid_id,
                        current,
                        base,
                    },
                );
            }
            Ok(existing)
        })
    }

    fn import_ledger(
        &self,
        new: &[NewImported],
        updates: &[HouseholdUpdate],
        actor: &Actor,
        author: Author,
        fresh_device: &mut dyn FnMut() -> uuid::Uuid,
        now_ms: i64,
    ) -> Result<ImportWritten> {
        check_new(new, now_ms)?;
        self.with_writer(|store| {
            // A district's ledger is one transaction of a few hundred MB: with SQLite's
            // default 2 MB page cache it would spill pages to the WAL over and over.
            store.conn.pragma_update(None, "cache_size", -262_144)?;
            let result = import_in_tx(store, new, updates, actor, author, fresh_device, now_ms);
            store.conn.pragma_update(None, "cache_size", -2000)?;
            result
        })
    }
}

fn import_in_tx(
    store: &mut crate::Store,
    new: &[NewImported],
    updates: &[HouseholdUpdate],
    actor: &Actor,
    author: Author,
    fresh_device: &mut dyn FnMut() -> uuid::Uuid,
    now_ms: i64,
) -> Result<ImportWritten> {
    {
        {
            let tx = store.conn.transaction()?;
            let mut written = ImportWritten::default();
            {
                let mut base = tx.prepare_cached(
                    "INSERT INTO import_bases (doc_id, ledger, run_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (doc_id) DO UPDATE SET ledger = excluded.ledger,
                        run_at = excluded.run_at",
                )?;
                let ledger_json = |h: &Household| serde_json::to_string(h).unwrap_or_default();
                // Each document is made, written and dropped in turn: a district's ledger
                // as documents would not fit in memory at once. Its projection comes from
                // the validated value it was made from (a new document has no conflicts),
                // not from reading the document back.
                for n in new {
                    let id = DocId::parse(&n.household.id).ok_or_else(|| {
                        StoreError::BadRequest(format!(
                            "household id {:?} is not a UUID",
                            n.household.id
                        ))
                    })?;
                    if docs::exists(&tx, id)? {
                        continue;
                    }
                    // Key-person tags never go into the household, which every device of
                    // the grid holds: they get their own document (invariant 16).
                    let mut household = n.household.clone();
                    let key_persons = split_key_persons(&mut household);
                    let doc = Document::create(DocKind::Household, id, &household, author, now_ms)
                        .map_err(|source| StoreError::Doc {
                            doc_id: id.to_string(),
                            source,
                        })?;
                    authorize_document(&tx, actor, None, &doc)??;
                    docs::insert(&tx, &doc, &n.grid_id, now_ms)?;
                    record_server_changes(&tx, &doc, &n.grid_id, &[], now_ms)?;
                    projection::upsert_household(&tx, &household, &n.grid_id, 0)?;
                    if let Some(k) = key_persons {
                        let kid = DocId::parse(&k.id).ok_or_else(|| {
                            StoreError::BadRequest(format!(
                                "key-person id {:?} is not a UUID",
                                k.id
                            ))
                        })?;
                        if !docs::exists(&tx, kid)? {
                            let kdoc =
                                Document::create(DocKind::KeyPersons, kid, &k, author, now_ms)
                                    .map_err(|source| StoreError::Doc {
                                        doc_id: kid.to_string(),
                                        source,
                                    })?;
                            authorize_document(&tx, actor, None, &kdoc)??;
                            docs::insert(&tx, &kdoc, &n.grid_id, now_ms)?;
                            record_server_changes(&tx, &kdoc, &n.grid_id, &[], now_ms)?;
                            projection::upsert(&tx, &kdoc, &n.grid_id)?;
                        }
                    }
                    base.execute(params![n.household.id, ledger_json(&n.household), now_ms])?;
                    written.added += 1;
                }
                for u in updates.iter().filter(|u| u.valid) {
                    let Some(id) = DocId::parse(&u.household_id) else {
                        continue;
                    };
                    let (mut doc, grid) = docs::load(&tx, id)?;
                    let before = doc.heads();
                    let before_image = Owned::read(&doc).map_err(|source| StoreError::Doc {
                        doc_id: id.to_string(),
                        source,
                    })?;
                    match apply_update(&mut doc, u, author, fresh_device, now_ms) {
                        Ok(conflicts) => written.conflicts += conflicts,
                        Err(reason) => {
                            written.refused.push((u.household_id.clone(), reason));
                            continue;
                        }
                    }
                    if let Err(e) = validate_document(&doc, now_ms) {
                        written
                            .refused
                            .push((u.household_id.clone(), e.to_string()));
                        continue;
                    }
                    if let Err(f) = authorize_document(&tx, actor, Some(&before_image), &doc)? {
                        written
                            .refused
                            .push((u.household_id.clone(), f.to_string()));
                        continue;
                    }
                    if doc.heads() != before {
                        docs::append(&tx, &doc, &before, now_ms)?;
                        record_server_changes(&tx, &doc, &grid, &before, now_ms)?;
                        projection::upsert(&tx, &doc, &grid)?;
                        written.updated += 1;
                    }
                    base.execute(params![u.household_id, ledger_json(&u.ledger), now_ms])?;
                }
            }
            tx.commit()?;
            Ok(written)
        }
    }
}
