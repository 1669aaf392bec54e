//! Projection rows derived from documents. Every function here reads a document and
//! writes rows; nothing here is a source of truth, and [`crate::Store::rebuild_projections`]
//! can always throw it away and derive it again.

use crate::Result;
use gridwalk_core::model::Household;
pub use gridwalk_core::projection::household_search_keys;
use gridwalk_core::projection::{
    household_rows, project, shipped_tables, HouseholdRow, PersonRow, Projected, Rows, TABLES,
};
use gridwalk_core::sync::{Cell, TableRows};
use gridwalk_core::{DocKind, Document};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, ToSql};

/// The projection's shape: bump when a migration adds projected columns, so that opening
/// an older store rebuilds the projections from the documents and fills them
/// ([`crate::Store::open`]). 2: export columns (notes, GPS, disability certificate).
/// 3: search keys without full phones and ID numbers.
pub const VERSION: &str = "3";
pub const VERSION_KEY: &str = "projection.version";

pub fn clear(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM persons; DELETE FROM households; DELETE FROM visits; DELETE FROM issues;
         DELETE FROM key_persons; DELETE FROM photo_refs;",
    )?;
    Ok(())
}

/// Write the projection of one document: the rows [`gridwalk_core::projection::project`]
/// computes. A document that does not read as its schema (possible only for merged
/// remote state) keeps its old rows rather than failing the write.
pub fn upsert(conn: &Connection, doc: &Document, grid_id: &str) -> Result<()> {
    upsert_projected(conn, project(doc, grid_id).as_ref(), grid_id)
}

/// [`upsert`] with the rows already computed by `gridwalk_core::projection::project` (of
/// the document as it is written), so that a caller on a busy writer can compute them
/// beforehand. `None`: the document did not read as its schema; its old rows stay.
pub fn upsert_projected(conn: &Connection, p: Option<&Projected>, grid_id: &str) -> Result<()> {
    let Some(p) = p else {
        return Ok(());
    };
    match &p.rows {
        Rows::Household { household, persons } => write_household(conn, household, persons),
        Rows::Visit(v) => {
            conn.prepare_cached(UPSERT_VISIT)?
                .execute(cells(&v.cells()))?;
            photo_refs(conn, &v.doc_id, grid_id, &p.photos)
        }
        Rows::Issue(i) => {
            conn.prepare_cached(UPSERT_ISSUE)?
                .execute(cells(&i.cells()))?;
            photo_refs(conn, &i.doc_id, grid_id, &p.photos)
        }
        Rows::KeyPersons(k) => {
            conn.prepare_cached(UPSERT_KEY_PERSONS)?
                .execute(cells(&k.cells()))?;
            Ok(())
        }
    }
}

/// Cells as the parameters of one statement.
fn cells(row: &[Cell]) -> impl rusqlite::Params + '_ {
    rusqlite::params_from_iter(row.iter().map(CellParam))
}

/// The photos a document references (photos are append-only, so rows are only added;
/// a grid change moves them).
fn photo_refs(conn: &Connection, doc_id: &str, grid_id: &str, photos: &[String]) -> Result<()> {
    if photos.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO photo_refs (sha256, doc_id, grid_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (sha256, doc_id) DO UPDATE SET grid_id = excluded.grid_id",
    )?;
    for sha in photos {
        stmt.execute(params![sha, doc_id, grid_id])?;
    }
    Ok(())
}

/// Write a household's projection from the household itself (an import, which holds it
/// typed already).
pub fn upsert_household(
    conn: &Connection,
    h: &Household,
    grid_id: &str,
    conflicts: i64,
) -> Result<()> {
    let (household, persons) = household_rows(h, grid_id, conflicts);
    write_household(conn, &household, &persons)
}

const UPSERT_HOUSEHOLD: &str =
    "INSERT INTO households (doc_id, grid_id, community_code, building_no, building_name,
        unit, floor, room, address, housing_use, household_type, head_name, phone,
        member_count, tags, restricted, search, tails, complete, conflicts, updated_at,
        household_phone, notes, lon, lat)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
        ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)
     ON CONFLICT (doc_id) DO UPDATE SET grid_id = excluded.grid_id,
        community_code = excluded.community_code, building_no = excluded.building_no,
        building_name = excluded.building_name, unit = excluded.unit,
        floor = excluded.floor, room = excluded.room, address = excluded.address,
        housing_use = excluded.housing_use, household_type = excluded.household_type,
        head_name = excluded.head_name, phone = excluded.phone,
        member_count = excluded.member_count, tags = excluded.tags,
        restricted = excluded.restricted, search = excluded.search,
        tails = excluded.tails, complete = excluded.complete,
        conflicts = excluded.conflicts, updated_at = excluded.updated_at,
        household_phone = excluded.household_phone, notes = excluded.notes,
        lon = excluded.lon, lat = excluded.lat";

