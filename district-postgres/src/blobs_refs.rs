//! Which photos the district's documents reference (`photo_refs`), on PostgreSQL: written
//! with each document in the push's transaction, read for the scope of blob requests and
//! as the roots of garbage collection.

use crate::{db, PgDistrict, Result};
use gridwalk_core::model::{referenced_hashes, Issue, Visit};
use gridwalk_core::{DocKind, Document};
use gridwalk_district::blobs::PhotoRefs;
use postgres::Transaction;
use std::collections::BTreeSet;

/// The photos `doc` references, kept under `grid_id` (photos are append-only, so rows
/// are only added; a grid change moves them). A document that does not read as its
/// schema keeps its old rows, as the SQLite projection does.
pub(crate) fn write(tx: &mut Transaction<'_>, doc: &Document, grid_id: &str) -> Result<()> {
    let hashes: Vec<String> = match doc.kind {
        DocKind::Visit => match doc.read::<Visit>() {
            Ok(v) => referenced_hashes([&v.photos])
                .into_iter()
                .map(str::to_string)
                .collect(),
            Err(_) => return Ok(()),
        },
        DocKind::Issue => match doc.read::<Issue>() {
            Ok(i) => {
                let events = i.events.values().map(|e| &e.photos);
                referenced_hashes(events.chain([&i.photos]))
                    .into_iter()
                    .map(str::to_string)
                    .collect()
            }
            Err(_) => return Ok(()),
        },
        DocKind::Household | DocKind::KeyPersons => return Ok(()),
    };
    if hashes.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO photo_refs (sha256, doc_id, grid_id)
         SELECT h, $2, $3 FROM unnest($1::text[]) AS h
         ON CONFLICT (sha256, doc_id) DO UPDATE SET grid_id = excluded.grid_id",
        &[&hashes, &doc.id.0, &grid_id],
    )
    .map_err(db)?;
    Ok(())
}

impl PhotoRefs for PgDistrict {
    fn photo_in_scope(&self, sha256: &str, grids: Option<&[String]>) -> Result<bool> {
        let mut conn = self.conn()?;
        let row = match grids {
            None => conn.query_one(
                "SELECT EXISTS (SELECT 1 FROM photo_refs WHERE sha256 = $1)",
                &[&sha256],
            ),
            Some(gs) => conn.query_one(
                "SELECT EXISTS (SELECT 1 FROM photo_refs
                                 WHERE sha256 = $1 AND grid_id = ANY($2))",
                &[&sha256, &gs],
            ),
        };
        Ok(row.map_err(db)?.get(0))
    }

    fn referenced_photos(&self) -> Result<BTreeSet<String>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query("SELECT DISTINCT sha256 FROM photo_refs", &[])
            .map_err(db)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
