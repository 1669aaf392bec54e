//! Reading a ledger file into cells for the pure import (`gridwalk_core::ledger::import`).
//!
//! XLSX, XLSM, XLS and ODS through calamine (every sheet with anything in it, merged cells
//! applied: a merged range's value is on every cell it spans, as the eye reads it); CSV and
//! TXT in UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), or else
//! GBK/GB18030, which is what Excel on a Chinese Windows saves as "CSV".

use crate::{LedgerError, Result};
use calamine::{Data, Dimensions, Ods, Range, Reader, Xls, Xlsx};
use gridwalk_core::ledger::{Cell, Table};
use std::io::Cursor;

/// Larger files are refused: a district's ledger is a few MB, and the whole file is in
/// memory while it is read.
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;

fn unreadable(msg: impl Into<String>) -> LedgerError {
    LedgerError::Unreadable(msg.into())
}

/// Reads the first non-empty sheet of a ledger file (see [`read_tables`]).
pub fn read_table(bytes: &[u8], file_name: &str) -> Result<Table> {
    read_tables(bytes, file_name)?
        .into_iter()
        .next()
        .ok_or_else(|| unreadable("every sheet of the file is empty"))
}

/// Reads every non-empty sheet of a ledger file (a CSV is one sheet named ""); the
/// extension of `file_name` says how. Never panics.
pub fn read_tables(bytes: &[u8], file_name: &str) -> Result<Vec<Table>> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(unreadable(format!(
            "the file is {:.1} MB; files over 50 MB are not accepted: split the ledger into several files",
            bytes.len() as f64 / 1_048_576.0
        )));
    }
    if bytes.is_empty() {
        return Err(unreadable("the file is empty"));
    }
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    // calamine is large and reads untrusted bytes; a bug there must not take the server down.
    let read = || match extension.as_str() {
        "xlsx" | "xlsm" => {
            read_workbook::<Xlsx<_>>(bytes, "XLSX", zip_header(bytes), |book, name| {
                book.worksheet_merge_cells(name)
                    .and_then(std::result::Result::ok)
                    .unwrap_or_default()
            })
        }
        // calamine does not expose ODS merges.
        "ods" => read_workbook::<Ods<_>>(bytes, "ODS", zip_header(bytes), |_, _| Vec::new()),
        "xls" => read_workbook::<Xls<_>>(
            bytes,
            "XLS",
            bytes.starts_with(&OLE_HEADER),
            |book, name| book.worksheet_merge_cells(name).unwrap_or_default(),
        ),
        "csv" | "txt" => read_csv(bytes).map(|t| vec![t]),
        "" => Err(unreadable(format!(
            "\"{file_name}\" has no extension: save the ledger as .xlsx, .xls, .ods or .csv"
        ))),
        other => Err(unreadable(format!(
            "files of type .{other} cannot be read: save the ledger as .xlsx, .xls, .ods or .csv"
        ))),
    };
    std::panic::catch_unwind(read).unwrap_or_else(|_| {
        Err(unreadable(format!(
            "\"{file_name}\" could not be read: the file is damaged"
        )))
    })
}

const OLE_HEADER: [u8; 4] = [0xd0, 0xcf, 0x11, 0xe0];

fn zip_header(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

fn read_workbook<'b, R>(
    bytes: &'b [u8],
    kind: &str,
    header_ok: bool,
    merges: impl Fn(&mut R, &str) -> Vec<Dimensions>,
) -> Result<Vec<Table>>
where
    R: Reader<Cursor<&'b [u8]>>,
    R::Error: std::fmt::Display,
{
    if !header_ok {
        let what = if kind == "XLS" {
            "OLE header"
        } else {
            "zip header"
        };
        let hint = if zip_header(bytes) || bytes.starts_with(&OLE_HEADER) {
            " (it is a spreadsheet of another kind: check the file extension)"
        } else {
            ""
        };
        return Err(unreadable(format!(
            "not an {kind} file: {what} missing{hint}"
        )));
    }
    let mut workbook: R = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| unreadable(format!("not a readable {kind} file: {e}")))?;
    let mut tables = Vec::new();
    for name in workbook.sheet_names() {
        let range = workbook
            .worksheet_range(&name)
            .map_err(|e| unreadable(format!("{kind} sheet \"{name}\" cannot be read: {e}")))?;
        if range.used_cells().next().is_some() {
            let mut rows = rows_of(&range);
            apply_merges(&mut rows, &merges(&mut workbook, &name));
            tables.push(Table { rows, sheet: name });
        }
    }
    if tables.is_empty() {
        return Err(unreadable(format!(
            "every sheet of the {kind} file is empty"
        )));
    }
    Ok(tables)
}

