//! The area tree: district (区/县) → street (街道/乡镇) → community (社区/村) → grid (网格) →
//! building (楼栋).
//!
//! Districts, streets and communities carry the 12-digit statistical area code
//! (province 2 + city 2 + county 2 + street 3 + community 3 digits). A grid is numbered
//! 1..=999 inside its community, so its code is the community code plus three digits. A
//! building carries a 5-digit number that is unique inside its community.

mod code;
mod edit;
mod import;

pub use code::{
    parse_area_code, parse_area_code_at, parse_community_code, parse_district_code,
    parse_grid_code, parse_street_code, AreaCode, AreaLevel,
};
pub use edit::AreaEdit;
pub use import::{plan_buildings, BuildingProblem};

use crate::validate::{ErrorCode, FieldError, ValidationErrors};
use code::parse_level_at;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// 区/县.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct District {
    /// 12 digits, last 6 zero.
    pub code: String,
    pub name: String,
}

/// 街道/乡镇.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Street {
    /// 12 digits, last 3 zero.
    pub code: String,
    pub name: String,
}

/// 社区/村.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Community {
    /// 12 digits.
    pub code: String,
    pub name: String,
    pub street_code: String,
}

/// 网格: belongs to exactly one community.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    /// UUID; blank in a new grid's edit (the server makes one).
    #[serde(default)]
    pub id: String,
    pub community_code: String,
    /// 1..=999 within the community; 0 in a new grid's edit means the next free number.
    #[serde(default)]
    pub number: i64,
    /// e.g. "第3网格"; blank in an edit means 第N网格.
    #[serde(default)]
    pub name: String,
}

impl Grid {
    /// The 15-digit grid code: community code + 3-digit number.
    pub fn grid_code(&self) -> String {
        format!("{}{:03}", self.community_code, self.number)
    }
}

/// 楼栋.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Building {
    /// Blank in a new building's edit (the server makes one).
    #[serde(default)]
    pub id: String,
    pub community_code: String,
    pub grid_id: String,
    /// 5 digits, unique within the community; blank in an edit means the next free one.
    #[serde(default)]
    pub number: String,
    /// As residents say it, e.g. "3栋".
    pub name: String,
    pub units: i64,
    pub floors: i64,
    pub rooms_per_floor: i64,
}

impl Building {
    /// Rooms in the building (units × floors × rooms per floor), 0 when a factor is negative.
    pub fn room_count(&self) -> i64 {
        self.units
            .max(0)
            .saturating_mul(self.floors.max(0))
            .saturating_mul(self.rooms_per_floor.max(0))
    }
}

/// One district's whole area tree.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AreaTree {
    pub district: District,
    pub streets: Vec<Street>,
    pub communities: Vec<Community>,
    pub grids: Vec<Grid>,
    pub buildings: Vec<Building>,
}

impl AreaTree {
    pub fn street(&self, code: &str) -> Option<&Street> {
        self.streets.iter().find(|s| s.code == code)
    }

    pub fn community(&self, code: &str) -> Option<&Community> {
        self.communities.iter().find(|c| c.code == code)
    }

    pub fn grid(&self, id: &str) -> Option<&Grid> {
        self.grids.iter().find(|g| g.id == id)
    }

    /// The grid with a 15-digit grid code.
    pub fn grid_by_code(&self, code: &str) -> Option<&Grid> {
        let (community, number) = parse_grid_code(code).ok()?;
        self.grids
            .iter()
            .find(|g| g.community_code == community.as_str() && g.number == number)
    }

    pub fn building(&self, id: &str) -> Option<&Building> {
        self.buildings.iter().find(|b| b.id == id)
    }

    pub fn communities_of_street(&self, street_code: &str) -> Vec<&Community> {
        self.communities
            .iter()
            .filter(|c| c.street_code == street_code)
            .collect()
    }

    /// The community's grids, by number.
    pub fn grids_of_community(&self, community_code: &str) -> Vec<&Grid> {
        let mut grids: Vec<&Grid> = self
            .grids
            .iter()
            .filter(|g| g.community_code == community_code)
            .collect();
        grids.sort_by(|a, b| a.number.cmp(&b.number).then_with(|| a.id.cmp(&b.id)));
        grids
    }

