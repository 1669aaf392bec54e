//! Projection rows derived from documents. Every function here reads a document and
//! writes rows; nothing here is a source of truth, and [`crate::Store::rebuild_projections`]
//! can always throw it away and derive it again.

use crate::Result;
use gridwalk_core::model::{Household, Issue, KeyPersons, PhotoRef, Visit};
use gridwalk_core::search_keys::{id_tail, phone_tail, pinyin_full, pinyin_initials};
use gridwalk_core::sync::{Cell, TableRows};
use gridwalk_core::{workflow, DocKind, Document};
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

/// Write the projection of one document. A document that does not read as its schema
/// (possible only for merged remote state) keeps its old rows rather than failing the write.
pub fn upsert(conn: &Connection, doc: &Document, grid_id: &str) -> Result<()> {
    let conflicts = doc.conflicts().len() as i64;
    match doc.kind {
        DocKind::Household => {
            if let Ok(h) = doc.read::<Household>() {
                upsert_household(conn, &h, grid_id, conflicts)?;
            }
        }
        DocKind::Visit => {
            if let Ok(v) = doc.read::<Visit>() {
                upsert_visit(conn, &v, grid_id)?;
                photo_refs(conn, &v.id, grid_id, [&v.photos])?;
            }
        }
        DocKind::Issue => {
            if let Ok(i) = doc.read::<Issue>() {
                upsert_issue(conn, &i, grid_id, conflicts)?;
                let events = i.events.values().map(|e| &e.photos);
                photo_refs(conn, &i.id, grid_id, events.chain([&i.photos]))?;
            }
        }
        DocKind::KeyPersons => {
            if let Ok(k) = doc.read::<KeyPersons>() {
                let persons = serde_json::to_string(&k.persons).unwrap_or_default();
                conn.prepare_cached(
                    "INSERT INTO key_persons (doc_id, household_id, grid_id, persons)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (doc_id) DO UPDATE SET household_id = excluded.household_id,
                        grid_id = excluded.grid_id, persons = excluded.persons",
                )?
                .execute(params![k.id, k.household_id, grid_id, persons])?;
            }
        }
    }
    Ok(())
}

/// The photos a document references (photos are append-only, so rows are only added;
/// a grid change moves them).
fn photo_refs<'a>(
    conn: &Connection,
    doc_id: &str,
    grid_id: &str,
    maps: impl IntoIterator<Item = &'a std::collections::BTreeMap<String, PhotoRef>>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO photo_refs (sha256, doc_id, grid_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (sha256, doc_id) DO UPDATE SET grid_id = excluded.grid_id",
    )?;
    for sha in gridwalk_core::model::referenced_hashes(maps) {
        stmt.execute(params![sha, doc_id, grid_id])?;
    }
    Ok(())
}

fn enum_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn tag_text<'a>(tags: impl Iterator<Item = &'a str>) -> String {
    let mut s = String::from(" ");
    for t in tags {
        s.push_str(t);
        s.push(' ');
    }
    s
}

/// Search keys of a household: names, pinyin (full and initials) and address forms, joined
/// by '|' so a query never matches across two keys; and the last 4 digits of its phones and
/// ID numbers. Full phones and ID numbers are not keys: a search matching more digits than
/// the mask shows would unmask a number one digit per query (issue 9).
pub fn household_search_keys(h: &Household) -> (String, String) {
    let a = &h.address;
    let mut keys = vec![
        a.building_name.clone(),
        a.building_no.clone(),
        a.short(),
        format!(
            "{}-{}-{}",
            a.building_name.trim_end_matches(['栋', '幢', '号', '楼']),
            a.unit,
            a.room
        ),
        format!("{}单元", a.unit),
        a.room.clone(),
    ];
    let mut tails = String::from(" ");
    let mut add_tail = |s: &Option<String>| {
        // An ID tail ending in x is kept as it is.
        let tail = match s.as_deref() {
            Some(t) if t.len() == 4 && t.ends_with('x') => Some(t.to_string()),
            other => other.and_then(phone_tail),
        };
        if let Some(t) = tail {
            tails.push_str(&t);
            tails.push(' ');
        }
    };
    add_tail(&h.phone);
    for p in h.members.values() {
        keys.push(p.name.clone());
        keys.push(pinyin_full(&p.name));
        keys.push(pinyin_initials(&p.name));
        add_tail(&p.phone);
        // An ID's tail as the mask shows it (`123x`), else its last 4 digits.
        let id = p.id_number.as_deref();
        add_tail(&id.map(|s| id_tail(s).unwrap_or_else(|| s.to_string())));
    }
    keys.retain(|k| !k.is_empty());
    (format!("|{}|", keys.join("|")), tails)
}

