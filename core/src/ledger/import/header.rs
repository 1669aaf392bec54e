//! Finding the header row and deciding which column holds what.

use super::{ColumnInfo, ColumnMapping};
use crate::ledger::cell::{column_letter, Table};
use crate::ledger::columns::LedgerColumn;
use std::collections::BTreeMap;

/// How far down a title block may push the header: ledgers have a title, a unit name and
/// a date above it, never pages of them.
const HEADER_SEARCH_ROWS: usize = 30;

/// The 0-based index of the first row where at least two cells name a ledger column.
pub fn find_header_row(table: &Table) -> Option<usize> {
    table.rows.iter().take(HEADER_SEARCH_ROWS).position(|row| {
        row.iter()
            .filter(|c| LedgerColumn::recognise(&c.display()).is_some())
            .count()
            >= 2
    })
}

/// Which column index holds each ledger column, and every column's description.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    pub by_field: BTreeMap<LedgerColumn, usize>,
    pub infos: Vec<ColumnInfo>,
    /// Later columns naming a field an earlier column already holds (ignored).
    pub repeated: Vec<usize>,
}

impl Columns {
    pub fn index(&self, field: LedgerColumn) -> Option<usize> {
        self.by_field.get(&field).copied()
    }

    pub fn info(&self, index: usize) -> Option<&ColumnInfo> {
        self.infos.get(index)
    }
}

/// The header row (0-based) and the columns: recognised headers, where the admin's
/// `mapping` (column index → field, or `None` to ignore the column) overrides them. With a
/// mapping and no recognisable header, the first non-blank row is taken as the header.
pub fn map_columns(table: &Table, mapping: Option<&ColumnMapping>) -> Option<(usize, Columns)> {
    let header_row = find_header_row(table).or_else(|| {
        mapping.and_then(|_| {
            (table.rows.iter().take(HEADER_SEARCH_ROWS))
                .position(|row| row.iter().any(|c| !c.is_blank()))
        })
    })?;
    let header = table.rows.get(header_row)?;
    // Columns past the widest row are empty everywhere; a mapping naming one is ignored.
    let width = table.rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut columns = Columns::default();
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