    /// The grid's buildings, by number.
    pub fn buildings_of_grid(&self, grid_id: &str) -> Vec<&Building> {
        let mut buildings: Vec<&Building> = self
            .buildings
            .iter()
            .filter(|b| b.grid_id == grid_id)
            .collect();
        buildings.sort_by(|a, b| a.number.cmp(&b.number).then_with(|| a.id.cmp(&b.id)));
        buildings
    }

    pub fn street_of_community(&self, community_code: &str) -> Option<&Street> {
        self.community(community_code)
            .and_then(|c| self.street(&c.street_code))
    }

    pub fn community_of_grid(&self, grid_id: &str) -> Option<&Community> {
        self.grid(grid_id)
            .and_then(|g| self.community(&g.community_code))
    }

    /// Every wrong field of the tree, or `Ok` when the tree is consistent. Each message
    /// is zh-CN first, then English (`中文 / English`), and names the field.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        use ErrorCode::{BadCode, Duplicate, NotFound, OutOfRange};
        let mut e = Errs(Vec::new());
        let district = e.ok(parse_level_at(
            "district.code",
            &self.district.code,
            AreaLevel::County,
        ));
        e.required(
            "district.name",
            &self.district.name,
            "区县名称",
            "district name",
        );

        let mut streets = BTreeSet::new();
        for (i, s) in self.streets.iter().enumerate() {
            let path = format!("streets[{i}].code");
            e.required(
                &format!("streets[{i}].name"),
                &s.name,
                "街道名称",
                "street name",
            );
            let Some(code) = e.ok(parse_level_at(&path, &s.code, AreaLevel::Street)) else {
                continue;
            };
            if let Some(d) = district.as_ref().filter(|d| !code.is_within(d)) {
                let msg = format!(
                    "街道代码 {} 应以区县的前6位 {} 开头 / street code {} must start with the district's 6 digits {}",
                    s.code, d.county_prefix(), s.code, d.county_prefix()
                );
                e.add(&path, BadCode, msg);
            }
            if !streets.insert(s.code.as_str()) {
                let msg = format!("街道代码 {0} 重复 / street code {0} is used twice", s.code);
                e.add(&path, Duplicate, msg);
            }
        }

        let mut communities = BTreeSet::new();
        for (i, c) in self.communities.iter().enumerate() {
            let path = format!("communities[{i}].code");
            let name_path = format!("communities[{i}].name");
            e.required(&name_path, &c.name, "社区名称", "community name");
            let code = e.ok(parse_level_at(&path, &c.code, AreaLevel::Community));
            let street_path = format!("communities[{i}].street_code");
            if !e.required(&street_path, &c.street_code, "所属街道", "street") {
                if !streets.contains(c.street_code.as_str()) {
                    let msg = format!(
                        "没有代码为 {0} 的街道 / no street with code {0}",
                        c.street_code
                    );
                    e.add(&street_path, NotFound, msg);
                } else if code
                    .as_ref()
                    .is_some_and(|code| !c.street_code.starts_with(code.street_prefix()))
                {
                    let prefix = c.street_code.get(..9).unwrap_or(&c.street_code);
                    let msg = format!(
                        "社区代码 {0} 应以街道的前9位 {1} 开头 / community code {0} must start with its street's 9 digits {1}",
                        c.code, prefix
                    );
                    e.add(&path, BadCode, msg);
                }
            }
            if code.is_some() && !communities.insert(c.code.as_str()) {
                let msg = format!(
                    "社区代码 {0} 重复 / community code {0} is used twice",
                    c.code
                );
                e.add(&path, Duplicate, msg);
            }
        }

        // Grid id → its community code.
        let mut grids: BTreeMap<&str, &str> = BTreeMap::new();
        let mut grid_numbers = BTreeSet::new();
        for (i, g) in self.grids.iter().enumerate() {
            let p = |field: &str| format!("grids[{i}].{field}");
            e.required(&p("name"), &g.name, "网格名称", "grid name");
            if !e.required(&p("id"), &g.id, "网格ID", "grid id") {
                if grids.contains_key(g.id.as_str()) {
                    let msg = format!("网格ID {0} 重复 / grid id {0} is used twice", g.id);
                    e.add(p("id"), Duplicate, msg);
                } else {
                    grids.insert(&g.id, &g.community_code);
                }
            }
            if !e.required(
                &p("community_code"),
                &g.community_code,
                "所属社区",
                "community",
            ) && !communities.contains(g.community_code.as_str())
            {
                let msg = format!(
                    "没有代码为 {0} 的社区 / no community with code {0}",
                    g.community_code
                );
                e.add(p("community_code"), NotFound, msg);
            }
            if !(1..=999).contains(&g.number) {
                let msg = format!(
                    "网格编号应在1到999之间，而不是 {0} / the grid number must be from 1 to 999, not {0}",
                    g.number
                );
                e.add(p("number"), OutOfRange, msg);
            } else if !grid_numbers.insert((g.community_code.as_str(), g.number)) {
                let msg = format!(
                    "社区 {0} 内已有编号为 {1} 的网格 / community {0} already has grid number {1}",
                    g.community_code, g.number
                );
                e.add(p("number"), Duplicate, msg);
            }
        }

