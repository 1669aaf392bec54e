//! Finding a row's community and building in the area tree.

use crate::area::{AreaTree, Building, Community};
use std::collections::HashMap;

/// Remembers each lookup: a ledger names the same few buildings on thousands of rows,
/// and a district has thousands of buildings.
#[derive(Default)]
pub struct Lookups<'t> {
    communities: HashMap<String, Option<&'t Community>>,
    buildings: HashMap<(String, String, String), Result<&'t Building, BuildingMiss>>,
}

impl<'t> Lookups<'t> {
    pub fn community(&mut self, tree: &'t AreaTree, text: &str) -> Option<&'t Community> {
        *(self.communities)
            .entry(text.to_string())
            .or_insert_with(|| find_community(tree, text))
    }

    pub fn building(
        &mut self,
        tree: &'t AreaTree,
        community: Option<&Community>,
        estate: &str,
        building: &str,
    ) -> Result<&'t Building, BuildingMiss> {
        let code = community.map_or(String::new(), |c| c.code.clone());
        let key = (code, estate.to_string(), building.to_string());
        (self.buildings.entry(key))
            .or_insert_with(|| find_building(tree, community, estate, building))
            .clone()
    }
}

/// A community by name (with or without its 社区/村 ending) or by 12-digit code.
pub fn find_community<'t>(tree: &'t AreaTree, text: &str) -> Option<&'t Community> {
    let core = |s: &str| {
        let s = s.trim();
        let s = s
            .strip_suffix("社区")
            .or_else(|| s.strip_suffix("村"))
            .unwrap_or(s);
        s.to_string()
    };
    let wanted = core(text);
    if wanted.is_empty() {
        return None;
    }
    (tree.communities.iter())
        .find(|c| c.code == text || c.name == text)
        .or_else(|| tree.communities.iter().find(|c| core(&c.name) == wanted))
}

/// Why a building was not found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildingMiss {
    NotFound,
    /// The name is in several communities: (community names).
    Ambiguous(Vec<String>),
}

/// "3栋", "3幢", "3号楼", "3号", "3" all name building 3: the number part with the usual
/// endings taken off.
fn building_core(s: &str) -> &str {
    let s = s.trim();
    ["号楼", "栋", "幢", "座", "号", "楼"]
        .iter()
        .find_map(|end| s.strip_suffix(end))
        .unwrap_or(s)
}

fn matches(b: &Building, text: &str) -> bool {
    let is_number = text.len() == 5 && text.chars().all(|c| c.is_ascii_digit());
    b.name == text || (is_number && b.number == text) || {
        let core = building_core(text);
        !core.is_empty() && building_core(&b.name) == core
    }
}

/// The building named `building` (name or 5-digit number) in `community`, or anywhere in
/// the district when no community is given. With an estate (小区), "{estate}{building}" is
/// tried before the building alone.
pub fn find_building<'t>(
    tree: &'t AreaTree,
    community: Option<&Community>,
    estate: &str,
    building: &str,
) -> Result<&'t Building, BuildingMiss> {
    let mut candidates = Vec::new();
    if !estate.is_empty() {
        candidates.push(format!("{estate}{building}"));
    }
    candidates.push(building.to_string());
    for text in candidates.iter().filter(|t| !t.is_empty()) {
        let found: Vec<&Building> = (tree.buildings.iter())
            .filter(|b| community.is_none_or(|c| b.community_code == c.code))
            .filter(|b| b.name == *text)
            .collect();
        let found = if found.is_empty() {
            (tree.buildings.iter())
                .filter(|b| community.is_none_or(|c| b.community_code == c.code))
                .filter(|b| matches(b, text))
                .collect()
        } else {
            found
        };
        match found.as_slice() {
            [] => continue,
            [one] => return Ok(one),
            several => {
                let mut names: Vec<String> = several
                    .iter()
                    .map(|b| {
                        tree.community(&b.community_code)
                            .map_or(b.community_code.clone(), |c| c.name.clone())
                    })
                    .collect();
                names.dedup();
                if names.len() > 1 {
                    return Err(BuildingMiss::Ambiguous(names));
                }
                // The same name twice in one community: the first by number.
                return several
                    .iter()
                    .min_by(|a, b| a.number.cmp(&b.number))
                    .copied()
                    .ok_or(BuildingMiss::NotFound);
            }
        }
    }
    Err(BuildingMiss::NotFound)
}

