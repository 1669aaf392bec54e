//! The household ledger export's rows on PostgreSQL ([`ExportStore`]): one query over the
//! projections (migration 004) read through a portal (a server-side cursor) in batches of
//! [`BATCH_ROWS`], inside one REPEATABLE READ snapshot, so memory stays constant however
//! many households go out. What is selected, masked and audited is decided in
//! [`gridwalk_district::export`].

use crate::desk::Where;
use crate::{db, PgDistrict, Result};
use gridwalk_district::export::{ExportStore, LedgerRecord, LedgerSelection};

/// Rows fetched from the portal at a time.
const BATCH_ROWS: i32 = 1000;

const SELECT: &str = "SELECT h.doc_id, h.grid_id, h.community_code, h.building_name, h.unit,
    h.floor, h.room, h.household_type, h.housing_use, h.household_phone, h.notes, h.lon, h.lat,
    p.name, p.sex, p.birth_date, p.id_number, p.phone, p.relation, p.population_type,
    p.status, p.tags, p.disability_cert, p.notes
    FROM households h";

impl ExportStore for PgDistrict {
    fn ledger_records(
        &self,
        s: &LedgerSelection,
        sink: &mut dyn FnMut(&LedgerRecord) -> Result<()>,
    ) -> Result<u64> {
        let mut w = Where::default();
        w.grids("h.grid_id", &s.grids);
        if let Some(communities) = &s.communities {
            let p = w.arg(communities.clone());
            w.clauses
                .push(format!("h.community_code = ANY({p}::text[])"));
        }
        if !s.care_tags.is_empty() {
            let patterns: Vec<String> = s.care_tags.iter().map(|t| format!("% {t} %")).collect();
            let p = w.arg(patterns);
            w.clauses.push(format!("h.tags LIKE ANY({p}::text[])"));
        }
        if !s.household_types.is_empty() {
            let p = w.arg(s.household_types.clone());
            w.clauses
                .push(format!("h.household_type = ANY({p}::text[])"));
        }
        if let Some(since) = s.visited_since {
            let p = w.arg(since);
            w.clauses.push(format!(
                "EXISTS (SELECT 1 FROM visits v WHERE v.household_id = h.doc_id \
                 AND v.at >= {p}::bigint)"
            ));
        }
        let departed = if s.include_departed {
            ""
        } else {
            " AND p.status = 'Living'"
        };
        // The order of `LedgerSelection` (COLLATE "C": byte order, as SQLite compares).
        let sql = format!(
            "{SELECT} LEFT JOIN persons p ON p.household_id = h.doc_id{departed}
             WHERE {}
             ORDER BY h.grid_id COLLATE \"C\", h.building_no COLLATE \"C\", h.unit COLLATE \"C\",
                h.floor, h.room COLLATE \"C\", h.doc_id COLLATE \"C\",
                p.relation = 'Head' DESC, p.birth_date COLLATE \"C\" NULLS FIRST,
                p.name COLLATE \"C\" NULLS FIRST, p.person_id COLLATE \"C\" NULLS FIRST",
            w.sql()
        );
        self.read(|tx| {
            let portal = tx.bind(sql.as_str(), &w.params()).map_err(db)?;
            let mut count = 0u64;
            loop {
                let rows = tx.query_portal(&portal, BATCH_ROWS).map_err(db)?;
                if rows.is_empty() {
                    return Ok(count);
                }
                for r in &rows {
                    let record = LedgerRecord {
                        household_id: r.get(0),
                        grid_id: r.get(1),
                        community_code: r.get(2),
                        building_name: r.get(3),
                        unit: r.get(4),
                        floor: r.get(5),
                        room: r.get(6),
                        household_type: r.get(7),
                        housing_use: r.get(8),
                        household_phone: r.get(9),
                        household_notes: r.get(10),
                        lon: r.get(11),
                        lat: r.get(12),
                        name: r.get(13),
                        sex: r.get(14),
                        birth_date: r.get(15),
                        id_number: r.get(16),
                        phone: r.get(17),
                        relation: r.get(18),
                        population_type: r.get(19),
                        status: r.get(20),
                        tags: r.get(21),
                        disability_cert: r.get(22),
                        notes: r.get(23),
                    };
                    sink(&record)?;
                    count += 1;
                }
            }
        })
    }
}
