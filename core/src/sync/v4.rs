//! Version 4's response: the pulled documents of a page column by column. The message is
//! the same [`SyncResponse`] once read; only its bytes on the wire differ. zstd finds far
//! more in a page when like sits with like: every document's Automerge key column
//! together, every value column together, every household's `community_code` together,
//! the random hashes apart from the text (docs/sync-protocol.md, "Bytes").
//!
//! Lossless by construction: a snapshot is taken apart only when [`docchunk::join`] gives
//! it back byte for byte, and every cell travels as it was (a cell equal to its
//! document's id or grid is written as a reference to it).

use super::docchunk::{self, DocParts};
use super::{
    Cell, CodecError, DocData, DocHeads, GridCursor, GridDigest, PulledDoc, PushResult,
    SyncResponse, TableRows,
};
use crate::ids::DocKind;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::collections::HashMap;
use uuid::Uuid;

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

/// Collects a page's snapshots into [`SplitDocs`].
#[derive(Default)]
struct SplitWriter {
    docs: SplitDocs,
    streams: HashMap<u64, usize>,
}

impl SplitWriter {
    fn add(&mut self, p: &DocParts<'_>) {
        self.docs.actors.extend_from_slice(p.actors);
        self.docs.heads.extend_from_slice(p.heads);
        self.docs.meta.extend_from_slice(p.meta);
        for (key, data) in &p.columns {
            let at = *self.streams.entry(*key).or_insert_with(|| {
                self.docs.columns.push((*key, ByteBuf::new()));
                self.docs.columns.len() - 1
            });
            self.docs.columns[at].1.extend_from_slice(data);
        }
        self.docs.suffixes.push(ByteBuf::from(p.suffix.to_vec()));
    }
}

/// The wire form of a response's pulled documents.
pub(super) fn to_columns(pulled: &[PulledDoc]) -> PulledColumns {
    let mut out = PulledColumns::default();
    let mut grid_index: HashMap<&str, u32> = HashMap::new();
    let mut table_index: HashMap<(&str, usize), u32> = HashMap::new();
    let mut split = SplitWriter::default();
    let mut snapshots: Vec<Option<&[u8]>> = Vec::with_capacity(pulled.len());
    for (index, p) in pulled.iter().enumerate() {
        let id = p.doc_id.to_string();
        snapshots.push(match &p.data {
            DocData::Snapshot(b) => Some(b.as_slice()),
            DocData::Changes(_) => None,
        });
        // The id as its snapshot holds it as text (a household's `id`), when it does.
        out.doc_ids.push(
            match snapshots[index].and_then(|b| memchr::memmem::find(b, id.as_bytes())) {
                Some(at) => DocIdForm::InDoc(at as u32),
                None => DocIdForm::Raw(p.doc_id),
            },
        );
        out.kinds.push(p.kind);
        let g = *grid_index.entry(p.grid_id.as_str()).or_insert_with(|| {
            out.grids.push(p.grid_id.clone());
            out.grids.len() as u32 - 1
        });
        out.grid_of.push(g);
        out.heads.push(p.heads.clone());
        let form = match &p.data {
            DocData::Snapshot(bytes) => match docchunk::split(bytes) {
                Some(parts) => {
                    split.add(&parts);
                    Form::Split
                }
                None => {
                    out.whole.push(bytes.clone());
                    Form::Whole
                }
            },
            DocData::Changes(c) => {
                out.changes.push(c.clone());
                Form::Changes
            }
        };
        out.forms.push(form);
        out.row_tables.push(match &p.rows {
            None => DocRows::None,
            // Rows of one table of different widths, or without cells (never written by
            // this build), travel as they are, so nothing is lost.
            Some(tables) if !tables.iter().all(one_width) => DocRows::AsTheyAre(tables.clone()),
            Some(tables) => DocRows::Tables(
                tables
                    .iter()
                    .map(|t| {
                        let width = t.rows.first().map_or(0, Vec::len);
                        let at =
                            *table_index
                                .entry((t.table.as_str(), width))
                                .or_insert_with(|| {
                                    out.tables.push(TableColumns {
                                        name: t.table.clone(),
                                        columns: vec![Vec::new(); width],
                                        doc_of_row: Vec::new(),
                                    });
                                    out.tables.len() as u32 - 1
                                });
                        let table = &mut out.tables[at as usize];
                        for row in &t.rows {
                            table.doc_of_row.push(index as u32);
                            for (c, v) in row.iter().enumerate() {
                                table.columns[c].push(wire_cell(v, &id, &p.grid_id));
                            }
                        }
                        (at, t.rows.len() as u32)
                    })
                    .collect(),
            ),
        });
    }
    out.split = split.docs;
    for t in &mut out.tables {
        let rows = std::mem::take(&mut t.doc_of_row);
        refer_to_documents(t, &rows, &snapshots);
    }
    out
}

