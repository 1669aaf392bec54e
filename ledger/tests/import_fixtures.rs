//! The ledger fixtures (UTF-8 CSV, GBK CSV, XLSX) read and planned against the demo
//! district: every bad row reported where it is, the valid households built right.
//!
//! The CSVs come from fixtures/make_csv_fixtures.py; the XLSX from the UTF-8 CSV by
//! `cargo test -p gridwalk-ledger --test import_fixtures -- --ignored regenerate_xlsx_fixture`.

use chrono::NaiveDate;
use gridwalk_core::area::AreaTree;
use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::ledger::{
    id_numbers_in, plan_import, Cell, ImportContext, ImportPlan, LedgerColumn, ProblemCode,
};
use gridwalk_core::model::{Person, Relation, Sex};
use gridwalk_ledger::read::read_table;
use std::collections::HashSet;
use std::path::PathBuf;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
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

/// The ID on row 13 of the fixtures, already in the district.
const IN_DISTRICT: &str = "430203198008081519";

fn plan_fixture(name: &str) -> ImportPlan {
    let bytes = std::fs::read(fixture_path(name)).expect("fixture");
    let table = read_table(&bytes, name).expect("readable");
    let tree = demo_tree();
    let ids = id_numbers_in(&table, None);
    assert!(ids.contains(&IN_DISTRICT.to_string()), "{ids:?}");
    let existing: HashSet<String> = [IN_DISTRICT.to_string()].into_iter().collect();
    let ctx = ImportContext {
        tree: &tree,
        existing_id_numbers: &existing,
        today: NaiveDate::from_ymd_opt(2025, 6, 2).expect("date"),
        now_ms: 1_748_829_600_000,
        mapping: None,
    };
    plan_import(&table, &ctx)
}

fn person<'p>(plan: &'p ImportPlan, name: &str) -> &'p Person {
    plan.households
        .iter()
        .flat_map(|h| h.household.members.values())
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} not planned"))
}

fn check_plan(plan: &ImportPlan) {
    assert_eq!(plan.header_row, Some(2));
    assert_eq!(plan.columns.len(), 13);
    assert_eq!(plan.columns[0].column, None, "序号 is not a ledger column");
    assert_eq!(plan.columns[8].column, Some(LedgerColumn::IdNumber));
    assert_eq!(plan.columns[8].letter, "I");

    let problems: Vec<(usize, &str, ProblemCode)> = (plan.problems.iter())
        .map(|p| (p.row, p.column_letter.as_str(), p.code))
        .collect();
    assert_eq!(
        problems,
        vec![
            (8, "H", ProblemCode::BadDate),
            (9, "I", ProblemCode::IdCheckDigit),
            (10, "I", ProblemCode::IdCutByExcel),
            (11, "I", ProblemCode::DuplicateInFile),
            (12, "I", ProblemCode::DuplicateInFile),
            (13, "I", ProblemCode::DuplicateInDistrict),
            (14, "C", ProblemCode::UnknownBuilding),
            (15, "J", ProblemCode::BadPhone),
            (16, "I", ProblemCode::IdBirthMismatch),
        ]
    );
    let by_row = |row: usize| {
        plan.problems
            .iter()
            .find(|p| p.row == row)
            .expect("problem")
    };
    assert!(by_row(9)
        .message_zh
        .starts_with("身份证号校验位错误：应为 0"));
    assert!(by_row(10).message_zh.contains("文本"));
    assert!(by_row(11).message_zh.contains("第12行"));
    assert!(by_row(12).message_en.contains("row 11"));
    assert!(by_row(14).message_zh.contains("99栋"));
    assert_eq!(by_row(9).value, "**************1311");
    assert_eq!(by_row(15).value, "***1234");
    assert_eq!(by_row(15).header, "联系电话");

    assert_eq!((plan.rows_total, plan.rows_valid), (14, 4));
    let valid: Vec<&[usize]> = (plan.households.iter())
        .filter(|h| h.valid)
        .map(|h| h.rows.as_slice())
        .collect();
    assert_eq!(valid, vec![&[3, 4][..], &[5, 6][..]]);
    let held_back: Vec<&[usize]> = (plan.households.iter())
        .filter(|h| !h.valid)
        .map(|h| h.rows.as_slice())
        .collect();
    let expected: [&[usize]; 8] = [&[7, 8], &[9], &[10], &[11], &[12], &[13], &[15], &[16]];
    assert_eq!(held_back, expected);

    let zhang = person(plan, "张建国");
    assert_eq!(zhang.birth_date.as_deref(), Some("1950-03-02"));
    assert_eq!(zhang.relation, Relation::Head);
    assert_eq!(
        zhang.tags.keys().collect::<Vec<_>>(),
        ["age_80_plus", "elderly_alone"]
    );
    let li = person(plan, "李秀英");
    assert_eq!(li.birth_date.as_deref(), Some("1952-07-10"));
    assert_eq!(li.phone.as_deref(), Some("13912345678"));
    let wang = person(plan, "王小明");
    assert_eq!(wang.id_number.as_deref(), Some("430203198001151019"));
    assert_eq!(wang.birth_date.as_deref(), Some("1980-01-15"));
    let child = person(plan, "王乐乐");
    assert_eq!(child.id_number.as_deref(), Some("430203201506011024"));
    assert_eq!(
        (child.sex.clone(), child.relation.clone()),
        (Sex::Female, Relation::Daughter)
    );
    assert_eq!(child.birth_date.as_deref(), Some("2015-06-01"));
    assert_eq!(
        person(plan, "赵大海").birth_date.as_deref(),
        Some("1960-08-08")
    );

    let family = &plan.households[0];
    assert_eq!(family.household.address.community_code.len(), 12);
    assert_eq!(family.household.address.building_name, "1栋");
    assert_eq!(family.household.address.floor, 1);
    assert_eq!(family.grid_id, family.household.grid_id);
    assert_eq!(plan.preview.len(), 10);
    assert_eq!(plan.preview[0].cells[8], "**************1230");
}