/// A member's row is written only where something changed (see [`write_household`]).
const UPSERT_PERSON: &str =
    "INSERT INTO persons (person_id, household_id, name, sex, birth_date, id_number, phone,
        relation, population_type, status, tags, restricted, disability_cert, notes)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
     ON CONFLICT (household_id, person_id) DO UPDATE SET name = excluded.name,
        sex = excluded.sex, birth_date = excluded.birth_date,
        id_number = excluded.id_number, phone = excluded.phone,
        relation = excluded.relation, population_type = excluded.population_type,
        status = excluded.status, tags = excluded.tags, restricted = excluded.restricted,
        disability_cert = excluded.disability_cert, notes = excluded.notes
     WHERE (name, sex, birth_date, id_number, phone, relation, population_type, status,
            tags, restricted, disability_cert, notes)
        IS NOT (excluded.name, excluded.sex, excluded.birth_date, excluded.id_number,
            excluded.phone, excluded.relation, excluded.population_type,
            excluded.status, excluded.tags, excluded.restricted,
            excluded.disability_cert, excluded.notes)";

const UPSERT_VISIT: &str =
    "INSERT INTO visits (doc_id, household_id, grid_id, worker_id, device_id, at, mode,
        findings, needs, follow_up, review_status, review_comment)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
     ON CONFLICT (doc_id) DO UPDATE SET household_id = excluded.household_id,
        grid_id = excluded.grid_id, worker_id = excluded.worker_id,
        device_id = excluded.device_id, at = excluded.at, mode = excluded.mode,
        findings = excluded.findings, needs = excluded.needs,
        follow_up = excluded.follow_up, review_status = excluded.review_status,
        review_comment = excluded.review_comment";

const UPSERT_ISSUE: &str =
    "INSERT INTO issues (doc_id, grid_id, household_id, category, title, urgency, state,
        reported_by, reported_at, dispatched_at, deadline, department, closed_at,
        closed_on_time, rework_count, satisfaction, conflicts)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
     ON CONFLICT (doc_id) DO UPDATE SET grid_id = excluded.grid_id,
        household_id = excluded.household_id, category = excluded.category,
        title = excluded.title, urgency = excluded.urgency, state = excluded.state,
        reported_by = excluded.reported_by, reported_at = excluded.reported_at,
        dispatched_at = excluded.dispatched_at, deadline = excluded.deadline,
        department = excluded.department, closed_at = excluded.closed_at,
        closed_on_time = excluded.closed_on_time, rework_count = excluded.rework_count,
        satisfaction = excluded.satisfaction, conflicts = excluded.conflicts";

const UPSERT_KEY_PERSONS: &str = "INSERT INTO key_persons (doc_id, household_id, grid_id, persons)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (doc_id) DO UPDATE SET household_id = excluded.household_id,
        grid_id = excluded.grid_id, persons = excluded.persons";

fn write_household(conn: &Connection, h: &HouseholdRow, persons: &[PersonRow]) -> Result<()> {
    conn.prepare_cached(UPSERT_HOUSEHOLD)?
        .execute(cells(&h.cells()))?;
    // Members are upserted, and a row is written only where something changed: an edit
    // of one field used to delete and insert every member with their index entries and
    // holder counts, the most pages of a durable edit (each page written is also
    // encrypted on the device: issue 14).
    let member_ids =
        serde_json::to_string(&persons.iter().map(|p| &p.person_id).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into());
    conn.prepare_cached(
        "DELETE FROM persons WHERE household_id = ?1
           AND person_id NOT IN (SELECT value FROM json_each(?2))",
    )?
    .execute(params![h.doc_id, member_ids])?;
    let mut stmt = conn.prepare_cached(UPSERT_PERSON)?;
    for p in persons {
        stmt.execute(cells(&p.cells()))?;
    }
    Ok(())
}

/// A projection table as a first download ships it: its columns in wire order (those of
/// [`gridwalk_core::projection`]), the column naming the document, the grid column.
pub(crate) type Shipped = gridwalk_core::projection::Table;

/// The tables [`upsert`] writes for a document of `kind`.
pub(crate) fn shipped(kind: DocKind) -> &'static [Shipped] {
    shipped_tables(kind)
}