/// Ledger completeness: a head, a contact phone, and every living member with sex,
/// birth date and ID number.
fn is_complete(h: &Household) -> bool {
    let has_phone = h.phone.is_some() || h.head().and_then(|p| p.phone.as_ref()).is_some();
    h.head().is_some()
        && has_phone
        && h.living_members()
            .all(|p| p.birth_date.is_some() && p.id_number.is_some() && !p.name.is_empty())
}

pub fn upsert_household(
    conn: &Connection,
    h: &Household,
    grid_id: &str,
    conflicts: i64,
) -> Result<()> {
    let (search, tails) = household_search_keys(h);
    let a = &h.address;
    let head_name = h.head().map(|p| p.name.clone()).unwrap_or_default();
    let restricted = tag_text(h.living_members().flat_map(|p| {
        p.restricted_tags
            .iter()
            .filter(|(_, on)| **on)
            .map(|(t, _)| t.as_str())
    }));
    conn.prepare_cached(
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
            lon = excluded.lon, lat = excluded.lat",
    )?
    .execute(params![
        h.id,
        grid_id,
        a.community_code,
        a.building_no,
        a.building_name,
        a.unit,
        a.floor,
        a.room,
        a.short(),
        enum_name(&h.housing_use),
        enum_name(&h.household_type),
        head_name,
        h.phone
            .clone()
            .or_else(|| h.head().and_then(|p| p.phone.clone())),
        h.living_members().count() as i64,
        tag_text(h.care_tags().into_iter()),
        restricted,
        search,
        tails,
        is_complete(h),
        conflicts,
        h.created_at,
        h.phone,
        h.notes,
        h.gps.map(|g| g.lon),
        h.gps.map(|g| g.lat),
    ])?;
    // Members are upserted, and a row is written only where something changed: an edit
    // of one field used to delete and insert every member with their index entries and
    // holder counts, the most pages of a durable edit (each page written is also
    // encrypted on the device: issue 14).
    let member_ids = serde_json::to_string(&h.members.keys().collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into());
    conn.prepare_cached(
        "DELETE FROM persons WHERE household_id = ?1
           AND person_id NOT IN (SELECT value FROM json_each(?2))",
    )?
    .execute(params![h.id, member_ids])?;
    let mut stmt = conn.prepare_cached(
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
                excluded.disability_cert, excluded.notes)",
    )?;
    for p in h.members.values() {
        stmt.execute(params![
            p.id,
            h.id,
            p.name,
            enum_name(&p.sex),
            p.birth_date,
            p.id_number,
            p.phone,
            enum_name(&p.relation),
            enum_name(&p.population_type),
            enum_name(&p.status),
            tag_text(
                p.tags
                    .iter()
                    .filter(|(_, on)| **on)
                    .map(|(t, _)| t.as_str())
            ),
            tag_text(
                p.restricted_tags
                    .iter()
                    .filter(|(_, on)| **on)
                    .map(|(t, _)| t.as_str())
            ),
            p.disability_cert,
            p.notes,
        ])?;
    }
    Ok(())
}

fn upsert_visit(conn: &Connection, v: &Visit, grid_id: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO visits (doc_id, household_id, grid_id, worker_id, device_id, at, mode,
            findings, needs, follow_up, review_status, review_comment)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (doc_id) DO UPDATE SET household_id = excluded.household_id,
            grid_id = excluded.grid_id, worker_id = excluded.worker_id,
            device_id = excluded.device_id, at = excluded.at, mode = excluded.mode,
            findings = excluded.findings, needs = excluded.needs,
            follow_up = excluded.follow_up, review_status = excluded.review_status,
            review_comment = excluded.review_comment",
    )?
    .execute(params![
        v.id,
        v.household_id,
        grid_id,
        v.worker_id,
        v.device_id,
        v.at,
        enum_name(&v.mode),
        v.findings,
        v.needs,
        v.follow_up,
        v.review.as_ref().map(|r| enum_name(&r.status)),
        v.review.as_ref().map(|r| r.comment.clone()),
    ])?;
    Ok(())
}

