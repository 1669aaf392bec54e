//! Documents written by the server itself: imports, the demo district, and a supervisor's
//! actions at the console. Their changes are sequenced like pushed ones (no pushing
//! device), so devices pull them on their next sync. [`EditStore`] is what a backend
//! provides (one write transaction and its row writes, [`DocWriter`]); validation, the
//! permission rule and the flow of an edit are written once here, as provided methods.

use crate::push::{authorize_document, DocLookup};
use crate::review::ReviewStore;
use crate::{Result, StoreError};
use automerge::ChangeHash;
use gridwalk_core::authorize::{Actor, Owned};
use gridwalk_core::{Author, CoreError, DocId, DocKind, Document};
use gridwalk_store::validate_document;

/// A backend's row reads and writes inside one write transaction. Everything written
/// through it commits together or not at all: the document, its changes with their
/// sequence numbers (the backend's cursor rule), its projection rows and photo references.
pub trait DocWriter: DocLookup {
    fn exists(&mut self, id: DocId) -> Result<bool>;
    /// Store a new document with all its changes.
    fn insert(&mut self, doc: &Document, grid_id: &str, now_ms: i64) -> Result<()>;
    /// Store a document's changes since `before` (its heads when it was loaded here).
    fn append(
        &mut self,
        doc: &Document,
        grid_id: &str,
        before: &[ChangeHash],
        now_ms: i64,
    ) -> Result<()>;
}

/// A one-document edit: gets the stored document, changes it in place.
pub type EditFn<'a> = dyn FnMut(&mut Document) -> Result<()> + 'a;

pub trait EditStore: ReviewStore {
    /// Run `f` in one write transaction and commit it; `f` may run again from the start
    /// if the backend retries a transaction that lost a race (PostgreSQL).
    fn write_documents(&self, f: &mut dyn FnMut(&mut dyn DocWriter) -> Result<()>) -> Result<()>;

    /// Store documents the server generates itself (the demo district, fixtures of tests
    /// and benchmarks), each with its changes sequenced so devices pull them like any
    /// other. Validated first; all or nothing. Documents that exist already are skipped.
    /// Returns how many were added. Anything a user brings in goes through
    /// [`EditStore::import_documents_as`] instead.
    fn import_documents(&self, docs: &[(Document, String)], now_ms: i64) -> Result<usize> {
        import_checked(self, None, docs, now_ms)
    }

    /// Store documents a user imports (an admin's ledger import), each checked by the
    /// permission rule as a new document authored by `actor`; otherwise like
    /// [`EditStore::import_documents`]. One refused document refuses the import.
    fn import_documents_as(
        &self,
        actor: &Actor,
        docs: &[(Document, String)],
        now_ms: i64,
    ) -> Result<usize> {
        import_checked(self, Some(actor), docs, now_ms)
    }

    /// Edit a stored document of `kind` on the server (a console action) as `actor`: `edit`
    /// changes it (as `actor`'s user on the console's device); the result must validate
    /// and pass the permission rule like a pushed change ([`StoreError::Denied`]
    /// otherwise, nothing written). Returns the new change hashes (none when `edit`
    /// changed nothing).
    fn edit_document_with(
        &self,
        kind: DocKind,
        id: DocId,
        actor: &Actor,
        now_ms: i64,
        edit: &mut EditFn<'_>,
    ) -> Result<Vec<String>> {
        let mut hashes = Vec::new();
        self.write_documents(&mut |w| {
            hashes.clear();
            let (mut doc, grid) = w.load_doc(id)?.ok_or_else(|| StoreError::NotFound {
                doc_id: id.to_string(),
            })?;
            if doc.kind != kind {
                return Err(StoreError::WrongKind {
                    doc_id: id.to_string(),
                    stored: doc.kind.to_string(),
                    requested: kind.to_string(),
                });
            }
            let before_image = Owned::read(&doc).map_err(doc_error(id))?;
            let before = doc.heads();
            edit(&mut doc)?;
            if doc.heads() == before {
                return Ok(());
            }
            validate_document(&doc, now_ms)?;
            authorize_document(&mut *w, actor, Some(&before_image), &doc)??;
            w.append(&doc, &grid, &before, now_ms)?;
            hashes = doc
                .changes_since(&before)
                .iter()
                .map(|c| c.hash().to_string())
                .collect();
            Ok(())
        })?;
        Ok(hashes)
    }

    /// [`EditStore::edit_document_with`] with a typed edit (`Document::edit`: only the
    /// changed fields are written) authored by `author` with `message`. `edit` may run
    /// more than once, each time on the stored document (a retried transaction).
    #[allow(clippy::too_many_arguments)]
    fn edit_document<T, F>(
        &self,
        kind: DocKind,
        id: DocId,
        actor: &Actor,
        author: Author,
        now_ms: i64,
        message: &str,
        mut edit: F,
    ) -> Result<Vec<String>>
    where
        Self: Sized,
        T: autosurgeon::Hydrate + serde::Serialize,
        F: FnMut(&mut T) -> std::result::Result<(), CoreError>,
    {
        self.edit_document_with(kind, id, actor, now_ms, &mut |doc| {
            doc.edit(author, now_ms, message, &mut edit)
                .map(|_| ())
                .map_err(doc_error(doc.id))
        })
    }
}

fn doc_error(id: DocId) -> impl FnOnce(CoreError) -> StoreError {
    move |source| StoreError::Doc {
        doc_id: id.to_string(),
        source,
    }
}

fn import_checked<S: EditStore + ?Sized>(
    store: &S,
    actor: Option<&Actor>,
    docs: &[(Document, String)],
    now_ms: i64,
) -> Result<usize> {
    for (doc, _) in docs {
        validate_document(doc, now_ms)?;
    }
    let mut added = 0;
    store.write_documents(&mut |w| {
        added = 0;
        for (doc, grid) in docs {
            if w.exists(doc.id)? {
                continue;
            }
            if let Some(actor) = actor {
                authorize_document(&mut *w, actor, None, doc)??;
            }
            w.insert(doc, grid, now_ms)?;
            added += 1;
        }
        Ok(())
    })?;
    Ok(added)
}