/// The SQL that reads and writes a shipped table, built once (not per document).
struct ShippedSql {
    select: String,
    insert: String,
}

fn shipped_sql(table: &str) -> &'static ShippedSql {
    static SQL: std::sync::OnceLock<Vec<(&'static str, ShippedSql)>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        TABLES
            .iter()
            .map(|t| {
                let cols = t.cols.join(", ");
                let marks: Vec<String> = (1..=t.cols.len()).map(|i| format!("?{i}")).collect();
                let sql = ShippedSql {
                    select: format!("SELECT {cols} FROM {} WHERE {} = ?1", t.name, t.key),
                    insert: format!(
                        "INSERT OR REPLACE INTO {} ({cols}) VALUES ({})",
                        t.name,
                        marks.join(", ")
                    ),
                };
                (t.name, sql)
            })
            .collect()
    });
    let found = all.iter().find(|(name, _)| *name == table);
    // Every table comes from `shipped`, which lists only these five.
    &found.unwrap_or(&all[0]).1
}

fn cell(v: ValueRef<'_>) -> Cell {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Real(f),
        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Cell::Blob(serde_bytes::ByteBuf::from(b.to_vec())),
    }
}

/// A [`Cell`] as an SQL parameter.
struct CellParam<'a>(&'a Cell);

impl ToSql for CellParam<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Cell::Null => ValueRef::Null,
            Cell::Int(i) => ValueRef::Integer(*i),
            Cell::Real(f) => ValueRef::Real(*f),
            Cell::Text(t) => ValueRef::Text(t.as_bytes()),
            Cell::Blob(b) => ValueRef::Blob(b.as_slice()),
        }))
    }
}

/// The stored projection rows of one document (the district's, for a first download).
/// They were written by [`upsert`] from the document at its stored heads, in the same
/// transaction as the document, so they are what the device would derive itself.
pub fn read_rows(conn: &Connection, kind: DocKind, doc_id: &str) -> Result<Vec<TableRows>> {
    let mut out = Vec::new();
    for t in shipped(kind) {
        let mut stmt = conn.prepare_cached(&shipped_sql(t.name).select)?;
        let mut rows = stmt.query([doc_id])?;
        let mut table = Vec::new();
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(t.cols.len());
            for i in 0..t.cols.len() {
                cells.push(cell(row.get_ref(i)?));
            }
            table.push(cells);
        }
        out.push(TableRows {
            table: t.name.to_string(),
            rows: table,
        });
    }
    Ok(out)
}

/// About how many bytes `rows` take on the wire (for the page budget).
pub fn rows_len(rows: &[TableRows]) -> usize {
    rows.iter()
        .flat_map(|t| t.rows.iter().flatten())
        .map(|c| match c {
            Cell::Text(t) => t.len() + 1,
            Cell::Blob(b) => b.len() + 1,
            _ => 2,
        })
        .sum()
}

/// True when `rows` are exactly the tables [`upsert`] writes for a `kind` document, each
/// row as wide as its table and naming this document (and this grid). Nothing else is
/// written from the wire: rows for another document or table are not taken.
pub(crate) fn rows_fit(kind: DocKind, doc_id: &str, grid_id: &str, rows: &[TableRows]) -> bool {
    let tables = shipped(kind);
    rows.len() == tables.len()
        && rows.iter().zip(tables).all(|(got, t)| {
            let at = |name: &str| t.cols.iter().position(|c| *c == name);
            let text_is = |r: &[Cell], col: Option<usize>, want: &str| {
                col.is_none_or(|i| matches!(r.get(i), Some(Cell::Text(s)) if s == want))
            };
            got.table == t.name
                && got.rows.iter().all(|r| {
                    r.len() == t.cols.len()
                        && at(t.key).is_some()
                        && text_is(r, at(t.key), doc_id)
                        && text_is(r, t.grid.and_then(at), grid_id)
                })
        })
}

/// Write a document's shipped rows (checked by [`rows_fit`] first), with one cached
/// statement per table.
pub(crate) fn write_rows(conn: &Connection, kind: DocKind, rows: &[TableRows]) -> Result<()> {
    for (got, t) in rows.iter().zip(shipped(kind)) {
        let mut stmt = conn.prepare_cached(&shipped_sql(t.name).insert)?;
        for r in &got.rows {
            stmt.execute(rusqlite::params_from_iter(r.iter().map(CellParam)))?;
        }
    }
    Ok(())
}
