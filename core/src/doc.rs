//! One Automerge document of a known kind: create, load, read typed, edit field by field,
//! list and resolve conflicts, read its history, and move changes in and out.
//!
//! Edits never go through a whole-struct reconcile: writing every field again would
//! supersede the values of a concurrent edit and silently close its conflict. Instead an
//! edit diffs the typed value before and after (as JSON) and writes only the leaves that
//! changed, so a field nobody touched keeps its open conflict until someone resolves it.

use crate::ids::{Author, DocId, DocKind};
use crate::CoreError;
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    Automerge, Change, ChangeHash, ObjId as ExId, ObjType, PatchAction, Prop, ReadDoc, ScalarValue,
    Value, ROOT,
};
use autosurgeon::{Hydrate, Reconcile};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::{Map, Value as Json};

/// A value written at a path, with who wrote it and when (one side of a conflict).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrittenValue {
    pub value: Json,
    pub author: Option<Author>,
    /// ms since the epoch, from the change that wrote it.
    pub at: i64,
}

/// A field with more than one concurrent value: both are kept until someone chooses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// Field path, e.g. `["members", "<person id>", "phone"]`.
    pub path: Vec<String>,
    /// Every concurrent value; the first is the one shown by default (Automerge's winner).
    pub values: Vec<WrittenValue>,
}

/// One change in a document's history: who changed which fields, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub hash: String,
    pub author: Option<Author>,
    pub at: i64,
    pub message: Option<String>,
    /// Paths of the fields the change wrote (deletes included), dotted: `members.p1.phone`.
    pub fields: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Document {
    pub kind: DocKind,
    pub id: DocId,
    am: Automerge,
}

impl Document {
    /// A new document holding `value`, written as one change by `author` at `now_ms`.
    pub fn create<T: Reconcile>(
        kind: DocKind,
        id: DocId,
        value: &T,
        author: Author,
        now_ms: i64,
    ) -> Result<Document, CoreError> {
        let mut am = Automerge::new().with_actor(author.actor_id());
        let mut tx = am.transaction();
        autosurgeon::reconcile(&mut tx, value).map_err(|e| CoreError::Schema(e.to_string()))?;
        tx.commit_with(commit_opts("create", now_ms));
        Ok(Document { kind, id, am })
    }

    /// Load from saved bytes (a snapshot, optionally followed by incremental chunks).
    pub fn load(kind: DocKind, id: DocId, bytes: &[u8]) -> Result<Document, CoreError> {
        let am = Automerge::load(bytes).map_err(|e| CoreError::Corrupt(e.to_string()))?;
        Ok(Document { kind, id, am })
    }

    /// An empty document, to be filled by applying changes received from elsewhere.
    pub fn empty(kind: DocKind, id: DocId) -> Document {
        Document {
            kind,
            id,
            am: Automerge::new(),
        }
    }

    pub fn automerge(&self) -> &Automerge {
        &self.am
    }

    pub fn is_empty(&self) -> bool {
        self.am.get_heads().is_empty()
    }

    /// The document as its typed root.
    pub fn read<T: Hydrate>(&self) -> Result<T, CoreError> {
        autosurgeon::hydrate(&self.am).map_err(|e| CoreError::Schema(e.to_string()))
    }

    /// The document as JSON (winning values of conflicts).
    pub fn to_json(&self) -> Json {
        object_to_json(&self.am, &ROOT)
    }

    /// Edit the typed value; only the fields `edit` changed are written, as one change.
    /// Returns the new change's hash, or `None` when nothing changed.
    pub fn edit<T, F>(
        &mut self,
        author: Author,
        now_ms: i64,
        message: &str,
        edit: F,
    ) -> Result<Option<ChangeHash>, CoreError>
    where
        T: Hydrate + Serialize,
        F: FnOnce(&mut T) -> Result<(), CoreError>,
    {
        let mut value: T = self.read()?;
        let before = to_json(&value)?;
        edit(&mut value)?;
        let after = to_json(&value)?;
        self.write_json_diff(author, now_ms, message, &before, &after)
    }

    /// Write the differences between two JSON images of the root as one change.
    pub fn write_json_diff(
        &mut self,
        author: Author,
        now_ms: i64,
        message: &str,
        before: &Json,
        after: &Json,
    ) -> Result<Option<ChangeHash>, CoreError> {
        let (Json::Object(before), Json::Object(after)) = (before, after) else {
            return Err(CoreError::Schema("document root must be an object".into()));
        };
        self.am.set_actor(author.actor_id());
        let mut tx = self.am.transaction();
        write_object_diff(&mut tx, &ROOT, before, after)?;
        if tx.pending_ops() == 0 {
            tx.rollback();
            return Ok(None);
        }
        Ok(tx.commit_with(commit_opts(message, now_ms)).0)
    }

