//! Which rows are persons: ledgers laid out for printing carry titles, group headers,
//! totals, footers and numbered empty lines between the people. Those rows are skipped
//! and listed with the reason, never counted and never errors. And what a member row
//! leaves empty that the row above says (a CSV saved from merged address cells).

use super::header::Columns;
use super::normalize::clean_text;
use super::person_row::ParsedRow;
use super::{words, HeldBack, PlannedHousehold};
use crate::ledger::cell::{Cell, Table};
use crate::ledger::columns::LedgerColumn as C;
use crate::model::Relation;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;

/// Why a row is not a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    Blank,
    /// Above the header: the title, 填报单位 / 填报日期, a unit line; below it, a section
    /// heading merged across the row.
    Title,
    /// A header row: a group row above the header, or the header repeated on a new page.
    Header,
    /// 合计 / 小计 / 总计.
    Total,
    /// 填表人 / 审核人 / 制表 / 注 at the bottom.
    Footer,
    /// Only a 序号.
    NumberOnly,
    /// Neither name, sex, birth date, ID number nor relation: an empty flat or a note.
    NoPerson,
}

impl SkipReason {
    pub fn zh(self) -> &'static str {
        match self {
            SkipReason::Blank => "空行",
            SkipReason::Title => "标题、填报信息或分段标题",
            SkipReason::Header => "表头行",
            SkipReason::Total => "合计行",
            SkipReason::Footer => "表尾（填表人、审核人等）",
            SkipReason::NumberOnly => "只有序号",
            SkipReason::NoPerson => {
                "没有人员信息（姓名、性别、出生日期、身份证号、与户主关系均为空）"
            }
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            SkipReason::Blank => "blank row",
            SkipReason::Title => "title, filing details or a section heading",
            SkipReason::Header => "header row",
            SkipReason::Total => "total row",
            SkipReason::Footer => "footer (filled in by, checked by …)",
            SkipReason::NumberOnly => "only a row number",
            SkipReason::NoPerson => {
                "no person on the row (name, sex, birth date, ID number and relation are empty)"
            }
        }
    }
}

/// A row that is not a person, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRow {
    /// The sheet, when the file has several; "" otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sheet: String,
    /// Spreadsheet row number (1-based).
    pub row: usize,
    pub reason: SkipReason,
    pub message_zh: String,
    pub message_en: String,
    /// The row's first words, long digit runs masked (a footer may give a phone).
    pub text: String,
}

const TOTAL_WORDS: &[&str] = &["合计", "小计", "总计", "共计", "总数"];
const FOOTER_WORDS: &[&str] = &[
    "填表人",
    "填报人",
    "审核人",
    "审批人",
    "复核人",
    "制表",
    "统计人",
    "负责人",
    "填表日期",
    "填报日期",
    "填报单位",
    "联系电话:",
    "联系电话：",
    "注:",
    "注：",
    "说明:",
    "说明：",
    "备注:",
    "备注：",
];
/// The fields that make a row a person's.
const PERSON_FIELDS: [C; 5] = [C::Name, C::Sex, C::BirthDate, C::IdNumber, C::Relation];

/// The first two filled cells' texts, spaces dropped: 合计 may follow a 序号.
fn first_texts(row: &[Cell]) -> Vec<String> {
    row.iter()
        .filter(|c| !c.is_blank())
        .take(2)
        .map(|c| clean_text(&c.display()).replace(' ', ""))
        .collect()
}

