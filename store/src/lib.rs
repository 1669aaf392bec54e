//! Gridwalk's stores on SQLite: the device's local store and the district's embedded store
//! share this crate. Documents (Automerge) are the source of truth, kept as a snapshot plus
//! incremental chunks; projection tables are derived from them for listing, search and
//! counting; the outbox remembers which local changes the district has not acknowledged.
//!
//! One writer: a [`Store`] owns one connection and takes `&mut self` for every write; each
//! write is one transaction, so a crash leaves either all of it or none of it.

pub mod client;
pub mod device_key;
// The district store (crate gridwalk-district-sqlite) builds on these two.
#[doc(hidden)]
pub mod docs;
pub mod encrypt;
mod outbox;
mod photos;
#[doc(hidden)]
pub mod projection;
mod schema;
mod scope_change;
mod search;

pub use device_key::DeviceKey;
pub use encrypt::MigrationStep;
pub use outbox::OutboxEntry;
pub use photos::{LocalPhoto, NewPhoto, PhotoStorage};
pub use scope_change::DRAFT_META_PREFIX;
pub use search::{
    escape_like, list_issues_on, phone_or_id_tail, search_households_on, HouseholdQuery,
    HouseholdRow, HouseholdSort, IssueQuery, IssueRow, Page, OVERDUE_SQL,
};

use chrono::{NaiveDate, TimeZone};
use gridwalk_core::model::{Household, Issue, KeyPersons, Visit};
use gridwalk_core::validate::ValidationErrors;
use gridwalk_core::{Author, CoreError, DocId, DocKind, Document};
use rusqlite::{Connection, OptionalExtension};
use schema::Role;
use std::path::Path;

