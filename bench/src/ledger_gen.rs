//! A clean synthetic district ledger for the import benchmark: an area tree (communities of
//! 2,500 households, grids of 250, buildings of 125 rooms), and the same ledger as an XLSX
//! whose address cells are merged down each household (as offices keep them) and as a CSV.

use anyhow::Result;
use gridwalk_core::area::{AreaTree, Building, Community, District, Grid, Street};
use gridwalk_core::validate::id_check_char;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_xlsxwriter::{Format, Workbook};
use std::path::Path;
use uuid::Uuid;

pub const DISTRICT_CODE: &str = "430202000000";
const HOUSEHOLDS_PER_COMMUNITY: usize = 2_500;
/// The first grid holds the first this many households.
pub const HOUSEHOLDS_PER_GRID: usize = 250;
const ROOMS_PER_BUILDING: usize = 125;
const COMMUNITIES_PER_STREET: usize = 10;

const HEADERS: [&str; 11] = [
    "序号",
    "社区",
    "楼栋",
    "单元",
    "房号",
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "联系电话",
    "与户主关系",
];
/// Columns written once per household (merged down it in the XLSX): 社区 楼栋 单元 房号.
const ADDRESS_COLUMNS: std::ops::Range<usize> = 1..5;

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴"];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳",
];
const OTHERS: [&str; 4] = ["配偶", "子", "女", "父母"];

/// One person row: the 11 cells as text.
pub type Row = [String; 11];

/// The ledger: households, each a run of rows (head first).
pub struct Ledger {
    pub tree: AreaTree,
    pub households: Vec<Vec<Row>>,
    pub persons: usize,
}

fn community_code(c: usize) -> String {
    let street = c / COMMUNITIES_PER_STREET + 1;
    let community = c % COMMUNITIES_PER_STREET + 1;
    format!("430202{street:03}{community:03}")
}

/// The grid of `g`: a fixed UUID, so a device can be enrolled for it by id.
pub fn grid_id(g: usize) -> String {
    Uuid::from_u128(0x6000_0000 + g as u128).to_string()
}

fn area_tree(households: usize) -> AreaTree {
    let communities = households.div_ceil(HOUSEHOLDS_PER_COMMUNITY).max(1);
    let grids_per_community = HOUSEHOLDS_PER_COMMUNITY / HOUSEHOLDS_PER_GRID;
    let buildings_per_grid = HOUSEHOLDS_PER_GRID / ROOMS_PER_BUILDING;
    let mut tree = AreaTree {
        district: District {
            code: DISTRICT_CODE.into(),
            name: "荷塘区".into(),
        },
        ..AreaTree::default()
    };
    for c in 0..communities {
        let code = community_code(c);
        let street_code = format!("{}000", &code[..9]);
        if tree.streets.iter().all(|s| s.code != street_code) {
            tree.streets.push(Street {
                code: street_code.clone(),
                name: format!("第{}街道", tree.streets.len() + 1),
            });
        }
        tree.communities.push(Community {
            code: code.clone(),
            name: format!("第{}社区", c + 1),
            street_code,
        });
        for k in 0..grids_per_community {
            let g = c * grids_per_community + k;
            tree.grids.push(Grid {
                id: grid_id(g),
                community_code: code.clone(),
                number: k as i64 + 1,
                name: format!("第{}网格", k + 1),
            });
            for b in 0..buildings_per_grid {
                let n = k * buildings_per_grid + b + 1;
                tree.buildings.push(Building {
                    id: Uuid::from_u128(0x7000_0000 + (c * 1000 + n) as u128).to_string(),
                    community_code: code.clone(),
                    grid_id: grid_id(g),
                    number: format!("{n:05}"),
                    name: format!("{n}栋"),
                    units: 5,
                    floors: 5,
                    rooms_per_floor: 5,
                });
            }
        }
    }
    tree
}

