//! Projection rows as pure code: a document in, the typed rows of its listing tables out
//! (households with their persons, visits, issues, key persons) and the photos it
//! references. Every store writes exactly these rows (the device's and the district's
//! SQLite through `gridwalk_store::projection`, PostgreSQL through
//! `gridwalk-district-postgres`), so a row never depends on the database that holds it.
//!
//! Each row type lists its columns in wire order (`COLUMNS`: the order a first download
//! ships them in, and the order of the SQL that writes them) and gives its values in that
//! order as [`Cell`]s (`cells`). A boolean is an `Int` 0/1, as SQLite stores it.

mod rows;
mod search;

pub use rows::{HouseholdRow, IssueRow, KeyPersonsRow, PersonRow, VisitRow};
pub(crate) use search::at as search_at;
pub use search::{household_search_keys, search_cells, search_keys, Member, Place};

use crate::model::{Household, Issue, KeyPersons, PhotoRef, Visit};
use crate::sync::Cell;
use crate::{workflow, DocKind, Document};
use std::collections::BTreeMap;

/// The rows of one document.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    Household {
        /// Boxed: the widest row by far.
        household: Box<HouseholdRow>,
        persons: Vec<PersonRow>,
    },
    Visit(VisitRow),
    Issue(IssueRow),
    KeyPersons(KeyPersonsRow),
}

/// What a document projects to: its rows and the photos it references (sorted, unique).
#[derive(Debug, Clone, PartialEq)]
pub struct Projected {
    pub rows: Rows,
    pub photos: Vec<String>,
}

/// The projection of `doc`, stored in `grid_id`. `None` when the document does not read
/// as its schema (possible only for merged remote state): a store then keeps its old rows
/// rather than failing the write.
pub fn project(doc: &Document, grid_id: &str) -> Option<Projected> {
    let conflicts = doc.conflicts().len() as i64;
    Some(match doc.kind {
        DocKind::Household => {
            let h = doc.read::<Household>().ok()?;
            let (household, persons) = household_rows(&h, grid_id, conflicts);
            Projected {
                rows: Rows::Household {
                    household: Box::new(household),
                    persons,
                },
                photos: vec![],
            }
        }
        DocKind::Visit => {
            let v = doc.read::<Visit>().ok()?;
            Projected {
                photos: photos([&v.photos]),
                rows: Rows::Visit(visit_row(&v, grid_id)),
            }
        }
        DocKind::Issue => {
            let i = doc.read::<Issue>().ok()?;
            let events = i.events.values().map(|e| &e.photos);
            Projected {
                photos: photos(events.chain([&i.photos])),
                rows: Rows::Issue(issue_row(&i, grid_id, conflicts)),
            }
        }
        DocKind::KeyPersons => {
            let k = doc.read::<KeyPersons>().ok()?;
            Projected {
                rows: Rows::KeyPersons(KeyPersonsRow {
                    doc_id: k.id,
                    household_id: k.household_id,
                    grid_id: grid_id.to_string(),
                    persons: serde_json::to_string(&k.persons).unwrap_or_default(),
                }),
                photos: vec![],
            }
        }
    })
}

fn photos<'a>(maps: impl IntoIterator<Item = &'a BTreeMap<String, PhotoRef>>) -> Vec<String> {
    crate::model::referenced_hashes(maps)
        .into_iter()
        .map(str::to_string)
        .collect()
}

impl Rows {
    /// The document these rows project.
    pub fn doc_id(&self) -> &str {
        match self {
            Rows::Household { household, .. } => &household.doc_id,
            Rows::Visit(v) => &v.doc_id,
            Rows::Issue(i) => &i.doc_id,
            Rows::KeyPersons(k) => &k.doc_id,
        }
    }

    /// Each table of these rows with its rows as cells, in the order of
    /// [`shipped_tables`] for the document's kind.
    pub fn tables(&self) -> Vec<(&'static str, Vec<Vec<Cell>>)> {
        match self {
            Rows::Household { household, persons } => vec![
                ("households", vec![household.cells()]),
                ("persons", persons.iter().map(PersonRow::cells).collect()),
            ],
            Rows::Visit(v) => vec![("visits", vec![v.cells()])],
            Rows::Issue(i) => vec![("issues", vec![i.cells()])],
            Rows::KeyPersons(k) => vec![("key_persons", vec![k.cells()])],
        }
    }
}

