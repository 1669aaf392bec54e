//! The three-way merge of one household: the ledger last time, the district now, the file.

use super::diff::{ChangedHousehold, ChangedPerson, FieldChange, HouseholdUpdate, PersonRef};
use super::ExistingHousehold;
use crate::ledger::cell::Table;
use crate::ledger::columns::LedgerColumn as C;
use crate::ledger::import::{ImportPlan, PlannedHousehold, ProblemCode, RowProblem};
use crate::model::{Household, Person, PersonStatus};
use crate::privacy::{mask_id_number, mask_phone};
use serde::Serialize;
use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};

/// Household fields the file may give, with the column that gives them.
const HOUSEHOLD_FIELDS: [(&str, C); 5] = [
    ("housing_use", C::HousingUse),
    ("household_type", C::HouseholdType),
    ("phone", C::HouseholdPhone),
    ("notes", C::HouseholdNotes),
    ("gps", C::Latitude),
];

const PERSON_FIELDS: [(&str, C); 10] = [
    ("name", C::Name),
    ("sex", C::Sex),
    ("birth_date", C::BirthDate),
    ("id_number", C::IdNumber),
    ("phone", C::Phone),
    ("relation", C::Relation),
    ("population_type", C::PopulationType),
    ("status", C::Status),
    ("tags", C::CareTags),
    ("notes", C::Notes),
];

/// Which cells the file gives: a column it has, with a non-blank cell in the row.
pub(super) struct Given<'t> {
    table: &'t Table,
    /// The sheet named in problems: "" when the file has one sheet.
    pub(super) sheet: String,
    columns: HashMap<C, (usize, String, String)>,
}

impl<'t> Given<'t> {
    pub(super) fn new(table: &'t Table, plan: &ImportPlan) -> Self {
        let mut columns = HashMap::new();
        for c in &plan.columns {
            if let Some(field) = c.column {
                columns
                    .entry(field)
                    .or_insert((c.index, c.letter.clone(), c.header.clone()));
            }
        }
        Given {
            table,
            sheet: String::new(),
            columns,
        }
    }

    /// A cheap copy for one household's use.
    pub(super) fn clone_ref(&self) -> Given<'t> {
        Given {
            table: self.table,
            sheet: self.sheet.clone(),
            columns: self.columns.clone(),
        }
    }

    /// `row` is the spreadsheet row (1-based).
    fn cell(&self, row: usize, column: C) -> bool {
        let Some((index, _, _)) = self.columns.get(&column) else {
            return false;
        };
        row >= 1 && !self.table.cell(row - 1, *index).is_blank()
    }

    fn any(&self, rows: &[usize], column: C) -> bool {
        rows.iter().any(|&r| self.cell(r, column))
    }

    pub(super) fn problem(&self, row: usize, id: &str, address: &str) -> RowProblem {
        let (letter, header) = (self.columns.get(&C::IdNumber))
            .map_or((String::new(), String::new()), |(_, l, h)| {
                (l.clone(), h.clone())
            });
        RowProblem {
            sheet: self.sheet.clone(),
            row,
            column_letter: letter,
            header,
            field: Some(C::IdNumber),
            code: ProblemCode::DuplicateInDistrict,
            message_zh: format!(
                "本区另一户（{address}）已有此身份证号的人员，请核对是否重复登记；如已迁入本户，请先在原户办理迁出"
            ),
            message_en: format!(
                "A person with this ID number lives in another household of the district ({address}): check for a duplicate; if they moved here, move them out of that household first"
            ),
            value: mask_id_number(id),
        }
    }

    pub(super) fn moved_grid(&self, row: usize, address: &str) -> RowProblem {
        let (letter, header) = (self.columns.get(&C::HouseholdId))
            .map_or((String::new(), String::new()), |(_, l, h)| {
                (l.clone(), h.clone())
            });
        RowProblem {
            sheet: self.sheet.clone(),
            row,
            column_letter: letter,
            header,
            field: Some(C::HouseholdId),
            code: ProblemCode::HouseholdMismatch,
            message_zh: format!(
                "此户编号的户在本区位于另一网格（{address}），导入不迁移网格：请在控制台处理"
            ),
            message_en: format!(
                "The household with this 户编号 is in another grid of the district ({address}); an import does not move households between grids: do it on the console"
            ),
            value: String::new(),
        }
    }
}

