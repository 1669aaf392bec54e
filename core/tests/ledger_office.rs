//! The import's household rules on small sheets: a household whole or not at all, room
//! notations mixed in one building, bad values shown recognisably.

use chrono::NaiveDate;
use gridwalk_core::area::AreaTree;
use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::ledger::{plan_import, Cell, ImportContext, ImportPlan, ProblemCode, Table};
use gridwalk_core::model::Relation;
use gridwalk_core::validate::id_check_char;
use std::collections::HashSet;

fn tree() -> AreaTree {
    generate(&DemoParams {
        seed: 7,
        streets: 1,
        communities_per_street: 2,
        grids_per_community: 2,
        households: 400,
        visits_per_household: 0.0,
        issues_per_household: 0.0,
        ..DemoParams::default()
    })
    .area
}

fn id(body: &str) -> String {
    format!("{body}{}", id_check_char(body).expect("17 digits"))
}

const HEADER: [&str; 8] = [
    "社区",
    "楼栋",
    "单元",
    "房号",
    "姓名",
    "身份证号",
    "联系电话",
    "关系",
];

fn plan(rows: &[[&str; 8]]) -> ImportPlan {
    let cell = |s: &&str| {
        if s.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s.to_string())
        }
    };
    let mut all = vec![HEADER.iter().map(cell).collect::<Vec<_>>()];
    all.extend(rows.iter().map(|r| r.iter().map(cell).collect()));
    let table = Table {
        sheet: "Sheet1".into(),
        rows: all,
    };
    let tree = tree();
    let existing = HashSet::new();
    plan_import(
        &table,
        &ImportContext {
            tree: &tree,
            existing_id_numbers: &existing,
            today: NaiveDate::from_ymd_opt(2025, 6, 2).expect("date"),
            now_ms: 1_748_829_600_000,
            mapping: None,
        },
    )
}

#[test]
fn a_member_whose_address_cannot_be_read_holds_back_the_household() {
    let (head, wife) = (id("43020319500302123"), id("43020319520710122"));
    let p = plan(&[
        ["枫林社区", "1栋", "1", "101", "张三", &head, "", "户主"],
        // A typo in the building: the wife is in no household.
        ["枫林社区", "1栋x", "1", "101", "李四", &wife, "", "妻"],
    ]);
    assert_eq!(p.households.len(), 1);
    assert!(!p.households[0].valid, "the head is not imported alone");
    assert_eq!(p.rows_valid, 0);
    assert_eq!(p.held_back.len(), 1);
    assert_eq!(p.held_back[0].rows, vec![2, 3]);
    // The same rows with the building right: one household of two.
    let p = plan(&[
        ["枫林社区", "1栋", "1", "101", "张三", &head, "", "户主"],
        ["", "", "", "", "李四", &wife, "", "妻"],
    ]);
    assert_eq!(p.problems, vec![]);
    assert_eq!(p.households[0].household.members.len(), 2);
    assert!(p.held_back.is_empty());
}

#[test]
fn a_building_mixing_room_notations_is_not_guessed() {
    let (a, b, c) = (
        id("43020319500302123"),
        id("43020319600302123"),
        id("43020319700302123"),
    );
    let p = plan(&[
        ["枫林社区", "1栋", "1", "302", "甲", &a, "", "户主"],
        ["枫林社区", "1栋", "1", "4-1", "乙", &b, "", "户主"],
        // Another building, written floor-door throughout: fine.
        ["枫林社区", "2栋", "1", "4-1", "丙", &c, "", "户主"],
    ]);
    let codes: Vec<(usize, &str, ProblemCode)> = (p.problems.iter())
        .map(|p| (p.row, p.column_letter.as_str(), p.code))
        .collect();
    assert_eq!(codes, vec![(3, "D", ProblemCode::BadValue)]);
    assert_eq!(p.problems[0].value, "4-1");
    let c_household = &p.households[2].household;
    assert_eq!(
        (c_household.address.room.as_str(), c_household.address.floor),
        ("401", 4)
    );
}

#[test]
fn bad_values_are_shown_as_written_unless_personal() {
    let p = plan(&[
        [
            "枫林社区",
            "1栋",
            "1",
            "101",
            "张三",
            "1950-03-02",
            "不知道",
            "户主",
        ],
        [
            "枫林社区",
            "1栋",
            "1",
            "102",
            "李四",
            &id("43020319520710122"),
            "1391234",
            "户主",
        ],
    ]);
    let values: Vec<(usize, &str, &str)> = (p.problems.iter())
        .map(|p| (p.row, p.column_letter.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(
        values,
        // Row 2's sex cannot come from an ID number that is not one (no sex column).
        vec![
            (2, "F", "1950-03-02"),
            (2, "G", "不知道"),
            (2, "", ""),
            (3, "G", "***1234")
        ]
    );
}

#[test]
fn children_by_sex_and_phones_none() {
    let p = plan(&[
        [
            "枫林社区",
            "1栋",
            "1",
            "101",
            "张三",
            &id("43020319500302123"),
            "无",
            "户主",
        ],
        [
            "",
            "",
            "",
            "",
            "张四",
            &id("43020319800302122"),
            "—",
            "子女",
        ],
        [
            "",
            "",
            "",
            "",
            "张五",
            &id("43020319820302123"),
            "/",
            "子女",
        ],
    ]);
    assert_eq!(p.problems, vec![]);
    let h = &p.households[0].household;
    let mut relations: Vec<(&str, Relation, bool)> = (h.members.values())
        .map(|m| (m.name.as_str(), m.relation.clone(), m.phone.is_none()))
        .collect();
    relations.sort_by_key(|r| r.0);
    assert_eq!(
        relations,
        vec![
            ("张三", Relation::Head, true),
            ("张五", Relation::Son, true),
            ("张四", Relation::Daughter, true),
        ]
    );
}