/// A building writes its rooms one way. Where some rows say `302` and others `3-2`, the
/// dash is not surely floor-door (it may be unit-room): those rows are problems.
pub fn check_room_notation(
    table: &crate::ledger::Table,
    rows: &[super::person_row::ParsedRow],
    problems: &mut super::problems::Problems<'_>,
) {
    use std::collections::HashMap;
    let mut plain: HashMap<(&str, &str), usize> = HashMap::new();
    for r in rows.iter().filter(|r| r.plain_room) {
        if let Some((a, _)) = &r.address {
            *plain
                .entry((&a.community_code, &a.building_no))
                .or_default() += 1;
        }
    }
    for r in rows.iter().filter(|r| r.dash_room) {
        let Some((a, _)) = &r.address else { continue };
        if plain.contains_key(&(a.community_code.as_str(), a.building_no.as_str())) {
            let name = &a.building_name;
            problems.cell(
                table,
                r.row - 1,
                crate::ledger::LedgerColumn::Room,
                super::ProblemCode::BadValue,
                format!("{name}的其他房号写作“302”，此行写作“楼层-门号”（如3-2），写法不一致，无法确定含义：请统一写法"),
                format!("Other rooms of {name} are written like 302, this one floor-dash-door (such as 3-2): the building mixes notations, so its meaning is not sure; write them one way"),
            );
        }
    }
}

/// 一 … 十 as digits, for 二单元 and 三栋.
fn chinese_digits(s: &str) -> String {
    const DIGITS: [char; 10] = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    if s == "十" {
        return "10".into();
    }
    s.chars()
        .map(|c| match DIGITS.iter().position(|d| *d == c) {
            Some(i) => char::from(b'0' + i as u8),
            None => c,
        })
        .collect()
}

/// A unit as written (`2`, `2单元`, `二单元`, `02`) as the number alone.
pub fn unit_text(s: &str) -> String {
    let s = s.strip_suffix("单元").unwrap_or(s).trim();
    let s = chinese_digits(s);
    match s.trim_start_matches('0') {
        "" => s,
        rest if rest.chars().all(|c| c.is_ascii_digit()) => rest.to_string(),
        _ => s,
    }
}

/// A room as written, with the floor its notation says: `302`, `0302`, `302室` → 302 on
/// floor 3; `3-2`, `3楼2号`, `3F-2` (floor, then door) → 302 on floor 3 too, so the same flat
/// written two ways is one household. Other shapes are kept as written, floor unknown
/// (`2-501` still says floor 5, see the row's floor rule).
pub fn room_and_floor(s: &str) -> (String, Option<i64>) {
    let t = s
        .strip_suffix('室')
        .or_else(|| s.strip_suffix("号房"))
        .or_else(|| s.strip_suffix('号'))
        .unwrap_or(s);
    let digits = |x: &str| !x.is_empty() && x.len() <= 2 && x.chars().all(|c| c.is_ascii_digit());
    let split = t
        .split_once('楼')
        .or_else(|| t.split_once(['F', 'f']))
        .map(|(a, b)| (a, b.trim_start_matches('-')))
        .or_else(|| t.split_once('-'));
    if let Some((floor, door)) = split {
        if digits(floor) && digits(door) {
            let (f, d) = (
                floor.parse::<i64>().unwrap_or(0),
                door.parse::<i64>().unwrap_or(0),
            );
            if f > 0 {
                return (format!("{f}{d:02}"), Some(f));
            }
        }
    }
    if (3..=4).contains(&t.len()) && t.chars().all(|c| c.is_ascii_digit()) {
        let n = t.parse::<i64>().unwrap_or(0);
        if n >= 100 {
            return (n.to_string(), Some(n / 100));
        }
    }
    (t.to_string(), None)
}