/// A projection table: its name, its columns in wire order, the column naming the
/// document, the grid column (if any), and its primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    pub cols: &'static [&'static str],
    pub key: &'static str,
    pub grid: Option<&'static str>,
    pub primary_key: &'static [&'static str],
}

pub const HOUSEHOLDS: Table = Table {
    name: "households",
    cols: HouseholdRow::COLUMNS,
    key: "doc_id",
    grid: Some("grid_id"),
    primary_key: &["doc_id"],
};
pub const PERSONS: Table = Table {
    name: "persons",
    cols: PersonRow::COLUMNS,
    key: "household_id",
    grid: None,
    primary_key: &["household_id", "person_id"],
};
pub const VISITS: Table = Table {
    name: "visits",
    cols: VisitRow::COLUMNS,
    key: "doc_id",
    grid: Some("grid_id"),
    primary_key: &["doc_id"],
};
pub const ISSUES: Table = Table {
    name: "issues",
    cols: IssueRow::COLUMNS,
    key: "doc_id",
    grid: Some("grid_id"),
    primary_key: &["doc_id"],
};
pub const KEY_PERSONS: Table = Table {
    name: "key_persons",
    cols: KeyPersonsRow::COLUMNS,
    key: "doc_id",
    grid: Some("grid_id"),
    primary_key: &["doc_id"],
};
/// Every projection table.
pub const TABLES: [Table; 5] = [HOUSEHOLDS, PERSONS, VISITS, ISSUES, KEY_PERSONS];

/// The tables a document of `kind` projects to, in the order [`Rows::tables`] gives them
/// and a first download ships them.
pub fn shipped_tables(kind: DocKind) -> &'static [Table] {
    match kind {
        DocKind::Household => &[HOUSEHOLDS, PERSONS],
        DocKind::Visit => &[VISITS],
        DocKind::Issue => &[ISSUES],
        DocKind::KeyPersons => &[KEY_PERSONS],
    }
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

