use super::*;
use crate::demo::{generate, DemoParams};
use crate::ledger::cell::Cell;
use crate::model::{Relation, Sex};
use crate::validate::id_check_char;
use proptest::prelude::*;
use uuid::Uuid;

fn demo_tree() -> &'static AreaTree {
    static TREE: std::sync::OnceLock<AreaTree> = std::sync::OnceLock::new();
    TREE.get_or_init(make_demo_tree)
}

fn make_demo_tree() -> AreaTree {
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

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 2).unwrap_or_default()
}

fn id_for(body: &str) -> String {
    format!("{body}{}", id_check_char(body).unwrap_or('?'))
}

const HEADER: &[&str] = &[
    "社区",
    "楼栋",
    "单元",
    "房号",
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "与户主关系",
];

fn table(rows: &[Vec<&str>]) -> Table {
    let mut all = vec![
        vec![Cell::Text("枫林社区居民台账".into())],
        HEADER.iter().map(|h| Cell::Text(h.to_string())).collect(),
    ];
    all.extend(rows.iter().map(|r| {
        r.iter()
            .map(|s| {
                if s.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(s.to_string())
                }
            })
            .collect()
    }));
    Table {
        sheet: "Sheet1".into(),
        rows: all,
    }
}

fn plan(t: &Table, existing: &HashSet<String>) -> ImportPlan {
    let tree = demo_tree();
    let ctx = ImportContext {
        tree,
        existing_id_numbers: existing,
        today: today(),
        now_ms: 1_748_829_600_000,
        mapping: None,
    };
    plan_import(t, &ctx)
}

fn codes(plan: &ImportPlan) -> Vec<(usize, String, ProblemCode)> {
    (plan.problems.iter())
        .map(|p| (p.row, p.column_letter.clone(), p.code))
        .collect()
}

#[test]
fn a_family_and_a_lone_tenant() {
    let head = id_for("43020319500302123");
    let wife = id_for("43020319520710122");
    let t = table(&[
        vec![
            "枫林社区",
            "1栋",
            "1",
            "101",
            "张建国",
            "男",
            "1950.3.2",
            &head,
            "户主",
        ],
        vec![
            "枫林社区",
            "1栋",
            "1",
            "101",
            "李秀英",
            "",
            "",
            &wife,
            "配偶",
        ],
        vec![
            "枫林社区",
            "1栋",
            "1单元",
            "２０２",
            "王 五",
            "男",
            "1990年1月2日",
            "",
            "",
        ],
    ]);
    let p = plan(&t, &HashSet::new());
    assert_eq!(codes(&p), vec![]);
    assert_eq!(p.header_row, Some(2));
    assert_eq!((p.rows_total, p.rows_valid), (3, 3));
    assert_eq!(p.households.len(), 2);
    let family = &p.households[0];
    assert_eq!(family.rows, vec![3, 4]);
    assert!(family.valid);
    let h = &family.household;
    assert_eq!((h.address.floor, h.address.room.as_str()), (1, "101"));
    assert_eq!(h.head().map(|p| p.name.as_str()), Some("张建国"));
    let wife_person = h.members.values().find(|p| p.name == "李秀英").unwrap();
    // Sex and birth date come from the ID number.
    assert_eq!(wife_person.sex, Sex::Female);
    assert_eq!(wife_person.birth_date.as_deref(), Some("1952-07-10"));
    let lone = &p.households[1].household;
    assert_eq!((lone.address.unit.as_str(), lone.address.floor), ("1", 2));
    assert_eq!(
        lone.head().map(|p| (p.name.as_str(), &p.relation)),
        Some(("王五", &Relation::Head))
    );
    assert_eq!(p.preview[0].cells[7], crate::privacy::mask_id_number(&head));
    // The plan is JSON for the console, and back.
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<ImportPlan>(&json).unwrap(), p);
}

#[test]
fn heads_are_counted_per_household() {
    let t = table(&[
        vec!["枫林社区", "1栋", "1", "301", "甲", "男", "", "", "配偶"],
        vec!["枫林社区", "1栋", "1", "301", "乙", "女", "", "", "子女"],
        vec!["枫林社区", "1栋", "1", "302", "丙", "男", "", "", "户主"],
        vec!["枫林社区", "1栋", "1", "302", "丁", "女", "", "", "户主"],
        vec!["枫林社区", "1栋", "1", "303", "戊", "女", "", "", "户主"],
    ]);
    let p = plan(&t, &HashSet::new());
    let relation = "I".to_string();
    assert_eq!(
        codes(&p),
        vec![
            (3, relation.clone(), ProblemCode::NoHead),
            (4, relation.clone(), ProblemCode::NoHead),
            (5, relation.clone(), ProblemCode::TwoHeads),
            (6, relation, ProblemCode::TwoHeads),
        ]
    );
    assert_eq!(
        p.households.iter().map(|h| h.valid).collect::<Vec<_>>(),
        [false, false, true]
    );
    assert_eq!(p.rows_valid, 1);
}