    /// Every field that has more than one concurrent value.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out = Vec::new();
        // Reading every change is costly; only do it when there is a conflict to explain.
        let mut changes: Option<Vec<Change>> = None;
        collect_conflicts(&self.am, &ROOT, &mut Vec::new(), &mut changes, &mut out);
        out
    }

    /// Resolve a conflict by writing the chosen value at `path`: an ordinary change that
    /// supersedes every concurrent value, with the author and time of whoever chose.
    pub fn resolve_conflict(
        &mut self,
        author: Author,
        now_ms: i64,
        path: &[String],
        chosen: &Json,
    ) -> Result<ChangeHash, CoreError> {
        let (key, parents) = path
            .split_last()
            .ok_or_else(|| CoreError::Schema("empty path".into()))?;
        self.am.set_actor(author.actor_id());
        let mut tx = self.am.transaction();
        let mut obj = ROOT;
        for p in parents {
            obj = match tx.get(&obj, p.as_str()) {
                Ok(Some((Value::Object(ObjType::Map), id))) => id,
                _ => {
                    tx.rollback();
                    return Err(CoreError::Schema(format!(
                        "no object at {}",
                        path.join(".")
                    )));
                }
            };
        }
        put_json(&mut tx, &obj, key, chosen)?;
        let (hash, _) = tx.commit_with(commit_opts(&format!("resolve {}", path.join(".")), now_ms));
        hash.ok_or_else(|| CoreError::Schema("resolving wrote nothing".into()))
    }

    /// Write `value` at `path` as a change concurrent with the one that wrote the value
    /// there now, so both are kept as a conflict (a re-import meeting a device's edit).
    /// `Ok(None)` when that is not possible (the path did not exist before that change):
    /// nothing is written then. `author`'s actor must have no changes in this document
    /// (an actor's changes form one sequence, and this one starts from an older state).
    pub fn put_concurrent(
        &mut self,
        author: Author,
        now_ms: i64,
        message: &str,
        path: &[String],
        value: &Json,
    ) -> Result<Option<ChangeHash>, CoreError> {
        let Some((key, parents)) = path.split_last() else {
            return Ok(None);
        };
        let object_at = |doc: &Automerge| -> Option<ExId> {
            let mut obj = ROOT;
            for p in parents {
                match doc.get(&obj, p.as_str()) {
                    Ok(Some((Value::Object(ObjType::Map), id))) => obj = id,
                    _ => return None,
                }
            }
            Some(obj)
        };
        let Some(obj) = object_at(&self.am) else {
            return Ok(None);
        };
        let Ok(Some((_, op))) = self.am.get(&obj, key.as_str()) else {
            return Ok(None);
        };
        let Some(deps) = (self.am.hash_for_opid(&op))
            .and_then(|h| self.am.get_change_by_hash(&h))
            .map(|c| c.deps().to_vec())
        else {
            return Ok(None);
        };
        let mut fork = self
            .am
            .fork_at(&deps)
            .map_err(|e| CoreError::Corrupt(e.to_string()))?
            .with_actor(author.actor_id());
        let Some(obj) = object_at(&fork) else {
            return Ok(None);
        };
        let mut tx = fork.transaction();
        put_json(&mut tx, &obj, key, value)?;
        let (hash, _) = tx.commit_with(commit_opts(message, now_ms));
        self.am.merge(&mut fork).map_err(|e| CoreError::BadChange {
            index: 0,
            reason: e.to_string(),
        })?;
        Ok(hash)
    }

    /// The document's changes in causal order, with the fields each wrote.
    pub fn history(&self) -> Vec<HistoryEntry> {
        self.am
            .get_changes(&[])
            .iter()
            .map(|c| {
                let patches = self.am.diff(c.deps(), &[c.hash()]);
                let mut fields: Vec<String> = patches
                    .iter()
                    .filter_map(|p| {
                        let key = match &p.action {
                            PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
                                key.clone()
                            }
                            _ => return None,
                        };
                        let mut parts: Vec<String> =
                            p.path.iter().map(|(_, prop)| prop_name(prop)).collect();
                        parts.push(key);
                        Some(parts.join("."))
                    })
                    .collect();
                fields.sort();
                fields.dedup();
                HistoryEntry {
                    hash: c.hash().to_string(),
                    author: Author::from_actor(c.actor_id()),
                    at: c.timestamp(),
                    message: c.message().map(str::to_string),
                    fields,
                }
            })
            .collect()
    }

    pub fn heads(&self) -> Vec<ChangeHash> {
        self.am.get_heads()
    }

    pub fn save(&self) -> Vec<u8> {
        self.am.save()
    }

    /// The whole document without Automerge's own DEFLATE of its columns: what stores keep
    /// and the wire carries, so that zstd over a page of documents of one shape finds the
    /// repeats across them (`Automerge::load` reads both forms).
    pub fn save_nocompress(&self) -> Vec<u8> {
        self.am.save_nocompress()
    }

    /// Changes made after `heads` (all changes for empty heads), in causal order.
    pub fn changes_since(&self, heads: &[ChangeHash]) -> Vec<Change> {
        self.am.get_changes(heads)
    }

    /// The bytes of everything after `heads`, in the incremental save format.
    pub fn save_after(&self, heads: &[ChangeHash]) -> Vec<u8> {
        self.am.save_after(heads)
    }

    pub fn has_change(&self, hash: &ChangeHash) -> bool {
        self.am.get_change_by_hash(hash).is_some()
    }

    /// Apply raw change bytes received from another replica. Duplicates are ignored.
    pub fn apply_change_bytes<'a, I>(&mut self, changes: I) -> Result<(), CoreError>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let mut parsed = Vec::new();
        for (i, bytes) in changes.into_iter().enumerate() {
            let change = Change::from_bytes(bytes.to_vec()).map_err(|e| CoreError::BadChange {
                index: i,
                reason: e.to_string(),
            })?;
            // A change is named by the hash of its bytes, and Automerge encodes changes
            // again when it saves or hands them out: bytes that decode but are not its own
            // encoding would be kept under one hash and served under another (a fuzzed
            // push made Automerge's own consistency check panic in `get_changes`).
            let canonical: Change = guarded(|| Ok(Change::from(change.decode())))?;
            if canonical.hash() != change.hash() {
                return Err(CoreError::BadChange {
                    index: i,
                    reason: "its bytes are not Automerge's encoding of the change they decode to"
                        .into(),
                });
            }
            parsed.push(change);
        }
        let am = &mut self.am;
        guarded(|| {
            am.apply_changes(parsed).map_err(|e| CoreError::BadChange {
                index: 0,
                reason: e.to_string(),
            })
        })
    }

    /// Load incremental bytes (as produced by [`Document::save_after`]).
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<(), CoreError> {
        let am = &mut self.am;
        guarded(|| {
            am.load_incremental(bytes)
                .map(|_| ())
                .map_err(|e| CoreError::Corrupt(e.to_string()))
        })
    }

    /// Dependencies named by applied changes that this document does not have yet.
    pub fn missing_deps(&self) -> Vec<ChangeHash> {
        self.am.get_missing_deps(&[])
    }

    pub fn merge(&mut self, other: &mut Document) -> Result<(), CoreError> {
        self.am
            .merge(&mut other.am)
            .map(|_| ())
            .map_err(|e| CoreError::BadChange {
                index: 0,
                reason: e.to_string(),
            })
    }
}

