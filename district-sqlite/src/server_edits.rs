//! Documents written by the server itself: imports, the demo district, and a
//! supervisor's actions. Their changes are sequenced like pushed ones, so devices pull
//! them on their next sync.

use super::SqliteDistrict;
use crate::{docs, projection, validate_document, Result, StoreError};
use automerge::ChangeHash;
use gridwalk_core::authorize::{Actor, Forbidden, Owned};
use gridwalk_core::{Author, DocId, DocKind, Document};
use gridwalk_district::push::DocLookup;
use rusqlite::{params, Connection, OptionalExtension};

/// The shared push decisions' reads ([`gridwalk_district::push::DocLookup`]) on one
/// SQLite connection (inside the caller's transaction).
pub(crate) struct SqliteLookup<'a>(pub(crate) &'a Connection);

impl DocLookup for SqliteLookup<'_> {
    fn load_doc(&mut self, id: DocId) -> Result<Option<(Document, String)>> {
        docs::try_load(self.0, id)
    }

    fn household_grid(&mut self, household_id: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .prepare_cached("SELECT grid_id FROM docs WHERE doc_id = ?1 AND kind = 'household'")?
            .query_row([household_id], |r| r.get(0))
            .optional()?)
    }
}

/// The permission check (`gridwalk_core::authorize`, through
/// [`gridwalk_district::push::authorize_document`]) of a change from `before` (`None` for
/// a new document) to `after`.
pub(crate) fn authorize_document(
    conn: &Connection,
    actor: &Actor,
    before: Option<&Owned>,
    after: &Document,
) -> Result<std::result::Result<(), Forbidden>> {
    gridwalk_district::push::authorize_document(&mut SqliteLookup(conn), actor, before, after)
}

/// Store a change made on the server itself (a supervisor's action) with its sequence.
pub(crate) fn record_server_changes(
    conn: &Connection,
    doc: &Document,
    grid_id: &str,
    before: &[ChangeHash],
    now_ms: i64,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO changes (hash, doc_id, kind, grid_id, bytes, author_user,
            author_device, pushed_by, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8)",
    )?;
    for change in doc.changes_since(before) {
        let author = Author::from_actor(change.actor_id());
        stmt.execute(params![
            change.hash().to_string(),
            doc.id.to_string(),
            doc.kind.as_str(),
            grid_id,
            change.raw_bytes(),
            author.map(|a| a.user.to_string()),
            author.map(|a| a.device.to_string()),
            now_ms
        ])?;
    }
    Ok(())
}

impl SqliteDistrict {
    /// Store documents a user imports (an admin's ledger import), each checked by the
    /// permission rule as a new document authored by `actor`; otherwise like
    /// [`SqliteDistrict::import_documents`]. One refused document refuses the import.
    pub fn import_documents_as(
        &self,
        actor: &Actor,
        docs_in: &[(Document, String)],
        now_ms: i64,
    ) -> Result<usize> {
        self.import_checked(Some(actor), docs_in, now_ms)
    }

    /// Store documents the server generates itself (the demo district, fixtures of tests
    /// and benchmarks), each with its changes sequenced so devices pull them like any
    /// other. Validated first; all or nothing. Documents that exist already are skipped.
    /// Returns how many were added. Anything a user brings in goes through
    /// [`SqliteDistrict::import_documents_as`] instead.
    pub fn import_documents(&self, docs_in: &[(Document, String)], now_ms: i64) -> Result<usize> {
        self.import_checked(None, docs_in, now_ms)
    }

    fn import_checked(
        &self,
        actor: Option<&Actor>,
        docs_in: &[(Document, String)],
        now_ms: i64,
    ) -> Result<usize> {
        for (doc, _) in docs_in {
            validate_document(doc, now_ms)?;
        }
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let mut added = 0;
            for (doc, grid) in docs_in {
                if docs::exists(&tx, doc.id)? {
                    continue;
                }
                if let Some(actor) = actor {
                    authorize_document(&tx, actor, None, doc)??;
                }
                docs::insert(&tx, doc, grid, now_ms)?;
                record_server_changes(&tx, doc, grid, &[], now_ms)?;
                projection::upsert(&tx, doc, grid)?;
                added += 1;
            }
            tx.commit()?;
            Ok(added)
        })
    }

    /// Edit a document on the server (a supervisor's action) as `author`, whose user is
    /// `actor`; the edit must pass the permission rule like a pushed one
    /// ([`StoreError::Denied`] otherwise, nothing written). The change gets a sequence
    /// number like a pushed one, so devices receive it on their next sync.
    #[allow(clippy::too_many_arguments)]
    pub fn edit_document<T, F>(
        &self,
        kind: DocKind,
        id: DocId,
        actor: &Actor,
        author: Author,
        now_ms: i64,
        message: &str,
        edit: F,
    ) -> Result<Vec<String>>
    where
        T: autosurgeon::Hydrate + serde::Serialize,
        F: FnOnce(&mut T) -> std::result::Result<(), gridwalk_core::CoreError>,
    {
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let (mut doc, grid) = docs::load(&tx, id)?;
            if doc.kind != kind {
                return Err(StoreError::WrongKind {
                    doc_id: id.to_string(),
                    stored: doc.kind.to_string(),
                    requested: kind.to_string(),
                });
            }
            let before_image = Owned::read(&doc).map_err(|source| StoreError::Doc {
                doc_id: id.to_string(),
                source,
            })?;
            let before = doc.heads();
            doc.edit(author, now_ms, message, edit)
                .map_err(|source| StoreError::Doc {
                    doc_id: id.to_string(),
                    source,
                })?;
            if doc.heads() == before {
                return Ok(vec![]);
            }
            validate_document(&doc, now_ms)?;
            authorize_document(&tx, actor, Some(&before_image), &doc)??;
            docs::append(&tx, &doc, &before, now_ms)?;
            record_server_changes(&tx, &doc, &grid, &before, now_ms)?;
            projection::upsert(&tx, &doc, &grid)?;
            tx.commit()?;
            Ok(doc
                .changes_since(&before)
                .iter()
                .map(|c| c.hash().to_string())
                .collect())
        })
    }

    /// Read a document from the district store.
    pub fn load_document(&self, id: DocId) -> Result<Document> {
        self.with_reader(|conn| Ok(docs::load(conn, id)?.0))
    }
}
