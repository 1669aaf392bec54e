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
    insert_bytes(conn, doc, grid_id, &doc.save(), now_ms)
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
    let id = doc.id.to_string();
    let (snapshot_len, chunk_bytes, chunk_count): (i64, i64, i64) = conn.query_row(
        "SELECT length(snapshot), chunk_bytes, chunk_count FROM docs WHERE doc_id = ?1",
        [&id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let chunk = doc.save_after(before);
    let heads = heads_text(&doc.heads());
    if chunk_bytes + chunk.len() as i64 > snapshot_len || chunk_count + 1 > MAX_CHUNKS {
        conn.execute("DELETE FROM doc_chunks WHERE doc_id = ?1", [&id])?;
        conn.execute(
            "UPDATE docs SET snapshot = ?2, heads = ?3, chunk_bytes = 0, chunk_count = 0,
             updated_at = ?4 WHERE doc_id = ?1",
            params![id, doc.save(), heads, now_ms],
        )?;
    } else {
        conn.execute(
            "INSERT INTO doc_chunks (doc_id, seq, bytes) VALUES (?1, ?2, ?3)",
            params![id, chunk_count + 1, chunk],
        )?;
        conn.execute(
            "UPDATE docs SET heads = ?2, chunk_bytes = chunk_bytes + ?3,
             chunk_count = chunk_count + 1, updated_at = ?4 WHERE doc_id = ?1",
            params![id, heads, chunk.len() as i64, now_ms],
        )?;
    }
    Ok(())
}

pub fn try_load(conn: &Connection, id: DocId) -> Result<Option<(Document, String)>> {
    let key = id.to_string();
    let row: Option<(String, String, Vec<u8>)> = conn
        .query_row(
            "SELECT kind, grid_id, snapshot FROM docs WHERE doc_id = ?1",
            [&key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((kind, grid_id, snapshot)) = row else {
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
    Ok(Some((doc, grid_id)))
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
