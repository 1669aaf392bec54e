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

#[cfg(test)]
mod tests {
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
