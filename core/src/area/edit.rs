//! Admin edits of the area tree: create or change the district root, or one street,
//! community, grid or building. Moves that would leave households behind (a grid to
//! another community, a building to another grid) are refused: households carry their
//! grid, so a move is a re-gridding of documents, not an edit of the tree.

use super::{AreaTree, Building, Community, District, Grid, Street};
use crate::validate::{ErrorCode, FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};

/// The district root, or one street, community, grid or building, created or replaced
/// (by code or id). A grid or building sent without an id (or a grid without a number,
/// a building without a number) is new: [`AreaTree::complete`] fills them in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "level", rename_all = "snake_case")]
pub enum AreaEdit {
    District(District),
    Street(Street),
    Community(Community),
    Grid(Grid),
    Building(Building),
}

impl AreaEdit {
    /// "street 110105001000", for logs and the audit trail.
    pub fn describe(&self) -> String {
        match self {
            AreaEdit::District(d) => format!("district {} {}", d.code, d.name),
            AreaEdit::Street(s) => format!("street {} {}", s.code, s.name),
            AreaEdit::Community(c) => format!("community {} {}", c.code, c.name),
            AreaEdit::Grid(g) => format!("grid {} {}", g.grid_code(), g.name),
            AreaEdit::Building(b) => format!("building {} {}", b.number, b.name),
        }
    }
}

fn refused(path: &str, code: ErrorCode, message: impl Into<String>) -> ValidationErrors {
    ValidationErrors(vec![FieldError::new(path, code, message)])
}

fn moved(path: &str, message: &str) -> ValidationErrors {
    refused(path, ErrorCode::BadCode, message)
}

impl AreaTree {
    /// True once the district root has a code.
    pub fn has_district(&self) -> bool {
        !self.district.code.trim().is_empty()
    }

    /// Fill what a new grid or building may leave out: its id (from `new_id`: the
    /// caller's randomness, core has none), a grid's number (the next free one in its
    /// community) and name (第N网格), a building's 5-digit number (the next free one).
    pub fn complete(&self, edit: AreaEdit, mut new_id: impl FnMut() -> String) -> AreaEdit {
        match edit {
            AreaEdit::Grid(mut g) => {
                if g.id.trim().is_empty() {
                    g.id = new_id();
                }
                if g.number == 0 {
                    g.number = self
                        .grids_of_community(&g.community_code)
                        .iter()
                        .map(|x| x.number)
                        .max()
                        .unwrap_or(0)
                        + 1;
                }
                if g.name.trim().is_empty() {
                    g.name = format!("第{}网格", g.number);
                }
                AreaEdit::Grid(g)
            }
            AreaEdit::Building(mut b) => {
                if b.id.trim().is_empty() {
                    b.id = new_id();
                }
                if b.number.trim().is_empty() {
                    b.number = self.next_building_number(&b.community_code);
                }
                AreaEdit::Building(b)
            }
            other => other,
        }
    }

    /// The next free 5-digit building number in a community.
    pub fn next_building_number(&self, community_code: &str) -> String {
        let max = self
            .buildings
            .iter()
            .filter(|b| b.community_code == community_code)
            .filter_map(|b| b.number.parse::<u32>().ok())
            .max()
            .unwrap_or(0);
        format!("{:05}", max + 1)
    }

    /// The edit that renames one area: `target` is the district's, a street's or a
    /// community's 12-digit code, a grid's id or 15-digit code, or a building's id.
    pub fn rename(&self, target: &str, name: &str) -> Result<AreaEdit, ValidationErrors> {
        let name = name.trim().to_string();
        let edit = if self.has_district() && self.district.code == target {
            AreaEdit::District(District {
                name,
                ..self.district.clone()
            })
        } else if let Some(s) = self.street(target) {
            AreaEdit::Street(Street { name, ..s.clone() })
        } else if let Some(c) = self.community(target) {
            AreaEdit::Community(Community { name, ..c.clone() })
        } else if let Some(g) = self.grid(target).or_else(|| self.grid_by_code(target)) {
            AreaEdit::Grid(Grid { name, ..g.clone() })
        } else if let Some(b) = self.building(target) {
            AreaEdit::Building(Building { name, ..b.clone() })
        } else {
            return Err(refused(
                "target",
                ErrorCode::NotFound,
                format!("没有代码或ID为 {target} 的区域 / no area with code or id {target}"),
            ));
        };
        Ok(edit)
    }