fn bad(what: &str) -> CodecError {
    CodecError::Decode(format!("version 4 pulled documents: {what}"))
}

/// Takes the documents back out of [`SplitDocs`], one at a time, in page order.
struct SplitReader<'a> {
    docs: &'a SplitDocs,
    actors: usize,
    heads: usize,
    meta: usize,
    suffix: usize,
    streams: HashMap<u64, (&'a [u8], usize)>,
}

impl<'a> SplitReader<'a> {
    fn new(docs: &'a SplitDocs) -> Result<SplitReader<'a>, CodecError> {
        let mut streams = HashMap::new();
        for (key, data) in &docs.columns {
            if streams.insert(*key, (data.as_slice(), 0)).is_some() {
                return Err(bad("a column stream twice"));
            }
        }
        Ok(SplitReader {
            docs,
            actors: 0,
            heads: 0,
            meta: 0,
            suffix: 0,
            streams,
        })
    }

    fn next(&mut self) -> Result<Vec<u8>, CodecError> {
        let d = self.docs;
        let cut = |from: usize, len: Option<usize>, all: &'a [u8]| {
            len.and_then(|len| all.get(from..from.checked_add(len)?))
                .ok_or_else(|| bad("a snapshot's header"))
        };
        let actors = cut(
            self.actors,
            d.actors.get(self.actors..).and_then(docchunk::actors_len),
            &d.actors,
        )?;
        let heads = cut(
            self.heads,
            d.heads.get(self.heads..).and_then(docchunk::heads_len),
            &d.heads,
        )?;
        let layout = d
            .meta
            .get(self.meta..)
            .and_then(docchunk::read_column_layout)
            .ok_or_else(|| bad("a snapshot's column metadata"))?;
        let meta = cut(self.meta, Some(layout.1), &d.meta)?;
        let mut columns = Vec::with_capacity(layout.0.len());
        for (key, len) in layout.0 {
            let stream = self
                .streams
                .get_mut(&key)
                .ok_or_else(|| bad("a column without its stream"))?;
            let (data, at): (&'a [u8], usize) = (stream.0, stream.1);
            let end = usize::try_from(len)
                .ok()
                .and_then(|len| at.checked_add(len))
                .filter(|end| *end <= data.len())
                .ok_or_else(|| bad("a column longer than its stream"))?;
            stream.1 = end;
            columns.push((key, &data[at..end]));
        }
        let suffix = d
            .suffixes
            .get(self.suffix)
            .ok_or_else(|| bad("a snapshot without its suffix"))?;
        self.actors += actors.len();
        self.heads += heads.len();
        self.meta += meta.len();
        self.suffix += 1;
        Ok(docchunk::join(&DocParts {
            actors,
            heads,
            meta,
            columns,
            suffix,
        }))
    }

    /// Every stream read to its end: bytes left over mean a broken message.
    fn finish(&self) -> Result<(), CodecError> {
        let d = self.docs;
        let streams_done = self.streams.values().all(|(data, at)| *at == data.len());
        if self.actors == d.actors.len()
            && self.heads == d.heads.len()
            && self.meta == d.meta.len()
            && self.suffix == d.suffixes.len()
            && streams_done
        {
            Ok(())
        } else {
            Err(bad("bytes left over in the snapshot streams"))
        }
    }
}

/// The pulled documents of a version-4 message.
pub(super) fn from_columns(c: PulledColumns) -> Result<Vec<PulledDoc>, CodecError> {
    let n = c.doc_ids.len();
    if [
        c.kinds.len(),
        c.grid_of.len(),
        c.forms.len(),
        c.heads.len(),
        c.row_tables.len(),
    ]
    .iter()
    .any(|&len| len != n)
    {
        return Err(bad("columns of different lengths"));
    }
    let mut split = SplitReader::new(&c.split)?;
    let mut whole = c.whole.into_iter();
    let mut changes = c.changes.into_iter();
    let mut tables: Vec<(String, Vec<std::vec::IntoIter<WireCell>>)> = c
        .tables
        .into_iter()
        .map(|t| (t.name, t.columns.into_iter().map(Vec::into_iter).collect()))
        .collect();
    let mut out = Vec::with_capacity(n);
    let parts = c.doc_ids.into_iter().zip(c.kinds).zip(c.grid_of);
    let parts = parts.zip(c.forms).zip(c.heads).zip(c.row_tables);
    for (((((id_form, kind), g), form), heads), row_tables) in parts {
        let grid_id = c
            .grids
            .get(g as usize)
            .ok_or_else(|| bad("a grid index out of range"))?
            .clone();
        let data = match form {
            Form::Split => DocData::Snapshot(ByteBuf::from(split.next()?)),
            Form::Whole => DocData::Snapshot(whole.next().ok_or_else(|| bad("whole"))?),
            Form::Changes => DocData::Changes(changes.next().ok_or_else(|| bad("changes"))?),
        };
        let doc: &[u8] = match &data {
            DocData::Snapshot(b) => b,
            DocData::Changes(_) => &[],
        };
        let doc_id = match id_form {
            DocIdForm::Raw(id) => id,
            DocIdForm::InDoc(at) => (at as usize)
                .checked_add(36)
                .and_then(|end| doc.get(at as usize..end))
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|t| Uuid::parse_str(t).ok())
                .ok_or_else(|| bad("a document id outside its document's text"))?,
        };
        let id = doc_id.to_string();
        let rows = match row_tables {
            DocRows::None => None,
            DocRows::AsTheyAre(rows) => Some(rows),
            DocRows::Tables(list) => {
                let mut doc_tables = Vec::with_capacity(list.len());
                for (t, count) in list {
                    let (name, columns) = tables
                        .get_mut(t as usize)
                        .ok_or_else(|| bad("a table index out of range"))?;
                    if columns.is_empty() && count > 0 {
                        return Err(bad("rows of a table without columns"));
                    }
                    let mut rows = Vec::new();
                    for _ in 0..count {
                        let row = columns
                            .iter_mut()
                            .map(|col| match col.next() {
                                Some(v) => cell(v, &id, &grid_id, doc),
                                None => Err(bad("a table column too short")),
                            })
                            .collect::<Result<Vec<Cell>, CodecError>>()?;
                        rows.push(row);
                    }
                    doc_tables.push(TableRows {
                        table: name.clone(),
                        rows,
                    });
                }
                Some(doc_tables)
            }
        };
        out.push(PulledDoc {
            doc_id,
            kind,
            grid_id,
            data,
            heads,
            rows,
        });
    }
    split.finish()?;
    let cells_left = tables
        .iter_mut()
        .any(|(_, cols)| cols.iter_mut().any(|c| c.next().is_some()));
    if whole.next().is_some() || changes.next().is_some() || cells_left {
        return Err(bad("more data than documents"));
    }
    Ok(out)
}

