//! A community ledger as an office keeps it (fixtures/messy/): an XLSX with a merged
//! title, a filing row, a two-row header under merged group cells, address cells merged
//! down each household, a 序号-only row, blank rows, 小计/合计 rows, a footer and a second
//! sheet of migrants; and the GBK CSV with CRLF and in-cell line breaks that Excel saves
//! from its first sheet (merged cells: the value in the top row only).
//!
//! `expected.tsv` gives every row's outcome; the tests check each one and the counts.
//! The files are regenerated from [`ledger`] by
//! `cargo test -p gridwalk-ledger --test messy_ledgers -- --ignored regenerate`.

use chrono::NaiveDate;
use gridwalk_core::area::AreaTree;
use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::ledger::{id_numbers_in_sheets, plan_import_sheets, ImportContext, ImportPlan};
use gridwalk_core::model::Relation;
use gridwalk_ledger::read::read_tables;
use std::collections::{BTreeMap, HashSet};

mod messy_data;
use messy_data::{fixture, id, in_district};

#[test]
#[ignore = "regenerates committed fixtures"]
fn regenerate() {
    messy_data::regenerate();
}

fn demo_tree() -> AreaTree {
    let params = DemoParams {
        seed: 7,
        streets: 1,
        communities_per_street: 2,
        grids_per_community: 2,
        households: 400,
        visits_per_household: 0.0,
        issues_per_household: 0.0,
        ..DemoParams::default()
    };
    generate(&params).area
}

fn plan(name: &str) -> ImportPlan {
    let bytes = std::fs::read(fixture(name)).expect("fixture");
    let tables = read_tables(&bytes, name).expect("readable");
    let tree = demo_tree();
    let ids = id_numbers_in_sheets(&tables, None);
    assert!(ids.contains(&in_district()));
    let existing: HashSet<String> = [in_district()].into_iter().collect();
    let ctx = ImportContext {
        tree: &tree,
        existing_id_numbers: &existing,
        today: NaiveDate::from_ymd_opt(2025, 6, 2).expect("date"),
        now_ms: 1_748_829_600_000,
        mapping: None,
    };
    plan_import_sheets(&tables, &ctx)
}

/// Every row's outcome as the plan gives it: `imported`, `held` (a good row of a held-back
/// household), `skipped:<reason>`, `bad:<column>:<code>[;…]`; keyed by (sheet, row).
fn outcomes(plan: &ImportPlan) -> BTreeMap<(String, usize), String> {
    let mut out = BTreeMap::new();
    fn code(v: &impl serde::Serialize) -> String {
        serde_json::to_value(v)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
    for s in &plan.skipped {
        out.insert(
            (s.sheet.clone(), s.row),
            format!("skipped:{}", code(&s.reason)),
        );
    }
    for h in &plan.households {
        for r in &h.rows {
            let o = if h.valid { "imported" } else { "held" };
            out.insert((h.sheet.clone(), *r), o.to_string());
        }
    }
    for h in &plan.held_back {
        for r in &h.rows {
            out.entry((h.sheet.clone(), *r))
                .or_insert_with(|| "held".into());
        }
    }
    let mut bad: BTreeMap<(String, usize), Vec<String>> = BTreeMap::new();
    for p in &plan.problems {
        bad.entry((p.sheet.clone(), p.row))
            .or_default()
            .push(format!("{}:{}", p.column_letter, code(&p.code)));
    }
    for (k, v) in bad {
        out.insert(k, format!("bad:{}", v.join(";")));
    }
    out
}

fn expected(sheets: &[&str]) -> BTreeMap<(String, usize), String> {
    let text = std::fs::read_to_string(fixture("expected.tsv")).expect("expected.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (sheet, row, outcome) = (f.next()?, f.next()?, f.next()?);
            let row: usize = row.parse().ok()?;
            sheets
                .contains(&sheet)
                .then(|| ((sheet.to_string(), row), outcome.to_string()))
        })
        .collect()
}

