//! Ledger imports above the SQL: the kept record of every run, what the district has that
//! a ledger describes (for the re-import's diff), and writing an import (new households
//! and changes to matched ones, sequenced like pushes) — invariant 15. The plan itself is
//! pure (`gridwalk_core::ledger`); [`ImportStore`] is what a backend provides, and
//! [`write_import`] the flow of one import's write transaction, written once.

use crate::edits::DocWriter;
use crate::push::authorize_document;
use crate::{EditStore, Result, StoreError};
use gridwalk_core::authorize::{Actor, Owned};
use gridwalk_core::ledger::import::reimport::{apply_puts, Existing, HouseholdUpdate};
use gridwalk_core::ledger::ImportPlan;
use gridwalk_core::model::{split_key_persons, Household};
use gridwalk_core::validate::validate_household;
use gridwalk_core::{Author, DocId, DocKind, Document};
use gridwalk_store::validate_document;
use serde::{Deserialize, Serialize};

/// Most runs one page of [`ImportStore::import_runs`] returns.
pub const IMPORT_RUNS_MAX: usize = 1000;

/// One import run as the admin's history lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRun {
    pub id: i64,
    pub at: i64,
    pub user_id: String,
    pub username: String,
    pub file_name: String,
    pub file_sha256: String,
    /// `dry_run`, `all_or_nothing` or `valid_only`.
    pub mode: String,
    pub rows_total: u64,
    pub rows_valid: u64,
    pub problems: u64,
    /// `None` when nothing was imported (a dry run, or refused because of problems).
    pub imported_households: Option<u64>,
}

/// A new household of an import (validated by the plan) and its grid.
pub struct NewImported {
    pub household: Household,
    pub grid_id: String,
}

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportWritten {
    pub added: u64,
    pub updated: u64,
    /// Fields written concurrently with a district change (kept as conflicts).
    pub conflicts: u64,
    /// Updates refused because the household would not be valid: (household id, reason).
    pub refused: Vec<(String, String)>,
}

/// Imports on a backend.
pub trait ImportStore: EditStore {
    /// Keep an import run and its report (JSON). Returns the run's id.
    fn record_import_run(&self, run: &ImportRun, report_json: &str) -> Result<i64>;
    /// The latest import runs, newest first (at most [`IMPORT_RUNS_MAX`]).
    fn import_runs(&self, limit: usize) -> Result<Vec<ImportRun>>;
    /// The kept report of one import run.
    fn import_report(&self, id: i64) -> Result<Option<String>>;
    /// What the district has that the plan may describe, for
    /// [`gridwalk_core::ledger::reimport::reconcile`]: households in the buildings the
    /// plan covers or with the ids it names (with their last imported ledger image), and
    /// the living holders of its ID numbers. One read snapshot.
    fn reimport_existing(&self, plan: &ImportPlan) -> Result<Existing>;
    /// Write an import in one transaction ([`write_import`]'s flow): new households as
    /// documents, and changes to matched ones appended like a console edit (authored by
    /// `author`, sequenced for the devices). A field changed in the district since the
    /// last import is written concurrently with that change (kept as a conflict), by an
    /// actor of the same user on a fresh device id per field (`fresh_device`). The
    /// ledger's image of every household is kept as the next re-import's base.
    fn import_ledger(
        &self,
        new: &[NewImported],
        updates: &[HouseholdUpdate],
        actor: &Actor,
        author: Author,
        fresh_device: &mut dyn FnMut() -> uuid::Uuid,
        now_ms: i64,
    ) -> Result<ImportWritten>;
}

/// A write transaction's rows for an import: documents ([`DocWriter`]) and the
/// re-import bases, committed together.
pub trait ImportWriter: DocWriter {
    /// Keep `ledger_json` (the ledger's image of a household) as its next re-import's base.
    fn put_import_base(&mut self, doc_id: &str, ledger_json: &str, run_at: i64) -> Result<()>;

    /// Store a new household `doc` made from `household` (validated, its key-person tags
    /// split off). A backend may project it from that value rather than read the
    /// document back: a new document has no conflicts, so both give the same row.
    fn insert_household(
        &mut self,
        doc: &Document,
        household: &Household,
        grid_id: &str,
        now_ms: i64,
    ) -> Result<()> {
        let _ = household;
        self.insert(doc, grid_id, now_ms)
    }
}

