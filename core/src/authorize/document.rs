//! The documents the rule reads: typed images before and after a change, and the facts
//! a caller looks up for it.

use crate::model::{Household, Issue, KeyPersons, Visit};
use crate::{CoreError, DocKind, Document};
use std::collections::BTreeMap;

/// A document as typed value; before a change (`None` for a new document) and after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Image<'a> {
    Household(&'a Household),
    Visit(&'a Visit),
    Issue(&'a Issue),
    KeyPersons(&'a KeyPersons),
}

impl Image<'_> {
    pub fn grid_id(&self) -> &str {
        match self {
            Image::Household(h) => &h.grid_id,
            Image::Visit(v) => &v.grid_id,
            Image::Issue(i) => &i.grid_id,
            Image::KeyPersons(k) => &k.grid_id,
        }
    }
}

/// A document read as its typed value, for callers that hold [`Document`]s.
#[derive(Debug, Clone, PartialEq)]
pub enum Owned {
    Household(Household),
    Visit(Visit),
    Issue(Issue),
    KeyPersons(KeyPersons),
}

impl Owned {
    pub fn read(doc: &Document) -> Result<Owned, CoreError> {
        Ok(match doc.kind {
            DocKind::Household => Owned::Household(doc.read()?),
            DocKind::Visit => Owned::Visit(doc.read()?),
            DocKind::Issue => Owned::Issue(doc.read()?),
            DocKind::KeyPersons => Owned::KeyPersons(doc.read()?),
        })
    }

    pub fn image(&self) -> Image<'_> {
        match self {
            Owned::Household(h) => Image::Household(h),
            Owned::Visit(v) => Image::Visit(v),
            Owned::Issue(i) => Image::Issue(i),
            Owned::KeyPersons(k) => Image::KeyPersons(k),
        }
    }
}

/// What the caller looked up for the check: the grid each referenced household is stored
/// in (see [`referenced_household`]). A household the caller does not know (not synced
/// yet) has nothing to leak or move, so it is not refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub household_grids: BTreeMap<String, String>,
}

/// The household a document refers to, whose grid the caller should put in [`Facts`].
pub fn referenced_household(after: Image<'_>) -> Option<&str> {
    match after {
        Image::Household(_) => None,
        Image::Visit(v) => Some(&v.household_id),
        Image::Issue(i) => i.household_id.as_deref(),
        Image::KeyPersons(k) => Some(&k.household_id),
    }
}