    /// Apply `edit`; the tree is unchanged unless the result validates. Errors about the
    /// edited item are reported under its level (`street.code`), not its list index.
    pub fn apply(&mut self, edit: AreaEdit) -> Result<(), ValidationErrors> {
        let mut next = self.clone();
        if !matches!(edit, AreaEdit::District(_)) && !next.has_district() {
            return Err(refused(
                "district.code",
                ErrorCode::Required,
                "尚未建立区县：请先建立区县（控制台“区域管理”或 gridwalk-server init） / \
                 there is no district yet: create it first (the console's Areas page or \
                 gridwalk-server init)",
            ));
        }
        let (edited, level) = match edit {
            AreaEdit::District(d) => {
                if next.has_district() && d.code != next.district.code && !next.streets.is_empty() {
                    return Err(moved(
                        "district.code",
                        "区县已有街道，区划代码不能再改 / the district has streets: its code cannot change",
                    ));
                }
                next.district = d;
                ("district".to_string(), "district")
            }
            AreaEdit::Street(s) => {
                let i = upsert(&mut next.streets, s, |a, b| a.code == b.code);
                (format!("streets[{i}]"), "street")
            }
            AreaEdit::Community(c) => {
                if let Some(old) = next.communities.iter().find(|x| x.code == c.code) {
                    if old.street_code != c.street_code {
                        return Err(moved(
                            "community.street_code",
                            "社区不能改属其他街道 / a community cannot move to another street",
                        ));
                    }
                }
                let i = upsert(&mut next.communities, c, |a, b| a.code == b.code);
                (format!("communities[{i}]"), "community")
            }
            AreaEdit::Grid(g) => {
                if let Some(old) = next.grids.iter().find(|x| x.id == g.id) {
                    if old.community_code != g.community_code {
                        return Err(moved(
                            "grid.community_code",
                            "网格不能改属其他社区 / a grid cannot move to another community",
                        ));
                    }
                }
                let i = upsert(&mut next.grids, g, |a, b| a.id == b.id);
                (format!("grids[{i}]"), "grid")
            }
            AreaEdit::Building(b) => {
                if let Some(old) = next.buildings.iter().find(|x| x.id == b.id) {
                    if old.grid_id != b.grid_id || old.community_code != b.community_code {
                        return Err(moved(
                            "building.grid_id",
                            "楼栋不能改属其他网格 / a building cannot move to another grid",
                        ));
                    }
                }
                match next.grid(&b.grid_id) {
                    Some(g) if g.community_code == b.community_code => {}
                    _ => {
                        return Err(moved(
                            "building.grid_id",
                            "楼栋的网格不在其社区内 / the building's grid is not in its community",
                        ))
                    }
                }
                let i = upsert(&mut next.buildings, b, |a, b| a.id == b.id);
                (format!("buildings[{i}]"), "building")
            }
        };
        if let Err(mut errors) = next.validate() {
            for e in &mut errors.0 {
                let field = e
                    .path
                    .strip_prefix(&format!("{edited}."))
                    .map(str::to_string);
                if let Some(field) = field {
                    e.path = format!("{level}.{field}");
                }
            }
            return Err(errors);
        }
        *self = next;
        Ok(())
    }
}