        let mut building_ids = BTreeSet::new();
        let mut building_numbers = BTreeSet::new();
        for (i, b) in self.buildings.iter().enumerate() {
            let p = |field: &str| format!("buildings[{i}].{field}");
            e.required(&p("name"), &b.name, "楼栋名称", "building name");
            if !e.required(&p("id"), &b.id, "楼栋ID", "building id")
                && !building_ids.insert(b.id.as_str())
            {
                let msg = format!("楼栋ID {0} 重复 / building id {0} is used twice", b.id);
                e.add(p("id"), Duplicate, msg);
            }
            if !communities.contains(b.community_code.as_str()) {
                let msg = format!(
                    "没有代码为 {0} 的社区 / no community with code {0}",
                    b.community_code
                );
                e.add(p("community_code"), NotFound, msg);
            }
            match grids.get(b.grid_id.as_str()) {
                None => {
                    let msg = format!("没有ID为 {0} 的网格 / no grid with id {0}", b.grid_id);
                    e.add(p("grid_id"), NotFound, msg)
                }
                Some(c) if *c != b.community_code => {
                    let msg = format!(
                        "网格 {0} 不属于社区 {1} / grid {0} is not in community {1}",
                        b.grid_id, b.community_code
                    );
                    e.add(p("grid_id"), NotFound, msg)
                }
                Some(_) => {}
            }
            if b.number.len() != 5 || !b.number.bytes().all(|c| c.is_ascii_digit()) {
                let msg = format!(
                    "楼栋编号应为5位数字，而不是“{0}” / the building number must be 5 digits, not {0:?}",
                    b.number
                );
                e.add(p("number"), BadCode, msg);
            } else if !building_numbers.insert((b.community_code.as_str(), b.number.as_str())) {
                let msg = format!(
                    "社区 {0} 内已有编号为 {1} 的楼栋 / community {0} already has building number {1}",
                    b.community_code, b.number
                );
                e.add(p("number"), Duplicate, msg);
            }
            let sizes = [
                ("units", "单元数", "units", b.units),
                ("floors", "层数", "floors", b.floors),
                (
                    "rooms_per_floor",
                    "每层户数",
                    "rooms per floor",
                    b.rooms_per_floor,
                ),
            ];
            for (field, zh, en, v) in sizes {
                if !(1..=999).contains(&v) {
                    let msg = format!(
                        "{zh}应在1到999之间，而不是 {v} / {en} must be from 1 to 999, not {v}"
                    );
                    e.add(p(field), OutOfRange, msg);
                }
            }
        }
        if e.0.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(e.0))
        }
    }
}

/// Collects field errors while a tree is checked.
struct Errs(Vec<FieldError>);

impl Errs {
    fn add(&mut self, path: impl Into<String>, code: ErrorCode, msg: impl Into<String>) {
        self.0.push(FieldError::new(path, code, msg));
    }

