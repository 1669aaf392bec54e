//! A pushed document decided in memory, the same on every backend: its changes parsed and
//! checked for authorship, applied to the stored document, scope, kind and grid checked,
//! the permission rule (`gridwalk_core::authorize`) and validation run. Only then does a
//! backend write it. The backends supply what this reads through [`DocLookup`].

use crate::{DeviceAuth, Result, StoreError};
use automerge::{Change, ChangeHash};
use gridwalk_core::authorize::{authorize, referenced_household, Actor, Facts, Forbidden, Owned};
use gridwalk_core::sync::{DocChanges, PushOutcome, PushResult, RejectCode};
use gridwalk_core::{Author, DocId, Document};
use gridwalk_store::validate_document;
use uuid::Uuid;

/// Smallest and largest pull page a device may ask for.
pub const MIN_PAGE_BYTES: usize = 16 * 1024;
pub const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// What the shared decisions read from a backend, inside the backend's transaction.
pub trait DocLookup {
    /// A stored document and its grid.
    fn load_doc(&mut self, id: DocId) -> Result<Option<(Document, String)>>;
    /// The grid of a stored household document.
    fn household_grid(&mut self, household_id: &str) -> Result<Option<String>>;
}

/// The permission check (`gridwalk_core::authorize`) of a change from `before` (`None`
/// for a new document) to `after`, with the facts it needs looked up in the store: the
/// grid of the household the document refers to. A document that does not read as its
/// schema passes here: validation refuses it.
pub fn authorize_document(
    lookup: &mut dyn DocLookup,
    actor: &Actor,
    before: Option<&Owned>,
    after: &Document,
) -> Result<std::result::Result<(), Forbidden>> {
    let Ok(after) = Owned::read(after) else {
        return Ok(Ok(()));
    };
    let mut facts = Facts::default();
    if let Some(h) = referenced_household(after.image()) {
        if let Some(grid) = lookup.household_grid(h)? {
            facts.household_grids.insert(h.to_string(), grid);
        }
    }
    Ok(authorize(
        actor,
        before.map(Owned::image),
        after.image(),
        &facts,
    ))
}

/// A pushed document after its changes were applied in memory, before anything is written.
pub struct Staged {
    pub doc: Document,
    pub grid_id: String,
    pub before: Vec<ChangeHash>,
    pub is_new: bool,
    pub conflicts_before: usize,
}

pub fn reject(doc_id: Uuid, code: RejectCode, message: impl Into<String>) -> PushResult {
    PushResult {
        doc_id,
        outcome: PushOutcome::Rejected {
            code,
            message: message.into(),
        },
    }
}

pub fn parse_heads(text: &str) -> Vec<[u8; 32]> {
    text.split(',')
        .filter_map(|h| {
            let bytes = hex::decode(h).ok()?;
            <[u8; 32]>::try_from(bytes.as_slice()).ok()
        })
        .collect()
}

/// The `grid_id` a document names (its winning value): read directly when it is a plain
/// string, as documents write it, without rendering the whole document as JSON.
fn grid_of(doc: &Document) -> String {
    use automerge::{ReadDoc, ScalarValue, Value, ROOT};
    match doc.automerge().get(ROOT, "grid_id") {
        Ok(Some((Value::Scalar(v), _))) => match v.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            _ => String::new(),
        },
        Ok(None) => String::new(),
        // Text or another object: whatever the JSON rendering makes of it.
        _ => doc
            .to_json()
            .get("grid_id")
            .and_then(|g| g.as_str())
            .map(str::to_string)
            .unwrap_or_default(),
    }
}

