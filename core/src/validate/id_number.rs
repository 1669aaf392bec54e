//! Resident ID numbers (GB 11643): check character, length, characters and birth date.

use super::{digits_value, ErrorCode::*, FieldError};
use crate::model::Sex;
use chrono::NaiveDate;

/// Weights of the 17 body digits in the GB 11643 (ISO 7064 MOD 11-2) check.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of the weighted sum mod 11.
const ID_CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// What an 18-character resident ID number says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumberInfo {
    pub birth_date: NaiveDate,
    pub sex: Sex,
    /// The first 6 digits: the administrative area where the number was issued.
    pub area_code: String,
}

/// The GB 11643 check character of a 17-digit body, or `None` if `body` is not 17 ASCII digits.
pub fn id_check_char(body: &str) -> Option<char> {
    if body.chars().count() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in body.chars().zip(ID_WEIGHTS) {
        sum += c.to_digit(10)? * w;
    }
    ID_CHECK_CHARS.get((sum % 11) as usize).copied()
}

/// Checks an 18-character resident ID number (GB 11643): length, characters, check digit,
/// and the embedded birth date (a real date, not after `today`). The value is checked as
/// given (no trimming); a lowercase `x` check character is accepted.
pub fn check_id_number(path: &str, s: &str, today: NaiveDate) -> Result<IdNumberInfo, FieldError> {
    let err = |code, msg: &str| Err(FieldError::new(path, code, msg));
    let chars: Vec<char> = s.chars().collect();
    match chars.len() {
        0 => return err(Required, "身份证号不能为空 / ID number is required"),
        18 => {}
        n => {
            return err(
                BadLength,
                &format!(
                    "身份证号应为18位，实际为{n}位 / ID number must be 18 characters, got {n}"
                ),
            )
        }
    }
    let (body, last) = chars.split_at(17);
    let last = last.first().map_or(' ', char::to_ascii_uppercase);
    if !body.iter().all(char::is_ascii_digit) || !(last.is_ascii_digit() || last == 'X') {
        return err(
            BadChars,
            "身份证号应为17位数字加一位数字或X / ID number must be 17 digits then a digit or X",
        );
    }
    if id_check_char(&body.iter().collect::<String>()) != Some(last) {
        return err(
            BadCheckDigit,
            "身份证号校验位错误 / ID number check digit is wrong",
        );
    }
    let part = |from: usize, to: usize| digits_value(body.get(from..to).unwrap_or_default());
    let Some(birth_date) = NaiveDate::from_ymd_opt(part(6, 10) as i32, part(10, 12), part(12, 14))
    else {
        return err(
            BadDate,
            "身份证号中的出生日期不存在 / the birth date in the ID number does not exist",
        );
    };
    if birth_date > today {
        return err(
            BadDate,
            "身份证号中的出生日期晚于今天 / the birth date in the ID number is in the future",
        );
    }
    let sex = if part(16, 17) % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    };
    let area_code = body.iter().take(6).collect();
    Ok(IdNumberInfo {
        birth_date,
        sex,
        area_code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::{day, id_for, today};

    #[test]
    fn validate_id_known_valid_examples() {
        assert_eq!(id_check_char("11010519491231002"), Some('X'));
        for s in ["11010519491231002X", "11010519491231002x"] {
            let info = check_id_number("id", s, today()).unwrap();
            assert_eq!(
                (info.birth_date, info.sex),
                (day(1949, 12, 31), Sex::Female)
            );
            assert_eq!(info.area_code, "110105");
        }
        let info = check_id_number("id", "440524188001010014", today()).unwrap();
        assert_eq!((info.birth_date, info.sex), (day(1880, 1, 1), Sex::Male));
        assert_eq!(info.area_code, "440524");
    }

    #[test]
    fn validate_id_computed_check_digits() {
        for (body, date, sex) in [
            ("32010219900307123", day(1990, 3, 7), Sex::Male),
            ("44030520000229008", day(2000, 2, 29), Sex::Female),
            ("51010720240601999", day(2024, 6, 1), Sex::Male),
        ] {
            let info = check_id_number("id", &id_for(body), today()).unwrap();
            assert_eq!((info.birth_date, info.sex), (date, sex), "{body}");
        }
    }

    #[test]
    fn validate_id_errors() {
        let cases = [
            (String::new(), Required),
            ("1101051949123100".into(), BadLength),
            ("11010519491231002XX".into(), BadLength),
            ("１１０１０５１９４９１２３１００２X".into(), BadChars),
            ("11010519491231002Y".into(), BadChars),
            ("1101051949123100X2".into(), BadChars),
            ("110105194912310021".into(), BadCheckDigit),
            ("11010519491231003X".into(), BadCheckDigit),
            (id_for("11010519490230001"), BadDate),
            (id_for("11010520240602001"), BadDate),
        ];
        for (s, code) in cases {
            let e = check_id_number("members.p1.id_number", &s, today()).unwrap_err();
            assert_eq!(
                (e.path.as_str(), e.code),
                ("members.p1.id_number", code),
                "{s}"
            );
        }
        let e = check_id_number("x", "11010519491231002X", day(1949, 12, 30)).unwrap_err();
        assert_eq!(e.code, BadDate);
        let e = check_id_number("x", "110105194912310021", today()).unwrap_err();
        assert_eq!(
            e.message,
            "身份证号校验位错误 / ID number check digit is wrong"
        );
    }

    proptest::proptest! {
        #[test]
        fn validate_id_with_computed_check_digit(
            body in "[1-9][0-9]{5}(19[0-9]{2}|20[01][0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}"
        ) {
            let info = check_id_number("x", &id_for(&body), today()).unwrap();
            proptest::prop_assert_eq!(info.area_code, body.get(..6).unwrap());
        }
    }
}