fn json<T: Serialize>(v: &T) -> Json {
    serde_json::to_value(v).unwrap_or(Json::Null)
}

/// How a value is shown in the diff: masked where personal, words as they are.
fn show(field: &str, v: &Json) -> String {
    let text = match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        Json::Object(map) if field == "tags" => (map.iter())
            .filter(|(_, on)| on.as_bool() == Some(true))
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join("、"),
        other => other.to_string(),
    };
    match field {
        "id_number" => mask_id_number(&text),
        "phone" => mask_phone(&text),
        _ => text,
    }
}

/// Three-way decision for one field.
enum Decision {
    Same,
    Put,
    Conflict,
}

fn decide(base: &Json, current: &Json, file: &Json) -> Decision {
    if file == current || file == base {
        Decision::Same
    } else if current == base {
        Decision::Put
    } else {
        Decision::Conflict
    }
}

struct Merge {
    puts: Vec<(Vec<String>, Json)>,
    conflicts: Vec<(Vec<String>, Json)>,
}

impl Merge {
    /// Decide one field; record it and return its diff line when it changes.
    fn field(
        &mut self,
        path: Vec<String>,
        column: C,
        base: &Json,
        current: &Json,
        file: &Json,
    ) -> Option<FieldChange> {
        let leaf = path.last().cloned().unwrap_or_default();
        let conflict = match decide(base, current, file) {
            Decision::Same => return None,
            Decision::Put => false,
            Decision::Conflict => true,
        };
        let change = FieldChange {
            path: path.join("."),
            field_zh: column.zh().to_string(),
            field_en: column.en().to_string(),
            old: show(&leaf, current),
            new: show(&leaf, file),
            conflict,
        };
        if conflict {
            self.conflicts.push((path, file.clone()));
        } else {
            self.puts.push((path, file.clone()));
        }
        Some(change)
    }
}

fn person_ref(p: &Person, row: Option<usize>) -> PersonRef {
    PersonRef {
        person_id: p.id.clone(),
        row,
        name: p.name.clone(),
        id_number: p
            .id_number
            .as_deref()
            .map(mask_id_number)
            .unwrap_or_default(),
    }
}

/// The file's person `p` among `current`'s members: by ID number, else by a name no
/// other member has.
fn match_person<'h>(
    p: &Person,
    current: &'h Household,
    taken: &HashSet<String>,
) -> Option<&'h Person> {
    let free = || current.members.values().filter(|m| !taken.contains(&m.id));
    if let Some(id) = p.id_number.as_deref() {
        if let Some(m) = free().find(|m| m.id_number.as_deref() == Some(id)) {
            return Some(m);
        }
    }
    let same_name: Vec<&Person> = free()
        .filter(|m| m.name == p.name)
        .filter(|m| m.id_number.is_none() || p.id_number.is_none())
        .collect();
    match same_name.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