/// A merged range's value (in its top-left cell) copied to every cell it spans: an
/// address merged down a household's rows belongs to each member. Ranges are clipped to
/// the used cells, so a merge over a whole column costs nothing.
fn apply_merges(rows: &mut [Vec<Cell>], merges: &[Dimensions]) {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    for m in merges {
        let (top, left) = (m.start.0 as usize, m.start.1 as usize);
        let value = match rows.get(top).and_then(|r| r.get(left)) {
            Some(v) if !v.is_blank() => v.clone(),
            _ => continue,
        };
        let bottom = (m.end.0 as usize).min(rows.len().saturating_sub(1));
        let right = (m.end.1 as usize).min(width.saturating_sub(1));
        for row in rows.iter_mut().take(bottom + 1).skip(top) {
            if row.len() <= right {
                row.resize(right + 1, Cell::Empty);
            }
            for cell in row.iter_mut().take(right + 1).skip(left) {
                if cell.is_blank() {
                    *cell = value.clone();
                }
            }
        }
    }
}

/// Rows from row 1 and column A, so indexes match what Excel shows even when the used
/// range starts lower or further right.
fn rows_of(range: &Range<Data>) -> Vec<Vec<Cell>> {
    let (first_row, first_column) = range.start().unwrap_or((0, 0));
    let mut rows: Vec<Vec<Cell>> = (0..first_row).map(|_| Vec::new()).collect();
    for row in range.rows() {
        let mut cells: Vec<Cell> = (0..first_column).map(|_| Cell::Empty).collect();
        cells.extend(row.iter().map(cell_of));
        rows.push(cells);
    }
    rows
}

fn cell_of(data: &Data) -> Cell {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Float(f) => Cell::Number(*f),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(d) => Cell::DateTime(d.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Text(e.to_string()),
    }
}

/// The text of a CSV: UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030 (a superset of GBK).
fn decode_text(bytes: &[u8]) -> Result<String> {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return std::str::from_utf8(rest).map(str::to_string).map_err(|e| {
            unreadable(format!(
                "the file starts as UTF-8 but byte {} is not UTF-8",
                e.valid_up_to() + 3
            ))
        });
    }
    for (bom, encoding) in [
        (&b"\xff\xfe"[..], encoding_rs::UTF_16LE),
        (&b"\xfe\xff"[..], encoding_rs::UTF_16BE),
    ] {
        if bytes.starts_with(bom) {
            let (text, had_errors) = encoding.decode_with_bom_removal(bytes);
            if had_errors {
                return Err(unreadable("the file is not valid UTF-16 text"));
            }
            return Ok(text.into_owned());
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_string());
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(unreadable(
            "the file is neither UTF-8 nor GBK text: save it from Excel as \"CSV UTF-8\"",
        ));
    }
    Ok(text.into_owned())
}

/// The separator used most in the first lines: comma, tab or semicolon (comma on a tie,
/// and when there is none: a one-column file).
fn delimiter(text: &str) -> u8 {
    let head: Vec<&str> = text.lines().take(10).collect();
    let count = |c: char| head.iter().map(|l| l.matches(c).count()).sum::<usize>();
    let (commas, tabs, semicolons) = (count(','), count('\t'), count(';'));
    if tabs > commas && tabs >= semicolons {
        b'\t'
    } else if semicolons > commas {
        b';'
    } else {
        b','
    }
}

/// Where a quoted field that never closes begins: (line, byte), both as the file counts.
fn unterminated_quote(text: &str, delimiter: u8) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let (mut line, mut at_field_start, mut i) = (1, true, 0);
    while i < bytes.len() {
        let b = bytes[i];
        if at_field_start && b == b'"' {
            let (open_line, open_byte) = (line, i);
            i += 1;
            loop {
                match bytes.get(i) {
                    None => return Some((open_line, open_byte)),
                    Some(b'"') if bytes.get(i + 1) == Some(&b'"') => i += 2,
                    Some(b'"') => break,
                    Some(b'\n') => {
                        line += 1;
                        i += 1;
                    }
                    Some(_) => i += 1,
                }
            }
            at_field_start = false;
        } else {
            if b == b'\n' {
                line += 1;
            }
            at_field_start = b == b'\n' || b == b'\r' || b == delimiter;
        }
        i += 1;
    }
    None
}

