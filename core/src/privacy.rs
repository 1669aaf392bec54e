//! Masking of personal data for screens and exports: `430203********1234`,
//! `138****5678`. One implementation for the worker's app and the console.

use serde_json::Value;

/// Keep the first 6 and last 4 characters of an ID number, star the rest.
pub fn mask_id_number(id: &str) -> String {
    keep_ends(id, 6, 4)
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
        _ => value.to_string(),
    }
}

/// Mask every `id_number` and `phone` field, and any string shaped like one, in a JSON tree.
pub fn mask_json(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                match (k.as_str(), &*val) {
                    ("id_number", Value::String(s)) => *val = mask_id_number(s).into(),
                    ("phone", Value::String(s)) => *val = mask_phone(s).into(),
                    _ => mask_json(val),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask_json),
        Value::String(s) => {
            let digits = s.chars().filter(|c| c.is_ascii_digit()).count();
            if s.len() == 18 && digits >= 17 {
                *s = mask_id_number(s);
            } else if s.len() == 11 && digits == 11 {
                *s = mask_phone(s);
            }
        }
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
            18 => Some((6, 4)),
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
            "房东：张三 138****5678，身份证430203********123X。"
        );
        assert_eq!(mask_free_text("电话138-1234-5678"), "电话138-****-5678");
        assert_eq!(
            mask_free_text("tel 138 1234 5678 ok"),
            "tel 138 **** 5678 ok"
        );
        assert_eq!(mask_free_text("430203199001011234"), "430203********1234");
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
    fn masks_like_the_brief() {
        assert_eq!(mask_id_number("430203199001011234"), "430203********1234");
        assert_eq!(mask_id_number("43020319900101123X"), "430203********123X");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("0731-88886666"), "*********6666");
        assert_eq!(mask_phone("123"), "*23");
        assert_eq!(mask_phone(""), "");
        assert!(!mask_phone("12345").contains("123"));
    }

    #[test]
    fn masks_json_trees() {
        let mut v = serde_json::json!({"phone": "13812345678", "members": {"a": {"id_number": "43020319900101123X", "name": "张三"}}});
        mask_json(&mut v);
        assert_eq!(v["phone"], "138****5678");
        assert_eq!(v["members"]["a"]["id_number"], "430203********123X");
        assert_eq!(v["members"]["a"]["name"], "张三");
    }
}
