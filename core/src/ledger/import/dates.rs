//! Dates as ledgers write them: 1950-03-02, 1950.3.2, 1950/3/2, 1950年3月2日, 19500302,
//! or an Excel date serial (a number cell, or 5 digits of text in a CSV). A year and month
//! alone (1982.03, 1982-3, 198203, 1982年3月: a 出生年月 column) is told apart, so the
//! row can check it against the ID number without inventing a day.

use super::normalize::compact;
use crate::ledger::cell::Cell;
use chrono::{Days, NaiveDate};

/// Why a date cell could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateError {
    /// Not written in a shape we know.
    Unreadable,
    /// The shape is right but there is no such day (1950.13.2, 1900-02-29).
    NoSuchDay,
    /// Only a year and a month (1..=12).
    MonthOnly { year: i32, month: u32 },
}

/// The largest serial Excel accepts: 9999-12-31.
const MAX_EXCEL_SERIAL: f64 = 2_958_465.0;

/// A date from an Excel serial in the 1900 date system. Excel counts 1900-02-29, a day
/// that never was (serial 60), so serials before it are one day off from after it.
pub fn from_excel_serial(serial: f64) -> Result<NaiveDate, DateError> {
    if !serial.is_finite() || !(1.0..=MAX_EXCEL_SERIAL).contains(&serial) {
        return Err(DateError::Unreadable);
    }
    let days = serial.floor() as u64;
    let (epoch, days) = match days {
        60 => return Err(DateError::NoSuchDay),
        d if d < 60 => (NaiveDate::from_ymd_opt(1899, 12, 31), d),
        d => (NaiveDate::from_ymd_opt(1899, 12, 30), d),
    };
    epoch
        .and_then(|e| e.checked_add_days(Days::new(days)))
        .ok_or(DateError::Unreadable)
}

/// A date cell. Numbers are Excel serials, except 8-digit ones, which are 19500302 typed
/// into a number cell. Text may carry a time after the date ("1950-03-02 00:00:00").
pub fn parse_date_cell(cell: &Cell) -> Result<NaiveDate, DateError> {
    match cell {
        Cell::DateTime(n) => from_excel_serial(*n),
        Cell::Number(n) if (10_000_000.0..100_000_000.0).contains(n) && n.fract() == 0.0 => {
            parse_date_text(&format!("{}", *n as i64))
        }
        Cell::Number(n) => from_excel_serial(*n),
        Cell::Text(s) => parse_date_text(s),
        Cell::Empty | Cell::Bool(_) => Err(DateError::Unreadable),
    }
}

