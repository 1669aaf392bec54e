//! Validation of documents and of single fields, with errors that name the field path and
//! the reason in plain words. Nothing invalid is written: callers validate the value an
//! edit would produce before committing it.

mod documents;
mod id_number;
mod key_persons;
mod lengths;
mod phone;
mod photos;
mod shape;

pub use documents::{validate_household, validate_issue, validate_visit};
pub use id_number::{check_id_number, id_check_char, IdNumberInfo};
pub use key_persons::{check_no_restricted_tags, validate_key_persons};
pub use lengths::{MAX_DESCRIPTION, MAX_ENTRIES, MAX_ID, MAX_NAME, MAX_NOTE, MAX_SHORT};
pub use phone::{check_phone, PhoneKind};
#[cfg(test)]
pub(crate) use photos::tests::photo as photo_fixture;
pub use shape::check_known_fields;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use ErrorCode::*;

/// Why a field is wrong: a stable code the UI can translate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    Required,
    BadLength,
    BadChars,
    BadCheckDigit,
    BadDate,
    BirthDateMismatch,
    SexMismatch,
    BadPhone,
    BadEnum,
    BadCode,
    OutOfRange,
    UnknownTag,
    NotFound,
    Duplicate,
    /// An id differs from the map key it is stored under.
    KeyMismatch,
    /// Restricted data (key-person tags) where it may not be kept.
    Restricted,
    /// A key the document's schema does not have.
    UnknownField,
}

/// One wrong field: where (`members.<id>.id_number`), what kind of wrong, and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub path: String,
    pub code: ErrorCode,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every wrong field of a value; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "invalid: {}", parts.join("; "))
    }
}

/// The number written by a run of ASCII digits (other characters are skipped).
fn digits_value(chars: &[char]) -> u32 {
    chars
        .iter()
        .filter_map(|c| c.to_digit(10))
        .fold(0, |n, d| n * 10 + d)
}

/// Checks an ISO calendar date, exactly `YYYY-MM-DD` (no trimming, no other formats).
pub fn check_date(path: &str, s: &str) -> Result<NaiveDate, FieldError> {
    let chars: Vec<char> = s.chars().collect();
    let shape_ok = chars.len() == 10
        && (chars.iter().enumerate()).all(|(i, c)| match i {
            4 | 7 => *c == '-',
            _ => c.is_ascii_digit(),
        });
    let part = |from: usize, to: usize| digits_value(chars.get(from..to).unwrap_or_default());
    let msg = if chars.is_empty() {
        return Err(FieldError::new(
            path,
            Required,
            "日期不能为空 / date is required",
        ));
    } else if !shape_ok {
        "日期格式应为YYYY-MM-DD / date must be written YYYY-MM-DD"
    } else {
        "日期不存在 / date does not exist"
    };
    (shape_ok
        .then(|| NaiveDate::from_ymd_opt(part(0, 4) as i32, part(5, 7), part(8, 10)))
        .flatten())
    .ok_or_else(|| FieldError::new(path, BadDate, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shared with the tests of the submodules.
    pub(super) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }
    pub(super) fn today() -> NaiveDate {
        day(2024, 6, 1)
    }
    pub(super) fn id_for(body: &str) -> String {
        format!("{body}{}", id_check_char(body).unwrap())
    }

    #[test]
    fn validate_iso_dates() {
        assert_eq!(check_date("d", "2024-02-29"), Ok(day(2024, 2, 29)));
        let bad = "2023-02-29 2024-13-01 2024-00-10 2024-2-29 2024/02/29 20240229 2024-02-290 \
                   ２０２４-02-29 2024-02-2９ 29-02-2024";
        for s in bad.split(' ').chain([" 2024-02-29"]) {
            assert_eq!(check_date("d", s).unwrap_err().code, BadDate, "{s}");
        }
        assert_eq!(check_date("d", "").unwrap_err().code, Required);
    }

    proptest::proptest! {
        #[test]
        fn validate_never_panics(s in "\\PC{0,24}") {
            let _ = check_id_number("x", &s, today());
            let _ = check_phone("x", &s);
            let _ = check_date("x", &s);
        }
    }
}
