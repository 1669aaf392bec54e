//! Re-importing an updated ledger: the file's households matched with the district's (by
//! 户编号, else by address), persons by ID number (else by a name unique in the household),
//! and a diff of what would change, field by field, before anything is written.
//!
//! Each field is merged three ways: the ledger's value last time (the *base*, kept by the
//! store for every imported household), the district's value now, and the file's. Only
//! what the ledger changed is written; a field changed in the district since (on a device
//! or the console) and changed differently in the ledger is written concurrently with
//! that change, so both values are kept as a conflict someone resolves. A blank cell or a
//! column the file lacks says nothing: it never clears a value.

mod diff;
mod merge;

pub use diff::*;

use super::super::ImportPlan;
use crate::ledger::cell::Table;
use crate::model::{Address, Household};
use merge::{merge_household, Given};
use serde_json::Value as Json;
use std::collections::{BTreeSet, HashMap, HashSet};
/// A household the district has that the file may describe.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingHousehold {
    pub grid_id: String,
    /// As the district has it now.
    pub current: Household,
    /// As the ledger described it when last imported; `None` when it never was.
    pub base: Option<Household>,
}

/// What the district has, as far as the file concerns it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Existing {
    /// Every household in the buildings the file covers, and any whose id the file names.
    pub households: HashMap<String, ExistingHousehold>,
    /// The buildings the file covers, `(community code, building number)`: their
    /// households that the file does not describe are listed as gone.
    pub buildings: BTreeSet<(String, String)>,
    /// The file's ID numbers held by a living person in the district → that household.
    pub id_number_homes: HashMap<String, String>,
}

/// Where a planned household's members are found; `Address` keys for matching.
pub fn address_key(a: &Address) -> (String, String, String, String) {
    (
        a.community_code.clone(),
        a.building_no.clone(),
        a.unit.clone(),
        a.room.clone(),
    )
}

/// The buildings a plan's households are in.
pub fn covered_buildings(plan: &ImportPlan) -> BTreeSet<(String, String)> {
    (plan.households.iter())
        .map(|h| {
            let a = &h.household.address;
            (a.community_code.clone(), a.building_no.clone())
        })
        .collect()
}