/// Apply one pushed document's changes in memory and decide. `Ok(None)` means accepted
/// with nothing new; `Err` is a per-document rejection. `Err` of the outer result is a
/// store failure or a scope violation (the whole push is refused).
pub fn stage(
    lookup: &mut dyn DocLookup,
    device: &DeviceAuth,
    pushed: &DocChanges,
    now_ms: i64,
) -> Result<Result<Option<Staged>, PushResult>> {
    let id = DocId(pushed.doc_id);
    let mut changes = Vec::with_capacity(pushed.changes.len());
    for (i, bytes) in pushed.changes.iter().enumerate() {
        let change = match Change::from_bytes(bytes.to_vec()) {
            Ok(c) => c,
            Err(e) => {
                let msg = format!("change #{i} is not a valid Automerge change: {e}");
                return Ok(Err(reject(pushed.doc_id, RejectCode::BadChange, msg)));
            }
        };
        let author = Author::from_actor(change.actor_id());
        let ours = author.is_some_and(|a| {
            a.device.to_string() == device.device_id && a.user.to_string() == device.user_id
        });
        if !ours {
            let msg = format!("change #{i} was not made by this device and its user");
            return Ok(Err(reject(pushed.doc_id, RejectCode::WrongAuthor, msg)));
        }
        changes.push(change);
    }
    let (mut doc, stored_grid) = match lookup.load_doc(id)? {
        Some((doc, grid)) => (doc, Some(grid)),
        None => (Document::empty(pushed.kind, id), None),
    };
    // Scope before anything else about a stored document: a device must not learn even
    // the kind of a document in another grid.
    if let Some(grid) = stored_grid.as_ref().filter(|g| !device.may_sync(g)) {
        return Err(StoreError::Forbidden {
            doc_id: id.to_string(),
            grid_id: grid.clone(),
        });
    }
    if doc.kind != pushed.kind {
        let msg = format!("document is a {}, not a {}", doc.kind, pushed.kind);
        return Ok(Err(reject(pushed.doc_id, RejectCode::WrongKind, msg)));
    }
    // The document as it was, for the permission check on what the push changes.
    let before_image = match stored_grid.is_some().then(|| Owned::read(&doc)).transpose() {
        Ok(b) => b,
        Err(e) => {
            return Ok(Err(reject(
                pushed.doc_id,
                RejectCode::Invalid,
                e.to_string(),
            )))
        }
    };
    let before = doc.heads();
    let conflicts_before = doc.conflicts().len();
    let raw: Vec<&[u8]> = changes.iter().map(|c| c.raw_bytes()).collect();
    if let Err(e) = doc.apply_change_bytes(raw) {
        return Ok(Err(reject(
            pushed.doc_id,
            RejectCode::BadChange,
            e.to_string(),
        )));
    }
    if !doc.missing_deps().is_empty() {
        let msg = "changes depend on changes the server does not have; push them together";
        return Ok(Err(reject(pushed.doc_id, RejectCode::BadChange, msg)));
    }
    let content_grid = grid_of(&doc);
    if !device.may_sync(&content_grid) {
        return Err(StoreError::Forbidden {
            doc_id: id.to_string(),
            grid_id: content_grid,
        });
    }
    if stored_grid.as_ref().is_some_and(|g| *g != content_grid) {
        let msg = "grid_id cannot change: moving a household to another grid is an admin action";
        return Ok(Err(reject(pushed.doc_id, RejectCode::Invalid, msg)));
    }
    if doc.heads() == before {
        return Ok(Ok(None));
    }
    // What the change does is checked before its shape, so a forged change is answered
    // as forbidden even when it is also malformed.
    if let Err(f) = authorize_document(lookup, &device.actor(), before_image.as_ref(), &doc)? {
        let msg = format!("{f} (nothing of this document was stored)");
        return Ok(Err(reject(pushed.doc_id, RejectCode::Forbidden, msg)));
    }
    if let Err(e) = validate_document(&doc, now_ms) {
        return Ok(Err(reject(
            pushed.doc_id,
            RejectCode::Invalid,
            e.to_string(),
        )));
    }
    Ok(Ok(Some(Staged {
        doc,
        grid_id: content_grid,
        before,
        is_new: stored_grid.is_none(),
        conflicts_before,
    })))
}

/// A handed-over document ready to keep: its grid (the stored one, else the one it
/// names), its change hashes, the raw changes concatenated, and the field paths they write.
pub struct HandoverRow {
    pub grid: String,
    pub hashes: Vec<String>,
    pub raw: Vec<u8>,
    pub fields: Vec<String>,
}

/// A handover checked like a push (every change this device's), nothing applied: what
/// to keep, or the per-document refusal.
pub fn prepare_handover(
    lookup: &mut dyn DocLookup,
    device: &DeviceAuth,
    d: &DocChanges,
) -> Result<std::result::Result<HandoverRow, PushResult>> {
    let mut raw = Vec::new();
    let mut hashes = Vec::new();
    for (i, bytes) in d.changes.iter().enumerate() {
        let change = match Change::from_bytes(bytes.to_vec()) {
            Ok(c) => c,
            Err(e) => {
                let msg = format!("change #{i} is not a valid Automerge change: {e}");
                return Ok(Err(reject(d.doc_id, RejectCode::BadChange, msg)));
            }
        };
        let ours = Author::from_actor(change.actor_id()).is_some_and(|a| {
            a.device.to_string() == device.device_id && a.user.to_string() == device.user_id
        });
        if !ours {
            let msg = format!("change #{i} was not made by this device and its user");
            return Ok(Err(reject(d.doc_id, RejectCode::WrongAuthor, msg)));
        }
        hashes.push(change.hash().to_string());
        raw.extend_from_slice(change.raw_bytes());
    }
    // The grid and the fields written, read from a copy with the changes applied.
    let id = DocId(d.doc_id);
    let (mut doc, stored_grid) = match lookup.load_doc(id)? {
        Some((doc, grid)) => (doc, Some(grid)),
        None => (Document::empty(d.kind, id), None),
    };
    let _ = doc.apply_change_bytes(d.changes.iter().map(|c| c.as_slice()));
    let grid = stored_grid.unwrap_or_else(|| {
        (doc.to_json().get("grid_id").and_then(|g| g.as_str()))
            .unwrap_or_default()
            .to_string()
    });
    let mut fields: Vec<String> = doc
        .history()
        .into_iter()
        .filter(|h| hashes.contains(&h.hash))
        .flat_map(|h| h.fields)
        .collect();
    fields.sort();
    fields.dedup();
    Ok(Ok(HandoverRow {
        grid,
        hashes,
        raw,
        fields,
    }))
}