/// "1982.03", "1982-3", "1982/03", "198203", "1982年3月": `Some(Err(MonthOnly))`, or
/// `Some(Err(NoSuchDay))` for month 13; `None` when the text is not of that shape.
fn year_month(text: &str) -> Option<Result<NaiveDate, DateError>> {
    let text = text.strip_suffix('月').unwrap_or(text);
    let (y, m) = if text.len() == 6 && text.chars().all(|c| c.is_ascii_digit()) {
        (text.get(..4)?, text.get(4..)?)
    } else {
        let (y, m) = text.split_once(['-', '.', '/', '年'])?;
        (y, m)
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if y.len() != 4 || !(1..=2).contains(&m.len()) || !digits(y) || !digits(m) {
        return None;
    }
    let (year, month) = (y.parse::<i32>().ok()?, m.parse::<u32>().ok()?);
    Some(if (1..=12).contains(&month) {
        Err(DateError::MonthOnly { year, month })
    } else {
        Err(DateError::NoSuchDay)
    })
}

/// A date written as text, in any of the shapes above.
pub fn parse_date_text(s: &str) -> Result<NaiveDate, DateError> {
    let t = s.trim();
    // Drop a time part: "1950-03-02 00:00:00", "1950-03-02T00:00:00".
    let date_part = t
        .split(|c: char| c.is_whitespace() || c == 'T')
        .next()
        .unwrap_or_default();
    let text = compact(date_part);
    let text = text.strip_suffix('日').unwrap_or(&text);
    // A serial that was a number cell before the sheet was saved as CSV: 5 digits (1927 to
    // 2173), maybe with ".0"; 4 digits would be a year.
    let serial = text.strip_suffix(".0").unwrap_or(text);
    if serial.len() == 5 && serial.chars().all(|c| c.is_ascii_digit()) {
        return from_excel_serial(serial.parse::<f64>().unwrap_or(0.0));
    }
    if let Some(month_only) = year_month(text) {
        return month_only;
    }
    let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.chars().all(|c| c.is_ascii_digit());
    let (y, m, d) = if text.len() == 8 && text.chars().all(|c| c.is_ascii_digit()) {
        (&text[..4], &text[4..6], &text[6..])
    } else {
        // One kind of separator between year and month and between month and day, or the
        // 年/月 pair; mixing "-" and "/" is a typo more likely than a date.
        let seps: Vec<char> = text.chars().filter(|c| !c.is_ascii_digit()).collect();
        let seps_ok = matches!(
            seps.as_slice(),
            ['-', '-'] | ['.', '.'] | ['/', '/'] | ['年', '月']
        );
        let parts: Vec<&str> = text.split(['-', '.', '/', '年', '月']).collect();
        match parts.as_slice() {
            [y, m, d] if seps_ok && y.len() == 4 && m.len() <= 2 && d.len() <= 2 => (*y, *m, *d),
            _ => return Err(DateError::Unreadable),
        }
    };
    if !(digits(y) && digits(m) && digits(d)) {
        return Err(DateError::Unreadable);
    }
    let number = |s: &str| s.parse::<u32>().unwrap_or(0);
    NaiveDate::from_ymd_opt(number(y) as i32, number(m), number(d)).ok_or(DateError::NoSuchDay)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn date_shapes_ledgers_use() {
        let expected = Ok(day(1950, 3, 2));
        for s in [
            "1950-03-02",
            "1950-3-2",
            "1950.3.2",
            "1950/3/2",
            "1950年3月2日",
            "1950年03月02",
            "19500302",
            "１９５０．３．２",
            " 1950-03-02 00:00:00",
            "1950-03-02T00:00:00",
        ] {
            assert_eq!(parse_date_text(s), expected, "{s}");
        }
    }

    #[test]
    fn impossible_and_unreadable_dates() {
        for s in ["1950.13.2", "1950-02-30", "19500230", "1900年2月29日"] {
            assert_eq!(parse_date_text(s), Err(DateError::NoSuchDay), "{s}");
        }
        for s in [
            "",
            "1950",
            "50-3-2",
            "1950-3/2",
            "1950年3月2号",
            "abc",
            "1950..3.2",
        ] {
            assert_eq!(parse_date_text(s), Err(DateError::Unreadable), "{s}");
        }
    }

    #[test]
    fn month_only_and_serials_as_text() {
        let march = Err(DateError::MonthOnly {
            year: 1982,
            month: 3,
        });
        for s in [
            "1982.03",
            "1982.3",
            "1982-03",
            "1982/3",
            "198203",
            "1982年3月",
            "1982年03",
        ] {
            assert_eq!(parse_date_text(s), march, "{s}");
        }
        assert_eq!(parse_date_text("1982.13"), Err(DateError::NoSuchDay));
        // 24797 is 1967-11-21 as Excel counts; text in a CSV or a number cell alike.
        for s in ["24797", "24797.0", " 24797 "] {
            assert_eq!(parse_date_text(s), Ok(day(1967, 11, 21)), "{s}");
        }
        assert_eq!(
            parse_date_cell(&Cell::Number(24797.0)),
            Ok(day(1967, 11, 21))
        );
        assert_eq!(parse_date_text("1982"), Err(DateError::Unreadable));
    }

    #[test]
    fn excel_serials_with_the_1900_leap_bug() {
        assert_eq!(from_excel_serial(1.0), Ok(day(1900, 1, 1)));
        assert_eq!(from_excel_serial(59.0), Ok(day(1900, 2, 28)));
        assert_eq!(from_excel_serial(60.0), Err(DateError::NoSuchDay));
        assert_eq!(from_excel_serial(61.0), Ok(day(1900, 3, 1)));
        assert_eq!(from_excel_serial(18324.0), Ok(day(1950, 3, 2)));
        assert_eq!(from_excel_serial(45444.75), Ok(day(2024, 6, 1)));
        assert_eq!(from_excel_serial(2_958_465.0), Ok(day(9999, 12, 31)));
        for bad in [0.0, -1.0, 3e6, f64::NAN, f64::INFINITY] {
            assert_eq!(from_excel_serial(bad), Err(DateError::Unreadable));
        }
        assert_eq!(
            parse_date_cell(&Cell::DateTime(18324.0)),
            Ok(day(1950, 3, 2))
        );
        assert_eq!(parse_date_cell(&Cell::Number(18324.0)), Ok(day(1950, 3, 2)));
        assert_eq!(
            parse_date_cell(&Cell::Number(19500302.0)),
            Ok(day(1950, 3, 2))
        );
    }
}