/// Match the plan's households with the district's and work out the diff. Matched
/// households leave `plan.households` for [`Reimport::updates`]; a person whose ID number
/// lives in another household of the district is a problem that holds back their
/// household (as is a household whose 户编号 names one in another grid).
///
/// `sheets` are the sheets the plan was made from (see [`super::sheets_with_header`]):
/// whether the file gives a cell is read on the household's own sheet.
pub fn reconcile(sheets: &[&Table], plan: &mut ImportPlan, existing: &Existing) -> Reimport {
    let empty = Table::default();
    let givens: Vec<(&str, Given<'_>)> = match sheets {
        [] => vec![("", Given::new(&empty, plan))],
        [one] => vec![("", Given::new(one, plan))],
        _ => (sheets.iter())
            .map(|t| {
                let mut given = Given::new(t, plan);
                given.sheet = t.sheet.clone();
                (t.sheet.as_str(), given)
            })
            .collect(),
    };
    let mut at_address: HashMap<_, Vec<&ExistingHousehold>> = HashMap::new();
    for e in existing.households.values() {
        at_address
            .entry(address_key(&e.current.address))
            .or_default()
            .push(e);
    }
    let mut out = Reimport::default();
    let mut new_problems = Vec::new();
    let mut matched: HashSet<String> = HashSet::new();
    let mut remaining = Vec::new();
    let mut unchanged_rows = 0;
    for mut planned in std::mem::take(&mut plan.households) {
        // A one-sheet plan names no sheet: its households are on the first.
        let given = (givens.iter())
            .find(|(sheet, _)| *sheet == planned.sheet)
            .unwrap_or(&givens[0])
            .1
            .clone_ref();
        let by_id = existing.households.get(&planned.household.id);
        let by_address = || {
            let here = at_address.get(&address_key(&planned.household.address))?;
            // Several households at one address: the one sharing a member, else none.
            match here.as_slice() {
                [one] => Some(*one),
                several => several.iter().copied().find(|e| {
                    (planned.household.members.values())
                        .filter_map(|p| p.id_number.as_deref())
                        .any(|id| existing.id_number_homes.get(id) == Some(&e.current.id))
                }),
            }
        };
        let found = by_id.or_else(by_address);
        let found = found.filter(|e| !matched.contains(&e.current.id));
        let home_id = found.map(|e| e.current.id.clone());
        // ID numbers already held in another household.
        for (pid, p) in &planned.household.members {
            let Some(id) = p.id_number.as_deref() else {
                continue;
            };
            match existing.id_number_homes.get(id) {
                Some(home) if Some(home) != home_id.as_ref() => {
                    let address = (existing.households.get(home))
                        .map_or(String::new(), |e| e.current.address.short());
                    let row = planned.member_rows.get(pid).copied().unwrap_or(0);
                    new_problems.push(given.problem(row, id, &address));
                    planned.valid = false;
                }
                _ => {}
            }
        }
        match found {
            None => remaining.push(planned),
            Some(e) if e.grid_id != planned.grid_id => {
                let row = planned.rows.first().copied().unwrap_or(0);
                new_problems.push(given.moved_grid(row, &e.current.address.short()));
                matched.insert(e.current.id.clone());
                planned.valid = false;
                out.diff.changed_households.push(ChangedHousehold {
                    household_id: e.current.id.clone(),
                    grid_id: e.grid_id.clone(),
                    address: e.current.address.short(),
                    rows: planned.rows.clone(),
                    valid: false,
                    fields: Vec::new(),
                    new_persons: Vec::new(),
                    changed_persons: Vec::new(),
                    gone_persons: Vec::new(),
                });
            }
            Some(e) => {
                matched.insert(e.current.id.clone());
                let (changed, update) = merge_household(&given, &planned, e);
                if changed.is_some() {
                    out.updates.push(update);
                }
                match changed {
                    Some(c) => out.diff.changed_households.push(c),
                    None => {
                        out.diff.unchanged_households += 1;
                        if planned.valid {
                            unchanged_rows += planned.rows.len();
                        }
                    }
                }
            }
        }
    }
    out.diff.new_households = (remaining.iter())
        .map(|h| NewHousehold {
            rows: h.rows.clone(),
            address: h.household.address.short(),
            members: h.household.members.len(),
            valid: h.valid,
        })
        .collect();
    let mut gone: Vec<GoneHousehold> = (existing.households.values())
        .filter(|e| !matched.contains(&e.current.id))
        .filter(|e| {
            let a = &e.current.address;
            (existing.buildings).contains(&(a.community_code.clone(), a.building_no.clone()))
        })
        .filter(|e| e.current.living_members().next().is_some())
        .map(|e| GoneHousehold {
            household_id: e.current.id.clone(),
            grid_id: e.grid_id.clone(),
            address: e.current.address.short(),
            head_name: e.current.head().map_or(String::new(), |p| p.name.clone()),
            members: e.current.living_members().count(),
        })
        .collect();
    gone.sort_by(|a, b| a.address.cmp(&b.address));
    out.diff.gone_households = gone;
    plan.households = remaining;
    plan.problems.extend(new_problems);
    plan.problems
        .sort_by_key(|p| (p.row, p.column_letter.len(), p.column_letter.clone()));
    let rows_new: usize = (plan.households.iter())
        .filter(|h| h.valid)
        .map(|h| h.rows.len())
        .sum();
    let rows_changed: usize = (out.diff.changed_households.iter())
        .filter(|c| c.valid)
        .map(|c| c.rows.len())
        .sum();
    plan.rows_valid = rows_new + rows_changed + unchanged_rows;
    out
}

/// Apply `puts` to a JSON image of a household (the store writes the difference).
pub fn apply_puts(image: &mut Json, puts: &[(Vec<String>, Json)]) {
    for (path, value) in puts {
        let Some((last, parents)) = path.split_last() else {
            continue;
        };
        let mut at = &mut *image;
        for p in parents {
            at = &mut at[p.as_str()];
        }
        if let Json::Object(map) = at {
            map.insert(last.clone(), value.clone());
        }
    }
}
