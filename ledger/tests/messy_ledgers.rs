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
use gridwalk_core::validate::id_check_char;
use gridwalk_ledger::read::read_tables;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/messy")
        .join(name)
}

/// An 18-character ID number: area, birth date, sequence and sex digit, check character.
fn id(birth: &str, seq: u32, male: bool) -> String {
    let sex = if male { 1 } else { 2 };
    let body = format!("430203{birth}{seq:02}{sex}");
    let check = id_check_char(&body).expect("17 digits");
    format!("{body}{check}")
}

/// A sequence whose ID number ends in X, written with a lowercase x.
fn id_with_x(birth: &str, male: bool) -> String {
    (10..99)
        .map(|seq| id(birth, seq, male))
        .find(|i| i.ends_with('X'))
        .expect("some sequence ends in X")
        .to_lowercase()
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' | 'A'..='Z' => char::from_u32(c as u32 + 0xfee0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Already in the district (row 18).
fn in_district() -> String {
    id("19800808", 15, true)
}

/// One cell as the generator writes it.
#[derive(Clone)]
enum V {
    T(String),
    /// A number cell (Excel shows it as the CSV text given).
    N(f64, &'static str),
    /// A date cell (serial) and how the Chinese Excel writes it to CSV.
    D(f64, &'static str),
}

fn t(s: &str) -> V {
    V::T(s.to_string())
}

const HEADER_GROUPS: [(&str, u16, u16); 4] = [
    ("居住地址", 1, 5),
    ("基本信息", 6, 11),
    ("居住情况", 12, 14),
    // 序号 (A) and 备注 (P) are merged down both header rows.
    ("", 0, 0),
];
const HEADER: [&str; 16] = [
    "序号",
    "社区",
    "小区",
    "楼栋",
    "单元",
    "房号",
    "姓名",
    "性别",
    "出生日期",
    "身份证号码",
    "联系电话",
    "与户主关系",
    "人员类型",
    "居住状态",
    "特殊人群",
    "备注",
];

/// Sheet 1's data rows from row 5: (row, cells A..P); the address (B..F) is written on
/// the head's row and merged down `household` rows (0: not merged).
struct Row {
    row: u32,
    cells: Vec<V>,
    merge_down: u32,
}

fn person(row: u32, n: u32, address: [&str; 5], merge_down: u32, fields: [V; 10]) -> Row {
    let mut cells = vec![V::N(n as f64, "")];
    cells.extend(address.iter().map(|s| t(s)));
    cells.extend(fields);
    Row {
        row,
        cells,
        merge_down,
    }
}

fn e() -> V {
    t("")
}

fn ledger() -> Vec<Row> {
    let none = ["", "", "", "", ""];
    let fl = "枫林社区";
    vec![
        // H1: 1栋1单元101, merged over 4 rows.
        person(
            5,
            1,
            [fl, "阳光小区 ", "1栋", "1", "101"],
            4,
            [
                t("张建国"),
                t("男"),
                V::D(18324.0, "1950/3/2"),
                t(&id("19500302", 12, true)),
                t("138 1234 5678"),
                t("户主"),
                t("户籍"),
                t("自住"),
                t("高龄、独居老人"),
                e(),
            ],
        ),
        person(
            6,
            2,
            none,
            0,
            [
                t("李秀英"),
                t("女"),
                t("1952.7.10"),
                t(&id("19520710", 12, false)),
                t("无"),
                t("妻"),
                e(),
                e(),
                t("低保/残疾"),
                e(),
            ],
        ),
        person(
            7,
            3,
            none,
            0,
            [
                t("张伟"),
                t("男"),
                t("19780412"),
                t(&id_with_x("19780412", true)),
                t("暂无"),
                t("长子"),
                e(),
                e(),
                e(),
                e(),
            ],
        ),
        person(
            8,
            4,
            none,
            0,
            [
                t("王芳"),
                t("女"),
                t("1980年5月6日"),
                t(&id("19800506", 13, false)),
                t("176-3418-5351"),
                t("儿媳"),
                e(),
                e(),
                e(),
                e(),
            ],
        ),
        // H2: 2栋2单元 3-2 (floor 3, door 2), merged over 3 rows.
        person(
            9,
            5,
            [fl, "阳光小区", "2栋", "2单元", "3-2"],
            3,
            [
                t("赵大海"),
                t("男"),
                V::N(22136.0, "22136"),
                t("430203600808111"),
                t("0731-22917473"),
                t("户主"),
                t("人户分离"),
                t("出租"),
                e(),
                e(),
            ],
        ),
        person(
            10,
            6,
            none,
            0,
            [
                t("钱丽"),
                t("女"),
                t("1962.03"),
                t(&id("19620305", 12, false)),
                t("-"),
                t("配偶"),
                e(),
                e(),
                e(),
                e(),
            ],
        ),
        person(
            11,
            7,
            none,
            0,
            [
                t("赵小龙"),
                t("男"),
                e(),
                t(&full_width(&id("20120601", 12, true))),
                e(),
                t("子女"),
                e(),
                e(),
                t("留守儿童"),
                e(),
            ],
        ),
        // H3: 2栋2单元 3-1; the daughter's ID has a wrong check digit: held back whole.
        person(
            12,
            8,
            [fl, "阳光小区", "2栋", "2", "3-1"],
            2,
            [
                t("孙\u{a0}强"),
                t("男"),
                t("1970-01-01"),
                t(&spaced(&id("19700101", 13, true))),
                t("13812345678/13912345678"),
                t("户主"),
                e(),
                e(),
                e(),
                e(),
            ],
        ),
        person(
            13,
            9,
            none,
            0,
            [
                t("孙 丽"),
                t("女"),
                e(),
                t(&wrong_check(&id("19950101", 14, false))),
                e(),
                t("女"),
                e(),
                e(),
                e(),
                e(),
            ],
        ),
        // 14 blank, 15 only a 序号.
        Row {
            row: 15,
            cells: vec![V::N(10.0, "")],
            merge_down: 0,
        },
        // H4: 1栋2单元 0502; the second member's relation is not a relation.
        person(
            16,
            11,
            [fl, "阳光小区", "1栋", "2", "0502"],
            2,
            [
                t("周敏"),
                t("女"),
                e(),
                t(&id("19700303", 16, false)),
                t("—"),
                t("户主"),
                t("空挂"),
                t("借住"),
                e(),
                e(),
            ],
        ),
        person(
            17,
            12,
            none,
            0,
            [
                t("吴刚"),
                t("男"),
                e(),
                t(&id("19710404", 17, true)),
                e(),
                t("邻居"),
                e(),
                e(),
                e(),
                e(),
            ],
        ),
        // H5: 1栋2单元 602室; the head is already in the district, the father's birth
        // date disagrees with his ID number.
        person(
            18,
            13,
            [fl, "阳光小区", "1栋", "2", "602室"],
            2,
            [
                t("郑华"),
                t("男"),
                e(),
                t(&in_district()),
                e(),
                t("本人"),
                e(),
                e(),
                e(),
                e(),
            ],
        ),
        person(
            19,
            14,
            none,
            0,
            [
                t("冯伟"),
                t("男"),
                t("1955-01-01"),
                t(&id("19560101", 18, true)),
                e(),
                t("父亲"),
                e(),
                e(),
                e(),
                e(),
            ],
        ),
        // H6: one person, full-width building, 4楼1号, a phone stored as a number.
        person(
            20,
            15,
            [fl, "阳光小区", "２栋", "1", "4楼1号"],
            0,
            [
                t("陈晨"),
                t("女"),
                e(),
                t(&id("19400909", 19, false)),
                V::N(13512345678.0, "13512345678"),
                t("本人"),
                e(),
                e(),
                t("空巢；慢性病"),
                t("房东：程海\n电话另告"),
            ],
        ),
        // H7: 2栋1单元 4F-2, not merged: the member row leaves the address empty.
        person(
            21,
            16,
            [fl, "阳光小区", "2 栋", "1", "4F-2"],
            0,
            [
                t("褚英"),
                t("女"),
                t("24797"),
                t(&id("19671121", 20, false)),
                e(),
                t("户主"),
                e(),
                e(),
                e(),
                e(),
            ],
        ),
        person(
            22,
            17,
            none,
            0,
            [
                t("卫东"),
                t("男"),
                e(),
                t(&id("19400101", 21, true)),
                e(),
                t("公公"),
                e(),
                e(),
                e(),
                e(),
            ],
        ),
        // H8: the ID number was stored as a number: its last digits are lost.
        person(
            23,
            18,
            [fl, "阳光小区", "1栋", "1", "201"],
            0,
            [
                t("何平"),
                t("男"),
                e(),
                V::N(430203197001011311.0, "4.30203E+17"),
                e(),
                t("户主"),
                e(),
                e(),
                e(),
                e(),
            ],
        ),
    ]
}

fn spaced(id: &str) -> String {
    format!("{} {} {}", &id[..6], &id[6..14], &id[14..])
}

fn wrong_check(id: &str) -> String {
    let last = if id.ends_with('0') { '1' } else { '0' };
    format!("{}{last}", &id[..17])
}

/// Rows after the people: 24 小计, 25 blank, 26 合计 (merged), 27 footer (merged), 28 制表.
const TAIL: [(u32, &str); 4] = [
    (24, "小计：18人"),
    (26, "合计：18人（8户）"),
    (
        27,
        "填表人：王芳    审核人：李强    联系电话：0731-22917473",
    ),
    (28, "制表：枫林社区居委会"),
];
const TITLE: &str = "枫林社区实有人口信息台账（2025年）";

fn csv_text(v: &V) -> String {
    match v {
        V::T(s) => s.clone(),
        V::N(_, shown) | V::D(_, shown) => shown.to_string(),
    }
}

/// Sheet 1 as Excel saves it to CSV: every row 16 fields, quoted when needed, CRLF.
fn csv_rows() -> Vec<Vec<String>> {
    let mut rows: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let mut put = |r: u32, c: usize, s: String| {
        let row = rows.entry(r).or_insert_with(|| vec![String::new(); 16]);
        row[c] = s;
    };
    put(1, 0, TITLE.into());
    put(2, 0, "填报单位：枫林社区居委会".into());
    put(2, 8, "填报日期：2025年5月30日".into());
    for (text, from, _) in HEADER_GROUPS {
        if !text.is_empty() {
            put(3, from as usize, text.into());
        }
    }
    put(3, 0, "序号".into());
    put(3, 15, "备注".into());
    for (c, h) in HEADER.iter().enumerate().skip(1).take(14) {
        put(4, c, h.to_string());
    }
    for r in ledger() {
        for (c, v) in r.cells.iter().enumerate() {
            let text = match v {
                V::N(n, "") => format!("{n}"),
                v => csv_text(v),
            };
            put(r.row, c, text);
        }
    }
    for (r, text) in TAIL {
        put(r, 0, text.into());
    }
    let last = rows.keys().max().copied().unwrap_or(0);
    (1..=last)
        .map(|r| rows.remove(&r).unwrap_or_else(|| vec![String::new(); 16]))
        .collect()
}

#[test]
#[ignore = "regenerates committed fixtures"]
fn regenerate() {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let plain = Format::new();
    let date = Format::new().set_num_format("yyyy/m/d");
    let sheet = book.add_worksheet();
    sheet.set_name("台账").unwrap();
    sheet.merge_range(0, 0, 0, 15, TITLE, &plain).unwrap();
    sheet
        .merge_range(1, 0, 1, 7, "填报单位：枫林社区居委会", &plain)
        .unwrap();
    sheet
        .merge_range(1, 8, 1, 15, "填报日期：2025年5月30日", &plain)
        .unwrap();
    for (text, from, to) in HEADER_GROUPS {
        if !text.is_empty() {
            sheet.merge_range(2, from, 2, to, text, &plain).unwrap();
        }
    }
    sheet.merge_range(2, 0, 3, 0, "序号", &plain).unwrap();
    sheet.merge_range(2, 15, 3, 15, "备注", &plain).unwrap();
    for (c, h) in HEADER.iter().enumerate().skip(1).take(14) {
        sheet.write_string(3, c as u16, *h).unwrap();
    }
    for r in ledger() {
        let row = r.row - 1;
        for (c, v) in r.cells.iter().enumerate() {
            let c = c as u16;
            if (1..=5).contains(&c) && r.merge_down > 1 {
                if let V::T(s) = v {
                    sheet
                        .merge_range(row, c, row + r.merge_down - 1, c, s, &plain)
                        .unwrap();
                }
                continue;
            }
            match v {
                V::T(s) if s.is_empty() => {}
                V::T(s) => {
                    sheet.write_string(row, c, s).unwrap();
                }
                V::N(n, _) => {
                    sheet.write_number(row, c, *n).unwrap();
                }
                V::D(n, _) => {
                    sheet.write_number_with_format(row, c, *n, &date).unwrap();
                }
            }
        }
    }
    for (r, text) in TAIL {
        if r == 24 || r == 28 {
            sheet.write_string(r - 1, 0, text).unwrap();
        } else {
            sheet
                .merge_range(r - 1, 0, r - 1, 15, text, &plain)
                .unwrap();
        }
    }
    // Sheet 2: migrants, a plain header on row 1, the address merged over the household.
    let migrants = book.add_worksheet();
    migrants.set_name("流动人口").unwrap();
    let header = [
        "社区",
        "楼栋",
        "单元",
        "房号",
        "姓名",
        "性别",
        "身份证号",
        "关系",
        "人户状态",
        "标签",
    ];
    for (c, h) in header.iter().enumerate() {
        migrants.write_string(0, c as u16, *h).unwrap();
    }
    for (c, v) in ["枫林社区", "2栋", "1", "501"].iter().enumerate() {
        migrants
            .merge_range(1, c as u16, 2, c as u16, v, &plain)
            .unwrap();
    }
    let people = [
        [
            "林小雨",
            "女",
            &id("19960606", 22, false),
            "户主",
            "寄住",
            "孕产妇",
        ],
        ["林大山", "男", &id("19940404", 23, true), "夫", "寄住", ""],
    ];
    for (r, p) in people.iter().enumerate() {
        for (c, v) in p.iter().enumerate() {
            if !v.is_empty() {
                migrants
                    .write_string(1 + r as u32, 4 + c as u16, *v)
                    .unwrap();
            }
        }
    }
    book.save(fixture("ledger.xlsx")).unwrap();

    let quote = |s: &String| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.clone()
        }
    };
    let text: String = csv_rows()
        .iter()
        .map(|r| r.iter().map(quote).collect::<Vec<_>>().join(",") + "\r\n")
        .collect();
    // GBK has no NBSP: Windows writes the best fit, a space.
    let text = text.replace('\u{a0}', " ");
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    std::fs::write(fixture("ledger_gbk.csv"), gbk).unwrap();
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
