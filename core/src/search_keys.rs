//! Search keys for the local and district stores.
//!
//! The stores search by substring, so a household is found by a fragment of a name
//! (`三丰`), its full pinyin (`zhangsanf`), its pinyin initials (`zsf`), its address, or
//! the tail of a phone or ID number. Everything here is lowercase ASCII or the original
//! Chinese text, and queries go through [`normalize_query`] so that what the user typed
//! (full-width digits from a Chinese keyboard, stray spaces, capitals) matches the keys.

use pinyin::ToPinyin;
use serde::{Deserialize, Serialize};

/// Surnames whose reading as a surname differs from the character's usual reading.
/// Applied only to the first character of a name of two or more characters.
const SURNAME_READINGS: &[(char, &str)] = &[
    ('曾', "zeng"),
    ('单', "shan"),
    ('解', "xie"),
    ('仇', "qiu"),
    ('区', "ou"),
    ('查', "zha"),
    ('朴', "piao"),
    ('乐', "yue"),
    ('盖', "ge"),
    ('覃', "qin"),
    ('翟', "zhai"),
    ('缪', "miao"),
    ('尉', "yu"),
    ('种', "chong"),
    ('员', "yun"),
    ('召', "shao"),
    ('繁', "po"),
    ('秘', "bi"),
    ('长', "chang"),
    ('重', "chong"),
    ('万', "wan"),
    ('黑', "he"),
    ('祭', "zhai"),
    ('冼', "xian"),
];

/// What a query looks like, which decides the keys it is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QueryKind {
    /// Only digits: a phone or ID tail, a room or building number.
    Digits,
    /// Only Latin letters: pinyin, full or initials.
    Latin,
    /// Only Chinese characters: a name or address fragment.
    Chinese,
    /// Anything else, including an empty query.
    Mixed,
}

/// The reading of one character: the surname reading when `first` and listed, else the
/// crate's reading, with ü written `v` as on a pinyin keyboard.
fn reading(c: char, first: bool) -> Option<String> {
    if first {
        if let Some((_, r)) = SURNAME_READINGS.iter().find(|(s, _)| *s == c) {
            return Some((*r).to_string());
        }
    }
    c.to_pinyin().map(|p| p.plain().replace('ü', "v"))
}

/// Walks a name, calling `f` with each piece: a Chinese character's reading
/// or a kept non-Chinese character (an ASCII letter or digit, lowercased).
fn walk(name: &str, mut f: impl FnMut(&str)) {
    let chars: Vec<char> = name.trim().chars().map(to_half_width).collect();
    let han_count = chars.iter().filter(|c| is_han(**c)).count();
    let mut first = true;
    let mut buf = [0u8; 4];
    for c in chars {
        if c.is_ascii_alphanumeric() {
            f(c.to_ascii_lowercase().encode_utf8(&mut buf));
        } else if let Some(r) = reading(c, first && han_count >= 2) {
            f(&r);
        }
        if !c.is_whitespace() && c != '·' {
            first = false;
        }
    }
}

/// Full pinyin without tones or separators: 张三丰 → `zhangsanfeng`, 曾小贤 → `zengxiaoxian`.
/// ASCII letters and digits are kept lowercase; everything else is dropped.
pub fn pinyin_full(name: &str) -> String {
    let mut out = String::with_capacity(name.len() * 2);
    walk(name, |piece| out.push_str(piece));
    out
}

/// Pinyin initials: 张三丰 → `zsf`, 单雄信 → `sxx`. ASCII letters and digits are kept
/// lowercase; everything else is dropped.
pub fn pinyin_initials(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    walk(name, |piece| out.extend(piece.chars().next()));
    out
}