fn counts(plan: &ImportPlan) -> (usize, usize) {
    let valid: Vec<_> = plan.households.iter().filter(|h| h.valid).collect();
    (
        valid.len(),
        valid.iter().map(|h| h.household.members.len()).sum(),
    )
}

#[test]
fn xlsx_every_row_as_expected() {
    let plan = plan("ledger.xlsx");
    assert_eq!(outcomes(&plan), expected(&["台账", "流动人口"]));
    // By hand: 台账 imports 张建国's 4, 赵大海's 3, 陈晨, 褚英's 2; 流动人口 林小雨's 2.
    assert_eq!(counts(&plan), (5, 12));
    assert_eq!(plan.rows_total, 17 + 2);
    assert_eq!(plan.held_back.len(), 4);
    check_values(&plan);
}

#[test]
fn gbk_csv_every_row_as_expected() {
    let plan = plan("ledger_gbk.csv");
    let want: BTreeMap<(String, usize), String> = expected(&["台账"])
        .into_iter()
        .map(|((_, r), o)| ((String::new(), r), o))
        .collect();
    assert_eq!(outcomes(&plan), want);
    assert_eq!(counts(&plan), (4, 10));
    check_values(&plan);
}

/// What the normalisation made of the messy values.
fn check_values(plan: &ImportPlan) {
    let person = |name: &str| {
        plan.households
            .iter()
            .flat_map(|h| h.household.members.values().map(move |p| (h, p)))
            .find(|(_, p)| p.name == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let (h1, zhang) = person("张建国");
    assert_eq!(zhang.phone.as_deref(), Some("13812345678"));
    assert_eq!(zhang.birth_date.as_deref(), Some("1950-03-02"));
    assert_eq!(h1.household.members.len(), 4);
    assert_eq!(h1.household.address.room, "101");
    let (_, li) = person("李秀英");
    assert_eq!(li.phone, None);
    assert_eq!(
        li.tags.keys().collect::<Vec<_>>(),
        ["disabled", "min_income"]
    );
    assert_eq!(
        person("张伟")
            .1
            .id_number
            .as_deref()
            .map(|i| i.ends_with('X')),
        Some(true)
    );
    assert_eq!(person("王芳").1.relation, Relation::DaughterInLaw);
    let (h2, zhao) = person("赵大海");
    assert_eq!(
        zhao.id_number.as_deref(),
        Some(id("19600808", 11, true).as_str())
    );
    assert_eq!(zhao.birth_date.as_deref(), Some("1960-08-08"));
    assert_eq!(zhao.phone.as_deref(), Some("0731-22917473"));
    assert_eq!(
        (
            h2.household.address.room.as_str(),
            h2.household.address.floor
        ),
        ("302", 3)
    );
    assert_eq!(
        h2.household.household_type,
        gridwalk_core::model::HouseholdType::RegisteredAbsent
    );
    assert_eq!(
        h2.household.housing_use,
        gridwalk_core::model::HousingUse::Rented
    );
    assert_eq!(person("钱丽").1.birth_date.as_deref(), Some("1962-03-05"));
    assert_eq!(person("赵小龙").1.relation, Relation::Son);
    let (h6, chen) = person("陈晨");
    assert_eq!(chen.phone.as_deref(), Some("13512345678"));
    assert_eq!(chen.notes, "房东：程海\n电话另告");
    assert_eq!(
        (
            h6.household.address.room.as_str(),
            h6.household.address.floor
        ),
        ("401", 4)
    );
    let (h7, chu) = person("褚英");
    assert_eq!(chu.birth_date.as_deref(), Some("1967-11-21"));
    assert_eq!(h7.household.address.room, "402");
    assert_eq!(person("卫东").1.relation, Relation::ParentInLaw);
    // The 15-digit upgrade is said in the report.
    assert!(plan
        .notices
        .iter()
        .any(|n| n.row == 9 && n.message_zh.contains("15位")));
    // Words are shown as written, numbers masked.
    for p in &plan.problems {
        assert!(!p.value.contains(&in_district()), "{p:?}");
    }
}