    fn ok<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }

    /// Records a Required error naming the field and returns true when `value` is blank.
    fn required(&mut self, path: &str, value: &str, zh: &str, en: &str) -> bool {
        let blank = value.trim().is_empty();
        if blank {
            let msg = format!("{zh}不能为空 / the {en} must not be empty");
            self.add(path, ErrorCode::Required, msg);
        }
        blank
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn street(code: &str, name: &str) -> Street {
        Street {
            code: code.into(),
            name: name.into(),
        }
    }

    fn community(code: &str, name: &str, street: &str) -> Community {
        Community {
            code: code.into(),
            name: name.into(),
            street_code: street.into(),
        }
    }

    fn grid(id: &str, community: &str, number: i64) -> Grid {
        Grid {
            id: id.into(),
            community_code: community.into(),
            number,
            name: format!("第{number}网格"),
        }
    }

    fn tree() -> AreaTree {
        AreaTree {
            district: District {
                code: "430203000000".into(),
                name: "青松区".into(),
            },
            streets: vec![street("430203001000", "建设街道")],
            communities: vec![
                community("430203001001", "枫林社区", "430203001000"),
                community("430203001002", "荷塘社区", "430203001000"),
            ],
            grids: vec![
                grid("g1", "430203001001", 1),
                grid("g2", "430203001001", 2),
                grid("g3", "430203001002", 1),
            ],
            buildings: vec![
                building("b1", "430203001001", "g1", "00001"),
                building("b2", "430203001001", "g2", "00002"),
                building("b3", "430203001002", "g3", "00001"),
            ],
        }
    }

    fn building(id: &str, community: &str, grid: &str, number: &str) -> Building {
        Building {
            id: id.into(),
            community_code: community.into(),
            grid_id: grid.into(),
            number: number.into(),
            name: "1栋".into(),
            units: 2,
            floors: 6,
            rooms_per_floor: 2,
        }
    }

    /// Asserts that validating `t` reports each (path, code) pair.
    fn assert_errors(t: &AreaTree, want: &[(&str, ErrorCode)]) {
        let got: Vec<(String, ErrorCode)> = match t.validate() {
            Ok(()) => vec![],
            Err(e) => e.0.into_iter().map(|f| (f.path, f.code)).collect(),
        };
        for (path, code) in want {
            let hit = got.iter().any(|(p, c)| p == path && c == code);
            assert!(hit, "{path} {code:?} not in {got:?}");
        }
    }

    #[test]
    fn valid_tree_and_lookups() {
        let t = tree();
        assert_eq!(t.validate(), Ok(()));
        assert_eq!(t.grid("g2").unwrap().grid_code(), "430203001001002");
        assert_eq!(t.grid_by_code("430203001002001").unwrap().id, "g3");
        assert_eq!(t.community("430203001002").unwrap().name, "荷塘社区");
        let g: Vec<&str> = t
            .grids_of_community("430203001001")
            .iter()
            .map(|g| g.id.as_str())
            .collect();
        assert_eq!(g, ["g1", "g2"]);
        assert_eq!(t.buildings_of_grid("g2")[0].id, "b2");
        assert_eq!(
            t.street_of_community("430203001002").unwrap().name,
            "建设街道"
        );
        assert_eq!(t.community_of_grid("g3").unwrap().code, "430203001002");
        assert_eq!(t.communities_of_street("430203001000").len(), 2);
        assert!(t.grid("nope").is_none() && t.street_of_community("x").is_none());
        assert_eq!(t.buildings[0].room_count(), 24);
        let back: AreaTree = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn catches_bad_trees() {
        use ErrorCode::*;
        let mut t = tree();
        t.streets.push(street("430204002000", "外区街道"));
        t.communities
            .push(community("430203009001", "错位社区", "430203001000"));
        t.grids.push(grid("g9", "430203001099", 1));
        t.grids.push(grid("g4", "430203001001", 2));
        t.grids.push(grid("g1", "430203001002", 1000));
        t.buildings
            .push(building("b4", "430203001001", "g1", "00002"));
        t.buildings
            .push(building("b5", "430203001002", "g1", "0003"));
        t.buildings
            .push(building("b1", "430203001001", "gX", "00009"));
        t.buildings[0].floors = 0;
        t.district.name = " ".into();
        assert_errors(
            &t,
            &[
                ("streets[1].code", BadCode),
                ("communities[2].code", BadCode),
                ("grids[3].community_code", NotFound),
                ("grids[4].number", Duplicate),
                ("grids[5].id", Duplicate),
                ("grids[5].number", OutOfRange),
                ("buildings[3].number", Duplicate),
                ("buildings[4].grid_id", NotFound),
                ("buildings[4].number", BadCode),
                ("buildings[5].id", Duplicate),
                ("buildings[5].grid_id", NotFound),
                ("buildings[0].floors", OutOfRange),
                ("district.name", Required),
            ],
        );
        t.district.code = "430203001000".into();
        assert_errors(&t, &[("district.code", BadCode)]);
        assert_errors(&AreaTree::default(), &[("district.code", Required)]);
    }
}
