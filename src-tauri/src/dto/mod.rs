//! The shapes that cross the IPC boundary. Every type here derives `TS`, and
//! `cargo test -p gridwalk-app` writes them to `ui/src/bindings/` (ts-rs), so the UI's
//! types are generated, never copied by hand.
//!
//! Sensitive values (ID numbers, phones) leave Rust masked; the full value only comes out
//! of `reveal_pii`, which records the reveal first.

use crate::error::AppError;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use ts_rs::TS;

mod photos;
pub use photos::{PhotoDto, PhotoInput, PhotoSize, PhotoState, PhotoStorage};

/// Convert between a core type and its mirror here: both have the same serde shape.
pub fn mirror<A: Serialize, B: DeserializeOwned>(a: &A) -> Result<B, AppError> {
    serde_json::to_value(a)
        .and_then(serde_json::from_value)
        .map_err(|e| AppError::Storage {
            message: format!("shape mismatch: {e}"),
        })
}

macro_rules! mirror_enum {
    ($(#[$m:meta])* $name:ident { $($v:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
        #[ts(export, export_to = "../../ui/src/bindings/")]
        pub enum $name { $($v),* }
    };
}

mirror_enum!(HousingUse {
    SelfOccupied,
    Rented,
    Vacant,
    Other
});
mirror_enum!(HouseholdType {
    Registered,
    Migrant,
    RegisteredAbsent
});
mirror_enum!(Sex { Male, Female });
mirror_enum!(Relation {
    Head,
    Spouse,
    Child,
    Parent,
    Grandchild,
    Sibling,
    Tenant,
    Other,
    Son,
    Daughter,
    DaughterInLaw,
    SonInLaw,
    ParentInLaw,
    Grandparent,
    Nanny
});
mirror_enum!(PopulationType {
    Registered,
    Migrant,
    Foreign
});
mirror_enum!(PersonStatus {
    Living,
    MovedOut,
    Deceased
});
mirror_enum!(VisitMode {
    InPerson,
    Phone,
    Messaging,
    OnBehalf
});
mirror_enum!(Urgency {
    Normal,
    Urgent,
    Critical
});
mirror_enum!(EventKind {
    Report,
    File,
    Void,
    SelfHandle,
    Dispatch,
    Accept,
    Feedback,
    Check,
    Close,
    Return,
    Evaluate,
    Comment,
});
mirror_enum!(IssueState {
    Reported,
    Filed,
    Dispatched,
    InProgress,
    Feedback,
    Checking,
    Closed,
    SelfHandled,
    Voided,
    Evaluated,
});
mirror_enum!(OverdueLevel { Green, Yellow, Red });
mirror_enum!(
    /// How often a household is due a visit (PRODUCT.md): high-risk elderly weekly, key
    /// groups monthly, everyone else quarterly.
    VisitRule { Weekly, Monthly, Quarterly }
);
mirror_enum!(PiiField { Phone, IdNumber });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Gps {
    pub lat: f64,
    pub lon: f64,
}

// Status and sync: `status.rs`.
mod status;
pub use status::*;

// ---------------------------------------------------------------- reference lists

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Label {
    pub code: String,
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Reference {
    pub care_tags: Vec<Label>,
    pub high_risk_tags: Vec<String>,
    pub categories: Vec<Label>,
    pub issue_states: Vec<Label>,
}

// ---------------------------------------------------------------- households

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct HouseholdQuery {
    pub text: Option<String>,
    pub tags: Vec<String>,
    pub building_no: Option<String>,
    pub unit: Option<String>,
    pub offset: u32,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct HouseholdRow {
    pub id: String,
    pub address: String,
    pub building_no: String,
    pub unit: String,
    pub room: String,
    pub head_name: String,
    /// Pinyin initials of the head's name (`zsf` for 张三丰): the search shortcut.
    pub head_initials: String,
    pub phone_masked: Option<String>,
    pub member_count: u32,
    pub tags: Vec<String>,
    #[ts(type = "number | null")]
    pub last_visit_at: Option<i64>,
    pub complete: bool,
    pub conflicts: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct HouseholdPage {
    pub items: Vec<HouseholdRow>,
    pub total: u32,
    pub offset: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct UnitCount {
    pub unit: String,
    pub households: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Building {
    pub building_no: String,
    pub building_name: String,
    pub households: u32,
    pub units: Vec<UnitCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Address {
    pub community_code: String,
    pub building_no: String,
    pub building_name: String,
    pub unit: String,
    #[ts(type = "number")]
    pub floor: i64,
    pub room: String,
    /// "3栋2单元501"
    pub short: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Person {
    pub id: String,
    pub name: String,
    pub sex: Sex,
    /// The year only: with the full date a masked ID number could be rebuilt (issue 9).
    pub birth_year: Option<i32>,
    pub id_number_masked: Option<String>,
    pub phone_masked: Option<String>,
    pub relation: Relation,
    pub population_type: PopulationType,
    pub status: PersonStatus,
    /// Care tags only; restricted key-person tags never reach the worker's app.
    pub tags: Vec<String>,
    pub has_disability_cert: bool,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Household {
    pub id: String,
    pub grid_id: String,
    pub address: Address,
    pub housing_use: HousingUse,
    pub household_type: HouseholdType,
    pub head_person_id: Option<String>,
    pub phone_masked: Option<String>,
    pub members: Vec<Person>,
    pub notes: String,
    pub gps: Option<Gps>,
    pub care_tags: Vec<String>,
    pub visit_rule: VisitRule,
}

/// One side of a conflict: the value (masked when sensitive), who wrote it and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct ConflictValue {
    pub index: u32,
    pub display: String,
    pub author_user: Option<String>,
    pub author_device: Option<String>,
    /// Written on this device.
    pub mine: bool,
    #[ts(type = "number")]
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Conflict {
    pub path: Vec<String>,
    /// The member's name when the field belongs to a member.
    pub person_name: Option<String>,
    pub values: Vec<ConflictValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct VisitRow {
    pub id: String,
    pub household_id: String,
    #[ts(type = "number")]
    pub at: i64,
    pub mode: String,
    pub findings: String,
    pub needs: String,
    pub follow_up: Option<String>,
    pub mine: bool,
    pub review_status: Option<String>,
    pub review_comment: Option<String>,
    /// The visit's photos (metadata; bytes through `get_photo`), oldest first.
    pub photos: Vec<PhotoDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct IssueRow {
    pub id: String,
    pub household_id: Option<String>,
    pub category: String,
    pub title: String,
    pub urgency: String,
    pub state: Option<IssueState>,
    #[ts(type = "number | null")]
    pub reported_at: Option<i64>,
    #[ts(type = "number | null")]
    pub deadline: Option<i64>,
    /// True when no deadline was dispatched yet and `deadline` is the category's default
    /// counted from the report.
    pub deadline_estimated: bool,
    pub overdue: Option<OverdueLevel>,
    pub mine: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct HouseholdDetail {
    pub household: Household,
    pub conflicts: Vec<Conflict>,
    pub visits: Vec<VisitRow>,
    pub issues: Vec<IssueRow>,
}

/// A change to a household's own fields; `None` leaves a field alone, `Some("")` clears
/// an optional text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct HouseholdPatch {
    pub housing_use: Option<HousingUse>,
    pub household_type: Option<HouseholdType>,
    pub phone: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct NewMember {
    pub name: String,
    pub sex: Sex,
    pub birth_date: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub relation: Relation,
    pub population_type: PopulationType,
    pub tags: Vec<String>,
    pub disability_cert: Option<String>,
    pub notes: String,
}

/// A change to one member; `None` leaves a field alone. Moving out or a death is a
/// `status` change: the person stays in the ledger.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct MemberPatch {
    pub name: Option<String>,
    pub sex: Option<Sex>,
    pub birth_date: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub relation: Option<Relation>,
    pub population_type: Option<PopulationType>,
    pub status: Option<PersonStatus>,
    pub tags: Option<Vec<String>>,
    pub disability_cert: Option<String>,
    pub notes: Option<String>,
}

// ---------------------------------------------------------------- visits, issues, today

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct NewVisit {
    pub household_id: String,
    pub mode: VisitMode,
    pub findings: String,
    pub needs: String,
    pub follow_up: Option<String>,
    pub linked_issues: Vec<String>,
    pub gps: Option<Gps>,
    /// Taken with `take_photo` (at most 9).
    #[serde(default)]
    pub photos: Vec<PhotoInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct NewIssue {
    pub household_id: Option<String>,
    pub category: String,
    pub title: String,
    pub description: String,
    pub place: String,
    pub urgency: Urgency,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    pub gps: Option<Gps>,
    /// Taken with `take_photo` (at most 9), kept on the report event.
    #[serde(default)]
    pub photos: Vec<PhotoInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct IssueEventInput {
    pub issue_id: String,
    /// What a worker may add: `Comment`, `SelfHandle` (solved on the spot), `Feedback`.
    pub kind: EventKind,
    pub note: String,
    /// Taken with `take_photo` (at most 9).
    #[serde(default)]
    pub photos: Vec<PhotoInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct TimelineEntry {
    pub id: String,
    pub kind: EventKind,
    #[ts(type = "number")]
    pub at: i64,
    pub by_user: String,
    pub mine: bool,
    pub note: String,
    pub department: Option<String>,
    #[ts(type = "number | null")]
    pub deadline: Option<i64>,
    pub applied: bool,
    pub rejected_reason: Option<String>,
    pub state_after: Option<IssueState>,
    pub photos: Vec<PhotoDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct IssueDetail {
    pub row: IssueRow,
    pub description: String,
    pub place: String,
    pub household_address: Option<String>,
    pub department: Option<String>,
    pub timeline: Vec<TimelineEntry>,
    /// Events this worker may add now.
    pub allowed_events: Vec<EventKind>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct IssueFilter {
    /// Only issues this worker reported.
    pub mine: bool,
    /// Only open issues.
    pub open_only: bool,
    pub household_id: Option<String>,
    pub offset: u32,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct IssuePage {
    pub items: Vec<IssueRow>,
    pub total: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct DueVisit {
    pub household_id: String,
    pub address: String,
    pub head_name: String,
    pub rule: VisitRule,
    #[ts(type = "number | null")]
    pub last_visit_at: Option<i64>,
    /// Days past due (0 = due today); `None` when never visited.
    pub days_overdue: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct FollowUp {
    pub visit_id: String,
    pub household_id: String,
    pub address: String,
    pub head_name: String,
    pub follow_up: String,
    pub findings: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Today {
    pub today: String,
    pub due_visits: Vec<DueVisit>,
    pub due_total: u32,
    pub due_weekly: u32,
    pub due_monthly: u32,
    pub due_quarterly: u32,
    pub follow_ups: Vec<FollowUp>,
    pub my_open_issues: Vec<IssueRow>,
    pub pending_changes: u32,
    #[ts(type = "number | null")]
    pub last_sync_at: Option<i64>,
}

// ---------------------------------------------------------------- privacy

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct RevealInput {
    pub household_id: String,
    /// `None` for the household's own phone.
    pub person_id: Option<String>,
    pub field: PiiField,
    /// Why the worker needs the full value (recorded with the reveal).
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct AuditEntry {
    #[ts(type = "number")]
    pub at: i64,
    pub user_id: String,
    pub household_id: String,
    pub person_id: Option<String>,
    pub field: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_core::model as m;

    #[test]
    fn mirrors_have_core_shapes() {
        for v in [
            m::HousingUse::SelfOccupied,
            m::HousingUse::Rented,
            m::HousingUse::Vacant,
            m::HousingUse::Other,
        ] {
            let d: HousingUse = mirror(&v).unwrap();
            let back: m::HousingUse = mirror(&d).unwrap();
            assert_eq!(back, v);
        }
        for v in [
            m::PersonStatus::Living,
            m::PersonStatus::MovedOut,
            m::PersonStatus::Deceased,
        ] {
            let d: PersonStatus = mirror(&v).unwrap();
            assert_eq!(mirror::<_, m::PersonStatus>(&d).unwrap(), v);
        }
        for s in gridwalk_core::workflow::IssueState::ALL {
            let d: IssueState = mirror(&s).unwrap();
            assert_eq!(
                mirror::<_, gridwalk_core::workflow::IssueState>(&d).unwrap(),
                s
            );
        }
        let g: Gps = mirror(&m::Gps {
            lat: 28.2,
            lon: 112.9,
        })
        .unwrap();
        assert_eq!(g.lat, 28.2);
    }
}
