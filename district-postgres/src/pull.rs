//! Pull on PostgreSQL: one REPEATABLE READ snapshot reads `max(seq)` and the page, so a
//! cursor never passes a change that commits later (the rule is in the crate docs).

use crate::Tx;
use crate::{db, PgDistrict, Result};
use gridwalk_core::sync::{DocData, GridCursor, PulledDoc};
use gridwalk_core::DocKind;
use gridwalk_district::push::{parse_heads, MAX_PAGE_BYTES, MIN_PAGE_BYTES};
use gridwalk_district::{DeviceAuth, PullOutcome};
use gridwalk_store::projection::rows_len;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use serde_bytes::ByteBuf;
use std::collections::BTreeMap;
use uuid::Uuid;

/// How many documents a first download reads at a time (the byte budget ends a page
/// sooner).
const FULL_PULL_PAGE: i64 = 200;

impl PgDistrict {
    pub(crate) fn pull_impl(
        &self,
        device: &DeviceAuth,
        cursors: &[GridCursor],
        max_bytes: usize,
    ) -> Result<PullOutcome> {
        let budget = max_bytes.clamp(MIN_PAGE_BYTES, MAX_PAGE_BYTES);
        self.read(|tx| {
            let high: i64 = tx
                .query_typed_one("SELECT coalesce(max(seq), 0) FROM changes", &[])
                .map_err(db)?
                .get(0);
            let mut out = PullOutcome::default();
            let mut grids = device.grids.clone();
            grids.sort();
            for grid in grids {
                let cursor = cursors
                    .iter()
                    .find(|c| c.grid_id == grid)
                    .cloned()
                    .unwrap_or_else(|| GridCursor::fresh(grid.clone()));
                if out.bytes_out >= budget {
                    out.more = true;
                    out.cursors.push(cursor);
                    continue;
                }
                let next = if cursor.in_full_pull() {
                    pull_full(tx, device, &cursor, high, budget, &mut out)?
                } else {
                    pull_changes(tx, device, &cursor, high, budget, &mut out)?
                };
                out.cursors.push(next);
            }
            Ok(out)
        })
    }
}

/// A fresh grid: whole documents in id order, from a watermark taken at the start.
fn pull_full(
    tx: &mut Tx<'_>,
    device: &DeviceAuth,
    cursor: &GridCursor,
    high: i64,
    budget: usize,
    out: &mut PullOutcome,
) -> Result<GridCursor> {
    let watermark = if cursor.seq == 0 {
        high as u64
    } else {
        cursor.seq
    };
    let holder = device.may_hold_key_persons();
    let total: i64 = tx
        .query_one(
            "SELECT count(*) FROM docs WHERE grid_id = $1 AND (kind != 'key_persons' OR $2)",
            &[&cursor.grid_id, &holder],
        )
        .map_err(db)?
        .get(0);
    out.full_pull_total += total as u64;
    // In pages, each page's projection rows read in one query per table: the rows
    // stored with each document (same transaction, same heads), so the device need not
    // derive them; key-person rows travel only with key-person documents, which only
    // holders get (above).
    let mut after = cursor.full_after;
    let mut last: Option<Uuid> = None;
    loop {
        let page = tx
            .query(
                "SELECT doc_id, kind, snapshot, heads FROM docs
                 WHERE grid_id = $1 AND ($2::uuid IS NULL OR doc_id > $2)
                   AND (kind != 'key_persons' OR $3)
                 ORDER BY doc_id LIMIT $4",
                &[&cursor.grid_id, &after, &holder, &FULL_PULL_PAGE],
            )
            .map_err(db)?;
        let Some(end) = page.last() else { break };
        after = Some(end.get(0));
        let docs: Vec<(DocKind, String)> = page
            .iter()
            .filter_map(|r| Some((DocKind::parse(r.get(1))?, r.get::<_, Uuid>(0).to_string())))
            .collect();
        let mut rows = crate::projection::read_rows_of(tx, &docs)?;
        for row in &page {
            if out.bytes_out >= budget {
                out.more = true;
                return Ok(GridCursor {
                    grid_id: cursor.grid_id.clone(),
                    seq: watermark,
                    full_after: last,
                });
            }
            let uuid: Uuid = row.get(0);
            let Some(kind) = DocKind::parse(row.get(1)) else {
                continue;
            };
            let bytes: Vec<u8> = row.get(2);
            let doc_rows = rows.remove(&uuid.to_string()).unwrap_or_default();
            out.bytes_out += bytes.len() + rows_len(&doc_rows) + 32;
            out.docs.push(PulledDoc {
                doc_id: uuid,
                kind,
                grid_id: cursor.grid_id.clone(),
                data: DocData::Snapshot(ByteBuf::from(bytes)),
                heads: parse_heads(row.get(3)),
                rows: Some(doc_rows),
            });
            last = Some(uuid);
        }
    }
    Ok(GridCursor {
        grid_id: cursor.grid_id.clone(),
        seq: watermark,
        full_after: None,
    })
}

/// A grid the device has: the changes after its cursor, in sequence order, except the
/// ones this device pushed itself.
fn pull_changes(
    tx: &mut Tx<'_>,
    device: &DeviceAuth,
    cursor: &GridCursor,
    high: i64,
    budget: usize,
    out: &mut PullOutcome,
) -> Result<GridCursor> {
    let after = cursor.seq as i64;
    let holder = device.may_hold_key_persons();
    // Typed: one round trip (every sync pulls).
    let params: [(&(dyn ToSql + Sync), Type); 5] = [
        (&cursor.grid_id, Type::TEXT),
        (&after, Type::INT8),
        (&high, Type::INT8),
        (&device.device_id, Type::TEXT),
        (&holder, Type::BOOL),
    ];
    let mut rows = tx
        .query_typed_raw(
            "SELECT seq, doc_id, kind, bytes FROM changes
             WHERE grid_id = $1 AND seq > $2 AND seq <= $3
               AND (pushed_by IS NULL OR pushed_by != $4)
               AND (kind != 'key_persons' OR $5)
             ORDER BY seq",
            params,
        )
        .map_err(db)?;
    let mut by_doc: BTreeMap<Uuid, usize> = BTreeMap::new();
    let mut seq = cursor.seq;
    while let Some(row) = rows.next().map_err(db)? {
        if out.bytes_out >= budget {
            out.more = true;
            return Ok(GridCursor {
                grid_id: cursor.grid_id.clone(),
                seq,
                full_after: None,
            });
        }
        let row_seq: i64 = row.get(0);
        let uuid: Uuid = row.get(1);
        seq = row_seq as u64;
        let Some(kind) = DocKind::parse(row.get(2)) else {
            continue;
        };
        let bytes: Vec<u8> = row.get(3);
        out.bytes_out += bytes.len();
        out.changes_out += 1;
        let idx = *by_doc.entry(uuid).or_insert_with(|| {
            out.docs.push(PulledDoc {
                doc_id: uuid,
                kind,
                grid_id: cursor.grid_id.clone(),
                data: DocData::Changes(Vec::new()),
                // Changes: the device derives its rows from the merged document.
                heads: vec![],
                rows: None,
            });
            out.docs.len() - 1
        });
        if let DocData::Changes(list) = &mut out.docs[idx].data {
            list.push(ByteBuf::from(bytes));
        }
    }
    Ok(GridCursor {
        grid_id: cursor.grid_id.clone(),
        seq: high.max(0) as u64,
        full_after: None,
    })
}