/// A whole address in one cell, as (estate, building, unit, room): `阳光小区3栋2单元302室`,
/// `阳光小区3栋2单元3-2`, `阳光小区3-2-302`. `None` when it is not of such a shape.
pub fn split_full_address(s: &str) -> Option<(String, String, String, String)> {
    let s = chinese_digits(s);
    let trailing_digits = |x: &str| {
        let n = x.chars().rev().take_while(char::is_ascii_digit).count();
        x.len() - n
    };
    let (before, room) = match s.split_once("单元") {
        Some((b, r)) => (b.to_string(), r.to_string()),
        None => {
            // "…3-2-302": building, unit and room joined by dashes.
            let mut parts = s.rsplitn(3, '-');
            let (room, unit, rest) = (parts.next()?, parts.next()?, parts.next()?);
            let cut = trailing_digits(rest);
            let (estate, building) = rest.split_at(cut);
            let ok = |x: &str| !x.is_empty() && x.chars().all(|c| c.is_ascii_digit());
            if !(ok(building) && ok(unit) && !room.is_empty()) {
                return None;
            }
            return Some((
                estate.to_string(),
                building.to_string(),
                unit.to_string(),
                room.to_string(),
            ));
        }
    };
    let cut = trailing_digits(&before);
    let (rest, unit) = before.split_at(cut);
    let marker = ["号楼", "栋", "幢", "座", "号"]
        .iter()
        .find(|m| rest.ends_with(*m))?;
    let body = &rest[..rest.len() - marker.len()];
    let cut = trailing_digits(body);
    let (estate, number) = body.split_at(cut);
    if number.is_empty() || unit.is_empty() || room.is_empty() {
        return None;
    }
    Some((
        estate.to_string(),
        format!("{number}{marker}"),
        unit.to_string(),
        room,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn rooms_units_and_full_addresses() {
        for s in [
            "302", "0302", "302室", "3-2", "3楼2号", "3F-2", "3f2", "3-02",
        ] {
            assert_eq!(room_and_floor(s), ("302".to_string(), Some(3)), "{s}");
        }
        assert_eq!(room_and_floor("12-10"), ("1210".to_string(), Some(12)));
        assert_eq!(room_and_floor("2-501"), ("2-501".to_string(), None));
        assert_eq!(room_and_floor("A座"), ("A座".to_string(), None));
        for s in ["2", "2单元", "二单元", "02"] {
            assert_eq!(unit_text(s), "2", "{s}");
        }
        let want = |e: &str, b: &str, u: &str, r: &str| {
            Some((e.to_string(), b.to_string(), u.to_string(), r.to_string()))
        };
        assert_eq!(
            split_full_address("阳光小区3栋2单元302室"),
            want("阳光小区", "3栋", "2", "302室")
        );
        assert_eq!(
            split_full_address("阳光小区三栋二单元3-2"),
            want("阳光小区", "3栋", "2", "3-2")
        );
        assert_eq!(
            split_full_address("阳光小区3-2-302"),
            want("阳光小区", "3", "2", "302")
        );
        assert_eq!(split_full_address("阳光小区"), None);
    }

    use super::*;
    use crate::area::Grid;

    fn tree() -> AreaTree {
        let community = |code: &str, name: &str| Community {
            code: code.into(),
            name: name.into(),
            street_code: "110105001000".into(),
        };
        let building = |id: &str, cc: &str, number: &str, name: &str| Building {
            id: id.into(),
            community_code: cc.into(),
            grid_id: format!("g-{cc}"),
            number: number.into(),
            name: name.into(),
            units: 2,
            floors: 6,
            rooms_per_floor: 2,
        };
        AreaTree {
            communities: vec![
                community("110105001001", "幸福社区"),
                community("110105001002", "和平社区"),
            ],
            grids: vec![Grid {
                id: "g".into(),
                community_code: "110105001001".into(),
                number: 1,
                name: "第1网格".into(),
            }],
            buildings: vec![
                building("b1", "110105001001", "00003", "3栋"),
                building("b2", "110105001002", "00003", "3栋"),
                building("b3", "110105001001", "00010", "阳光花园10栋"),
            ],
            ..AreaTree::default()
        }
    }

    #[test]
    fn communities_by_name_or_code() {
        let t = tree();
        for text in ["幸福社区", "幸福", "110105001001"] {
            assert_eq!(
                find_community(&t, text).map(|c| c.name.as_str()),
                Some("幸福社区")
            );
        }
        assert!(find_community(&t, "光明社区").is_none());
        assert!(find_community(&t, "").is_none());
    }

    #[test]
    fn buildings_by_name_number_or_estate() {
        let t = tree();
        let c = find_community(&t, "和平社区");
        for text in ["3栋", "3号楼", "3", "00003", "3幢"] {
            assert_eq!(
                find_building(&t, c, "", text).map(|b| b.id.as_str()),
                Ok("b2"),
                "{text}"
            );
        }
        let c = find_community(&t, "幸福社区");
        assert_eq!(
            find_building(&t, c, "阳光花园", "10栋").map(|b| b.id.as_str()),
            Ok("b3")
        );
        assert_eq!(
            find_building(&t, c, "某小区", "3栋").map(|b| b.id.as_str()),
            Ok("b1")
        );
        assert_eq!(
            find_building(&t, c, "", "99栋"),
            Err(BuildingMiss::NotFound)
        );
        assert!(matches!(
            find_building(&t, None, "", "3栋"),
            Err(BuildingMiss::Ambiguous(names)) if names.len() == 2
        ));
        assert_eq!(
            find_building(&t, None, "", "阳光花园10栋").map(|b| b.id.as_str()),
            Ok("b3")
        );
    }
}
