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

#[cfg(test)]
mod tests {
    use super::*;

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