fn read_csv(bytes: &[u8]) -> Result<Table> {
    let text = decode_text(bytes)?;
    if text.trim().is_empty() {
        return Err(unreadable("the file is empty"));
    }
    let delimiter = delimiter(&text);
    if let Some((line, byte)) = unterminated_quote(&text, delimiter) {
        return Err(unreadable(format!(
            "CSV row {line} (byte {byte}): unterminated quote: a field opens with \" and is never closed"
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let at = e
                .position()
                .map(|p| format!("CSV row {} (byte {})", p.line(), p.byte()))
                .unwrap_or_else(|| "CSV".into());
            unreadable(format!("{at}: {e}"))
        })?;
        // A spreadsheet shows each record on one row, however many line breaks its cells
        // hold, and a blank line as an empty row. The csv reader skips blank lines: count
        // them between the end of the previous record and the start of this one.
        if let Some(p) = record.position() {
            let bytes = text.as_bytes();
            let from = usize::try_from(p.byte())
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let mut start = from;
            while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
                start += 1;
            }
            let breaks = bytes[from..start].iter().filter(|b| **b == b'\n').count();
            // Unless this is the first record, one of those breaks ends the previous one
            // (the reader may stop before or after it).
            let ended = from == 0 || bytes.get(from - 1) == Some(&b'\n');
            let blank = if rows.is_empty() || ended {
                breaks
            } else {
                breaks.saturating_sub(1)
            };
            rows.extend((0..blank).map(|_| Vec::new()));
        }
        rows.push(record.iter().map(|s| Cell::Text(s.to_string())).collect());
    }
    Ok(Table {
        sheet: String::new(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &Table) -> Vec<Vec<String>> {
        t.rows
            .iter()
            .map(|r| r.iter().map(Cell::display).collect())
            .collect()
    }

    #[test]
    fn csv_encodings_and_delimiters() {
        let utf8 = "姓名,身份证号\n张三,\"1,2\"\n";
        let want = vec![vec!["姓名", "身份证号"], vec!["张三", "1,2"]];
        assert_eq!(texts(&read_table(utf8.as_bytes(), "a.csv").unwrap()), want);
        let bom = [b"\xef\xbb\xbf".as_slice(), utf8.as_bytes()].concat();
        assert_eq!(texts(&read_table(&bom, "a.CSV").unwrap()), want);
        let (gbk, _, _) = encoding_rs::GBK.encode(utf8);
        assert!(std::str::from_utf8(&gbk).is_err());
        assert_eq!(texts(&read_table(&gbk, "a.csv").unwrap()), want);
        let tabs = "姓名\t身份证号\n张三\t1,2\n";
        assert_eq!(texts(&read_table(tabs.as_bytes(), "a.txt").unwrap()), want);
        let semis = "姓名;身份证号\n张三;x\n";
        assert_eq!(
            read_table(semis.as_bytes(), "a.csv").unwrap().rows[1].len(),
            2
        );
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend(tabs.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(texts(&read_table(&utf16, "a.txt").unwrap()), want);
    }

    #[test]
    fn blank_lines_keep_row_numbers() {
        let t = read_table("title\n\n姓名,性别\n\n张三,男\n".as_bytes(), "a.csv").unwrap();
        assert_eq!(t.rows.len(), 5);
        assert_eq!(t.rows[4][0], Cell::Text("张三".into()));
    }

    /// A record with line breaks inside a cell is one spreadsheet row, not several.
    #[test]
    fn rows_are_records_as_a_spreadsheet_shows_them() {
        for nl in ["\n", "\r\n"] {
            let csv = [
                "t",
                "",
                "姓名,备注",
                "张三,\"a",
                "b",
                "c\"",
                "",
                "",
                "李四,x",
                "王五,\"",
                "\"",
                "赵六,",
            ]
            .join(nl);
            let t = read_table(csv.as_bytes(), "a.csv").unwrap();
            let names: Vec<(usize, String)> = (t.rows.iter().enumerate())
                .filter(|(_, r)| !r.is_empty())
                .map(|(i, r)| (i + 1, r[0].display()))
                .collect();
            let want = [
                (1, "t"),
                (3, "姓名"),
                (4, "张三"),
                (7, "李四"),
                (8, "王五"),
                (9, "赵六"),
            ];
            let want: Vec<(usize, String)> =
                want.iter().map(|(i, s)| (*i, s.to_string())).collect();
            assert_eq!(names, want, "{nl:?}");
            assert_eq!(t.rows[3][1].display(), ["a", "b", "c"].join(nl));
        }
    }

    #[test]
    fn merged_cells_are_on_every_cell_they_span_and_every_sheet_is_read() {
        use rust_xlsxwriter::{Format, Workbook};
        let plain = Format::new();
        let mut book = Workbook::new();
        let sheet = book.add_worksheet().set_name("1栋").unwrap();
        sheet
            .merge_range(0, 0, 0, 3, "幸福社区台账", &plain)
            .unwrap();
        for (c, h) in ["楼栋", "房号", "姓名", "关系"].iter().enumerate() {
            sheet.write_string(1, c as u16, *h).unwrap();
        }
        sheet.merge_range(2, 0, 4, 0, "1栋", &plain).unwrap();
        sheet.merge_range(2, 1, 4, 1, "302", &plain).unwrap();
        for (r, (name, rel)) in [("张三", "户主"), ("李四", "妻"), ("张五", "子")]
            .iter()
            .enumerate()
        {
            sheet.write_string(2 + r as u32, 2, *name).unwrap();
            sheet.write_string(2 + r as u32, 3, *rel).unwrap();
        }
        book.add_worksheet().set_name("空").unwrap();
        let other = book.add_worksheet().set_name("流动").unwrap();
        other.write_string(0, 0, "姓名").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let tables = read_tables(&bytes, "a.xlsx").unwrap();
        let sheets: Vec<&str> = tables.iter().map(|t| t.sheet.as_str()).collect();
        assert_eq!(sheets, ["1栋", "流动"]);
        let t = &tables[0];
        assert_eq!(texts(t)[0], vec!["幸福社区台账"; 4]);
        for r in 2..=4 {
            assert_eq!(t.rows[r][0].display(), "1栋", "row {r}");
            assert_eq!(t.rows[r][1].display(), "302", "row {r}");
        }
        assert_eq!(t.rows[4][2].display(), "张五");
        assert_eq!(read_table(&bytes, "a.xlsx").unwrap().sheet, "1栋");
    }

    #[test]
    fn merges_are_clipped_to_the_used_cells() {
        let mut rows = vec![vec![Cell::Text("a".into()), Cell::Empty], vec![Cell::Empty]];
        let whole_column = Dimensions::new((0, 0), (1_048_575, 16_383));
        apply_merges(&mut rows, &[whole_column, Dimensions::new((5, 5), (9, 9))]);
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.len() == 2));
        assert!(rows.iter().flatten().all(|c| c.display() == "a"));
    }

    #[test]
    fn clear_errors() {
        let err = |bytes: &[u8], name: &str| read_table(bytes, name).unwrap_err().to_string();
        assert_eq!(err(b"", "a.csv"), "the file is empty");
        assert_eq!(
            err(b"a,b\n1,\"2\n3,4\n", "a.csv"),
            "CSV row 2 (byte 6): unterminated quote: a field opens with \" and is never closed"
        );
        assert_eq!(
            err(b"a,b", "a.xlsx"),
            "not an XLSX file: zip header missing"
        );
        assert!(err(b"PK\x03\x04garbage", "a.xlsx").starts_with("not a readable XLSX file"));
        assert!(err(b"a,b", "a.xls").starts_with("not an XLS file"));
        assert!(err(b"a,b", "a.pdf").contains(".pdf cannot be read"));
        assert!(err(b"a,b", "ledger").contains("no extension"));
        assert!(err(&[0xff, 0xff, 0x81], "a.csv").contains("neither UTF-8 nor GBK"));
        let huge = vec![b'a'; MAX_FILE_BYTES + 1];
        assert!(err(&huge, "a.csv").contains("over 50 MB"));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            for name in ["a.csv", "a.xlsx", "a.xls", "a.ods"] {
                let _ = read_table(&bytes, name);
                let zipped = [b"PK\x03\x04".as_slice(), &bytes].concat();
                let _ = read_table(&zipped, name);
            }
        }
    }
}
