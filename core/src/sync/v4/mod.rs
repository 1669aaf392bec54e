//! Version 4's response: the pulled documents of a page column by column. The message is
//! the same [`SyncResponse`] once read; only its bytes on the wire differ. zstd finds far
//! more in a page when like sits with like: every document's Automerge key column
//! together, every value column together, every household's `community_code` together,
//! the random hashes apart from the text (docs/sync-protocol.md, "Bytes").
//!
//! Lossless by construction: a snapshot is taken apart only when [`docchunk::join`] gives
//! it back byte for byte, and every cell travels as it was (a cell equal to its
//! document's id or grid is written as a reference to it).

mod read;
#[cfg(test)]
mod tests;
mod write;

use super::docchunk::{self, DocParts};
use super::{
    Cell, CodecError, DocData, DocHeads, GridCursor, GridDigest, PulledDoc, PushResult,
    SyncResponse, TableRows,
};
use crate::ids::DocKind;
use crate::projection::search_at as at;
use crate::projection::search_cells;
use read::from_columns;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::collections::HashMap;
use uuid::Uuid;
use write::to_columns;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct SyncResponseV4 {
    pub protocol: u16,
    pub pushed: Vec<PushResult>,
    pub cursors: Vec<GridCursor>,
    pub more: bool,
    pub full_pull_total: u64,
    pub digests: Vec<GridDigest>,
    pub server_heads: Vec<DocHeads>,
    pub scope_changed: Option<Vec<String>>,
    pub handed_over: Vec<PushResult>,
    pub projection: String,
    pub pulled: PulledColumns,
}

/// A pulled document's id: as it is, or where its snapshot holds it as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum DocIdForm {
    Raw(Uuid),
    InDoc(u32),
}

/// How one pulled document's data travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Form {
    /// A snapshot taken apart into [`SplitDocs`].
    Split,
    /// A snapshot as it is, in `whole`.
    Whole,
    /// Changes, in `changes`.
    Changes,
}

/// A page's pulled documents, one column per field.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(super) struct PulledColumns {
    doc_ids: Vec<DocIdForm>,
    kinds: Vec<DocKind>,
    /// The page's distinct grids; `grid_of` indexes them per document.
    grids: Vec<String>,
    grid_of: Vec<u32>,
    forms: Vec<Form>,
    heads: Vec<Vec<[u8; 32]>>,
    changes: Vec<Vec<ByteBuf>>,
    whole: Vec<ByteBuf>,
    split: SplitDocs,
    row_tables: Vec<DocRows>,
    tables: Vec<TableColumns>,
}

/// The snapshots of a page, section by section: the parts of document *k* are the *k*-th
/// of each (actors, heads and metadata are self-delimiting; a column's length is in the
/// metadata).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
struct SplitDocs {
    actors: ByteBuf,
    meta: ByteBuf,
    /// One stream per (section, spec): that column of every document, in page order.
    columns: Vec<(u64, ByteBuf)>,
    suffixes: Vec<ByteBuf>,
    /// Last: 32 random bytes per head that no compressor shrinks, kept apart from the rest.
    heads: ByteBuf,
}

/// A document's projection rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum DocRows {
    None,
    /// Its tables as (index in `tables`, row count), in order.
    Tables(Vec<(u32, u32)>),
    AsTheyAre(Vec<TableRows>),
}

/// Rows of one width, and not empty ones (those could be any number on the wire).
fn one_width(t: &TableRows) -> bool {
    let width = t.rows.first().map_or(0, Vec::len);
    (width > 0 || t.rows.is_empty()) && t.rows.iter().all(|r| r.len() == width)
}

/// One table's rows of a page, column-major: `columns[c][r]` is row *r*'s cell *c*.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TableColumns {
    name: String,
    columns: Vec<Vec<WireCell>>,
    /// Encoding only: the document (page index) of each row.
    #[serde(skip)]
    doc_of_row: Vec<u32>,
}

/// A [`Cell`] on the wire: as it is, or the document's own id or grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum WireCell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(ByteBuf),
    /// Text equal to the document's id (hyphenated, lower case).
    DocId,
    /// Text equal to the document's grid id.
    Grid,
    /// Text found in the document's own snapshot bytes at `at` (`len` bytes): a name, an
    /// ID number, a person's id the document holds anyway.
    InDoc {
        at: u32,
        len: u32,
    },
    /// Version 5: left out, the device derives it from the document's other cells (a
    /// household's `search` and `tails`: [`derived_keys`]).
    Derived,
}

fn wire_cell(cell: &Cell, doc_id: &str, grid: &str) -> WireCell {
    match cell {
        Cell::Text(t) if t == doc_id => WireCell::DocId,
        Cell::Text(t) if t == grid => WireCell::Grid,
        Cell::Null => WireCell::Null,
        Cell::Int(i) => WireCell::Int(*i),
        Cell::Real(f) => WireCell::Real(*f),
        Cell::Text(t) => WireCell::Text(t.clone()),
        Cell::Blob(b) => WireCell::Blob(b.clone()),
    }
}

fn cell(wire: WireCell, doc_id: &str, grid: &str, doc: &[u8]) -> Result<Cell, CodecError> {
    Ok(match wire {
        WireCell::Null => Cell::Null,
        WireCell::Int(i) => Cell::Int(i),
        WireCell::Real(f) => Cell::Real(f),
        WireCell::Text(t) => Cell::Text(t),
        WireCell::Blob(b) => Cell::Blob(b),
        WireCell::DocId => Cell::Text(doc_id.to_string()),
        // `read.rs` fills these in from the document's other cells.
        WireCell::Derived => return Err(bad("a derived cell out of place")),
        WireCell::Grid => Cell::Text(grid.to_string()),
        WireCell::InDoc { at, len } => {
            let (at, len) = (at as usize, len as usize);
            let text = at
                .checked_add(len)
                .and_then(|end| doc.get(at..end))
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or_else(|| bad("a cell outside its document's text"))?;
            Cell::Text(text.to_string())
        }
    })
}