/// The one error type of the store crate.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database schema migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("document {doc_id} not found")]
    NotFound { doc_id: String },
    #[error("document {doc_id} is stored as a {stored}, not a {requested}")]
    WrongKind {
        doc_id: String,
        stored: String,
        requested: String,
    },
    #[error("document {doc_id}: {source}")]
    Doc {
        doc_id: String,
        #[source]
        source: CoreError,
    },
    #[error("{0}")]
    Invalid(#[from] ValidationErrors),
    #[error("not authorised: {0}")]
    Unauthorized(String),
    #[error("device {device_id} has been revoked")]
    Revoked { device_id: String },
    #[error("document {doc_id} belongs to grid {grid_id}, outside this device's scope")]
    Forbidden { doc_id: String, grid_id: String },
    /// The change's author may not make it (role, authorship, key-person data).
    #[error("{0}")]
    Denied(#[from] gridwalk_core::authorize::Forbidden),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("could not reach the district server: {message}")]
    Transport { retryable: bool, message: String },
    /// The request reached the server but its answer was cut off on the way back: a push
    /// may be stored already. Nothing is lost: the outbox keeps it until acknowledged.
    #[error("the reply was cut off; your changes may already be on the server and will be confirmed on the next sync ({message})")]
    ReplyCutOff { message: String },
    #[error("sync cancelled")]
    Cancelled,
    /// The district's PostgreSQL database or its pool (gridwalk-district-postgres). The
    /// server logs the detail and tells a client only that the store failed.
    #[error("database error: {0}")]
    Database(Box<dyn std::error::Error + Send + Sync>),
    /// A district feature the PostgreSQL store does not have yet: said, never stubbed.
    #[error("{0} is not available on PostgreSQL yet / PostgreSQL 暂不支持")]
    NotOnPostgres(&'static str),
    /// Writing an export file failed (the message names the file).
    #[error("export failed: {0}")]
    Export(String),
    /// The encrypted device store does not open with the key given (another device's
    /// key, a key lost or destroyed).
    #[error("the device store cannot be read with this key")]
    WrongKey,
    /// This build's SQLite has no encryption (SQLCipher): the device store is refused
    /// rather than written in plaintext.
    #[error("this build cannot encrypt the device store (no SQLCipher)")]
    NoEncryption,
    /// The device key or its file, or the files of the store being encrypted (the
    /// message names the file).
    #[error("device key: {0}")]
    Key(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The page cache of each connection, in KiB (see [`Store::open`]).
pub const CACHE_KIB: i64 = 32 * 1024;

/// What a write produced: the document's new heads and the change hashes it added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    pub doc_id: DocId,
    pub changes: Vec<String>,
}

pub struct Store {
    /// The one connection. Public for the district store crate (gridwalk-district-sqlite),
    /// which writes its own tables in the same transactions.
    #[doc(hidden)]
    pub conn: Connection,
}

impl Store {
    /// Open (creating if needed) a plaintext device store file and bring its schema up to
    /// date. The app and the CLI keep theirs encrypted ([`Store::open_encrypted`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let conn = Connection::open(path)?;
        Store::init(conn, Role::Device)
    }

    /// A device store in memory (tests).
    pub fn open_in_memory() -> Result<Store> {
        Store::init(Connection::open_in_memory()?, Role::Device)
    }

    /// Open (creating if needed) the district's embedded store: the device's tables and
    /// the district's, with every index and trigger the console reads (a device store
    /// leaves those out: store/src/schema.rs).
    pub fn open_district(path: impl AsRef<Path>) -> Result<Store> {
        Store::init(Connection::open(path)?, Role::District)
    }

    /// A district store in memory (tests).
    pub fn open_district_in_memory() -> Result<Store> {
        Store::init(Connection::open_in_memory()?, Role::District)
    }

    fn init(mut conn: Connection, role: Role) -> Result<Store> {
        // WAL for readers beside the writer; FULL so a committed edit survives power loss,
        // not only a killed process.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // A page cache that holds a grid's projections. SQLCipher decrypts and checks the
        // HMAC of every page it reads from the file, and a search scans the households
        // table: with SQLite's default 2 MiB cache every keystroke decrypted all of it
        // again (issue 14: search p95 +405%). A maximum, filled only as pages are read.
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        // Foreign keys are off while migrations run (a table rebuild must not cascade;
        // rusqlite_migration's advice), checked by the migrations that need it, then on.
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Write transactions take the write lock when they begin, waiting under the busy
        // timeout. A deferred one that read first fails at once with SQLITE_BUSY when
        // another connection (the UI's, the sync thread's) committed meanwhile: CI saw a
        // first download fail that way while the first-run page cleared its draft.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        schema::migrations(role).to_latest(&mut conn)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A first download interrupted (the app killed) between its first and last page.
        client::deferred::ensure(&conn)?;
        let mut store = Store { conn };
        store.upgrade_projections()?;
        Ok(store)
    }

    /// Rebuild the projections once after an upgrade added projected columns, so that
    /// rows written by an older version get them filled (an export reads them).
    fn upgrade_projections(&mut self) -> Result<()> {
        if self.meta_get(projection::VERSION_KEY)?.as_deref() == Some(projection::VERSION) {
            return Ok(());
        }
        let has_docs: bool =
            self.conn
                .query_row("SELECT EXISTS (SELECT 1 FROM docs)", [], |r| r.get(0))?;
        if has_docs {
            let n = self.rebuild_projections()?;
            tracing::info!(
                documents = n,
                "projections rebuilt for the new projection version"
            );
        }
        self.meta_set(projection::VERSION_KEY, projection::VERSION)
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Create a document holding `value`; validated before anything is written.
    pub fn create<T>(
        &mut self,
        kind: DocKind,
        id: DocId,
        grid_id: &str,
        value: &T,
        author: Author,
        now_ms: i64,
    ) -> Result<WriteOutcome>
    where
        T: autosurgeon::Reconcile,
    {
        let doc = Document::create(kind, id, value, author, now_ms).map_err(doc_err(id))?;
        validate_document(&doc, now_ms)?;
        let tx = self.conn.transaction()?;
        if docs::exists(&tx, id)? {
            return Err(StoreError::Doc {
                doc_id: id.to_string(),
                source: CoreError::Schema("a document with this id already exists".into()),
            });
        }
        docs::insert(&tx, &doc, grid_id, now_ms)?;
        let changes = outbox::push_changes(&tx, &doc, grid_id, &[], now_ms)?;
        projection::upsert(&tx, &doc, grid_id)?;
        tx.commit()?;
        Ok(WriteOutcome {
            doc_id: id,
            changes,
        })
    }

    pub fn create_household(
        &mut self,
        h: &Household,
        author: Author,
        now_ms: i64,
    ) -> Result<WriteOutcome> {
        let id = parse_id(&h.id)?;
        self.create(DocKind::Household, id, &h.grid_id, h, author, now_ms)
    }

    pub fn create_visit(&mut self, v: &Visit, author: Author, now_ms: i64) -> Result<WriteOutcome> {
        let id = parse_id(&v.id)?;
        self.create(DocKind::Visit, id, &v.grid_id, v, author, now_ms)
    }

    pub fn create_issue(&mut self, i: &Issue, author: Author, now_ms: i64) -> Result<WriteOutcome> {
        let id = parse_id(&i.id)?;
        self.create(DocKind::Issue, id, &i.grid_id, i, author, now_ms)
    }

    /// Store many new documents in one transaction (an import, a benchmark's fixture).
    /// Every document is validated first; existing ids are skipped. With `outbox`, their
    /// changes are queued for the district like any local write.
    pub fn import_documents(
        &mut self,
        docs_in: &[(Document, String)],
        now_ms: i64,
        outbox: bool,
    ) -> Result<usize> {
        for (doc, _) in docs_in {
            validate_document(doc, now_ms)?;
        }
        let tx = self.conn.transaction()?;
        let mut added = 0;
        for (doc, grid_id) in docs_in {
            if docs::exists(&tx, doc.id)? {
                continue;
            }
            docs::insert(&tx, doc, grid_id, now_ms)?;
            if outbox {
                outbox::push_changes(&tx, doc, grid_id, &[], now_ms)?;
            }
            projection::upsert(&tx, doc, grid_id)?;
            added += 1;
        }
        tx.commit()?;
        Ok(added)
    }

    /// Edit a document through its typed root. Only the fields `edit` changes are written,
    /// as one change; the result is validated before the transaction commits.
    pub fn edit<T, F>(
        &mut self,
        kind: DocKind,
        id: DocId,
        author: Author,
        now_ms: i64,
        message: &str,
        edit: F,
    ) -> Result<WriteOutcome>
    where
        T: autosurgeon::Hydrate + serde::Serialize,
        F: FnOnce(&mut T) -> Result<(), CoreError>,
    {
        let tx = self.conn.transaction()?;
        let (mut doc, grid_id) = docs::load(&tx, id)?;
        check_kind(&doc, kind)?;
        let before = doc.heads();
        doc.edit(author, now_ms, message, edit)
            .map_err(doc_err(id))?;
        if doc.heads() == before {
            return Ok(WriteOutcome {
                doc_id: id,
                changes: vec![],
            });
        }
        validate_document(&doc, now_ms)?;
        docs::append(&tx, &doc, &before, now_ms)?;
        let changes = outbox::push_changes(&tx, &doc, &grid_id, &before, now_ms)?;
        projection::upsert(&tx, &doc, &grid_id)?;
        tx.commit()?;
        Ok(WriteOutcome {
            doc_id: id,
            changes,
        })
    }

    /// Resolve a conflict at `path` by writing the chosen value (an ordinary local change).
    pub fn resolve_conflict(
        &mut self,
        id: DocId,
        author: Author,
        now_ms: i64,
        path: &[String],
        chosen: &serde_json::Value,
    ) -> Result<WriteOutcome> {
        let tx = self.conn.transaction()?;
        let (mut doc, grid_id) = docs::load(&tx, id)?;
        let before = doc.heads();
        doc.resolve_conflict(author, now_ms, path, chosen)
            .map_err(doc_err(id))?;
        validate_document(&doc, now_ms)?;
        docs::append(&tx, &doc, &before, now_ms)?;
        let changes = outbox::push_changes(&tx, &doc, &grid_id, &before, now_ms)?;
        projection::upsert(&tx, &doc, &grid_id)?;
        tx.commit()?;
        Ok(WriteOutcome {
            doc_id: id,
            changes,
        })
    }

    pub fn load(&self, id: DocId) -> Result<Document> {
        Ok(docs::load(&self.conn, id)?.0)
    }

    pub fn try_load(&self, id: DocId) -> Result<Option<Document>> {
        Ok(docs::try_load(&self.conn, id)?.map(|(d, _)| d))
    }

    pub fn read<T: autosurgeon::Hydrate>(&self, id: DocId) -> Result<T> {
        self.load(id)?.read().map_err(doc_err(id))
    }

    /// Every document id with its kind and grid, in id order.
    pub fn doc_ids(&self) -> Result<Vec<(DocId, DocKind, String)>> {
        docs::list(&self.conn)
    }

    /// Throw the projections away and derive them again from the documents.
    pub fn rebuild_projections(&mut self) -> Result<usize> {
        let tx = self.conn.transaction()?;
        projection::clear(&tx)?;
        let ids = docs::list(&tx)?;
        for (id, _, grid_id) in &ids {
            let (doc, _) = docs::load(&tx, *id)?;
            projection::upsert(&tx, &doc, grid_id)?;
        }
        tx.commit()?;
        Ok(ids.len())
    }

    pub fn meta_get(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn meta_set(&mut self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }
}

fn parse_id(s: &str) -> Result<DocId> {
    DocId::parse(s).ok_or_else(|| {
        StoreError::Invalid(ValidationErrors(vec![
            gridwalk_core::validate::FieldError::new(
                "id",
                gridwalk_core::validate::ErrorCode::BadChars,
                "编号不是有效的 UUID / id is not a valid UUID",
            ),
        ]))
    })
}

fn doc_err(id: DocId) -> impl Fn(CoreError) -> StoreError {
    move |source| match source {
        CoreError::Invalid(errors) => StoreError::Invalid(errors),
        source => StoreError::Doc {
            doc_id: id.to_string(),
            source,
        },
    }
}

fn check_kind(doc: &Document, kind: DocKind) -> Result<()> {
    if doc.kind != kind {
        return Err(StoreError::WrongKind {
            doc_id: doc.id.to_string(),
            stored: doc.kind.to_string(),
            requested: kind.to_string(),
        });
    }
    Ok(())
}

/// The local date in Asia/Shanghai for a UTC instant: what "today" means to a worker.
pub fn local_date(now_ms: i64) -> NaiveDate {
    chrono_tz::Asia::Shanghai
        .timestamp_millis_opt(now_ms)
        .single()
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

/// Validate a document against the schema of its kind.
/// Also refuses keys outside the schema ([`check_known_fields`]): typed reads skip them.
pub fn validate_document(doc: &Document, now_ms: i64) -> Result<()> {
    use gridwalk_core::validate::check_known_fields;
    let today = local_date(now_ms);
    let id = doc.id;
    match doc.kind {
        DocKind::Household => {
            let h: Household = doc.read().map_err(doc_err(id))?;
            gridwalk_core::validate::validate_household(&h, today)?;
            // Key-person tags live in their own document kind, which only the roles that
            // may hold them receive; a household reaches every device of its grid.
            gridwalk_core::validate::check_no_restricted_tags(&h)?;
            check_known_fields(&doc.to_json(), &h)?;
        }
        DocKind::Visit => {
            let v: Visit = doc.read().map_err(doc_err(id))?;
            gridwalk_core::validate::validate_visit(&v, today)?;
            check_known_fields(&doc.to_json(), &v)?;
        }
        DocKind::Issue => {
            let i: Issue = doc.read().map_err(doc_err(id))?;
            gridwalk_core::validate::validate_issue(&i)?;
            check_known_fields(&doc.to_json(), &i)?;
        }
        DocKind::KeyPersons => {
            let k: KeyPersons = doc.read().map_err(doc_err(id))?;
            gridwalk_core::validate::validate_key_persons(&k)?;
            check_known_fields(&doc.to_json(), &k)?;
        }
    }
    Ok(())
}
