//! The projection's row types, one per table: their columns in wire order (`COLUMNS`)
//! and their values in that order as [`Cell`]s (`cells`).

use crate::sync::Cell;

#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdRow {
    pub doc_id: String,
    pub grid_id: String,
    pub community_code: String,
    pub building_no: String,
    pub building_name: String,
    pub unit: String,
    pub floor: i64,
    pub room: String,
    pub address: String,
    pub housing_use: String,
    pub household_type: String,
    pub head_name: String,
    /// The household's phone, else its head's.
    pub phone: Option<String>,
    pub member_count: i64,
    /// `' tag1 tag2 '`: care tags of living members.
    pub tags: String,
    /// `' tag '`: key-person tags still carried by living members.
    pub restricted: String,
    pub search: String,
    pub tails: String,
    pub complete: bool,
    pub conflicts: i64,
    pub updated_at: i64,
    /// The household's own phone only.
    pub household_phone: Option<String>,
    pub notes: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

impl HouseholdRow {
    pub const COLUMNS: &'static [&'static str] = &[
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
    ];

    pub fn cells(&self) -> Vec<Cell> {
        vec![
            text(&self.doc_id),
            text(&self.grid_id),
            text(&self.community_code),
            text(&self.building_no),
            text(&self.building_name),
            text(&self.unit),
            Cell::Int(self.floor),
            text(&self.room),
            text(&self.address),
            text(&self.housing_use),
            text(&self.household_type),
            text(&self.head_name),
            opt_text(&self.phone),
            Cell::Int(self.member_count),
            text(&self.tags),
            text(&self.restricted),
            text(&self.search),
            text(&self.tails),
            Cell::Int(i64::from(self.complete)),
            Cell::Int(self.conflicts),
            Cell::Int(self.updated_at),
            opt_text(&self.household_phone),
            text(&self.notes),
            opt_real(self.lon),
            opt_real(self.lat),
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PersonRow {
    pub person_id: String,
    pub household_id: String,
    pub name: String,
    pub sex: String,
    pub birth_date: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub relation: String,
    pub population_type: String,
    pub status: String,
    pub tags: String,
    pub restricted: String,
    pub disability_cert: Option<String>,
    pub notes: String,
}

impl PersonRow {
    pub const COLUMNS: &'static [&'static str] = &[
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
    ];

    pub fn cells(&self) -> Vec<Cell> {
        vec![
            text(&self.person_id),
            text(&self.household_id),
            text(&self.name),
            text(&self.sex),
            opt_text(&self.birth_date),
            opt_text(&self.id_number),
            opt_text(&self.phone),
            text(&self.relation),
            text(&self.population_type),
            text(&self.status),
            text(&self.tags),
            text(&self.restricted),
            opt_text(&self.disability_cert),
            text(&self.notes),
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct VisitRow {
    pub doc_id: String,
    pub household_id: String,
    pub grid_id: String,
    pub worker_id: String,
    pub device_id: String,
    pub at: i64,
    pub mode: String,
    pub findings: String,
    pub needs: String,
    pub follow_up: Option<String>,
    pub review_status: Option<String>,
    pub review_comment: Option<String>,
}

impl VisitRow {
    pub const COLUMNS: &'static [&'static str] = &[
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
    ];

    pub fn cells(&self) -> Vec<Cell> {
        vec![
            text(&self.doc_id),
            text(&self.household_id),
            text(&self.grid_id),
            text(&self.worker_id),
            text(&self.device_id),
            Cell::Int(self.at),
            text(&self.mode),
            text(&self.findings),
            text(&self.needs),
            opt_text(&self.follow_up),
            opt_text(&self.review_status),
            opt_text(&self.review_comment),
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IssueRow {
    pub doc_id: String,
    pub grid_id: String,
    pub household_id: Option<String>,
    pub category: String,
    pub title: String,
    pub urgency: String,
    pub state: Option<String>,
    pub reported_by: Option<String>,
    pub reported_at: Option<i64>,
    pub dispatched_at: Option<i64>,
    pub deadline: Option<i64>,
    pub department: Option<String>,
    pub closed_at: Option<i64>,
    pub closed_on_time: Option<bool>,
    pub rework_count: i64,
    pub satisfaction: Option<i64>,
    pub conflicts: i64,
}

impl IssueRow {
    pub const COLUMNS: &'static [&'static str] = &[
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
    ];

    pub fn cells(&self) -> Vec<Cell> {
        vec![
            text(&self.doc_id),
            text(&self.grid_id),
            opt_text(&self.household_id),
            text(&self.category),
            text(&self.title),
            text(&self.urgency),
            opt_text(&self.state),
            opt_text(&self.reported_by),
            opt_int(self.reported_at),
            opt_int(self.dispatched_at),
            opt_int(self.deadline),
            opt_text(&self.department),
            opt_int(self.closed_at),
            opt_int(self.closed_on_time.map(i64::from)),
            Cell::Int(self.rework_count),
            opt_int(self.satisfaction),
            Cell::Int(self.conflicts),
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyPersonsRow {
    pub doc_id: String,
    pub household_id: String,
    pub grid_id: String,
    /// `{person_id: {tag: true}}` as JSON.
    pub persons: String,
}

impl KeyPersonsRow {
    pub const COLUMNS: &'static [&'static str] = &["doc_id", "household_id", "grid_id", "persons"];

    pub fn cells(&self) -> Vec<Cell> {
        vec![
            text(&self.doc_id),
            text(&self.household_id),
            text(&self.grid_id),
            text(&self.persons),
        ]
    }
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

fn opt_text(s: &Option<String>) -> Cell {
    s.as_deref().map_or(Cell::Null, text)
}

fn opt_int(i: Option<i64>) -> Cell {
    i.map_or(Cell::Null, Cell::Int)
}

fn opt_real(f: Option<f64>) -> Cell {
    f.map_or(Cell::Null, Cell::Real)
}
