//! Ledger imports on SQLite ([`ImportStore`]): the kept runs, what the district has that a
//! ledger describes (for the re-import's diff), and writing an import. The write's flow is
//! shared (`gridwalk_district::imports::write_import`); SQLite's part is tuned for a
//! district's ledger in one transaction (a larger page cache; each new household's
//! projection from the validated value, not read back).

use super::server_edits::{record_server_changes, SqliteLookup};
use super::SqliteDistrict;
use crate::{docs, projection, Result};
use gridwalk_core::authorize::Actor;
use gridwalk_core::ledger::import::reimport::{
    covered_buildings, Existing, ExistingHousehold, HouseholdUpdate,
};
use gridwalk_core::ledger::ImportPlan;
use gridwalk_core::model::Household;
use gridwalk_core::{Author, DocId, Document};
use gridwalk_district::imports::{
    check_new, write_import, ImportRun, ImportStore, ImportWriter, ImportWritten, NewImported,
    IMPORT_RUNS_MAX,
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
    let tx = store.conn.transaction()?;
    // Each document is made, written and dropped in turn (`write_import`): a district's
    // ledger as documents would not fit in memory at once.
    let written = write_import(
        &mut SqliteLookup(&tx),
        new,
        updates,
        actor,
        author,
        fresh_device,
        now_ms,
    )?;
    tx.commit()?;
    Ok(written)
}

impl ImportWriter for SqliteLookup<'_> {
    fn put_import_base(&mut self, doc_id: &str, ledger_json: &str, run_at: i64) -> Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO import_bases (doc_id, ledger, run_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc_id) DO UPDATE SET ledger = excluded.ledger,
                    run_at = excluded.run_at",
            )?
            .execute(params![doc_id, ledger_json, run_at])?;
        Ok(())
    }

    /// The new household's projection from the validated value it was made from, not
    /// from reading the document back (a 100,000-household ledger in one transaction).
    fn insert_household(
        &mut self,
        doc: &Document,
        household: &Household,
        grid_id: &str,
        now_ms: i64,
    ) -> Result<()> {
        docs::insert(self.0, doc, grid_id, now_ms)?;
        record_server_changes(self.0, doc, grid_id, &[], now_ms)?;
        projection::upsert_household(self.0, household, grid_id, 0)
    }
}
