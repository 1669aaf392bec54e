//! Document persistence: a snapshot plus incremental chunks per document.
//!
//! Every write appends the bytes after the previous heads as one chunk (small, so an edit
//! costs one short row). When the chunks together outgrow the snapshot, or pass
//! [`MAX_CHUNKS`], the document is compacted: a fresh snapshot replaces snapshot and
//! chunks, in the same transaction (the rule automerge-repo uses).

use crate::{Result, StoreError};
use automerge::ChangeHash;
use gridwalk_core::{DocId, DocKind, Document};
use rusqlite::{params, Connection, OptionalExtension};

const MAX_CHUNKS: i64 = 64;

pub fn heads_text(heads: &[ChangeHash]) -> String {
    let mut hex: Vec<String> = heads.iter().map(ToString::to_string).collect();
    hex.sort();
    hex.join(",")
}

pub fn exists(conn: &Connection, id: DocId) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM docs WHERE doc_id = ?1",
            [id.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

pub fn insert(conn: &Connection, doc: &Document, grid_id: &str, now_ms: i64) -> Result<()> {
    insert_bytes(conn, doc, grid_id, &doc.save_nocompress(), now_ms)
}

/// Store a document received whole (a first download) without loading it: its bytes and
/// the heads the server sent with them. Returns false, writing nothing, when a document
/// of that id is already here (the caller merges instead). The heads are checked the
/// first time the document is loaded ([`try_load`]).
pub(crate) fn insert_received(
    conn: &Connection,
    id: &str,
    kind: DocKind,
    grid_id: &str,
    bytes: &[u8],
    heads: &str,
    now_ms: i64,
) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT INTO docs (doc_id, kind, grid_id, snapshot, heads, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (doc_id) DO NOTHING",
        )?
        .execute(params![id, kind.as_str(), grid_id, bytes, heads, now_ms])?;
    Ok(n == 1)
}

/// Insert a document whose saved bytes the caller has already (received from the server).
pub fn insert_bytes(
    conn: &Connection,
    doc: &Document,
    grid_id: &str,
    bytes: &[u8],
    now_ms: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO docs (doc_id, kind, grid_id, snapshot, heads, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            doc.id.to_string(),
            doc.kind.as_str(),
            grid_id,
            bytes,
            heads_text(&doc.heads()),
            now_ms
        ],
    )?;
    Ok(())
}

/// Persist what `doc` has beyond `before` (its heads when it was loaded).
pub fn append(conn: &Connection, doc: &Document, before: &[ChangeHash], now_ms: i64) -> Result<()> {
    append_chunk(conn, doc, &doc.save_after(before), now_ms)
}

/// [`append`] with the incremental chunk (`doc.save_after(before)`) already made, so that
/// a caller on a busy writer can make it beforehand (the district's group commit).
pub fn append_chunk(conn: &Connection, doc: &Document, chunk: &[u8], now_ms: i64) -> Result<()> {
    let id = doc.id.to_string();
    let (snapshot_len, chunk_bytes, chunk_count): (i64, i64, i64) = conn
        .prepare_cached(
            "SELECT length(snapshot), chunk_bytes, chunk_count FROM docs WHERE doc_id = ?1",
        )?
        .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let heads = heads_text(&doc.heads());
    if chunk_bytes + chunk.len() as i64 > snapshot_len || chunk_count + 1 > MAX_CHUNKS {
        conn.prepare_cached("DELETE FROM doc_chunks WHERE doc_id = ?1")?
            .execute([&id])?;
        conn.prepare_cached(
            "UPDATE docs SET snapshot = ?2, heads = ?3, chunk_bytes = 0, chunk_count = 0,
             updated_at = ?4 WHERE doc_id = ?1",
        )?
        .execute(params![id, doc.save_nocompress(), heads, now_ms])?;
    } else {
        conn.prepare_cached("INSERT INTO doc_chunks (doc_id, seq, bytes) VALUES (?1, ?2, ?3)")?
            .execute(params![id, chunk_count + 1, chunk])?;
        conn.prepare_cached(
            "UPDATE docs SET heads = ?2, chunk_bytes = chunk_bytes + ?3,
             chunk_count = chunk_count + 1, updated_at = ?4 WHERE doc_id = ?1",
        )?
        .execute(params![id, heads, chunk.len() as i64, now_ms])?;
    }
    Ok(())
}

pub fn try_load(conn: &Connection, id: DocId) -> Result<Option<(Document, String)>> {
    let key = id.to_string();
    let row: Option<(String, String, Vec<u8>, String)> = conn
        .prepare_cached("SELECT kind, grid_id, snapshot, heads FROM docs WHERE doc_id = ?1")?
        .query_row([&key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((kind, grid_id, snapshot, stored_heads)) = row else {
        return Ok(None);
    };
    let kind = DocKind::parse(&kind).ok_or_else(|| corrupt(id, format!("unknown kind {kind}")))?;
    let mut doc = Document::load(kind, id, &snapshot).map_err(|e| corrupt(id, e.to_string()))?;
    let mut stmt =
        conn.prepare_cached("SELECT bytes FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([&key])?;
    while let Some(row) = rows.next()? {
        let bytes: Vec<u8> = row.get(0)?;
        doc.load_incremental(&bytes)
            .map_err(|e| corrupt(id, e.to_string()))?;
    }
    let heads = heads_text(&doc.heads());
    if heads != stored_heads {
        heal(conn, &doc, &grid_id, &heads);
    }
    Ok(Some((doc, grid_id)))
}

/// A document received whole came with heads (and projection rows) that its bytes do not
/// have: the rows are not the document's. Put the true heads and rows in their place,
/// best effort (a read-only caller still gets the document).
fn heal(conn: &Connection, doc: &Document, grid_id: &str, heads: &str) {
    tracing::warn!(doc_id = %doc.id, "stored heads differ from the document's; rows derived again");
    let fixed = conn
        .execute(
            "UPDATE docs SET heads = ?2 WHERE doc_id = ?1",
            params![doc.id.to_string(), heads],
        )
        .map_err(StoreError::from)
        .and_then(|_| crate::projection::upsert(conn, doc, grid_id));
    if let Err(e) = fixed {
        tracing::warn!(doc_id = %doc.id, error = %e, "could not correct the stored heads");
    }
}

pub fn load(conn: &Connection, id: DocId) -> Result<(Document, String)> {
    try_load(conn, id)?.ok_or_else(|| StoreError::NotFound {
        doc_id: id.to_string(),
    })
}

pub fn list(conn: &Connection) -> Result<Vec<(DocId, DocKind, String)>> {
    let mut stmt = conn.prepare("SELECT doc_id, kind, grid_id FROM docs ORDER BY doc_id")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind, grid) = row?;
        if let (Some(id), Some(kind)) = (DocId::parse(&id), DocKind::parse(&kind)) {
            out.push((id, kind, grid));
        }
    }
    Ok(out)
}

fn corrupt(id: DocId, reason: String) -> StoreError {
    StoreError::Doc {
        doc_id: id.to_string(),
        source: gridwalk_core::CoreError::Corrupt(reason),
    }
}
