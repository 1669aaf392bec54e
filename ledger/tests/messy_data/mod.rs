//! The messy ledger fixture as data, and the writer of its XLSX and GBK CSV.

mod rows;

use gridwalk_core::validate::id_check_char;
pub use rows::ledger;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/messy")
        .join(name)
}

/// An 18-character ID number: area, birth date, sequence and sex digit, check character.
pub fn id(birth: &str, seq: u32, male: bool) -> String {
    let sex = if male { 1 } else { 2 };
    let body = format!("430203{birth}{seq:02}{sex}");
    let check = id_check_char(&body).expect("17 digits");
    format!("{body}{check}")
}

/// A sequence whose ID number ends in X, written with a lowercase x.
pub fn id_with_x(birth: &str, male: bool) -> String {
    (10..99)
        .map(|seq| id(birth, seq, male))
        .find(|i| i.ends_with('X'))
        .expect("some sequence ends in X")
        .to_lowercase()
}

pub fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' | 'A'..='Z' => char::from_u32(c as u32 + 0xfee0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Already in the district (row 18).
pub fn in_district() -> String {
    id("19800808", 15, true)
}

/// One cell as the generator writes it.
#[derive(Clone)]
pub enum V {
    T(String),
    /// A number cell (Excel shows it as the CSV text given).
    N(f64, &'static str),
    /// A date cell (serial) and how the Chinese Excel writes it to CSV.
    D(f64, &'static str),
}

pub fn t(s: &str) -> V {
    V::T(s.to_string())
}

pub const HEADER_GROUPS: [(&str, u16, u16); 4] = [
    ("居住地址", 1, 5),
    ("基本信息", 6, 11),
    ("居住情况", 12, 14),
    // 序号 (A) and 备注 (P) are merged down both header rows.
    ("", 0, 0),
];
pub const HEADER: [&str; 16] = [
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
pub struct Row {
    pub row: u32,
    pub cells: Vec<V>,
    pub merge_down: u32,
}

pub fn person(row: u32, n: u32, address: [&str; 5], merge_down: u32, fields: [V; 10]) -> Row {
    let mut cells = vec![V::N(n as f64, "")];
    cells.extend(address.iter().map(|s| t(s)));
    cells.extend(fields);
    Row {
        row,
        cells,
        merge_down,
    }
}

pub fn e() -> V {
    t("")
}

/// Rows after the people: 24 小计, 25 blank, 26 合计 (merged), 27 footer (merged), 28 制表.
pub const TAIL: [(u32, &str); 4] = [
    (24, "小计：18人"),
    (26, "合计：18人（8户）"),
    (
        27,
        "填表人：王芳    审核人：李强    联系电话：0731-22917473",
    ),
    (28, "制表：枫林社区居委会"),
];
pub const TITLE: &str = "枫林社区实有人口信息台账（2025年）";

pub fn csv_text(v: &V) -> String {
    match v {
        V::T(s) => s.clone(),
        V::N(_, shown) | V::D(_, shown) => shown.to_string(),
    }
}

/// Sheet 1 as Excel saves it to CSV: every row 16 fields, quoted when needed, CRLF.
pub fn csv_rows() -> Vec<Vec<String>> {
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

pub fn regenerate() {
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