fn commit_opts(message: &str, now_ms: i64) -> CommitOptions {
    CommitOptions::default()
        .with_message(message.to_string())
        .with_time(now_ms)
}

fn to_json<T: Serialize>(value: &T) -> Result<Json, CoreError> {
    serde_json::to_value(value).map_err(|e| CoreError::Schema(e.to_string()))
}

/// Read the document's JSON into any serde type (used where autosurgeon types are absent).
pub fn from_json<T: DeserializeOwned>(value: Json) -> Result<T, CoreError> {
    serde_json::from_value(value).map_err(|e| CoreError::Schema(e.to_string()))
}

fn prop_name(prop: &Prop) -> String {
    match prop {
        Prop::Map(k) => k.clone(),
        Prop::Seq(i) => i.to_string(),
    }
}

fn write_object_diff<T: Transactable>(
    tx: &mut T,
    obj: &ExId,
    before: &Map<String, Json>,
    after: &Map<String, Json>,
) -> Result<(), CoreError> {
    for (key, new) in after {
        match (before.get(key), new) {
            (Some(old), new) if old == new => {}
            (Some(Json::Object(old)), Json::Object(new)) => {
                let child = match tx.get(obj, key.as_str()) {
                    Ok(Some((Value::Object(ObjType::Map), id))) => id,
                    _ => return Err(CoreError::Schema(format!("{key} is not a map"))),
                };
                write_object_diff(tx, &child, old, new)?;
            }
            _ => put_json(tx, obj, key, new)?,
        }
    }
    for key in before.keys().filter(|k| !after.contains_key(*k)) {
        tx.delete(obj, key.as_str()).map_err(am_err)?;
    }
    Ok(())
}

