//! Phone numbers: mobiles and landlines.

use super::{ErrorCode::*, FieldError};
use serde::{Deserialize, Serialize};

/// Whether a phone number is a mobile or a landline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PhoneKind {
    Mobile,
    Landline,
}

fn is_mobile(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() == 11 && b.first() == Some(&b'1') && matches!(b.get(1), Some(b'3'..=b'9'))
}

/// Area code: `0` then 2–3 digits, not starting `00` (the international prefix).
fn is_area_code(p: &str) -> bool {
    let b = p.as_bytes();
    (3..=4).contains(&b.len()) && b.first() == Some(&b'0') && b.get(1) != Some(&b'0')
}

/// Subscriber number: 7–8 digits; never starts with 0 (trunk prefix) or 1 (services, mobiles).
fn is_subscriber(p: &str) -> bool {
    (7..=8).contains(&p.len()) && !matches!(p.as_bytes().first(), Some(b'0' | b'1'))
}

/// A landline without separators: a local number, or area code and number run together.
fn is_landline_body(p: &str) -> bool {
    is_subscriber(p)
        || (3..=4).any(|k| {
            matches!((p.get(..k), p.get(k..)), (Some(a), Some(n)) if is_area_code(a) && is_subscriber(n))
        })
}

/// Checks a phone number: an 11-digit mobile (`1[3-9]` + 9 digits) or a landline
/// (`0` + 2–3 digit area code, optional `-`, 7–8 digit number, optional `-` + 1–6 digit
/// extension; the area code may be left out). Surrounding whitespace is ignored.
pub fn check_phone(path: &str, s: &str) -> Result<PhoneKind, FieldError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(FieldError::new(
            path,
            Required,
            "电话号码不能为空 / phone number is required",
        ));
    }
    let bad = || {
        FieldError::new(
            path,
            BadPhone,
            "电话号码格式不正确，应为11位手机号或如010-12345678的固定电话 / \
             phone number is not valid: expected an 11-digit mobile or a landline such as 010-12345678",
        )
    };
    if !t.chars().all(|c| c.is_ascii_digit() || c == '-') {
        return Err(bad());
    }
    let parts: Vec<&str> = t.split('-').collect();
    let ext = |e: &str| (1..=6).contains(&e.len());
    match parts.as_slice() {
        [p] if is_mobile(p) => Ok(PhoneKind::Mobile),
        [p] if is_landline_body(p) => Ok(PhoneKind::Landline),
        [a, n] if is_area_code(a) && is_subscriber(n) => Ok(PhoneKind::Landline),
        [n, e] if is_landline_body(n) && ext(e) => Ok(PhoneKind::Landline),
        [a, n, e] if is_area_code(a) && is_subscriber(n) && ext(e) => Ok(PhoneKind::Landline),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_phone_numbers() {
        for s in "13812345678 19912345678 17000000000".split(' ') {
            assert_eq!(check_phone("phone", s), Ok(PhoneKind::Mobile), "{s}");
        }
        assert_eq!(
            check_phone("phone", " 13812345678\n"),
            Ok(PhoneKind::Mobile)
        );
        let landlines = "010-65012345 01065012345 0755-2345678 07552345678 021-62345678-123 \
                         0755-2345678-123456 01065012345-9 62345678 2345678 62345678-8";
        for s in landlines.split(' ') {
            assert_eq!(check_phone("phone", s), Ok(PhoneKind::Landline), "{s}");
        }
        let bad = "12812345678 1381234567 138123456789 138-1234-5678 1381234567a 010-650123 \
                   010-650123456 010-15012345 00-65012345 001-65012345 01-65012345 010-65012345- \
                   010--65012345 -65012345 62345678-1234567 123456 0012345678 12345678 \
                   010_65012345 １３８１２３４５６７８ +8613812345678 010-65012345-12-3";
        for s in bad.split(' ').chain(["010 65012345"]) {
            assert_eq!(check_phone("phone", s).unwrap_err().code, BadPhone, "{s}");
        }
        assert_eq!(check_phone("phone", "  ").unwrap_err().code, Required);
    }
}
