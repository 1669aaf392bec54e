//! Finding the header row and deciding which column holds what.

use super::{ColumnInfo, ColumnMapping};
use crate::ledger::cell::{column_letter, Cell, Table};
use crate::ledger::columns::LedgerColumn;
use std::collections::BTreeMap;

/// How far down a title block may push the header: ledgers have a title, a unit name and
/// a date above it, never pages of them.
const HEADER_SEARCH_ROWS: usize = 30;

/// How many different ledger columns a row's cells name.
fn fields_named(row: &[Cell]) -> usize {
    let mut fields: Vec<LedgerColumn> = row
        .iter()
        .filter_map(|c| LedgerColumn::recognise(&c.display()))
        .collect();
    fields.sort();
    fields.dedup();
    fields.len()
}

/// The 0-based index of the first row whose cells name at least two different ledger
/// columns (a merged title repeats one text across the row: that is one).
pub fn find_header_row(table: &Table) -> Option<usize> {
    (table.rows.iter().take(HEADER_SEARCH_ROWS)).position(|row| fields_named(row) >= 2)
}

/// Which column index holds each ledger column, and every column's description.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    pub by_field: BTreeMap<LedgerColumn, usize>,
    pub infos: Vec<ColumnInfo>,
    /// Later columns naming a field an earlier column already holds (ignored).
    pub repeated: Vec<usize>,
    /// The first row of the header: the header row itself, or the group row above it
    /// when the header spans two rows (0-based).
    pub first_header_row: usize,
}

impl Columns {
    pub fn index(&self, field: LedgerColumn) -> Option<usize> {
        self.by_field.get(&field).copied()
    }

    pub fn info(&self, index: usize) -> Option<&ColumnInfo> {
        self.infos.get(index)
    }
}

