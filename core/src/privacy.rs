//! Masking of personal data for screens and exports: `**************1234`,
//! `138****5678`, birth year instead of birth date. One implementation for the worker's
//! app, the console, exports and import reports.
//!
//! Why only the last 4 of an ID number: its digits 7–14 ARE the birth date and the first 6
//! the place of registration (mostly the district's own code), so `430203********1234`
//! next to a birth date rebuilt every ID. With the last 4 and the birth year, the month and
//! day (~33 candidates after the check digit) and the area code stay unknown.

use serde_json::Value;

/// Keep only the last 4 characters of an ID number (`**************1234`). Serve
/// [`birth_year`] with it, never the full birth date.
pub fn mask_id_number(id: &str) -> String {
    keep_ends(id, 0, 4)
}

/// The year of a `YYYY-MM-DD` birth date (or of any date text starting with 4 digits):
/// what a masked view serves instead of the date, which would complete a masked ID.
pub fn birth_year(date: &str) -> Option<i32> {
    let t = date.trim();
    let y = t.get(..4)?;
    if !y.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    y.parse().ok()
}

/// A birth date as a masked view shows it: its year, or nothing.
pub fn mask_birth_date(date: &str) -> String {
    birth_year(date).map(|y| y.to_string()).unwrap_or_default()
}

/// Keep the first 3 and last 4 digits of a mobile number (`138****5678`); for other
/// numbers keep only the last 4.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() == 11 && chars.iter().all(char::is_ascii_digit) {
        keep_ends(phone, 3, 4)
    } else {
        keep_ends(phone, 0, 4)
    }
}

fn keep_ends(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    let n = chars.len();
    if n == 0 {
        return String::new();
    }
    if n <= head + tail {
        // Too short to show anything safely: keep at most the last 2.
        let keep = n.min(2).min(n.saturating_sub(1));
        let mut out: String = "*".repeat(n - keep);
        out.extend(&chars[n - keep..]);
        return out;
    }
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(n - head - tail));
    out.extend(&chars[n - tail..]);
    out
}

/// Mask a value written at `path` when its field is sensitive (a conflict's sides).
pub fn mask_for_path(path: &[String], value: &str) -> String {
    match path.last().map(String::as_str) {
        Some("id_number") => mask_id_number(value),
        Some("phone") => mask_phone(value),
        Some("birth_date") => mask_birth_date(value),
        Some("disability_cert") => mask_certificate(value),
        _ => mask_free_text(value),
    }
}

/// Mask a JSON tree for a masked view: every `id_number` and `phone` field, every
/// `birth_date` replaced by `birth_year`, and every other string as free text (notes,
/// findings, titles, event notes: phones and ID numbers inside them).
pub fn mask_json(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let mut year = None;
            for (k, val) in map.iter_mut() {
                match (k.as_str(), &*val) {
                    ("id_number", Value::String(s)) => *val = mask_id_number(s).into(),
                    ("phone", Value::String(s)) => *val = mask_phone(s).into(),
                    // A disability certificate number is the ID number and two digits.
                    ("disability_cert", Value::String(s)) => *val = mask_certificate(s).into(),
                    ("birth_date", Value::String(s)) => year = Some(birth_year(s)),
                    // Identifiers (UUIDs, grid ids, area codes) are not free text.
                    (k, Value::String(_)) if k == "id" || k.ends_with("_id") => {}
                    _ => mask_json(val),
                }
            }
            if let Some(year) = year {
                map.remove("birth_date");
                map.insert("birth_year".into(), year.into());
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask_json),
        Value::String(s) => *s = mask_free_text(s),
        _ => {}
    }
}

/// Mask the mobile numbers (11 digits starting with 13–19, also written `138-1234-5678` or
/// `138 1234 5678`) and ID numbers (17 digits and a digit or X) inside free text such as
/// notes ("房东：张三 13812345678"), the way [`mask_phone`] and [`mask_id_number`] do.
/// Other numbers (room numbers, dates, amounts) are left alone.
pub fn mask_free_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        // A number starts at a digit that does not continue a longer alphanumeric word.
        let starts_number =
            chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric());
        if !starts_number {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let end = number_end(&chars, i);
        let run = &chars[i..end];
        let symbols: Vec<usize> = (0..run.len())
            .filter(|&k| run[k].is_ascii_digit() || matches!(run[k], 'X' | 'x'))
            .collect();
        // Mainland mobiles are 1 followed by 3–9 (13x … 19x).
        let mobile = run.first() == Some(&'1')
            && symbols
                .get(1)
                .is_some_and(|&k| ('3'..='9').contains(&run[k]));
        let keep = match symbols.len() {
            11 if mobile => Some((3, 4)),
            18 => Some((0, 4)),
            _ => None,
        };
        match keep {
            Some((head, tail)) => {
                for (k, c) in run.iter().enumerate() {
                    match symbols.iter().position(|&s| s == k) {
                        Some(n) if n >= head && n < symbols.len() - tail => out.push('*'),
                        _ => out.push(*c),
                    }
                }
            }
            None => {
                // Not one number as a whole: keep its first group and look again after it
                // ("0731 13812345678" still masks the mobile).
                let first = run.iter().position(|c| matches!(c, '-' | ' '));
                if let Some(cut) = first {
                    out.extend(&run[..cut]);
                    i += cut;
                    continue;
                }
                out.extend(run);
            }
        }
        i = end;
    }
    out
}