/// A query as typed, made comparable with the keys: trimmed, full-width letters and digits
/// made half-width, lowercased, and every space removed.
pub fn normalize_query(q: &str) -> String {
    q.chars()
        .map(to_half_width)
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The last four digits of a phone number, ignoring spaces and dashes; `None` when it has
/// fewer than four digits.
pub fn phone_tail(s: &str) -> Option<String> {
    let digits: Vec<char> = s
        .chars()
        .map(to_half_width)
        .filter(char::is_ascii_digit)
        .collect();
    if digits.len() < 4 {
        return None;
    }
    Some(digits[digits.len() - 4..].iter().collect())
}

/// The last four characters of an 18-character ID number, lowercase (`123x`), to match a
/// normalized query; `None` when it is not 18 digits-or-X.
pub fn id_tail(s: &str) -> Option<String> {
    let chars: Vec<char> = normalize_query(s).chars().collect();
    let well_formed = chars.len() == 18
        && chars[..17].iter().all(char::is_ascii_digit)
        && (chars[17].is_ascii_digit() || chars[17] == 'x');
    well_formed.then(|| chars[14..].iter().collect())
}

/// What the normalized query consists of. The middle dot of transcribed names
/// (阿依古丽·买买提) counts as Chinese.
pub fn classify_query(q: &str) -> QueryKind {
    let q = normalize_query(q);
    if q.is_empty() {
        QueryKind::Mixed
    } else if q.chars().all(|c| c.is_ascii_digit()) {
        QueryKind::Digits
    } else if q.chars().all(|c| c.is_ascii_lowercase()) {
        QueryKind::Latin
    } else if q.chars().all(|c| is_han(c) || c == '·') {
        QueryKind::Chinese
    } else {
        QueryKind::Mixed
    }
}

/// A name's search key for a substring store: the name, its full pinyin and its initials,
/// separated by `|` so that a query never matches across two of them.
pub fn name_key(name: &str) -> String {
    format!(
        "{}|{}|{}",
        normalize_query(name),
        pinyin_full(name),
        pinyin_initials(name)
    )
}

/// True for a CJK unified ideograph (the basic block, extension A, the compatibility
/// block, and the supplementary-plane extensions).
pub fn is_han(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3134F}')
}

/// Full-width ASCII (！ to ～) to half-width, the ideographic space to a space.
fn to_half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_pinyin_and_initials() {
        assert_eq!(pinyin_full("张三丰"), "zhangsanfeng");
        assert_eq!(pinyin_initials("张三丰"), "zsf");
        assert_eq!(pinyin_full(" 李 四 "), "lisi");
        assert_eq!(pinyin_full("吕绿"), "lvlv");
        assert_eq!(pinyin_full("王A3栋-2"), "wanga3dong2");
        assert_eq!(pinyin_initials("Ｘ王ｂ"), "xwb");
        assert_eq!(pinyin_full("！@#"), "");
        assert_eq!(pinyin_full(""), "");
        assert_eq!(pinyin_initials("阿依古丽·买买提"), "ayglmmt");
    }

    #[test]
    fn polyphonic_surnames() {
        for (name, full, initials) in [
            ("曾小贤", "zengxiaoxian", "zxx"),
            ("单雄信", "shanxiongxin", "sxx"),
            ("解缙", "xiejin", "xj"),
            ("仇英", "qiuying", "qy"),
            ("区志强", "ouzhiqiang", "ozq"),
            ("查良镛", "zhaliangyong", "zly"),
            ("朴正", "piaozheng", "pz"),
            ("乐嘉", "yuejia", "yj"),
            ("盖伟", "gewei", "gw"),
            ("覃斌", "qinbin", "qb"),
        ] {
            assert_eq!(pinyin_full(name), full, "{name}");
            assert_eq!(pinyin_initials(name), initials, "{name}");
        }
        // Not a surname when the character is not first, or stands alone.
        assert_eq!(pinyin_full("王曾"), "wangceng");
        assert_eq!(pinyin_full("单"), "dan");
    }

    #[test]
    fn normalizes_queries() {
        assert_eq!(normalize_query("  Zhang San "), "zhangsan");
        assert_eq!(normalize_query("１３８ ００１３"), "1380013");
        assert_eq!(normalize_query("ＡＢｃ　张"), "abc张");
        assert_eq!(normalize_query(""), "");
    }

    #[test]
    fn tails() {
        assert_eq!(phone_tail("138-0013-8000").as_deref(), Some("8000"));
        assert_eq!(phone_tail("１２３４５").as_deref(), Some("2345"));
        assert_eq!(phone_tail("12a3"), None);
        assert_eq!(id_tail("43020319850101123X").as_deref(), Some("123x"));
        assert_eq!(id_tail("4302031985"), None);
    }

    #[test]
    fn classifies() {
        assert_eq!(classify_query(" 1234 "), QueryKind::Digits);
        assert_eq!(classify_query("１２"), QueryKind::Digits);
        assert_eq!(classify_query("ZSF"), QueryKind::Latin);
        assert_eq!(classify_query("张 三"), QueryKind::Chinese);
        assert_eq!(classify_query("3栋"), QueryKind::Mixed);
        assert_eq!(classify_query("zs1"), QueryKind::Mixed);
        assert_eq!(classify_query("  "), QueryKind::Mixed);
    }

    #[test]
    fn name_key_matches_fragments() {
        let key = name_key("张三丰");
        assert_eq!(key, "张三丰|zhangsanfeng|zsf");
        for q in ["三丰", "zsf", "sanf", "ZHANG"] {
            assert!(key.contains(&normalize_query(q)), "{q}");
        }
    }
}
