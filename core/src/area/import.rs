//! Buildings from a spreadsheet (楼栋清单): one row per building with its community, grid,
//! number, name and size. A row naming an existing building (by number or name in its
//! community) updates its name and size, and a blank size cell keeps the building's
//! value; any other row adds a building, which needs all three sizes (1..=999): a blank
//! one is reported against its column rather than guessed. All rows are
//! checked first; the caller applies the edits only when there is no problem.

use super::{AreaEdit, AreaTree, Building};
use crate::ledger::import::normalize::cell_text;
use crate::ledger::{column_letter, Table};
use serde::{Deserialize, Serialize};

/// A bad row of a buildings sheet: where, and why in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildingProblem {
    /// 1-based row number as the spreadsheet shows it (0: the file as a whole).
    pub row: usize,
    pub column: Option<String>,
    pub message_zh: String,
    pub message_en: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Col {
    Community,
    Grid,
    Number,
    Name,
    Units,
    Floors,
    Rooms,
}

fn recognise(header: &str) -> Option<Col> {
    let h: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    Some(match h.as_str() {
        "社区" | "社区名称" | "社区代码" | "Community" | "community" => Col::Community,
        "网格" | "所属网格" | "网格编号" | "Grid" | "grid" => Col::Grid,
        "楼栋编号" | "楼栋号" | "编号" | "Number" | "number" => Col::Number,
        "楼栋名称" | "楼栋" | "名称" | "Name" | "name" => Col::Name,
        "单元数" | "Units" | "units" => Col::Units,
        "层数" | "楼层数" | "Floors" | "floors" => Col::Floors,
        "每层户数" | "RoomsPerFloor" | "rooms_per_floor" => Col::Rooms,
        _ => return None,
    })
}

const SIZES: [Col; 3] = [Col::Units, Col::Floors, Col::Rooms];

fn size_label(k: Col) -> (&'static str, &'static str) {
    match k {
        Col::Units => ("单元数", "units"),
        Col::Floors => ("层数", "floors"),
        _ => ("每层户数", "rooms per floor"),
    }
}

/// The sheet column a field of the tree's check comes from.
fn column_of(path: &str) -> Col {
    match path.rsplit('.').next().unwrap_or_default() {
        "units" => Col::Units,
        "floors" => Col::Floors,
        "rooms_per_floor" => Col::Rooms,
        "number" => Col::Number,
        "grid_id" => Col::Grid,
        "community_code" => Col::Community,
        _ => Col::Name,
    }
}

/// A tree check's `中文 / English` message as its two languages.
fn split_message(m: &str) -> (String, String) {
    match m.split_once(" / ") {
        Some((zh, en)) => (zh.trim().to_string(), en.trim().to_string()),
        None => (m.to_string(), m.to_string()),
    }
}

