//! Version 4, writing: a page's snapshots taken apart into column streams.

use super::*;

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

/// The wire form of a response's pulled documents; with `derive` (version 5), a
/// household's `search` and `tails` are left out where the device derives the same.
pub(super) fn to_columns(pulled: &[PulledDoc], derive: bool) -> PulledColumns {
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
            Some(tables) => {
                // The households table whose `search` and `tails` the device derives.
                let derived = derive
                    .then(|| derived_keys(tables))
                    .flatten()
                    .filter(|(at, search, tails)| {
                        let row = &tables[*at].rows[0];
                        row[DERIVED[0]] == Cell::Text(search.clone())
                            && row[DERIVED[1]] == Cell::Text(tails.clone())
                    })
                    .map(|(at, _, _)| at);
                DocRows::Tables(
                    tables
                        .iter()
                        .enumerate()
                        .map(|(ti, t)| {
                            let width = t.rows.first().map_or(0, Vec::len);
                            let at = *table_index.entry((t.table.as_str(), width)).or_insert_with(
                                || {
                                    out.tables.push(TableColumns {
                                        name: t.table.clone(),
                                        columns: vec![Vec::new(); width],
                                        doc_of_row: Vec::new(),
                                    });
                                    out.tables.len() as u32 - 1
                                },
                            );
                            let table = &mut out.tables[at as usize];
                            for row in &t.rows {
                                table.doc_of_row.push(index as u32);
                                for (c, v) in row.iter().enumerate() {
                                    table.columns[c].push(
                                        if derived == Some(ti) && DERIVED.contains(&c) {
                                            WireCell::Derived
                                        } else {
                                            wire_cell(v, &id, &p.grid_id)
                                        },
                                    );
                                }
                            }
                            (at, t.rows.len() as u32)
                        })
                        .collect(),
                )
            }
        });
    }
    out.split = split.docs;
    for t in &mut out.tables {
        let rows = std::mem::take(&mut t.doc_of_row);
        refer_to_documents(t, &rows, &snapshots);
    }
    out
}
