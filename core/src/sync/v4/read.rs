//! Version 4, reading: the documents put back together from the column streams, every
//! length, index and position checked.

use super::*;

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
                // (table, row, column) of each cell left for the device to derive.
                let mut derived = Vec::new();
                for (t, count) in list {
                    let (name, columns) = tables
                        .get_mut(t as usize)
                        .ok_or_else(|| bad("a table index out of range"))?;
                    if columns.is_empty() && count > 0 {
                        return Err(bad("rows of a table without columns"));
                    }
                    let mut rows = Vec::new();
                    for r in 0..count as usize {
                        let row = columns
                            .iter_mut()
                            .enumerate()
                            .map(|(c, col)| match col.next() {
                                Some(WireCell::Derived) => {
                                    derived.push((doc_tables.len(), r, c));
                                    Ok(Cell::Null)
                                }
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
                if !derived.is_empty() {
                    fill_derived(&mut doc_tables, &derived)?;
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

/// The cells version 5 left out, derived from the document's other cells: only a
/// household row's `search` and `tails` may be, and only when its rows give them.
fn fill_derived(
    tables: &mut [TableRows],
    derived: &[(usize, usize, usize)],
) -> Result<(), CodecError> {
    let (at, search, tails) =
        derived_keys(tables).ok_or_else(|| bad("a derived cell in rows that derive none"))?;
    for &(t, r, c) in derived {
        let value = match c {
            _ if (t, r) != (at, 0) => None,
            c if c == DERIVED[0] => Some(&search),
            c if c == DERIVED[1] => Some(&tails),
            _ => None,
        };
        let value = value.ok_or_else(|| bad("a derived cell that is not derived"))?;
        let slot = tables
            .get_mut(t)
            .and_then(|t| t.rows.get_mut(r))
            .and_then(|row| row.get_mut(c))
            .ok_or_else(|| bad("a derived cell outside its rows"))?;
        *slot = Cell::Text(value.clone());
    }
    Ok(())
}
