//! Ledger imports on PostgreSQL ([`ImportStore`]): the kept runs and re-import bases
//! (migration 005), what the district has that a ledger describes (one snapshot), and an
//! import written through [`PgDistrict::write_with`] by the shared flow
//! ([`gridwalk_district::imports::write_import`]): its documents, projection rows and
//! bases in one transaction, its changes sequenced last like a push's.

use crate::sync::PgLookup;
use crate::{db, PgDistrict, Result};
use gridwalk_core::authorize::Actor;
use gridwalk_core::ledger::import::reimport::{
    covered_buildings, Existing, ExistingHousehold, HouseholdUpdate,
};
use gridwalk_core::ledger::ImportPlan;
use gridwalk_core::model::Household;
use gridwalk_core::{Author, DocId};
use gridwalk_district::imports::{
    check_new, write_import, ImportRun, ImportStore, ImportWritten, NewImported, IMPORT_RUNS_MAX,
};
use gridwalk_district::push::DocLookup;
use std::collections::BTreeSet;

/// Households written by one import from which the planner's statistics are refreshed.
const ANALYZE_AFTER: usize = 1_000;

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl ImportStore for PgDistrict {
    fn record_import_run(&self, run: &ImportRun, report_json: &str) -> Result<i64> {
        self.write(|tx| {
            Ok(tx
                .query_one(
                    "INSERT INTO import_runs (at, user_id, username, file_name, file_sha256,
                        mode, rows_total, rows_valid, problems, imported_households, report)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                    &[
                        &run.at,
                        &run.user_id,
                        &run.username,
                        &run.file_name,
                        &run.file_sha256,
                        &run.mode,
                        &count(run.rows_total),
                        &count(run.rows_valid),
                        &count(run.problems),
                        &run.imported_households.map(count),
                        &report_json,
                    ],
                )
                .map_err(db)?
                .get(0))
        })
    }

    fn import_runs(&self, limit: usize) -> Result<Vec<ImportRun>> {
        let limit = limit.min(IMPORT_RUNS_MAX) as i64;
        self.read(|tx| {
            let rows = tx
                .query(
                    "SELECT id, at, user_id, username, file_name, file_sha256, mode,
                        rows_total, rows_valid, problems, imported_households
                     FROM import_runs ORDER BY id DESC LIMIT $1",
                    &[&limit],
                )
                .map_err(db)?;
            let n = |v: i64| v.max(0) as u64;
            Ok(rows
                .iter()
                .map(|r| ImportRun {
                    id: r.get(0),
                    at: r.get(1),
                    user_id: r.get(2),
                    username: r.get(3),
                    file_name: r.get(4),
                    file_sha256: r.get(5),
                    mode: r.get(6),
                    rows_total: n(r.get(7)),
                    rows_valid: n(r.get(8)),
                    problems: n(r.get(9)),
                    imported_households: r.get::<_, Option<i64>>(10).map(n),
                })
                .collect())
        })
    }

    fn import_report(&self, id: i64) -> Result<Option<String>> {
        self.read(|tx| {
            Ok(tx
                .query_opt("SELECT report FROM import_runs WHERE id = $1", &[&id])
                .map_err(db)?
                .map(|r| r.get(0)))
        })
    }

    fn reimport_existing(&self, plan: &ImportPlan) -> Result<Existing> {
        let buildings = covered_buildings(plan);
        self.read(|tx| {
            let mut existing = Existing {
                buildings: buildings.clone(),
                ..Existing::default()
            };
            let any: bool = tx
                .query_one("SELECT EXISTS (SELECT 1 FROM households)", &[])
                .map_err(db)?
                .get(0);
            if !any {
                return Ok(existing);
            }
            let mut ids: BTreeSet<String> = BTreeSet::new();
            let (communities, numbers): (Vec<String>, Vec<String>) =
                buildings.iter().cloned().unzip();
            for r in tx
                .query(
                    "SELECT h.doc_id FROM households h
                     JOIN unnest($1::text[], $2::text[]) AS b (community, building)
                       ON h.community_code = b.community AND h.building_no = b.building",
                    &[&communities, &numbers],
                )
                .map_err(db)?
            {
                ids.insert(r.get(0));
            }
            let named: Vec<String> = plan
                .households
                .iter()
                .map(|h| h.household.id.clone())
                .collect();
            for r in tx
                .query(
                    "SELECT doc_id FROM households WHERE doc_id = ANY($1::text[])",
                    &[&named],
                )
                .map_err(db)?
            {
                ids.insert(r.get(0));
            }
            let id_numbers: Vec<String> = plan
                .households
                .iter()
                .flat_map(|h| h.household.members.values())
                .filter_map(|p| p.id_number.clone())
                .collect();
            for r in tx
                .query(
                    "SELECT DISTINCT ON (id_number) id_number, household_id FROM persons
                     WHERE id_number = ANY($1::text[]) AND status = 'Living'
                     ORDER BY id_number, household_id",
                    &[&id_numbers],
                )
                .map_err(db)?
            {
                let home: String = r.get(1);
                existing.id_number_homes.insert(r.get(0), home.clone());
                ids.insert(home);
            }
            for id in ids {
                let Some(doc_id) = DocId::parse(&id) else {
                    continue;
                };
                let Some((doc, grid_id)) = (PgLookup {
                    tx: &mut *tx,
                    lock: false,
                })
                .load_doc(doc_id)?
                else {
                    continue;
                };
                let Ok(current) = doc.read::<Household>() else {
                    continue;
                };
                let base = tx
                    .query_opt("SELECT ledger FROM import_bases WHERE doc_id = $1", &[&id])
                    .map_err(db)?
                    .and_then(|r| serde_json::from_str(r.get::<_, &str>(0)).ok());
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
        let written = self
            .write_with(|w| write_import(w, new, updates, actor, author, fresh_device, now_ms))?;
        if new.len() + updates.len() >= ANALYZE_AFTER {
            // A large import changes the tables' sizes at once: the planner's statistics
            // now, not when autovacuum gets to them (see migrate.rs). Not part of the
            // import: a failure here is logged, the import stands.
            let analyzed = self.conn().and_then(|mut c| {
                c.batch_execute("ANALYZE docs, changes, households, persons")
                    .map_err(db)
            });
            if let Err(e) = analyzed {
                tracing::warn!(error = %e, "ANALYZE after the import failed");
            }
        }
        Ok(written)
    }
}