/// The header row (0-based; the lower row of a two-row header) and the columns:
/// recognised headers, where the admin's `mapping` (column index → field, or `None` to
/// ignore the column) overrides them. With a mapping and no recognisable header, the first
/// non-blank row is taken as the header.
///
/// Two header rows: when the row below the first header row names two columns too, the
/// upper one is a group row (基本信息 | 联系方式 | 居住情况, merged across its columns) and
/// each column's header is the lower cell, or the upper one where the lower is empty (a
/// header merged down both rows, saved as CSV).
pub fn map_columns(table: &Table, mapping: Option<&ColumnMapping>) -> Option<(usize, Columns)> {
    let first_header_row = find_header_row(table).or_else(|| {
        mapping.and_then(|_| {
            (table.rows.iter().take(HEADER_SEARCH_ROWS))
                .position(|row| row.iter().any(|c| !c.is_blank()))
        })
    })?;
    let upper = table.rows.get(first_header_row)?;
    let two_rows = table
        .rows
        .get(first_header_row + 1)
        .is_some_and(|row| fields_named(row) >= 2);
    let header_row = first_header_row + usize::from(two_rows);
    let header: Vec<Cell> = if two_rows {
        let lower = table.rows.get(header_row)?;
        let width = upper.len().max(lower.len());
        (0..width)
            .map(|i| match lower.get(i) {
                Some(c) if !c.is_blank() => c.clone(),
                _ => upper.get(i).cloned().unwrap_or(Cell::Empty),
            })
            .collect()
    } else {
        upper.clone()
    };
    // Columns past the widest row are empty everywhere; a mapping naming one is ignored.
    let width = table.rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut columns = Columns {
        first_header_row,
        ..Columns::default()
    };
    for index in 0..width {
        let text = header
            .get(index)
            .map(|c| c.display().trim().to_string())
            .unwrap_or_default();
        let recognised = match mapping.and_then(|m| m.get(&index)) {
            Some(chosen) => *chosen,
            None => LedgerColumn::recognise(&text),
        };
        let column = match recognised {
            Some(field) if columns.by_field.contains_key(&field) => {
                columns.repeated.push(index);
                None
            }
            Some(field) => {
                columns.by_field.insert(field, index);
                Some(field)
            }
            None => None,
        };
        columns.infos.push(ColumnInfo {
            index,
            letter: column_letter(index),
            header: text,
            column,
        });
    }
    Some((header_row, columns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::cell::Cell;

    fn text_row(cells: &[&str]) -> Vec<Cell> {
        cells.iter().map(|s| Cell::Text(s.to_string())).collect()
    }

    #[test]
    fn header_below_a_title_row() {
        let table = Table {
            sheet: "Sheet1".into(),
            rows: vec![
                text_row(&["幸福社区居民台账（2024年）"]),
                vec![],
                text_row(&["序号", "姓名", "身份证号码", "籍贯", "手机", "电话"]),
                text_row(&["1", "张三", "x", "湖南", "138", ""]),
            ],
        };
        assert_eq!(find_header_row(&table), Some(2));
        let (row, cols) = map_columns(&table, None).unwrap();
        assert_eq!(row, 2);
        assert_eq!(cols.index(LedgerColumn::Name), Some(1));
        assert_eq!(cols.index(LedgerColumn::IdNumber), Some(2));
        assert_eq!(cols.index(LedgerColumn::Phone), Some(4));
        // 序号 and 籍贯 are unknown; the second phone column is a repeat.
        assert_eq!(cols.infos[0].column, None);
        assert_eq!(cols.infos[3].column, None);
        assert_eq!(cols.repeated, vec![5]);
        assert_eq!(cols.infos[4].letter, "E");
    }

    #[test]
    fn two_header_rows_under_a_group_row() {
        let table = Table {
            sheet: String::new(),
            rows: vec![
                text_row(&["台账"; 6]),
                // 联系方式 and 居住情况 are words for columns too: the group row looks
                // like a header until the row below it is seen.
                text_row(&[
                    "序号",
                    "姓名",
                    "基本信息",
                    "联系方式",
                    "居住情况",
                    "居住情况",
                ]),
                text_row(&["", "", "身份证号", "联系电话", "楼栋", "房号"]),
                text_row(&["1", "张三", "x", "138", "1栋", "101"]),
            ],
        };
        let (row, cols) = map_columns(&table, None).unwrap();
        assert_eq!((row, cols.first_header_row), (2, 1));
        assert_eq!(cols.index(LedgerColumn::Name), Some(1));
        assert_eq!(cols.index(LedgerColumn::IdNumber), Some(2));
        assert_eq!(cols.index(LedgerColumn::Phone), Some(3));
        assert_eq!(cols.index(LedgerColumn::Building), Some(4));
        assert_eq!(cols.index(LedgerColumn::Room), Some(5));
        assert_eq!(cols.index(LedgerColumn::HousingUse), None);
        // One title text merged across the row names one column at most.
        let title = Table {
            sheet: String::new(),
            rows: vec![text_row(&["居住情况"; 5]), text_row(&["姓名", "楼栋"])],
        };
        assert_eq!(find_header_row(&title), Some(1));
    }

    #[test]
    fn one_recognised_cell_is_not_a_header() {
        let table = Table {
            sheet: String::new(),
            rows: vec![text_row(&["姓名", "abc"]), text_row(&["x", "y"])],
        };
        assert_eq!(find_header_row(&table), None);
        assert!(map_columns(&table, None).is_none());
    }

    #[test]
    fn the_admins_mapping_wins() {
        let table = Table {
            sheet: String::new(),
            rows: vec![
                text_row(&["姓名", "身份证号", "证件"]),
                text_row(&["a", "b", "c"]),
            ],
        };
        let mapping: ColumnMapping = [(1, None), (2, Some(LedgerColumn::IdNumber))]
            .into_iter()
            .collect();
        let (_, cols) = map_columns(&table, Some(&mapping)).unwrap();
        assert_eq!(cols.index(LedgerColumn::IdNumber), Some(2));
        assert_eq!(cols.infos[1].column, None);
        // Without recognisable headers the mapping alone decides.
        let table = Table {
            sheet: String::new(),
            rows: vec![vec![], text_row(&["名", "号"]), text_row(&["a", "b"])],
        };
        let mapping: ColumnMapping = [(0, Some(LedgerColumn::Name))].into_iter().collect();
        let (row, cols) = map_columns(&table, Some(&mapping)).unwrap();
        assert_eq!((row, cols.index(LedgerColumn::Name)), (1, Some(0)));
    }
}