#[test]
fn a_bad_row_holds_back_its_household() {
    let good = id_for("43020319500302123");
    let t = table(&[
        vec!["枫林社区", "1栋", "2", "501", "甲", "男", "", &good, "户主"],
        vec![
            "枫林社区",
            "1栋",
            "2",
            "501",
            "乙",
            "女",
            "1950.13.2",
            "",
            "配偶",
        ],
    ]);
    let p = plan(&t, &HashSet::new());
    assert_eq!(codes(&p), vec![(4, "G".into(), ProblemCode::BadDate)]);
    assert_eq!(p.households.len(), 1);
    assert!(!p.households[0].valid);
    assert_eq!(p.households[0].household.address.floor, 5);
    assert_eq!(p.rows_valid, 0);
}

#[test]
fn duplicates_in_file_and_district() {
    let a = id_for("43020319500302123");
    let b = id_for("43020319600302123");
    let t = table(&[
        vec!["枫林社区", "1栋", "1", "101", "甲", "", "", &a, "户主"],
        vec!["枫林社区", "1栋", "1", "102", "乙", "", "", &a, "户主"],
        vec![
            "枫林社区",
            "1栋",
            "1",
            "103",
            "丙",
            "",
            "",
            &b.to_lowercase(),
            "户主",
        ],
    ]);
    let existing: HashSet<String> = [b.clone()].into_iter().collect();
    let p = plan(&t, &existing);
    assert_eq!(
        codes(&p),
        vec![
            (3, "H".into(), ProblemCode::DuplicateInFile),
            (4, "H".into(), ProblemCode::DuplicateInFile),
            (5, "H".into(), ProblemCode::DuplicateInDistrict),
        ]
    );
    assert!(p.problems[0].message_zh.contains("第4行"));
    assert!(p.problems[1].message_en.contains("row 3"));
    assert!(!p.problems[0].value.contains(&a[6..14]), "masked");
    assert_eq!(id_numbers_in(&t, None), vec![a, b]);
}

#[test]
fn building_and_community_problems() {
    let t = table(&[
        vec!["枫林社区", "999栋", "1", "101", "甲", "男", "", "", ""],
        vec!["光明社区", "1栋", "1", "101", "乙", "男", "", "", ""],
        vec!["", "1栋", "1", "101", "丙", "男", "", "", ""],
        vec!["", "", "1", "101", "丁", "男", "", "", ""],
    ]);
    let p = plan(&t, &HashSet::new());
    assert_eq!(
        codes(&p),
        vec![
            (3, "B".into(), ProblemCode::UnknownBuilding),
            (4, "A".into(), ProblemCode::UnknownCommunity),
            (5, "B".into(), ProblemCode::AmbiguousBuilding),
            (6, "B".into(), ProblemCode::MissingRequired),
        ]
    );
    assert!(p.problems[0].message_zh.contains("999栋"));
}

#[test]
fn missing_columns_and_no_header() {
    let t = Table {
        sheet: String::new(),
        rows: vec![vec![
            Cell::Text("姓名".into()),
            Cell::Text("身份证号".into()),
        ]],
    };
    let p = plan(&t, &HashSet::new());
    let missing: Vec<_> = p.problems.iter().map(|p| (p.code, p.field)).collect();
    assert_eq!(
        missing,
        vec![
            (ProblemCode::MissingColumn, Some(LedgerColumn::Building)),
            (ProblemCode::MissingColumn, Some(LedgerColumn::Unit)),
            (ProblemCode::MissingColumn, Some(LedgerColumn::Room)),
        ]
    );
    let p = plan(&Table::default(), &HashSet::new());
    assert_eq!(
        codes(&p),
        vec![(0, String::new(), ProblemCode::NoHeaderRow)]
    );
}

#[test]
fn households_by_household_id() {
    // Two households share a room (a tenant family and the owner's): the ids keep them apart.
    let hid = "01890a5d-ac96-774b-bcce-b302099a8057";
    let mut t = table(&[]);
    t.rows[1].push(Cell::Text("户编号".into()));
    let row = |name: &str, relation: &str, household: &str| {
        let mut r: Vec<Cell> = ["枫林社区", "1栋", "1", "101", name, "男", "", "", relation]
            .iter()
            .map(|s| Cell::Text(s.to_string()))
            .collect();
        r.push(Cell::Text(household.into()));
        r
    };
    t.rows.push(row("甲", "户主", hid));
    t.rows.push(row("乙", "子女", hid));
    t.rows.push(row("丙", "户主", "租户-7"));
    let p = plan(&t, &HashSet::new());
    assert_eq!(codes(&p), vec![]);
    assert_eq!(p.households.len(), 2);
    assert_eq!(p.households[0].household.id, hid);
    assert_eq!(p.households[0].household.members.len(), 2);
    // Not a UUID: it groups the rows, and the household gets a name-based id (v8), the
    // same on every import of the ledger, so a re-import finds the household again.
    assert_eq!(p.households[1].rows, vec![5]);
    assert_eq!(
        Uuid::parse_str(&p.households[1].household.id).map(|u| u.get_version_num()),
        Ok(8)
    );
    let again = plan(&t, &HashSet::new());
    assert_eq!(
        again.households[1].household.id,
        p.households[1].household.id
    );
}