/// Each part of a response's version-4 form, named and uncompressed, for measuring what
/// each costs (`gridwalk-bench bytes`).
pub fn v4_streams(resp: &SyncResponse) -> Vec<(String, Vec<u8>)> {
    fn raw<T: Serialize>(v: &T) -> Vec<u8> {
        postcard::to_allocvec(v).unwrap_or_default()
    }
    let c = to_columns(&resp.pulled);
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
        pulled: to_columns(&resp.pulled),
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

#[cfg(test)]
mod tests {
    use super::super::{decode_response, encode_response, PROTOCOL_VERSION};
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};
    use proptest::prelude::*;

    fn snapshot(name: &str, members: usize) -> Vec<u8> {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "name", name).expect("put");
        let m = doc
            .put_object(ROOT, "members", automerge::ObjType::Map)
            .expect("map");
        for i in 0..members {
            doc.put(&m, format!("p{i}"), i as i64).expect("put");
        }
        doc.save_nocompress()
    }

    fn doc(n: u128, data: DocData, rows: Option<Vec<TableRows>>) -> PulledDoc {
        PulledDoc {
            doc_id: Uuid::from_u128(n),
            kind: DocKind::Household,
            grid_id: format!("g{}", n % 2),
            data,
            heads: if n.is_multiple_of(3) {
                vec![[n as u8; 32]]
            } else {
                vec![]
            },
            rows,
        }
    }

    fn rows(n: u128) -> Vec<TableRows> {
        let id = Uuid::from_u128(n).to_string();
        vec![
            TableRows {
                table: "households".into(),
                rows: vec![vec![
                    Cell::Text(id.clone()),
                    Cell::Text(format!("g{}", n % 2)),
                    Cell::Int(n as i64),
                    Cell::Real(1.5),
                    Cell::Null,
                    Cell::Text(format!("户名{n}号楼")),
                ]],
            },
            TableRows {
                table: "persons".into(),
                rows: (0..n % 4)
                    .map(|p| vec![Cell::Text(format!("p{p}")), Cell::Text(id.clone())])
                    .collect(),
            },
        ]
    }

    fn response(pulled: Vec<PulledDoc>) -> SyncResponse {
        SyncResponse {
            protocol: PROTOCOL_VERSION,
            pushed: vec![],
            pulled,
            cursors: vec![GridCursor::fresh("g0")],
            more: true,
            full_pull_total: 9,
            digests: vec![],
            server_heads: vec![],
            scope_changed: None,
            handed_over: vec![],
            projection: "3".into(),
        }
    }

    fn page() -> SyncResponse {
        let mut pulled: Vec<PulledDoc> = (0..6)
            .map(|n| {
                let bytes = snapshot(&format!("户名{n}号楼"), n as usize);
                doc(n, DocData::Snapshot(ByteBuf::from(bytes)), Some(rows(n)))
            })
            .collect();
        pulled.push(doc(7, DocData::Snapshot(ByteBuf::from(vec![1, 2])), None));
        pulled.push(doc(
            8,
            DocData::Changes(vec![ByteBuf::from(vec![3]), ByteBuf::from(vec![])]),
            None,
        ));
        let ragged = TableRows {
            table: "persons".into(),
            rows: vec![
                vec![Cell::Null],
                vec![Cell::Int(1), Cell::Blob(ByteBuf::new())],
            ],
        };
        pulled.push(doc(9, DocData::Changes(vec![]), Some(vec![ragged])));
        response(pulled)
    }

    #[test]
    fn a_page_round_trips_whole() {
        let resp = page();
        let cols = to_columns(&resp.pulled);
        assert_eq!(cols.forms.iter().filter(|f| **f == Form::Split).count(), 6);
        assert!(cols.tables[0].columns[0]
            .iter()
            .all(|c| *c == WireCell::DocId));
        assert!(cols.tables[0].columns[1]
            .iter()
            .all(|c| *c == WireCell::Grid));
        // The name each snapshot holds travels as a reference into it.
        assert!(cols.tables[0].columns[5]
            .iter()
            .all(|c| matches!(c, WireCell::InDoc { len: 13, .. })));
        assert!(matches!(cols.doc_ids[0], DocIdForm::Raw(_)));
        let body = encode_response(&resp, PROTOCOL_VERSION);
        assert_eq!(decode_response(&body, 1 << 20), Ok(resp.clone()));
        // A version-3 device still gets version 3's shape, which reads the same.
        let old = encode_response(&resp, 3);
        assert_eq!(
            decode_response(&old, 1 << 20).map(|r| r.pulled),
            Ok(resp.pulled)
        );
    }

    #[test]
    fn an_empty_page_round_trips() {
        let resp = response(vec![]);
        let body = encode_response(&resp, PROTOCOL_VERSION);
        assert_eq!(decode_response(&body, 1 << 20), Ok(resp));
    }

    #[test]
    fn broken_columns_are_errors_not_panics() {
        let resp = page();
        let good = to_v4(&resp, PROTOCOL_VERSION);
        let mut shorter = good.clone();
        shorter.pulled.kinds.pop();
        assert!(from_v4(shorter).is_err());
        let mut stream = good.clone();
        stream.pulled.split.columns[0].1.pop();
        assert!(from_v4(stream).is_err());
        let mut extra = good.clone();
        extra.pulled.split.heads.push(0);
        assert!(from_v4(extra).is_err());
        let mut grid = good.clone();
        grid.pulled.grid_of[0] = 99;
        assert!(from_v4(grid).is_err());
        let mut outside = good.clone();
        outside.pulled.tables[0].columns[5][0] = WireCell::InDoc {
            at: 1 << 30,
            len: 9,
        };
        assert!(from_v4(outside).is_err());
        let mut table = good;
        let persons = table
            .pulled
            .tables
            .iter_mut()
            .find(|t| t.columns.len() == 2);
        persons.expect("persons").columns[0].pop();
        assert!(from_v4(table).is_err());
        // Every cut of the raw message, decoded: an error or the page, never a panic.
        let raw = postcard::to_allocvec(&to_v4(&resp, PROTOCOL_VERSION)).expect("encodes");
        for cut in 0..raw.len() {
            let body = zstd::bulk::compress(&raw[..cut], 1).expect("compress");
            assert!(decode_response(&body, 1 << 20).is_err(), "cut at {cut}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn flipped_bytes_never_panic(at in 0usize..4096, bit in 0u8..8) {
            let raw = postcard::to_allocvec(&to_v4(&page(), PROTOCOL_VERSION)).expect("encodes");
            let mut raw = raw.clone();
            let at = at % raw.len();
            raw[at] ^= 1 << bit;
            let body = zstd::bulk::compress(&raw, 1).expect("compress");
            let _ = decode_response(&body, 1 << 20);
        }

        #[test]
        fn any_cells_round_trip(cells in proptest::collection::vec(
            prop_oneof![
                Just(Cell::Null),
                any::<i64>().prop_map(Cell::Int),
                any::<f64>().prop_map(Cell::Real),
                ".{0,8}".prop_map(Cell::Text),
                proptest::collection::vec(any::<u8>(), 0..4)
                    .prop_map(|b| Cell::Blob(ByteBuf::from(b))),
            ],
            0..12,
        )) {
            let rows = vec![TableRows { table: "t".into(), rows: vec![cells.clone(), cells] }];
            let resp = response(vec![doc(1, DocData::Changes(vec![]), Some(rows))]);
            let body = encode_response(&resp, PROTOCOL_VERSION);
            prop_assert_eq!(decode_response(&body, 1 << 20), Ok(resp));
        }
    }
}