/// End of the number starting at `start`: digits, single '-' or ' ' between digits, and
/// an X after the 17th digit (an ID number's check character).
fn number_end(chars: &[char], start: usize) -> usize {
    let mut end = start;
    let mut digits = 0;
    while end < chars.len() {
        let c = chars[end];
        if c.is_ascii_digit() {
            digits += 1;
            end += 1;
        } else if matches!(c, 'X' | 'x') && digits == 17 {
            end += 1;
            break;
        } else if matches!(c, '-' | ' ')
            && chars.get(end + 1).is_some_and(char::is_ascii_digit)
            && digits > 0
        {
            end += 1;
        } else {
            break;
        }
    }
    // A number directly followed by a letter or digit is part of a longer code: keep it.
    if chars.get(end).is_some_and(char::is_ascii_alphanumeric) {
        return chars[end..]
            .iter()
            .position(|c| !c.is_ascii_alphanumeric())
            .map_or(chars.len(), |p| end + p);
    }
    end
}

/// Put back the numbers a masked text hid, after the text was edited. A form shows a note
/// masked ([`mask_free_text`]); saving it as typed would store `138****5678` for good.
/// Every masked number of `original` still found in `edited` (unchanged, stars and all)
/// becomes the original number again; the rest of the edit is kept as typed.
pub fn unmask_free_text(edited: &str, original: &str) -> String {
    let plain: Vec<char> = original.chars().collect();
    let masked: Vec<char> = mask_free_text(original).chars().collect();
    if plain.len() != masked.len() {
        return edited.to_string();
    }
    let part_of_number = |k: usize| plain[k].is_ascii_digit() || matches!(plain[k], 'X' | 'x');
    let joins = |k: usize| {
        matches!(plain[k], '-' | ' ')
            && k > 0
            && k + 1 < plain.len()
            && part_of_number(k - 1)
            && part_of_number(k + 1)
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut k = 0;
    while k < plain.len() {
        if masked[k] != '*' || plain[k] == '*' {
            k += 1;
            continue;
        }
        // The whole number around this hidden digit.
        let mut start = k;
        while start > 0 && (part_of_number(start - 1) || joins(start - 1)) {
            start -= 1;
        }
        let mut end = k;
        while end < plain.len() && (part_of_number(end) || joins(end)) {
            end += 1;
        }
        let shown: String = masked[start..end].iter().collect();
        let full: String = plain[start..end].iter().collect();
        if !pairs.iter().any(|(m, _)| *m == shown) {
            pairs.push((shown, full));
        }
        k = end;
    }
    let mut out = edited.to_string();
    for (shown, full) in pairs {
        out = out.replace(&shown, &full);
    }
    out
}

/// Keep only the last 4 characters of a certificate number (disability certificate).
pub fn mask_certificate(number: &str) -> String {
    keep_ends(number, 0, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_phones_and_ids_inside_free_text() {
        assert_eq!(
            mask_free_text("房东：张三 13812345678，身份证43020319900101123X。"),
            "房东：张三 138****5678，身份证**************123X。"
        );
        assert_eq!(mask_free_text("电话138-1234-5678"), "电话138-****-5678");
        assert_eq!(
            mask_free_text("tel 138 1234 5678 ok"),
            "tel 138 **** 5678 ok"
        );
        assert_eq!(mask_free_text("430203199001011234"), "**************1234");
        // Room numbers, dates, amounts and other codes are kept.
        for kept in [
            "3栋2单元501，2024-05-01 补贴 1200 元",
            "座机 0731-88886666",
            "订单 A13812345678",
            "12345678901",
            "",
        ] {
            assert_eq!(mask_free_text(kept), kept);
        }
        assert_eq!(mask_free_text("0731 13812345678"), "0731 138****5678");
        assert!(!mask_free_text("子女电话：15912345678、13698765432").contains("1234"));
    }

    #[test]
    fn an_edited_masked_note_keeps_its_numbers() {
        let note = "房东 13812345678，身份证43020319900101123X，座机 0731-88886666";
        let shown = mask_free_text(note);
        assert_eq!(unmask_free_text(&shown, note), note);
        let edited = format!("{shown}。已回访");
        assert_eq!(unmask_free_text(&edited, note), format!("{note}。已回访"));
        // A number the worker retyped or removed is taken as typed.
        let retyped = shown.replace("138****5678", "13900001111");
        assert!(unmask_free_text(&retyped, note).contains("13900001111"));
        assert!(!unmask_free_text("清空", note).contains("1381234"));
        assert_eq!(unmask_free_text("新备注", ""), "新备注");
    }

    #[test]
    fn masks_like_the_brief() {
        assert_eq!(mask_id_number("430203199001011234"), "**************1234");
        assert_eq!(mask_id_number("43020319900101123X"), "**************123X");
        assert_eq!(mask_birth_date("1990-01-01"), "1990");
        assert_eq!(birth_year("19x0-01-01"), None);
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("0731-88886666"), "*********6666");
        assert_eq!(mask_phone("123"), "*23");
        assert_eq!(mask_phone(""), "");
        assert!(!mask_phone("12345").contains("123"));
    }

    #[test]
    fn masks_json_trees() {
        let mut v = serde_json::json!({"phone": "13812345678", "notes": "女儿 13912345678",
            "members": {"a": {"id_number": "43020319900101123X", "name": "张三", "birth_date": "1990-01-01",
                "disability_cert": "43020319900101123X42"}}});
        mask_json(&mut v);
        assert_eq!(v["phone"], "138****5678");
        assert_eq!(v["notes"], "女儿 139****5678");
        assert_eq!(v["members"]["a"]["id_number"], "**************123X");
        assert_eq!(v["members"]["a"]["name"], "张三");
        assert_eq!(v["members"]["a"]["birth_year"], 1990);
        assert!(v["members"]["a"].get("birth_date").is_none());
        assert_eq!(v["members"]["a"]["disability_cert"], "****************3X42");
    }
}