/// The first words of a row, runs of six digits or more shown by their last four only.
fn excerpt(row: &[Cell]) -> String {
    let mut seen = Vec::new();
    for c in row.iter().filter(|c| !c.is_blank()) {
        let t = clean_text(&c.display());
        if !seen.contains(&t) {
            seen.push(t);
        }
    }
    let joined: String = seen.join(" ").chars().take(40).collect();
    let (mut out, mut run) = (String::new(), String::new());
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 6 {
            out.push_str(&"*".repeat(run.len() - 4));
            out.push_str(&run[run.len() - 4..]);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for ch in joined.chars() {
        if ch.is_ascii_digit() {
            run.push(ch);
        } else {
            flush(&mut run, &mut out);
            out.push(ch);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn recognised_headers(row: &[Cell]) -> usize {
    row.iter()
        .filter(|c| crate::ledger::LedgerColumn::recognise(&c.display()).is_some())
        .count()
}

/// Why the 0-based `row` below the header is not a person, or `None` when it is one.
fn skip_reason(table: &Table, row: usize, columns: &Columns) -> Option<SkipReason> {
    let cells = table.rows.get(row).map_or(&[][..], Vec::as_slice);
    if cells.iter().all(Cell::is_blank) {
        return Some(SkipReason::Blank);
    }
    let first = first_texts(cells);
    let starts = |words: &[&str]| first.iter().any(|t| words.iter().any(|w| t.starts_with(w)));
    if starts(TOTAL_WORDS) {
        return Some(SkipReason::Total);
    }
    if starts(FOOTER_WORDS) {
        return Some(SkipReason::Footer);
    }
    // Both checks below look at every cell: only rows whose name cell is a header word
    // or repeats the first cell can be a header or a heading, so others skip them.
    let name = columns.index(C::Name).map(|i| table.cell(row, i));
    let first_cell = cells.iter().find(|c| !c.is_blank());
    let header_word =
        name.is_none_or(|c| crate::ledger::LedgerColumn::recognise(&c.display()).is_some());
    if header_word && recognised_headers(cells) >= 2 {
        return Some(SkipReason::Header);
    }
    // A section heading merged across the row ("一、阳光小区1栋"): one text everywhere.
    if name.is_some_and(|n| Some(n) == first_cell) {
        let mut filled = cells.iter().filter(|c| !c.is_blank());
        if cells.iter().filter(|c| !c.is_blank()).count() >= 3
            && filled.all(|c| Some(c) == first_cell)
        {
            return Some(SkipReason::Title);
        }
    }
    let has_person = PERSON_FIELDS.iter().any(|f| {
        columns
            .index(*f)
            .is_some_and(|i| !table.cell(row, i).is_blank())
    });
    if has_person {
        return None;
    }
    let filled: Vec<&Cell> = cells.iter().filter(|c| !c.is_blank()).collect();
    let number = |c: &&Cell| {
        matches!(c, Cell::Number(_))
            || clean_text(&c.display())
                .chars()
                .all(|ch| ch.is_ascii_digit() || ch == '.')
    };
    if filled.len() == 1 && filled.iter().all(number) {
        return Some(SkipReason::NumberOnly);
    }
    Some(SkipReason::NoPerson)
}

/// The person rows (0-based) of a sheet, and every other row from the top with why it
/// was skipped; the header row itself is neither.
pub fn classify(
    table: &Table,
    header_row: usize,
    columns: &Columns,
) -> (Vec<usize>, Vec<SkippedRow>) {
    let first_header_row = columns.first_header_row.min(header_row);
    let mut persons = Vec::new();
    let mut skipped = Vec::new();
    for row in 0..table.rows.len() {
        let cells = table.rows.get(row).map_or(&[][..], Vec::as_slice);
        let reason = if row < first_header_row {
            if cells.iter().all(Cell::is_blank) {
                Some(SkipReason::Blank)
            } else if recognised_headers(cells) > 0 {
                Some(SkipReason::Header)
            } else {
                Some(SkipReason::Title)
            }
        } else if row <= header_row {
            // The header itself is not listed; the upper row of a two-row header is.
            (row < header_row).then_some(SkipReason::Header)
        } else {
            skip_reason(table, row, columns)
        };
        match reason {
            None if row > header_row => persons.push(row),
            None => {}
            Some(reason) => skipped.push(SkippedRow {
                sheet: String::new(),
                row: row + 1,
                reason,
                message_zh: format!("第{}行不是人员：{}，已跳过", row + 1, reason.zh()),
                message_en: format!("Row {} is not a person ({}): skipped", row + 1, reason.en()),
                text: excerpt(cells),
            }),
        }
    }
    (persons, skipped)
}

/// Address and household columns a member row takes from the row above.
const CARRIED: [C; 12] = [
    C::Community,
    C::Grid,
    C::Estate,
    C::Building,
    C::Unit,
    C::Floor,
    C::Room,
    C::FullAddress,
    C::HouseholdId,
    C::HouseholdType,
    C::HousingUse,
    C::HouseholdPhone,
];

/// The address part of [`CARRIED`]: a row that has any of these keeps its own address.
const ADDRESS: [C; 4] = [C::Building, C::Unit, C::Room, C::FullAddress];

/// The rule for a sheet whose merged address cells were saved empty (CSV): a person row
/// directly below another person row, whose relation is given and is not 户主/本人, and
/// whose building, unit, room and full address are all empty, takes those and the other
/// household columns it leaves empty ([`CARRIED`]) from the row above (after that row took
/// its own). Anything else keeps what it says, so a missing address is still reported.
pub fn carry_down<'t>(table: &'t Table, persons: &[usize], columns: &Columns) -> Cow<'t, Table> {
    let carried: Vec<(C, usize)> = CARRIED
        .iter()
        .filter_map(|f| columns.index(*f).map(|i| (*f, i)))
        .collect();
    let address: Vec<usize> = ADDRESS.iter().filter_map(|f| columns.index(*f)).collect();
    let Some(relation) = columns.index(C::Relation) else {
        return Cow::Borrowed(table);
    };
    if address.is_empty() {
        return Cow::Borrowed(table);
    }
    let mut out = Cow::Borrowed(table);
    for pair in persons.windows(2) {
        let [above, row] = [pair[0], pair[1]];
        if row != above + 1 {
            continue;
        }
        let rel = out.cell(row, relation);
        let member =
            !rel.is_blank() && words::relation(&clean_text(&rel.display())) != Ok(Relation::Head);
        let no_address = address.iter().all(|&i| out.cell(row, i).is_blank());
        if !(member && no_address) {
            continue;
        }
        let table = out.to_mut();
        for &(_, i) in &carried {
            let value = table.cell(above, i).clone();
            if value.is_blank() || !table.cell(row, i).is_blank() {
                continue;
            }
            if let Some(cells) = table.rows.get_mut(row) {
                if cells.len() <= i {
                    cells.resize(i + 1, Cell::Empty);
                }
                cells[i] = value;
            }
        }
    }
    out
}

/// What [`hold_back`] needs of a parsed row: (row, is a head, address unreadable).
pub fn shapes(rows: &[ParsedRow]) -> Vec<(usize, bool, bool)> {
    rows.iter()
        .map(|r| {
            (
                r.row,
                r.relation == Some(Relation::Head),
                r.address.is_none(),
            )
        })
        .collect()
}

/// A household is imported whole or not at all. Rows follow their head in a ledger: a
/// member row right below its household whose address could not be read (so it is in no
/// household) holds that household back with it. Returns every held-back household with
/// all its rows; rows in no household at all are listed by their block.
pub fn hold_back(
    shapes: &[(usize, bool, bool)],
    planned: &mut [PlannedHousehold],
) -> Vec<HeldBack> {
    let household_of: HashMap<usize, usize> = (planned.iter().enumerate())
        .flat_map(|(i, h)| h.rows.iter().map(move |r| (*r, i)))
        .collect();
    let mut blocks: Vec<Vec<(usize, bool)>> = Vec::new();
    let mut previous: Option<usize> = None;
    for &(row, head, no_address) in shapes {
        let continues = previous.is_some_and(|p| p + 1 == row) && !head;
        match blocks.last_mut() {
            Some(block) if continues => block.push((row, no_address)),
            _ => blocks.push(vec![(row, no_address)]),
        }
        previous = Some(row);
    }
    let mut extra: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut lone: Vec<HeldBack> = Vec::new();
    for block in blocks {
        let orphans: Vec<usize> = (block.iter())
            .filter(|(r, _)| !household_of.contains_key(r))
            .map(|(r, _)| *r)
            .collect();
        if orphans.is_empty() {
            continue;
        }
        let mut households: Vec<usize> = (block.iter())
            .filter_map(|(r, _)| household_of.get(r).copied())
            .collect();
        households.dedup();
        if households.is_empty() {
            lone.push(HeldBack {
                sheet: String::new(),
                rows: orphans,
            });
            continue;
        }
        for h in households {
            if let Some(planned) = planned.get_mut(h) {
                planned.valid = false;
            }
            extra.entry(h).or_default().extend(&orphans);
        }
    }
    let mut held: Vec<HeldBack> = (planned.iter().enumerate())
        .filter(|(_, h)| !h.valid)
        .map(|(i, h)| {
            let mut rows = h.rows.clone();
            rows.extend(extra.get(&i).into_iter().flatten());
            rows.sort_unstable();
            rows.dedup();
            HeldBack {
                sheet: String::new(),
                rows,
            }
        })
        .chain(lone)
        .collect();
    held.sort_by_key(|h| h.rows.first().copied());
    held
}

#[cfg(test)]
mod tests {
    use super::super::header::map_columns;
    use super::*;

    fn row(cells: &[&str]) -> Vec<Cell> {
        cells
            .iter()
            .map(|s| {
                if s.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(s.to_string())
                }
            })
            .collect()
    }

    fn table() -> Table {
        Table {
            sheet: "台账".into(),
            rows: vec![
                row(&["幸福社区实有人口台账（2024年）"; 6]),
                row(&[
                    "填报单位：幸福社区居委会",
                    "",
                    "",
                    "",
                    "填报日期：2024-06-01",
                    "",
                ]),
                row(&[
                    "",
                    "基本信息",
                    "基本信息",
                    "基本信息",
                    "居住地址",
                    "居住地址",
                ]),
                row(&["序号", "姓名", "与户主关系", "身份证号", "楼栋", "房号"]),
                row(&["1", "张三", "户主", "x", "1栋", "101"]),
                row(&["2", "李四", "妻", "x", "", ""]),
                row(&["3", "张五", "", "x", "", ""]),
                row(&[]),
                row(&["4", "", "", "", "", ""]),
                row(&["5", "", "", "", "1栋", "102"]),
                row(&["序号", "姓名", "与户主关系", "身份证号", "楼栋", "房号"]),
                row(&["6", "王六", "本人", "x", "", ""]),
                row(&["7", "王七", "子", "x", "", ""]),
                row(&["8", "合计", "7人", "", "", ""]),
                row(&["二、2栋"; 6]),
                row(&[
                    "填表人：赵八",
                    "",
                    "审核人：钱九",
                    "",
                    "联系电话：13812345678",
                    "",
                ]),
            ],
        }
    }

    #[test]
    fn not_persons_are_skipped_with_their_reason() {
        let t = table();
        let (header, columns) = map_columns(&t, None).unwrap();
        assert_eq!(header, 3);
        let (persons, skipped) = classify(&t, header, &columns);
        assert_eq!(persons, vec![4, 5, 6, 11, 12]);
        let reasons: Vec<(usize, SkipReason)> = skipped.iter().map(|s| (s.row, s.reason)).collect();
        use SkipReason as S;
        assert_eq!(
            reasons,
            vec![
                (1, S::Title),
                (2, S::Title),
                (3, S::Header),
                (8, S::Blank),
                (9, S::NumberOnly),
                (10, S::NoPerson),
                (11, S::Header),
                (14, S::Total),
                (15, S::Title),
                (16, S::Footer),
            ]
        );
        let footer = skipped.last().unwrap();
        assert!(footer.text.contains("*******5678"), "{}", footer.text);
        assert!(!footer.text.contains("13812345678"));
    }

    #[test]
    fn members_take_the_address_from_the_row_above() {
        let t = table();
        let (header, columns) = map_columns(&t, None).unwrap();
        let (persons, _) = classify(&t, header, &columns);
        let carried = carry_down(&t, &persons, &columns);
        let address = |r: usize| (carried.cell(r, 4).display(), carried.cell(r, 5).display());
        // The wife follows her head; the row without a relation and the 本人 after the
        // repeated header keep their empty address (reported, not guessed).
        assert_eq!(address(5), ("1栋".into(), "101".into()));
        assert_eq!(address(6), (String::new(), String::new()));
        assert_eq!(address(11), (String::new(), String::new()));
        assert_eq!(address(12), (String::new(), String::new()));
        assert!(matches!(carried, Cow::Owned(_)));
        // Nothing to carry: the table is not copied.
        let none = carry_down(&t, &[4], &columns);
        assert!(matches!(none, Cow::Borrowed(_)));
    }
}