#[test]
fn utf8_csv_fixture() {
    check_plan(&plan_fixture("ledger_utf8.csv"));
}

#[test]
fn gbk_csv_fixture() {
    let plan = plan_fixture("ledger_gbk.csv");
    check_plan(&plan);
    assert_eq!(plan, {
        let mut utf8 = plan_fixture("ledger_utf8.csv");
        // Ids are fresh UUIDs each time; everything else is the same.
        for (a, b) in utf8.households.iter_mut().zip(&plan.households) {
            a.household = b.household.clone();
            a.member_rows = b.member_rows.clone();
        }
        utf8
    });
}

#[test]
fn xlsx_fixture() {
    let bytes = std::fs::read(fixture_path("ledger.xlsx")).expect("fixture");
    let table = read_table(&bytes, "ledger.xlsx").expect("readable");
    // The cells Excel would hold: a numeric ID, real dates.
    assert!(matches!(table.rows[9][8], Cell::Number(_)));
    assert!(matches!(table.rows[2][7], Cell::DateTime(_)));
    assert!(matches!(table.rows[6][7], Cell::DateTime(_)));
    check_plan(&plan_fixture("ledger.xlsx"));
}

/// Writes fixtures/ledger.xlsx from fixtures/ledger_utf8.csv, making the cells Excel
/// would: row 3's and row 7's birth dates real dates, row 10's ID a number.
#[test]
#[ignore = "regenerates a committed fixture"]
fn regenerate_xlsx_fixture() {
    use rust_xlsxwriter::{Format, Workbook};
    let bytes = std::fs::read(fixture_path("ledger_utf8.csv")).expect("csv");
    let table = read_table(&bytes, "ledger_utf8.csv").expect("readable");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("台账").expect("name");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let serial = |y, m, d| {
        let day = NaiveDate::from_ymd_opt(y, m, d).expect("date");
        let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).expect("date");
        (day - epoch).num_days() as f64
    };
    for (r, row) in table.rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (rn, cn) = (r as u32, c as u16);
            let text = cell.display();
            match (r + 1, c) {
                (3, 7) => sheet.write_number_with_format(rn, cn, serial(1950, 3, 2), &date),
                (7, 7) => sheet.write_number_with_format(rn, cn, serial(1960, 8, 8), &date),
                (10, 8) => sheet.write_number(rn, cn, 430_203_195_003_021_234.0),
                _ if text.is_empty() => continue,
                _ => sheet.write_string(rn, cn, &text),
            }
            .expect("write");
        }
    }
    workbook.save(fixture_path("ledger.xlsx")).expect("save");
}
