//! The household ledger export's rows on SQLite ([`ExportStore`]): streamed from the
//! projections (never from the documents), one statement row at a time. What is selected,
//! masked and audited is decided in [`gridwalk_district::export`].

use super::issues::grid_filter;
use super::SqliteDistrict;
use crate::Result;
use gridwalk_district::export::{ExportStore, LedgerRecord, LedgerSelection};
use rusqlite::params_from_iter;
use rusqlite::types::Value;

const SELECT: &str = "SELECT h.doc_id, h.grid_id, h.community_code, h.building_name, h.unit,
    h.floor, h.room, h.household_type, h.housing_use, h.household_phone, h.notes, h.lon, h.lat,
    p.name, p.sex, p.birth_date, p.id_number, p.phone, p.relation, p.population_type,
    p.status, p.tags, p.disability_cert, p.notes
    FROM households h";

impl ExportStore for SqliteDistrict {
    fn ledger_records(
        &self,
        selection: &LedgerSelection,
        sink: &mut dyn FnMut(&LedgerRecord) -> Result<()>,
    ) -> Result<u64> {
        let (sql, args) = export_query(selection);
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query(params_from_iter(args))?;
            let mut count = 0u64;
            while let Some(r) = rows.next()? {
                let record = LedgerRecord {
                    household_id: r.get(0)?,
                    grid_id: r.get(1)?,
                    community_code: r.get(2)?,
                    building_name: r.get(3)?,
                    unit: r.get(4)?,
                    floor: r.get(5)?,
                    room: r.get(6)?,
                    household_type: r.get(7)?,
                    housing_use: r.get(8)?,
                    household_phone: r.get(9)?,
                    household_notes: r.get(10)?,
                    lon: r.get(11)?,
                    lat: r.get(12)?,
                    name: r.get(13)?,
                    sex: r.get(14)?,
                    birth_date: r.get(15)?,
                    id_number: r.get(16)?,
                    phone: r.get(17)?,
                    relation: r.get(18)?,
                    population_type: r.get(19)?,
                    status: r.get(20)?,
                    tags: r.get(21)?,
                    disability_cert: r.get(22)?,
                    notes: r.get(23)?,
                };
                sink(&record)?;
                count += 1;
            }
            Ok(count)
        })
    }
}

/// The export's SQL and its arguments.
fn export_query(s: &LedgerSelection) -> (String, Vec<Value>) {
    let mut args: Vec<Value> = Vec::new();
    let mut conditions = vec![grid_filter("h.grid_id", &s.grids, &mut args)];
    if let Some(communities) = &s.communities {
        conditions.push(in_list("h.community_code", communities, &mut args));
    }
    if !s.care_tags.is_empty() {
        let mut any = Vec::new();
        for tag in &s.care_tags {
            args.push(Value::Text(format!("% {tag} %")));
            any.push(format!("h.tags LIKE ?{}", args.len()));
        }
        conditions.push(format!("({})", any.join(" OR ")));
    }
    if !s.household_types.is_empty() {
        conditions.push(in_list("h.household_type", &s.household_types, &mut args));
    }
    if let Some(since) = s.visited_since {
        args.push(Value::Integer(since));
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM visits v WHERE v.household_id = h.doc_id AND v.at >= ?{})",
            args.len()
        ));
    }
    let departed = if s.include_departed {
        ""
    } else {
        " AND p.status = 'Living'"
    };
    // Address order (the households_addr index): see `LedgerSelection`.
    let sql = format!(
        "{SELECT} LEFT JOIN persons p ON p.household_id = h.doc_id{departed}
         WHERE {}
         ORDER BY h.grid_id, h.building_no, h.unit, h.floor, h.room, h.doc_id,
            p.relation = 'Head' DESC, p.birth_date, p.name, p.person_id",
        conditions.join(" AND ")
    );
    (sql, args)
}

fn in_list(column: &str, values: &[String], args: &mut Vec<Value>) -> String {
    if values.is_empty() {
        return "0 = 1".into();
    }
    let marks: Vec<String> = values
        .iter()
        .map(|v| {
            args.push(Value::Text(v.clone()));
            format!("?{}", args.len())
        })
        .collect();
    format!("{column} IN ({})", marks.join(", "))
}