pub(super) fn merge_household(
    given: &Given<'_>,
    planned: &PlannedHousehold,
    e: &ExistingHousehold,
) -> (Option<ChangedHousehold>, HouseholdUpdate) {
    let current = &e.current;
    let base = e.base.as_ref().unwrap_or(current);
    let (cur_json, base_json) = (json(current), json(base));
    let file_json = json(&planned.household);
    let mut merge = Merge {
        puts: Vec::new(),
        conflicts: Vec::new(),
    };
    let mut ledger = base.clone();
    let mut fields = Vec::new();
    for (name, column) in HOUSEHOLD_FIELDS {
        if !given.any(&planned.rows, column) {
            continue;
        }
        let path = vec![name.to_string()];
        if let Some(c) = merge.field(
            path,
            column,
            &base_json[name],
            &cur_json[name],
            &file_json[name],
        ) {
            fields.push(c);
        }
    }
    apply_household_fields(&mut ledger, &planned.household, given, &planned.rows);

    // Persons: the file's, matched to the district's.
    let mut taken = HashSet::new();
    let mut id_of: HashMap<String, String> = HashMap::new();
    let (mut new_persons, mut changed_persons) = (Vec::new(), Vec::new());
    for (pid, p) in &planned.household.members {
        let row = planned.member_rows.get(pid).copied();
        let Some(m) = match_person(p, current, &taken) else {
            // A new member: added under its new id (a new map key, so never a conflict).
            let person = p.clone();
            merge
                .puts
                .push((vec!["members".into(), pid.clone()], json(&person)));
            ledger.members.insert(pid.clone(), person);
            new_persons.push(person_ref(p, row));
            id_of.insert(pid.clone(), pid.clone());
            continue;
        };
        taken.insert(m.id.clone());
        id_of.insert(pid.clone(), m.id.clone());
        let (cur_p, file_p) = (json(m), json(p));
        let base_p = (base.members.get(&m.id)).map_or_else(|| cur_p.clone(), json);
        let mut ledger_p = base.members.get(&m.id).unwrap_or(m).clone();
        let mut changes = Vec::new();
        for (name, column) in PERSON_FIELDS {
            if !row.is_some_and(|r| given.cell(r, column)) {
                continue;
            }
            let path = vec!["members".into(), m.id.clone(), name.to_string()];
            if let Some(c) = merge.field(path, column, &base_p[name], &cur_p[name], &file_p[name]) {
                changes.push(c);
            }
            set_json_field(&mut ledger_p, name, &file_p[name]);
        }
        ledger.members.insert(m.id.clone(), ledger_p);
        if !changes.is_empty() {
            changed_persons.push(ChangedPerson {
                person: person_ref(m, row),
                fields: changes,
            });
        }
    }
    // The head, when the file says who it is.
    let file_head = (planned.household.head_person_id.as_ref()).and_then(|h| id_of.get(h));
    if let (Some(head), true) = (file_head, given.any(&planned.rows, C::Relation)) {
        let path = vec!["head_person_id".to_string()];
        let (b, c, f) = (
            json(&base.head_person_id),
            json(&current.head_person_id),
            json(&Some(head)),
        );
        if let Some(mut change) = merge.field(path, C::Relation, &b, &c, &f) {
            let name_of = |id: &Json| {
                (id.as_str())
                    .and_then(|id| ledger.members.get(id).or(current.members.get(id)))
                    .map_or(String::new(), |p| p.name.clone())
            };
            (change.field_zh, change.field_en) = ("户主".into(), "Head of household".into());
            (change.old, change.new) = (name_of(&c), name_of(&f));
            fields.push(change);
        }
        ledger.head_person_id = Some(head.clone());
    }
    let gone_persons: Vec<PersonRef> = (current.members.values())
        .filter(|m| !taken.contains(&m.id) && m.status == PersonStatus::Living)
        .map(|m| person_ref(m, None))
        .collect();
    let update = HouseholdUpdate {
        household_id: current.id.clone(),
        grid_id: e.grid_id.clone(),
        valid: planned.valid,
        puts: merge.puts,
        conflicts: merge.conflicts,
        ledger,
    };
    let writes = !update.puts.is_empty() || !update.conflicts.is_empty();
    let changed = (writes || !gone_persons.is_empty()).then(|| ChangedHousehold {
        household_id: current.id.clone(),
        grid_id: e.grid_id.clone(),
        address: current.address.short(),
        rows: planned.rows.clone(),
        valid: planned.valid,
        fields,
        new_persons,
        changed_persons,
        gone_persons,
    });
    (changed, update)
}

fn apply_household_fields(
    ledger: &mut Household,
    file: &Household,
    given: &Given<'_>,
    rows: &[usize],
) {
    if given.any(rows, C::HousingUse) {
        ledger.housing_use = file.housing_use.clone();
    }
    if given.any(rows, C::HouseholdType) {
        ledger.household_type = file.household_type.clone();
    }
    if given.any(rows, C::HouseholdPhone) {
        ledger.phone = file.phone.clone();
    }
    if given.any(rows, C::HouseholdNotes) {
        ledger.notes = file.notes.clone();
    }
    if given.any(rows, C::Latitude) {
        ledger.gps = file.gps;
    }
}

/// Set one field of a person from its JSON image (the field names are the model's).
fn set_json_field(p: &mut Person, name: &str, value: &Json) {
    let mut image = json(&*p);
    if let Json::Object(map) = &mut image {
        map.insert(name.to_string(), value.clone());
    }
    if let Ok(updated) = serde_json::from_value::<Person>(image) {
        *p = updated;
    }
}