/// Replace the item `same` finds, or append it; returns its index.
fn upsert<T>(items: &mut Vec<T>, item: T, same: impl Fn(&T, &T) -> bool) -> usize {
    match items.iter().position(|x| same(x, &item)) {
        Some(i) => {
            items[i] = item;
            i
        }
        None => {
            items.push(item);
            items.len() - 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{generate, DemoParams};

    fn tree() -> AreaTree {
        generate(&DemoParams::single_grid(20, 7, 1_780_000_000_000)).area
    }

    #[test]
    fn a_new_building_is_added_and_an_existing_one_renamed() {
        let mut t = tree();
        let mut b = t.buildings[0].clone();
        b.name = "新名字".into();
        t.apply(AreaEdit::Building(b.clone())).unwrap();
        assert_eq!(t.building(&b.id).unwrap().name, "新名字");
        let n = t.buildings.len();
        let mut nb = b.clone();
        nb.id = "b-new".into();
        nb.number = "99999".into();
        t.apply(AreaEdit::Building(nb)).unwrap();
        assert_eq!(t.buildings.len(), n + 1);
    }

    #[test]
    fn an_invalid_edit_leaves_the_tree_unchanged() {
        let mut t = tree();
        let before = t.clone();
        let mut b = t.buildings[0].clone();
        b.id = "b-dup".into(); // same number as buildings[0]: duplicate in the community
        assert!(t.apply(AreaEdit::Building(b)).is_err());
        let mut g = t.grids[0].clone();
        g.community_code = "999999999999".into();
        assert!(t.apply(AreaEdit::Grid(g)).is_err());
        assert_eq!(t, before);
    }

    fn street(code: &str, name: &str) -> AreaEdit {
        AreaEdit::Street(Street {
            code: code.into(),
            name: name.into(),
        })
    }

    fn community(code: &str, street: &str) -> AreaEdit {
        AreaEdit::Community(Community {
            code: code.into(),
            name: "新社区".into(),
            street_code: street.into(),
        })
    }

    /// From nothing: the district root, then a street, a community, a grid (no id, no
    /// number: both made) and a building, each level checked against the one above.
    fn fresh() -> AreaTree {
        let mut t = AreaTree::default();
        let d = AreaEdit::District(District {
            code: "430202000000".into(),
            name: "荷塘区".into(),
        });
        t.apply(d).unwrap();
        t.apply(street("430202001000", "月塘街道")).unwrap();
        t.apply(community("430202001001", "430202001000")).unwrap();
        t
    }

    #[test]
    fn an_empty_tree_takes_the_district_first_and_then_every_level() {
        let mut empty = AreaTree::default();
        let e = empty.apply(street("430202001000", "月塘街道")).unwrap_err();
        assert_eq!(e.0[0].path, "district.code");
        assert!(e.0[0].message.contains("尚未建立区县") && e.0[0].message.contains(" / "));

        let mut t = fresh();
        let mut n = 0;
        let mut ids = || {
            n += 1;
            format!("id-{n}")
        };
        let grid = Grid {
            id: String::new(),
            community_code: "430202001001".into(),
            number: 0,
            name: String::new(),
        };
        let g = t.complete(AreaEdit::Grid(grid.clone()), &mut ids);
        t.apply(g).unwrap();
        let g2 = t.complete(AreaEdit::Grid(grid), &mut ids);
        t.apply(g2).unwrap();
        let names: Vec<_> = t
            .grids
            .iter()
            .map(|g| (g.id.as_str(), g.number, g.name.as_str()))
            .collect();
        assert_eq!(names, [("id-1", 1, "第1网格"), ("id-2", 2, "第2网格")]);
        let b = Building {
            id: String::new(),
            community_code: "430202001001".into(),
            grid_id: "id-2".into(),
            number: String::new(),
            name: "1栋".into(),
            units: 2,
            floors: 6,
            rooms_per_floor: 2,
        };
        let b = t.complete(AreaEdit::Building(b), &mut ids);
        t.apply(b).unwrap();
        assert_eq!(
            (t.buildings[0].id.as_str(), t.buildings[0].number.as_str()),
            ("id-3", "00001")
        );
        assert_eq!(t.validate(), Ok(()));
    }

    /// Codes down the tree: each level must extend the prefix of the level above, and a
    /// refused edit names the edited field (not a list index) in both languages.
    #[test]
    fn codes_must_extend_the_prefix_above() {
        use ErrorCode::{BadCode, NotFound};
        let cases: [(AreaEdit, &str, ErrorCode); 7] = [
            (street("430203001000", "外区街道"), "street.code", BadCode),
            (street("430202000000", "区级代码"), "street.code", BadCode),
            (street("430202001001", "社区级代码"), "street.code", BadCode),
            (street("43020200100", "11位"), "street.code", BadCode),
            (
                community("430202002001", "430202001000"),
                "community.code",
                BadCode,
            ),
            (
                community("430202001002", "430202009000"),
                "community.street_code",
                NotFound,
            ),
            (
                community("430202001000", "430202001000"),
                "community.code",
                BadCode,
            ),
        ];
        for (edit, path, code) in cases {
            let mut t = fresh();
            let before = t.clone();
            let e = t.apply(edit.clone()).unwrap_err();
            let hit = e.0.iter().find(|f| f.path == path && f.code == code);
            let hit = hit.unwrap_or_else(|| panic!("{edit:?}: {path} {code:?} not in {e:?}"));
            let (zh, en) = hit.message.split_once(" / ").expect("zh / en");
            assert!(!zh.is_ascii() && en.is_ascii(), "{}", hit.message);
            assert_eq!(t, before);
        }
        let mut t = fresh();
        t.apply(street("430202002000", "第二街道")).unwrap();
        t.apply(community("430202002001", "430202002000")).unwrap();
        // With streets under it, the district's code is fixed; its name is not.
        let moved = AreaEdit::District(District {
            code: "430203000000".into(),
            name: "荷塘区".into(),
        });
        assert_eq!(t.apply(moved).unwrap_err().0[0].path, "district.code");
        t.apply(t.rename("430202000000", "新荷塘区").unwrap())
            .unwrap();
        assert_eq!(t.district.name, "新荷塘区");
    }

    #[test]
    fn rename_finds_every_level() {
        let mut t = tree();
        let g = t.grids[0].clone();
        for target in [
            t.streets[0].code.clone(),
            t.communities[0].code.clone(),
            g.id.clone(),
            g.grid_code(),
            t.buildings[0].id.clone(),
        ] {
            let edit = t.rename(&target, " 改名 ").unwrap();
            t.apply(edit).unwrap();
        }
        assert_eq!(t.streets[0].name, "改名");
        assert_eq!(t.communities[0].name, "改名");
        assert_eq!(t.grids[0].name, "改名");
        assert_eq!(t.buildings[0].name, "改名");
        assert_eq!(
            t.rename("nope", "x").unwrap_err().0[0].code,
            ErrorCode::NotFound
        );
        let blank = t.rename(&g.id, " ").unwrap();
        assert_eq!(t.apply(blank).unwrap_err().0[0].path, "grid.name");
    }
}
