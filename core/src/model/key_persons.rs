//! Key-person data (重点人员) of one household, kept apart from the household document.
//!
//! Restricted tags are sensitive personal information that grid workers may not hold
//! (PRODUCT.md, "Who may do what"). A household document reaches every device of its
//! grid, so these tags live in a document of their own kind, which the server sends only
//! to devices whose user may hold them and accepts only from them
//! (see [`crate::authorize`]). One per household; it names the household and its grid.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct KeyPersons {
    pub id: String,
    pub household_id: String,
    /// The household's grid: the unit of scope, as for every document.
    pub grid_id: String,
    /// Person id (a member of the household) → restricted tag code → true.
    pub persons: BTreeMap<String, BTreeMap<String, bool>>,
}

impl KeyPersons {
    /// The restricted tags of one person, set ones only.
    pub fn tags_of(&self, person_id: &str) -> impl Iterator<Item = &str> {
        self.persons
            .get(person_id)
            .into_iter()
            .flat_map(|m| m.iter().filter(|(_, on)| **on).map(|(t, _)| t.as_str()))
    }
}

/// Take the members' restricted tags out of `household` into its key-person document, or
/// `None` when no member has any. The document id is derived from the household's, so
/// the same household always gets the same key-person document.
pub fn split_key_persons(household: &mut super::Household) -> Option<KeyPersons> {
    let persons: BTreeMap<String, BTreeMap<String, bool>> = household
        .members
        .values_mut()
        .filter(|p| !p.restricted_tags.is_empty())
        .map(|p| (p.id.clone(), std::mem::take(&mut p.restricted_tags)))
        .collect();
    if persons.is_empty() {
        return None;
    }
    let hid = uuid::Uuid::parse_str(&household.id).map_or(0, |u| u.as_u128());
    Some(KeyPersons {
        id: uuid::Uuid::from_u128(hid ^ 0x4b45_5950_4552_534f_4e53_0000_0000_0000).to_string(),
        household_id: household.id.clone(),
        grid_id: household.grid_id.clone(),
        persons,
    })
}