/// Text cells shorter than this stay as they are: a reference would cost about as much.
const MIN_REF_LEN: usize = 6;

/// A column's text cells become references into their documents when most of its values
/// differ (names, ID numbers); a column of few values (enums, codes) compresses to almost
/// nothing as it is, and offsets would only add noise.
fn refer_to_documents(table: &mut TableColumns, doc_of_row: &[u32], snapshots: &[Option<&[u8]>]) {
    for col in &mut table.columns {
        let texts: Vec<&str> = col
            .iter()
            .filter_map(|c| match c {
                WireCell::Text(t) if t.len() >= MIN_REF_LEN => Some(t.as_str()),
                _ => None,
            })
            .collect();
        let distinct: std::collections::HashSet<&str> = texts.iter().copied().collect();
        if texts.is_empty() || distinct.len() * 2 < col.len() {
            continue;
        }
        for (row, c) in col.iter_mut().enumerate() {
            let WireCell::Text(t) = c else { continue };
            let doc = doc_of_row
                .get(row)
                .and_then(|d| snapshots.get(*d as usize))
                .copied()
                .flatten();
            if let (true, Some(doc)) = (t.len() >= MIN_REF_LEN, doc) {
                if let Some(at) = memchr::memmem::find(doc, t.as_bytes()) {
                    *c = WireCell::InDoc {
                        at: at as u32,
                        len: t.len() as u32,
                    };
                }
            }
        }
    }
}

/// The cells version 5 leaves out: a household row's `search` and `tails`.
const DERIVED: [usize; 2] = [at::SEARCH, at::TAILS];

/// A household document's one `households` row (its place among `tables`) with the
/// `search` and `tails` its cells and its `persons` rows give. `None` for any other
/// document, or rows that are not a household's: then nothing is left out.
fn derived_keys(tables: &[TableRows]) -> Option<(usize, String, String)> {
    let mut households = tables
        .iter()
        .enumerate()
        .filter(|(_, t)| t.table == "households");
    let (at, household) = households.next()?;
    let mut persons = tables.iter().filter(|t| t.table == "persons");
    let person_rows: &[Vec<Cell>] = persons.next().map_or(&[], |t| &t.rows);
    if households.next().is_some() || persons.next().is_some() || household.rows.len() != 1 {
        return None;
    }
    let (search, tails) = search_cells(&household.rows[0], person_rows)?;
    Some((at, search, tails))
}

fn bad(what: &str) -> CodecError {
    CodecError::Decode(format!("version 4 pulled documents: {what}"))
}

/// Each part of a response's version-4 form, named and uncompressed, for measuring what
/// each costs (`gridwalk-bench bytes`).
pub fn v4_streams(resp: &SyncResponse) -> Vec<(String, Vec<u8>)> {
    fn raw<T: Serialize>(v: &T) -> Vec<u8> {
        postcard::to_allocvec(v).unwrap_or_default()
    }
    let c = to_columns(&resp.pulled, true);
    let mut out = vec![
        ("doc_ids".to_string(), raw(&c.doc_ids)),
        (
            "kinds, grids, forms".into(),
            raw(&(&c.kinds, &c.grids, &c.grid_of, &c.forms)),
        ),
        ("heads beside".into(), raw(&c.heads)),
        ("changes, whole".into(), raw(&(&c.changes, &c.whole))),
        ("automerge actors".into(), c.split.actors.to_vec()),
        ("automerge meta".into(), c.split.meta.to_vec()),
        ("automerge suffixes".into(), raw(&c.split.suffixes)),
        ("automerge heads".into(), c.split.heads.to_vec()),
        ("row tables".into(), raw(&c.row_tables)),
    ];
    for (key, data) in &c.split.columns {
        out.push((
            format!("automerge col {}.{}", key >> 32, key & 0xffff_ffff),
            data.to_vec(),
        ));
    }
    for t in &c.tables {
        for (i, col) in t.columns.iter().enumerate() {
            out.push((format!("{}[{i}]", t.name), raw(col)));
        }
    }
    out
}

pub(super) fn to_v4(resp: &SyncResponse, version: u16) -> SyncResponseV4 {
    SyncResponseV4 {
        protocol: version,
        pushed: resp.pushed.clone(),
        cursors: resp.cursors.clone(),
        more: resp.more,
        full_pull_total: resp.full_pull_total,
        digests: resp.digests.clone(),
        server_heads: resp.server_heads.clone(),
        scope_changed: resp.scope_changed.clone(),
        handed_over: resp.handed_over.clone(),
        projection: resp.projection.clone(),
        pulled: to_columns(&resp.pulled, version >= 5),
    }
}

pub(super) fn from_v4(v: SyncResponseV4) -> Result<SyncResponse, CodecError> {
    Ok(SyncResponse {
        protocol: v.protocol,
        pushed: v.pushed,
        pulled: from_columns(v.pulled)?,
        cursors: v.cursors,
        more: v.more,
        full_pull_total: v.full_pull_total,
        digests: v.digests,
        server_heads: v.server_heads,
        scope_changed: v.scope_changed,
        handed_over: v.handed_over,
        projection: v.projection,
    })
}