/// Every new household valid on its own, checked before anything is written.
pub fn check_new(new: &[NewImported], now_ms: i64) -> Result<()> {
    let today = gridwalk_store::local_date(now_ms);
    for n in new {
        validate_household(&n.household, today)?;
    }
    Ok(())
}

fn doc_id(id: &str, what: &str) -> Result<DocId> {
    DocId::parse(id)
        .ok_or_else(|| StoreError::BadRequest(format!("{what} id {id:?} is not a UUID")))
}

fn ledger_json(h: &Household) -> Result<String> {
    serde_json::to_string(h).map_err(|e| StoreError::BadRequest(format!("household {}: {e}", h.id)))
}

/// One import's writes through `w` (see [`ImportStore::import_ledger`]); may run again
/// from the start if the backend retries the transaction.
pub fn write_import<W: ImportWriter>(
    w: &mut W,
    new: &[NewImported],
    updates: &[HouseholdUpdate],
    actor: &Actor,
    author: Author,
    fresh_device: &mut dyn FnMut() -> uuid::Uuid,
    now_ms: i64,
) -> Result<ImportWritten> {
    let mut written = ImportWritten::default();
    for n in new {
        let id = doc_id(&n.household.id, "household")?;
        if w.exists(id)? {
            continue;
        }
        // Key-person tags never go into the household, which every device of the grid
        // holds: they get their own document (invariant 16).
        let mut household = n.household.clone();
        let key_persons = split_key_persons(&mut household);
        let doc = Document::create(DocKind::Household, id, &household, author, now_ms).map_err(
            |source| StoreError::Doc {
                doc_id: id.to_string(),
                source,
            },
        )?;
        authorize_document(w, actor, None, &doc)??;
        w.insert_household(&doc, &household, &n.grid_id, now_ms)?;
        if let Some(k) = key_persons {
            let kid = doc_id(&k.id, "key-person")?;
            if !w.exists(kid)? {
                let kdoc = Document::create(DocKind::KeyPersons, kid, &k, author, now_ms).map_err(
                    |source| StoreError::Doc {
                        doc_id: kid.to_string(),
                        source,
                    },
                )?;
                authorize_document(w, actor, None, &kdoc)??;
                w.insert(&kdoc, &n.grid_id, now_ms)?;
            }
        }
        w.put_import_base(&n.household.id, &ledger_json(&n.household)?, now_ms)?;
        written.added += 1;
    }
    for u in updates.iter().filter(|u| u.valid) {
        let Some(id) = DocId::parse(&u.household_id) else {
            continue;
        };
        let Some((mut doc, grid)) = w.load_doc(id)? else {
            written
                .refused
                .push((u.household_id.clone(), "no longer in the district".into()));
            continue;
        };
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
        if let Err(f) = authorize_document(w, actor, Some(&before_image), &doc)? {
            written
                .refused
                .push((u.household_id.clone(), f.to_string()));
            continue;
        }
        if doc.heads() != before {
            w.append(&doc, &grid, &before, now_ms)?;
            written.updated += 1;
        }
        w.put_import_base(&u.household_id, &ledger_json(&u.ledger)?, now_ms)?;
    }
    Ok(written)
}

const REIMPORT_MESSAGE: &str = "台账重新导入 / ledger re-import";

/// The update's concurrent writes first (each from its own fresh actor), then its plain
/// writes as one change by `author`. Returns how many conflicts were left.
pub fn apply_update(
    doc: &mut Document,
    u: &HouseholdUpdate,
    author: Author,
    fresh_device: &mut dyn FnMut() -> uuid::Uuid,
    now_ms: i64,
) -> std::result::Result<u64, String> {
    let mut conflicts = 0;
    for (path, value) in &u.conflicts {
        let actor = Author::new(author.user, fresh_device());
        match doc.put_concurrent(actor, now_ms, REIMPORT_MESSAGE, path, value) {
            Ok(Some(_)) => conflicts += 1,
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    if u.puts.is_empty() {
        return Ok(conflicts);
    }
    let household: Household = doc.read().map_err(|e| e.to_string())?;
    let before = serde_json::to_value(&household).map_err(|e| e.to_string())?;
    let mut after = before.clone();
    apply_puts(&mut after, &u.puts);
    doc.write_json_diff(author, now_ms, REIMPORT_MESSAGE, &before, &after)
        .map_err(|e| e.to_string())?;
    Ok(conflicts)
}