fn put_json<T: Transactable>(
    tx: &mut T,
    obj: &ExId,
    key: &str,
    value: &Json,
) -> Result<(), CoreError> {
    match value {
        Json::Object(fields) => {
            let child = tx.put_object(obj, key, ObjType::Map).map_err(am_err)?;
            for (k, v) in fields {
                put_json(tx, &child, k, v)?;
            }
            Ok(())
        }
        Json::Array(_) => Err(CoreError::Schema(format!(
            "{key}: lists are not part of the schema"
        ))),
        scalar => tx.put(obj, key, json_scalar(scalar)).map_err(am_err),
    }
}

fn json_scalar(value: &Json) -> ScalarValue {
    match value {
        Json::Null => ScalarValue::Null,
        Json::Bool(b) => ScalarValue::Boolean(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => ScalarValue::Int(i),
            (None, Some(u), _) => ScalarValue::Uint(u),
            (_, _, f) => ScalarValue::F64(f.unwrap_or(0.0)),
        },
        Json::String(s) => ScalarValue::Str(s.as_str().into()),
        Json::Array(_) | Json::Object(_) => ScalarValue::Null,
    }
}

fn am_err(e: automerge::AutomergeError) -> CoreError {
    CoreError::Schema(e.to_string())
}

fn value_to_json(doc: &Automerge, value: &Value<'_>, id: &ExId) -> Json {
    match value {
        Value::Object(ObjType::Map) => object_to_json(doc, id),
        Value::Object(_) => Json::Null,
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Null => Json::Null,
            ScalarValue::Boolean(b) => Json::Bool(*b),
            ScalarValue::Int(i) => Json::from(*i),
            ScalarValue::Uint(u) => Json::from(*u),
            ScalarValue::F64(f) => Json::from(*f),
            ScalarValue::Str(s) => Json::String(s.to_string()),
            ScalarValue::Timestamp(t) => Json::from(*t),
            ScalarValue::Counter(c) => Json::from(i64::from(c)),
            ScalarValue::Bytes(b) => Json::String(b.iter().map(|x| format!("{x:02x}")).collect()),
            ScalarValue::Unknown { .. } => Json::Null,
        },
    }
}

fn object_to_json(doc: &Automerge, obj: &ExId) -> Json {
    let mut out = Map::new();
    let keys: Vec<String> = doc.keys(obj).collect();
    for key in keys {
        if let Ok(Some((value, id))) = doc.get(obj, key.as_str()) {
            out.insert(key, value_to_json(doc, &value, &id));
        }
    }
    Json::Object(out)
}

fn collect_conflicts(
    doc: &Automerge,
    obj: &ExId,
    path: &mut Vec<String>,
    changes: &mut Option<Vec<Change>>,
    out: &mut Vec<Conflict>,
) {
    let keys: Vec<String> = doc.keys(obj).collect();
    for key in keys {
        let Ok(values) = doc.get_all(obj, key.as_str()) else {
            continue;
        };
        path.push(key.clone());
        if values.len() > 1 {
            let changes = changes.get_or_insert_with(|| doc.get_changes(&[]));
            out.push(Conflict {
                path: path.clone(),
                values: values
                    .iter()
                    .map(|(v, id)| {
                        let (author, at) = op_origin(id, changes);
                        WrittenValue {
                            value: value_to_json(doc, v, id),
                            author,
                            at,
                        }
                    })
                    .collect(),
            });
        } else if let Some((Value::Object(ObjType::Map), child)) = values.first() {
            collect_conflicts(doc, child, path, changes, out);
        }
        path.pop();
    }
}

/// The author and time of the change that made the op `id`.
fn op_origin(id: &ExId, changes: &[Change]) -> (Option<Author>, i64) {
    let ExId::Id(counter, actor, _) = id else {
        return (None, 0);
    };
    let change = changes.iter().find(|c| {
        let start = c.start_op().get();
        c.actor_id() == actor && *counter >= start && *counter < start + c.len() as u64
    });
    (
        Author::from_actor(actor),
        change.map_or(0, |c| c.timestamp()),
    )
}
/// Automerge 0.12 panics on some well-formed but inconsistent changes ("Obj … Missing
/// from Index", found by store/tests/fuzz_sync.rs). Bytes from a device must never panic
/// the server: the panic becomes an error, and the caller discards this document, whose
/// state is then undefined (every caller drops it on error).
fn guarded<T>(f: impl FnOnce() -> Result<T, CoreError>) -> Result<T, CoreError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("internal error");
        Err(CoreError::BadChange {
            index: 0,
            reason: format!("Automerge could not apply the changes ({why})"),
        })
    })
}
