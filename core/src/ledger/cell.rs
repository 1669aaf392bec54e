//! A spreadsheet as the import sees it: rows of cells, whatever file it came from.

use serde::{Deserialize, Serialize};

/// One cell as the file holds it. Readers do not interpret values: an ID number Excel
/// stored as a number stays a [`Cell::Number`] so the import can say what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// An Excel date serial (days since 1899-12-30, with Excel's 1900-02-29).
    DateTime(f64),
}

impl Cell {
    /// The cell as a spreadsheet would show it (numbers without a spurious `.0`).
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(n) | Cell::DateTime(n) => display_number(*n),
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        }
    }

    /// True for an empty cell or text that is only whitespace.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.chars().all(|c| c.is_whitespace() || is_invisible(c)),
            _ => false,
        }
    }
}

/// Characters that look like nothing: zero-width spaces and joiners, the BOM.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

/// Whole numbers as integers (`501`, not `501.0`); huge ones the way Excel shows them
/// (`4.30203E+17`) since only 15 digits of them are real.
fn display_number(n: f64) -> String {
    if !n.is_finite() {
        return n.to_string();
    }
    if n.fract() == 0.0 && n.abs() < 1e15 {
        return format!("{}", n as i64);
    }
    if n.abs() >= 1e15 {
        let s = format!("{n:.5E}");
        // "4.30203E17" → "4.30203E+17", as Excel writes it.
        return match s.split_once('E') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}E+{e}"),
            _ => s,
        };
    }
    n.to_string()
}

/// One sheet: every row as it is in the file, title rows and blank rows included, so
/// row numbers match what the admin sees in Excel (row `i` here is spreadsheet row `i + 1`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub sheet: String,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// The cell at (row, column), [`Cell::Empty`] past the end of a short row.
    pub fn cell(&self, row: usize, column: usize) -> &Cell {
        self.rows
            .get(row)
            .and_then(|r| r.get(column))
            .unwrap_or(&Cell::Empty)
    }
}

/// The spreadsheet letter of a 0-based column: 0 → A, 25 → Z, 26 → AA.
pub fn column_letter(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        let cases = [
            (0, "A"),
            (1, "B"),
            (25, "Z"),
            (26, "AA"),
            (27, "AB"),
            (701, "ZZ"),
            (702, "AAA"),
        ];
        for (i, s) in cases {
            assert_eq!(column_letter(i), s);
        }
    }

    #[test]
    fn numbers_display_as_excel_shows_them() {
        assert_eq!(Cell::Number(501.0).display(), "501");
        assert_eq!(Cell::Number(1.5).display(), "1.5");
        assert_eq!(Cell::Number(430203195003021234.0).display(), "4.30203E+17");
        assert_eq!(Cell::Bool(true).display(), "TRUE");
        assert!(Cell::Text(" \u{3000}\u{200b}".into()).is_blank());
    }
}