/// The edits a buildings sheet asks for, or every problem it has. `new_id` makes the id
/// of each added building (the caller's clock and randomness; core has neither).
pub fn plan_buildings(
    table: &Table,
    tree: &AreaTree,
    mut new_id: impl FnMut() -> String,
) -> Result<Vec<AreaEdit>, Vec<BuildingProblem>> {
    let mut problems = Vec::new();
    let header_at = table.rows.iter().position(|r| {
        r.iter()
            .filter(|c| recognise(&cell_text(c)).is_some())
            .count()
            >= 2
    });
    let Some(h) = header_at else {
        return Err(vec![BuildingProblem {
            row: 0,
            column: None,
            message_zh: "找不到表头：需要 社区、网格、楼栋名称、单元数、层数、每层户数 等列".into(),
            message_en: "no header row: expected 社区, 网格, 楼栋名称, 单元数, 层数, 每层户数"
                .into(),
        }]);
    };
    let cols: Vec<Option<Col>> = table.rows[h]
        .iter()
        .map(|c| recognise(&cell_text(c)))
        .collect();
    let find = |k: Col| cols.iter().position(|c| *c == Some(k));
    for (k, zh) in [
        (Col::Community, "社区"),
        (Col::Grid, "网格"),
        (Col::Name, "楼栋名称"),
    ] {
        if find(k).is_none() {
            problems.push(BuildingProblem {
                row: h + 1,
                column: None,
                message_zh: format!("缺少“{zh}”列"),
                message_en: format!("the {zh} column is missing"),
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut next = tree.clone();
    let mut edits = Vec::new();
    for (i, row) in table.rows.iter().enumerate().skip(h + 1) {
        if row.iter().all(|c| c.is_blank()) {
            continue;
        }
        let line = i + 1;
        let get =
            |k: Col| find(k).map(|j| cell_text(row.get(j).unwrap_or(&crate::ledger::Cell::Empty)));
        let mut bad = |k: Col, zh: String, en: String| {
            problems.push(BuildingProblem {
                row: line,
                column: find(k).map(column_letter),
                message_zh: zh,
                message_en: en,
            })
        };
        let community_text = get(Col::Community).unwrap_or_default();
        let Some(community) = next
            .communities
            .iter()
            .find(|c| c.name == community_text || c.code == community_text)
            .cloned()
        else {
            bad(
                Col::Community,
                format!("没有社区“{community_text}”"),
                format!("no community {community_text:?}"),
            );
            continue;
        };
        let grid_text = get(Col::Grid).unwrap_or_default();
        let grid = next
            .grids_of_community(&community.code)
            .into_iter()
            .find(|g| {
                g.name == grid_text || g.number.to_string() == grid_text.trim_start_matches('0')
            });
        let Some(grid) = grid.cloned() else {
            bad(
                Col::Grid,
                format!("{}没有网格“{grid_text}”", community.name),
                format!("{} has no grid {grid_text:?}", community.name),
            );
            continue;
        };
        let name = get(Col::Name).unwrap_or_default();
        let number_text = get(Col::Number).unwrap_or_default();
        let existing = next
            .buildings
            .iter()
            .find(|b| {
                b.community_code == community.code
                    && ((!number_text.is_empty() && b.number == number_text)
                        || (number_text.is_empty() && b.name == name))
            })
            .cloned();
        // Sizes: a blank cell keeps an existing building's value; a new building needs
        // all three (a guessed size would give the grid wrong room counts).
        let mut sizes = [0i64; 3];
        let mut sizes_ok = true;
        for (i, k) in SIZES.iter().enumerate() {
            let (zh, en) = size_label(*k);
            let text = get(*k).unwrap_or_default().trim().to_string();
            let kept = existing
                .as_ref()
                .map(|b| [b.units, b.floors, b.rooms_per_floor][i]);
            let value = match (text.is_empty(), kept) {
                (true, Some(v)) => Some(v),
                (true, None) if find(*k).is_none() => {
                    bad(
                        *k,
                        format!("缺少“{zh}”列：新楼栋需要{zh}"),
                        format!("the {zh} ({en}) column is missing: a new building needs it"),
                    );
                    None
                }
                (true, None) => {
                    bad(
                        *k,
                        format!("{zh}为空：新楼栋需填写1到999之间的整数"),
                        format!("{en} is blank: a new building needs a whole number from 1 to 999"),
                    );
                    None
                }
                (false, _) => {
                    let n = text.parse::<i64>().ok().filter(|n| (1..=999).contains(n));
                    if n.is_none() {
                        bad(
                            *k,
                            format!("{zh}应为1到999之间的整数，而不是“{text}”"),
                            format!("{en} must be a whole number from 1 to 999, not {text:?}"),
                        );
                    }
                    n
                }
            };
            match value {
                Some(v) => sizes[i] = v,
                None => sizes_ok = false,
            }
        }
        if !sizes_ok {
            continue;
        }
        let [units, floors, rooms] = sizes;
        let building = match existing {
            Some(b) => Building {
                name: if name.is_empty() {
                    b.name.clone()
                } else {
                    name
                },
                units,
                floors,
                rooms_per_floor: rooms,
                ..b
            },
            None => Building {
                id: new_id(),
                community_code: community.code.clone(),
                grid_id: grid.id.clone(),
                number: if number_text.is_empty() {
                    next.next_building_number(&community.code)
                } else {
                    number_text
                },
                name,
                units,
                floors,
                rooms_per_floor: rooms,
            },
        };
        let edit = AreaEdit::Building(building);
        match next.apply(edit.clone()) {
            Ok(()) => edits.push(edit),
            Err(errors) => {
                for e in errors.0 {
                    let (zh, en) = split_message(&e.message);
                    bad(column_of(&e.path), zh, en);
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(edits)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{generate, DemoParams};
    use crate::ledger::Cell;

    fn text(row: &[&str]) -> Vec<Cell> {
        row.iter().map(|s| Cell::Text(s.to_string())).collect()
    }

    #[test]
    fn new_and_existing_buildings_and_bad_rows() {
        let tree = generate(&DemoParams::single_grid(10, 3, 1_780_000_000_000)).area;
        let c = &tree.communities[0];
        let g = &tree.grids[0];
        let existing = &tree.buildings[0];
        let table = Table {
            sheet: "楼栋".into(),
            rows: vec![
                text(&["XX社区楼栋清单"]),
                text(&[
                    "社区",
                    "网格",
                    "楼栋编号",
                    "楼栋名称",
                    "单元数",
                    "层数",
                    "每层户数",
                ]),
                text(&[&c.name, &g.name, "", "新1栋", "2", "18", "4"]),
                text(&[
                    &c.name,
                    &g.number.to_string(),
                    &existing.number,
                    "改名栋",
                    "3",
                    "6",
                    "2",
                ]),
            ],
        };
        let mut n = 0;
        let edits = plan_buildings(&table, &tree, || {
            n += 1;
            format!("new-{n}")
        })
        .unwrap();
        assert_eq!(edits.len(), 2);
        let AreaEdit::Building(b) = &edits[0] else {
            panic!()
        };
        assert_eq!(
            (b.id.as_str(), b.floors, b.grid_id.as_str()),
            ("new-1", 18, g.id.as_str())
        );
        let AreaEdit::Building(b) = &edits[1] else {
            panic!()
        };
        assert_eq!(
            (b.id.as_str(), b.name.as_str()),
            (existing.id.as_str(), "改名栋")
        );

        let bad = Table {
            sheet: "楼栋".into(),
            rows: vec![
                text(&["社区", "网格", "楼栋名称", "单元数", "层数", "每层户数"]),
                text(&["不存在社区", &g.name, "1栋", "2", "6", "2"]),
                text(&[&c.name, "第99网格", "1栋", "2", "6", "2"]),
                text(&[&c.name, &g.name, "9栋", "两个", "6", "2"]),
            ],
        };
        let problems = plan_buildings(&bad, &tree, || "x".into()).unwrap_err();
        let rows: Vec<_> = problems.iter().map(|p| (p.row, p.column.clone())).collect();
        assert_eq!(
            rows,
            vec![
                (2, Some("A".into())),
                (3, Some("B".into())),
                (4, Some("D".into()))
            ]
        );
    }

    /// A blank size: a new building's is reported against its own column, in both
    /// languages; an existing building keeps its value. A tree check (a number that is
    /// not 5 digits) is reported against the number column, not the name column.
    #[test]
    fn blank_sizes_and_tree_errors_name_their_column() {
        let tree = generate(&DemoParams::single_grid(10, 3, 1_780_000_000_000)).area;
        let c = &tree.communities[0];
        let g = &tree.grids[0];
        let existing = &tree.buildings[0];
        let header = text(&[
            "社区",
            "网格",
            "楼栋编号",
            "楼栋名称",
            "单元数",
            "层数",
            "每层户数",
        ]);
        let table = Table {
            sheet: "楼栋".into(),
            rows: vec![
                header.clone(),
                text(&[&c.name, &g.name, "", "新1栋", "", "18", " "]),
                text(&[&c.name, &g.name, "", "新2栋", "2", "1000", "4"]),
                text(&[&c.name, &g.name, &existing.number, "重号栋", "2", "6", "2"]),
                text(&[&c.name, &g.name, "1234", "短号栋", "2", "6", "2"]),
            ],
        };
        let problems = plan_buildings(&table, &tree, || "x".into()).unwrap_err();
        let got: Vec<_> = problems
            .iter()
            .map(|p| (p.row, p.column.clone().unwrap_or_default()))
            .collect();
        let want = [(2, "E"), (2, "G"), (3, "F"), (5, "C")];
        let want: Vec<_> = want.iter().map(|(r, c)| (*r, c.to_string())).collect();
        assert_eq!(got, want, "{problems:?}");
        for p in &problems {
            assert!(!p.message_zh.is_ascii(), "{p:?}");
            assert!(p.message_en.is_ascii(), "{p:?}");
        }
        assert!(problems[0].message_zh.contains("单元数为空"));
        assert!(problems[2].message_en.contains("not \"1000\""));

        // An existing building (by number): blank sizes keep its values.
        let keep = Table {
            sheet: "楼栋".into(),
            rows: vec![
                header,
                text(&[&c.name, &g.name, &existing.number, "", "", "", "5"]),
            ],
        };
        let edits = plan_buildings(&keep, &tree, || "x".into()).unwrap();
        let AreaEdit::Building(b) = &edits[0] else {
            panic!()
        };
        assert_eq!(
            (b.units, b.floors, b.rooms_per_floor, b.name.as_str()),
            (existing.units, existing.floors, 5, existing.name.as_str())
        );
    }
}