fn upsert_issue(conn: &Connection, i: &Issue, grid_id: &str, conflicts: i64) -> Result<()> {
    let s = workflow::fold(i);
    let reported_by = i.timeline().first().map(|e| e.by_user.clone());
    conn.prepare_cached(
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
            satisfaction = excluded.satisfaction, conflicts = excluded.conflicts",
    )?
    .execute(params![
        i.id,
        grid_id,
        i.household_id,
        i.category,
        i.title,
        enum_name(&i.urgency),
        s.state.map(|st| enum_name(&st)),
        reported_by,
        s.reported_at,
        s.dispatched_at,
        s.deadline,
        s.department,
        s.closed_at,
        s.closed_on_time,
        s.rework_count as i64,
        s.satisfaction,
        conflicts,
    ])?;
    Ok(())
}

/// A projection table as a first download ships it: its columns in wire order, the
/// column naming the document, and the grid column (if any).
pub(crate) struct Shipped {
    pub table: &'static str,
    pub key: &'static str,
    pub grid: Option<&'static str>,
    pub cols: &'static [&'static str],
}

const HOUSEHOLDS: Shipped = Shipped {
    table: "households",
    key: "doc_id",
    grid: Some("grid_id"),
    cols: &[
        "doc_id",
        "grid_id",
        "community_code",
        "building_no",
        "building_name",
        "unit",
        "floor",
        "room",
        "address",
        "housing_use",
        "household_type",
        "head_name",
        "phone",
        "member_count",
        "tags",
        "restricted",
        "search",
        "tails",
        "complete",
        "conflicts",
        "updated_at",
        "household_phone",
        "notes",
        "lon",
        "lat",
    ],
};
const PERSONS: Shipped = Shipped {
    table: "persons",
    key: "household_id",
    grid: None,
    cols: &[
        "person_id",
        "household_id",
        "name",
        "sex",
        "birth_date",
        "id_number",
        "phone",
        "relation",
        "population_type",
        "status",
        "tags",
        "restricted",
        "disability_cert",
        "notes",
    ],
};
const VISITS: Shipped = Shipped {
    table: "visits",
    key: "doc_id",
    grid: Some("grid_id"),
    cols: &[
        "doc_id",
        "household_id",
        "grid_id",
        "worker_id",
        "device_id",
        "at",
        "mode",
        "findings",
        "needs",
        "follow_up",
        "review_status",
        "review_comment",
    ],
};
const ISSUES: Shipped = Shipped {
    table: "issues",
    key: "doc_id",
    grid: Some("grid_id"),
    cols: &[
        "doc_id",
        "grid_id",
        "household_id",
        "category",
        "title",
        "urgency",
        "state",
        "reported_by",
        "reported_at",
        "dispatched_at",
        "deadline",
        "department",
        "closed_at",
        "closed_on_time",
        "rework_count",
        "satisfaction",
        "conflicts",
    ],
};
const KEY_PERSONS: Shipped = Shipped {
    table: "key_persons",
    key: "doc_id",
    grid: Some("grid_id"),
    cols: &["doc_id", "household_id", "grid_id", "persons"],
};

/// The tables [`upsert`] writes for a document of `kind`.
pub(crate) fn shipped(kind: DocKind) -> &'static [Shipped] {
    match kind {
        DocKind::Household => &[HOUSEHOLDS, PERSONS],
        DocKind::Visit => &[VISITS],
        DocKind::Issue => &[ISSUES],
        DocKind::KeyPersons => &[KEY_PERSONS],
    }
}

/// The SQL that reads and writes a shipped table, built once (not per document).
struct ShippedSql {
    select: String,
    insert: String,
}

fn shipped_sql(table: &str) -> &'static ShippedSql {
    static SQL: std::sync::OnceLock<Vec<(&'static str, ShippedSql)>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        [HOUSEHOLDS, PERSONS, VISITS, ISSUES, KEY_PERSONS]
            .iter()
            .map(|t| {
                let cols = t.cols.join(", ");
                let marks: Vec<String> = (1..=t.cols.len()).map(|i| format!("?{i}")).collect();
                let sql = ShippedSql {
                    select: format!("SELECT {cols} FROM {} WHERE {} = ?1", t.table, t.key),
                    insert: format!(
                        "INSERT OR REPLACE INTO {} ({cols}) VALUES ({})",
                        t.table,
                        marks.join(", ")
                    ),
                };
                (t.table, sql)
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
        let mut stmt = conn.prepare_cached(&shipped_sql(t.table).select)?;
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
            table: t.table.to_string(),
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
            got.table == t.table
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
        let mut stmt = conn.prepare_cached(&shipped_sql(t.table).insert)?;
        for r in &got.rows {
            stmt.execute(rusqlite::params_from_iter(r.iter().map(CellParam)))?;
        }
    }
    Ok(())
}