proptest::proptest! {
    #[test]
    fn any_cells_give_a_plan(cells in proptest::collection::vec(
        proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just(Cell::Empty),
                "\\PC{0,20}".prop_map(Cell::Text),
                proptest::sample::select(HEADER.to_vec()).prop_map(|s| Cell::Text(s.into())),
                proptest::num::f64::ANY.prop_map(Cell::Number),
                proptest::num::f64::ANY.prop_map(Cell::DateTime),
                proptest::bool::ANY.prop_map(Cell::Bool),
            ],
            0..12,
        ),
        0..8,
    )) {
        let t = Table { sheet: String::new(), rows: cells };
        let p = plan(&t, &HashSet::new());
        proptest::prop_assert!(p.rows_valid <= p.rows_total);
        let _ = id_numbers_in(&t, None);
    }
}

#[test]
fn id_disagreeing_with_sex_and_relation_left_empty() {
    let male = id_for("43020319500302123");
    let t = table(&[
        vec!["枫林社区", "1栋", "1", "401", "甲", "女", "", &male, "户主"],
        vec!["枫林社区", "1栋", "1", "402", "乙", "男", "", "", "户主"],
        vec!["枫林社区", "1栋", "1", "402", "丙", "男", "", "", ""],
        vec!["枫林社区", "1栋", "1", "403", "丁", "", "", "", "户主"],
        vec!["枫林社区", "1栋", "1", "404", "戊", "男", "", "", "表哥"],
    ]);
    let p = plan(&t, &HashSet::new());
    assert_eq!(
        codes(&p),
        vec![
            (3, "H".into(), ProblemCode::IdSexMismatch),
            (5, "I".into(), ProblemCode::MissingRequired),
            (6, "F".into(), ProblemCode::MissingRequired),
            (7, "I".into(), ProblemCode::BadValue),
        ]
    );
    assert!(p.problems[3].message_zh.contains("户主、配偶"));
    assert_eq!(p.problems[3].value, "表哥");
}

#[test]
fn the_admins_mapping_and_an_estate_column() {
    let tree = demo_tree();
    let building = tree
        .buildings
        .first()
        .map(|b| b.name.clone())
        .unwrap_or_default();
    let community = tree
        .communities
        .first()
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let cells = |v: &[&str]| {
        v.iter()
            .map(|s| Cell::Text(s.to_string()))
            .collect::<Vec<_>>()
    };
    let t = Table {
        sheet: String::new(),
        rows: vec![
            cells(&["社区", "小区", "楼", "单元", "房号", "名", "性别"]),
            cells(&[&community, "阳光花园", &building, "1", "101", "甲", "男"]),
        ],
    };
    let mapping: ColumnMapping = [
        (2, Some(LedgerColumn::Building)),
        (5, Some(LedgerColumn::Name)),
    ]
    .into_iter()
    .collect();
    let existing = HashSet::new();
    let ctx = ImportContext {
        tree,
        existing_id_numbers: &existing,
        today: today(),
        now_ms: 0,
        mapping: Some(&mapping),
    };
    let p = plan_import(&t, &ctx);
    assert_eq!(codes(&p), vec![]);
    assert_eq!(p.columns[1].column, Some(LedgerColumn::Estate));
    assert_eq!(p.columns[2].column, Some(LedgerColumn::Building));
    assert_eq!(p.households.len(), 1);
    assert_eq!(p.households[0].household.address.building_name, building);
    assert_eq!(p.households[0].household.address.floor, 1);
}

#[test]
fn one_household_id_at_two_addresses() {
    let hid = "01890a5d-ac96-774b-bcce-b302099a8057";
    let mut t = table(&[
        vec!["枫林社区", "1栋", "1", "101", "甲", "男", "", "", "户主"],
        vec!["枫林社区", "1栋", "1", "102", "乙", "女", "", "", "配偶"],
    ]);
    t.rows[1].push(Cell::Text("户编号".into()));
    for row in &mut t.rows[2..] {
        row.push(Cell::Text(hid.into()));
    }
    let p = plan(&t, &HashSet::new());
    assert_eq!(
        codes(&p),
        vec![(4, "D".into(), ProblemCode::HouseholdMismatch)]
    );
    assert!(p.problems[0].message_zh.contains("第3行"));
    assert_eq!(p.households.len(), 1);
    assert!(!p.households[0].valid);
}