/// The `k`-th person's ID number, birth date and sex, distinct for every `k`.
fn identity(k: usize) -> (String, String, &'static str) {
    let base = chrono::NaiveDate::from_ymd_opt(1940, 1, 1).unwrap_or_default();
    let birth = base + chrono::Duration::days((k / 500) as i64);
    let seq = (k % 500) * 2 + (k % 2);
    let first17 = format!("430202{}{seq:03}", birth.format("%Y%m%d"));
    let id = format!("{first17}{}", id_check_char(&first17).unwrap_or('0'));
    let sex = if seq % 2 == 1 { "男" } else { "女" };
    (id, birth.format("%Y-%m-%d").to_string(), sex)
}

/// `households` households of 1–5 persons (about 3), every row valid.
pub fn generate(households: usize, seed: u64) -> Ledger {
    let tree = area_tree(households);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(households);
    let mut k = 0;
    for h in 0..households {
        let c = h / HOUSEHOLDS_PER_COMMUNITY;
        let in_community = h % HOUSEHOLDS_PER_COMMUNITY;
        let building = in_community / ROOMS_PER_BUILDING + 1;
        let room_index = in_community % ROOMS_PER_BUILDING;
        let unit = room_index / 25 + 1;
        let room = (room_index % 25 / 5 + 1) * 100 + room_index % 5 + 1;
        let members = rng.random_range(1..=5);
        let mut rows = Vec::with_capacity(members);
        for m in 0..members {
            let (id, birth, sex) = identity(k);
            k += 1;
            let name = format!(
                "{}{}{}",
                SURNAMES[rng.random_range(0..SURNAMES.len())],
                GIVEN[rng.random_range(0..GIVEN.len())],
                GIVEN[rng.random_range(0..GIVEN.len())]
            );
            let relation = if m == 0 {
                "户主"
            } else {
                OTHERS[(m - 1) % 4]
            };
            rows.push([
                String::new(),
                format!("第{}社区", c + 1),
                format!("{building}栋"),
                unit.to_string(),
                room.to_string(),
                name,
                sex.to_string(),
                birth,
                id,
                format!("138{:08}", rng.random_range(0..100_000_000u32)),
                relation.to_string(),
            ]);
        }
        out.push(rows);
    }
    Ledger {
        tree,
        households: out,
        persons: k,
    }
}

/// The XLSX as an office keeps it: a merged title row, the header, then each household's
/// address written once and merged down its member rows.
pub fn write_xlsx(ledger: &Ledger, path: &Path, merged: bool) -> Result<()> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let plain = Format::new();
    sheet.merge_range(0, 0, 0, 10, "荷塘区实有人口信息台账（2026年）", &plain)?;
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(1, c as u16, *h)?;
    }
    let mut r: u32 = 2;
    let mut number = 0;
    for rows in &ledger.households {
        let last = r + rows.len() as u32 - 1;
        for (m, row) in rows.iter().enumerate() {
            number += 1;
            let at = r + m as u32;
            sheet.write_number(at, 0, number as f64)?;
            for (c, text) in row.iter().enumerate().skip(1) {
                let is_address = ADDRESS_COLUMNS.contains(&c);
                if is_address && merged && last > r {
                    if m == 0 {
                        sheet.merge_range(r, c as u16, last, c as u16, text, &plain)?;
                    }
                } else {
                    sheet.write_string(at, c as u16, text)?;
                }
            }
        }
        r = last + 1;
    }
    workbook.save(path)?;
    Ok(())
}

/// The CSV with the address repeated on every row (a CSV has no merged cells).
pub fn write_csv(ledger: &Ledger, path: &Path) -> Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(HEADERS)?;
    let mut number = 0;
    for rows in &ledger.households {
        for row in rows {
            number += 1;
            let mut record = row.clone();
            record[0] = number.to_string();
            w.write_record(&record)?;
        }
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_core::validate::check_id_number;

    #[test]
    fn identities_are_valid_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for k in 0..5_000 {
            let (id, _, _) = identity(k);
            let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
            assert!(check_id_number("id", &id, today).is_ok(), "{id}");
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn tree_is_valid() {
        assert!(area_tree(12_345).validate().is_ok());
    }
}
