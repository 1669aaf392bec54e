//! A household's search keys (`search`, `tails`): from the household, or from its other
//! projection cells. Both give the same keys by construction (one function), which is
//! what lets protocol 5 leave them out of a first download and the device derive them
//! from the rows it gets (docs/sync-protocol.md, "Derived cells").

use super::{HouseholdRow, PersonRow};
use crate::model::Household;
use crate::search_keys::{id_tail, phone_tail, pinyin_full, pinyin_initials};
use crate::sync::Cell;

/// The household's side of its search keys: its address and its own phone.
pub struct Place<'a> {
    pub building_name: &'a str,
    pub building_no: &'a str,
    /// `Address::short()`, the row's `address`.
    pub address: &'a str,
    pub unit: &'a str,
    pub room: &'a str,
    pub phone: Option<&'a str>,
}

/// A member's side of the keys (every member, living or not, in member-id order).
pub struct Member<'a> {
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub id_number: Option<&'a str>,
}

/// Search keys of a household: names, pinyin (full and initials) and address forms, joined
/// by '|' so a query never matches across two keys; and the last 4 digits of its phones and
/// ID numbers. Full phones and ID numbers are not keys: a search matching more digits than
/// the mask shows would unmask a number one digit per query (issue 9).
pub fn search_keys<'a>(
    place: &Place<'_>,
    members: impl IntoIterator<Item = Member<'a>>,
) -> (String, String) {
    let mut keys = vec![
        place.building_name.to_string(),
        place.building_no.to_string(),
        place.address.to_string(),
        format!(
            "{}-{}-{}",
            place
                .building_name
                .trim_end_matches(['栋', '幢', '号', '楼']),
            place.unit,
            place.room
        ),
        format!("{}单元", place.unit),
        place.room.to_string(),
    ];
    let mut tails = String::from(" ");
    let mut add_tail = |s: Option<&str>| {
        // An ID tail ending in x is kept as it is.
        let tail = match s {
            Some(t) if t.len() == 4 && t.ends_with('x') => Some(t.to_string()),
            other => other.and_then(phone_tail),
        };
        if let Some(t) = tail {
            tails.push_str(&t);
            tails.push(' ');
        }
    };
    add_tail(place.phone);
    for p in members {
        keys.push(p.name.to_string());
        keys.push(pinyin_full(p.name));
        keys.push(pinyin_initials(p.name));
        add_tail(p.phone);
        // An ID's tail as the mask shows it (`123x`), else its last 4 digits.
        let tail = p
            .id_number
            .map(|s| id_tail(s).unwrap_or_else(|| s.to_string()));
        add_tail(tail.as_deref());
    }
    keys.retain(|k| !k.is_empty());
    (format!("|{}|", keys.join("|")), tails)
}

/// [`search_keys`] of a household document.
pub fn household_search_keys(h: &Household) -> (String, String) {
    let a = &h.address;
    let address = a.short();
    let place = Place {
        building_name: &a.building_name,
        building_no: &a.building_no,
        address: &address,
        unit: &a.unit,
        room: &a.room,
        phone: h.phone.as_deref(),
    };
    search_keys(
        &place,
        h.members.values().map(|p| Member {
            name: &p.name,
            phone: p.phone.as_deref(),
            id_number: p.id_number.as_deref(),
        }),
    )
}

/// Where a household row's cells are (its `COLUMNS`; a test checks the names).
pub(crate) mod at {
    pub const BUILDING_NO: usize = 3;
    pub const BUILDING_NAME: usize = 4;
    pub const UNIT: usize = 5;
    pub const ROOM: usize = 7;
    pub const ADDRESS: usize = 8;
    pub const SEARCH: usize = 16;
    pub const TAILS: usize = 17;
    pub const HOUSEHOLD_PHONE: usize = 21;
    pub const PERSON_ID_NUMBER: usize = 5;
    pub const PERSON_NAME: usize = 2;
    pub const PERSON_PHONE: usize = 6;
}

fn text(c: &Cell) -> Option<&str> {
    match c {
        Cell::Text(t) => Some(t),
        _ => None,
    }
}

fn opt_text(c: &Cell) -> Option<Option<&str>> {
    match c {
        Cell::Null => Some(None),
        Cell::Text(t) => Some(Some(t)),
        _ => None,
    }
}

/// The `search` and `tails` of a household row, from its other cells and its persons'
/// rows in the order they are given (the cells at `SEARCH` and `TAILS` are not read).
/// `None` when the cells are not a household's and its persons' (a width or a type).
pub fn search_cells(household: &[Cell], persons: &[Vec<Cell>]) -> Option<(String, String)> {
    if household.len() != HouseholdRow::COLUMNS.len() {
        return None;
    }
    let place = Place {
        building_name: text(&household[at::BUILDING_NAME])?,
        building_no: text(&household[at::BUILDING_NO])?,
        address: text(&household[at::ADDRESS])?,
        unit: text(&household[at::UNIT])?,
        room: text(&household[at::ROOM])?,
        phone: opt_text(&household[at::HOUSEHOLD_PHONE])?,
    };
    let members = persons
        .iter()
        .map(|p| {
            if p.len() != PersonRow::COLUMNS.len() {
                return None;
            }
            Some(Member {
                name: text(&p[at::PERSON_NAME])?,
                phone: opt_text(&p[at::PERSON_PHONE])?,
                id_number: opt_text(&p[at::PERSON_ID_NUMBER])?,
            })
        })
        .collect::<Option<Vec<Member<'_>>>>()?;
    Some(search_keys(&place, members))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{generate, DemoParams};
    use crate::projection::household_rows;

    #[test]
    fn the_cells_are_where_the_columns_say() {
        let h = HouseholdRow::COLUMNS;
        for (i, name) in [
            (at::BUILDING_NO, "building_no"),
            (at::BUILDING_NAME, "building_name"),
            (at::UNIT, "unit"),
            (at::ROOM, "room"),
            (at::ADDRESS, "address"),
            (at::SEARCH, "search"),
            (at::TAILS, "tails"),
            (at::HOUSEHOLD_PHONE, "household_phone"),
        ] {
            assert_eq!(h[i], name);
        }
        let p = PersonRow::COLUMNS;
        assert_eq!(p[at::PERSON_NAME], "name");
        assert_eq!(p[at::PERSON_PHONE], "phone");
        assert_eq!(p[at::PERSON_ID_NUMBER], "id_number");
    }

    #[test]
    fn the_rows_give_the_keys_the_household_gives() {
        let d = generate(&DemoParams::single_grid(200, 11, 1_750_000_000_000));
        for h in &d.households {
            let (row, persons) = household_rows(h, "g1", 0);
            let persons: Vec<Vec<Cell>> = persons.iter().map(PersonRow::cells).collect();
            let got = search_cells(&row.cells(), &persons).expect("a household's cells");
            assert_eq!(got, (row.search.clone(), row.tails.clone()), "{}", h.id);
        }
    }

    #[test]
    fn other_cells_give_none() {
        let d = generate(&DemoParams::single_grid(1, 11, 1_750_000_000_000));
        let (row, persons) = household_rows(&d.households[0], "g1", 0);
        let persons: Vec<Vec<Cell>> = persons.iter().map(PersonRow::cells).collect();
        let mut cells = row.cells();
        cells[at::ROOM] = Cell::Int(3);
        assert_eq!(search_cells(&cells, &persons), None);
        assert_eq!(search_cells(&row.cells()[1..], &persons), None);
        let mut short = persons.clone();
        short[0].pop();
        assert_eq!(search_cells(&row.cells(), &short), None);
    }
}