fn tags_on(tags: &BTreeMap<String, bool>) -> String {
    tag_text(tags.iter().filter(|(_, on)| **on).map(|(t, _)| t.as_str()))
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

/// A household's row and its members' rows (every member, living or not).
pub fn household_rows(
    h: &Household,
    grid_id: &str,
    conflicts: i64,
) -> (HouseholdRow, Vec<PersonRow>) {
    let (search, tails) = household_search_keys(h);
    let a = &h.address;
    let restricted = tag_text(h.living_members().flat_map(|p| {
        p.restricted_tags
            .iter()
            .filter(|(_, on)| **on)
            .map(|(t, _)| t.as_str())
    }));
    let household = HouseholdRow {
        doc_id: h.id.clone(),
        grid_id: grid_id.to_string(),
        community_code: a.community_code.clone(),
        building_no: a.building_no.clone(),
        building_name: a.building_name.clone(),
        unit: a.unit.clone(),
        floor: a.floor,
        room: a.room.clone(),
        address: a.short(),
        housing_use: enum_name(&h.housing_use),
        household_type: enum_name(&h.household_type),
        head_name: h.head().map(|p| p.name.clone()).unwrap_or_default(),
        phone: h
            .phone
            .clone()
            .or_else(|| h.head().and_then(|p| p.phone.clone())),
        member_count: h.living_members().count() as i64,
        tags: tag_text(h.care_tags().into_iter()),
        restricted,
        search,
        tails,
        complete: is_complete(h),
        conflicts,
        updated_at: h.created_at,
        household_phone: h.phone.clone(),
        notes: h.notes.clone(),
        lon: h.gps.map(|g| g.lon),
        lat: h.gps.map(|g| g.lat),
    };
    let persons = h
        .members
        .values()
        .map(|p| PersonRow {
            person_id: p.id.clone(),
            household_id: h.id.clone(),
            name: p.name.clone(),
            sex: enum_name(&p.sex),
            birth_date: p.birth_date.clone(),
            id_number: p.id_number.clone(),
            phone: p.phone.clone(),
            relation: enum_name(&p.relation),
            population_type: enum_name(&p.population_type),
            status: enum_name(&p.status),
            tags: tags_on(&p.tags),
            restricted: tags_on(&p.restricted_tags),
            disability_cert: p.disability_cert.clone(),
            notes: p.notes.clone(),
        })
        .collect();
    (household, persons)
}

pub fn visit_row(v: &Visit, grid_id: &str) -> VisitRow {
    VisitRow {
        doc_id: v.id.clone(),
        household_id: v.household_id.clone(),
        grid_id: grid_id.to_string(),
        worker_id: v.worker_id.clone(),
        device_id: v.device_id.clone(),
        at: v.at,
        mode: enum_name(&v.mode),
        findings: v.findings.clone(),
        needs: v.needs.clone(),
        follow_up: v.follow_up.clone(),
        review_status: v.review.as_ref().map(|r| enum_name(&r.status)),
        review_comment: v.review.as_ref().map(|r| r.comment.clone()),
    }
}

pub fn issue_row(i: &Issue, grid_id: &str, conflicts: i64) -> IssueRow {
    let s = workflow::fold(i);
    IssueRow {
        doc_id: i.id.clone(),
        grid_id: grid_id.to_string(),
        household_id: i.household_id.clone(),
        category: i.category.clone(),
        title: i.title.clone(),
        urgency: enum_name(&i.urgency),
        state: s.state.map(|st| enum_name(&st)),
        reported_by: i.timeline().first().map(|e| e.by_user.clone()),
        reported_at: s.reported_at,
        dispatched_at: s.dispatched_at,
        deadline: s.deadline,
        department: s.department,
        closed_at: s.closed_at,
        closed_on_time: s.closed_on_time,
        rework_count: i64::from(s.rework_count),
        satisfaction: s.satisfaction,
        conflicts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{generate, DemoParams};
    use crate::{Author, DocId};

    fn doc<T: autosurgeon::Reconcile>(kind: DocKind, id: &str, value: &T) -> Document {
        let author = Author::new(uuid::Uuid::nil(), uuid::Uuid::nil());
        let id = DocId(id.parse().expect("uuid"));
        Document::create(kind, id, value, author, 0).expect("doc")
    }

    fn check(doc: &Document, grid: &str) -> Projected {
        let p = project(doc, grid).expect("a demo document reads as its schema");
        let tables = p.rows.tables();
        let want = shipped_tables(doc.kind);
        assert_eq!(tables.len(), want.len());
        for ((name, rows), t) in tables.iter().zip(want) {
            assert_eq!(*name, t.name);
            for r in rows {
                assert_eq!(r.len(), t.cols.len(), "{name}");
                let key = t.cols.iter().position(|c| *c == t.key).expect("key column");
                assert_eq!(r[key], Cell::Text(doc.id.to_string()), "{name}");
            }
        }
        p
    }

    #[test]
    fn every_row_gives_one_cell_per_column_naming_its_document() {
        let d = generate(&DemoParams::single_grid(30, 7, 1_750_000_000_000));
        for h in d.households.iter().take(10) {
            let p = check(&doc(DocKind::Household, &h.id, h), "g1");
            let Rows::Household { household, persons } = p.rows else {
                panic!("a household's rows");
            };
            assert_eq!(household.grid_id, "g1");
            assert_eq!(persons.len(), h.members.len());
        }
        for v in d.visits.iter().take(10) {
            check(&doc(DocKind::Visit, &v.id, v), "g1");
        }
        for i in d.issues.iter().take(10) {
            let p = check(&doc(DocKind::Issue, &i.id, i), "g1");
            let Rows::Issue(row) = p.rows else {
                panic!("an issue's row");
            };
            assert_eq!(row.state, workflow::fold(i).state.map(|s| enum_name(&s)));
        }
        for k in d.key_persons.iter().take(3) {
            check(&doc(DocKind::KeyPersons, &k.id, k), "g1");
        }
    }

    #[test]
    fn a_document_that_does_not_read_has_no_rows() {
        let empty = Document::empty(DocKind::Household, DocId(uuid::Uuid::nil()));
        assert_eq!(project(&empty, "g1"), None);
    }
}
