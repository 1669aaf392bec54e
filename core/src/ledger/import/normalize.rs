//! Cleaning what people type into spreadsheets: full-width characters from Chinese input
//! methods, stray spaces (U+3000, NBSP, tabs, zero-width), IDs that Excel made numbers.

use crate::ledger::cell::{is_invisible, Cell};

/// Full-width ASCII (U+FF01..=U+FF5E) and the ideographic space become ASCII.
fn half_width(c: char) -> char {
    match c {
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
        '\u{3000}' => ' ',
        // Dashes and minus signs Chinese input methods produce.
        '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
        _ => c,
    }
}

/// Only full-width digits and letters (and the ideographic space) become ASCII: in names
/// and addresses Chinese punctuation such as （） and ： is what people mean.
fn half_width_alphanumeric(c: char) -> char {
    match c {
        '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' | '\u{3000}' => half_width(c),
        _ => c,
    }
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || is_invisible(c) || c == '\u{a0}'
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

/// A text value (name, address part, enum word): digits and letters half-width, trimmed, invisible characters dropped, runs of spaces
/// inside collapsed to one, and spaces between Chinese characters dropped ("张  三" → "张三",
/// people pad two-character names to line them up) while "John Smith" keeps its space.
pub fn clean_text(s: &str) -> String {
    let chars: Vec<char> = s
        .chars()
        .map(half_width_alphanumeric)
        .filter(|c| !is_invisible(*c))
        .collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !is_space(c) {
            out.push(c);
            i += 1;
            continue;
        }
        let run_end = (i..chars.len())
            .find(|&j| !is_space(chars[j]))
            .unwrap_or(chars.len());
        let before = out.chars().last();
        let after = chars.get(run_end).copied();
        match (before, after) {
            (Some(b), Some(a)) if !(is_cjk(b) && is_cjk(a)) => out.push(' '),
            _ => {}
        }
        i = run_end;
    }
    out
}

/// Free text (notes): kept as written, only invisible characters dropped and the ends
/// trimmed.
pub fn free_text(s: &str) -> String {
    let kept: String = s.chars().filter(|c| !is_invisible(*c)).collect();
    kept.trim_matches(is_space).to_string()
}

/// A code-like value (ID number, phone, date, room): half-width with every space removed.
pub fn compact(s: &str) -> String {
    s.chars()
        .map(half_width)
        .filter(|c| !is_space(*c))
        .collect()
}

/// A cell as cleaned text ([`clean_text`] of what the spreadsheet shows).
pub fn cell_text(cell: &Cell) -> String {
    clean_text(&cell.display())
}

/// An ID number as typed: compacted, Excel's text marker `'` dropped, a final `x` as `X`.
pub fn id_number_text(s: &str) -> String {
    let mut t = compact(s);
    if let Some(rest) = t.strip_prefix('\'') {
        t = rest.to_string();
    }
    if t.ends_with('x') {
        t.pop();
        t.push('X');
    }
    t
}

/// Whether an ID number cell shows that Excel stored it as a number, which keeps only 15
/// significant digits: a numeric cell, scientific notation text ("4.30203E+17"), float
/// text ("430203195003021234.0"), or 18 digits ending in "000" that fail the check digit.
pub fn id_cut_by_excel(cell: &Cell, text: &str, check_digit_ok: bool) -> bool {
    if matches!(cell, Cell::Number(_) | Cell::DateTime(_)) {
        return true;
    }
    let is_digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let upper = text.to_ascii_uppercase();
    if let Some((mantissa, exponent)) = upper.split_once('E') {
        let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
        let mantissa_ok = match mantissa.split_once('.') {
            Some((a, b)) => is_digits(a) && is_digits(b),
            None => is_digits(mantissa),
        };
        return mantissa_ok && is_digits(exponent);
    }
    if let Some((whole, fraction)) = text.split_once('.') {
        return whole.len() >= 15 && is_digits(whole) && is_digits(fraction);
    }
    text.len() == 18 && is_digits(text) && text.ends_with("000") && !check_digit_ok
}

/// Words written in a phone cell for "no phone".
const NO_PHONE: &[&str] = &[
    "无",
    "暂无",
    "没有",
    "-",
    "--",
    "—",
    "——",
    "/",
    "\\",
    "空",
    "不详",
    "无电话",
];

/// The phone numbers in a cell, each made comparable by [`phone_text`]: none for an empty
/// cell or a "no phone" word; two for `138…/139…` (also `、 , ， ; ；` or a space between
/// two whole numbers). A number cell shows its digits.
pub fn phone_numbers(s: &str) -> Vec<String> {
    let t = s.trim_matches(is_space);
    if t.is_empty() || NO_PHONE.contains(&compact(t).as_str()) {
        return Vec::new();
    }
    let parts: Vec<&str> = t
        .split(['/', '、', ',', '，', ';', '；', '\n'])
        .map(|p| p.trim_matches(is_space))
        .filter(|p| !p.is_empty())
        .collect();
    let mut numbers = Vec::new();
    for part in parts {
        // "13812345678 13912345678": two whole numbers, not one written in groups.
        let words: Vec<&str> = part.split(is_space).filter(|w| !w.is_empty()).collect();
        let whole = |w: &&str| {
            let d = phone_text(w);
            d.len() >= 11 && d.chars().all(|c| c.is_ascii_digit())
        };
        if words.len() > 1 && words.iter().all(whole) {
            numbers.extend(words.iter().map(|w| phone_text(w)));
        } else {
            numbers.push(phone_text(part));
        }
    }
    numbers
}

/// A phone number as typed, made comparable: spaces dropped, a `+86`/`0086` prefix of a
/// mobile dropped, dashes and brackets dropped when what is left is an 11-digit mobile,
/// "(010)65012345" written "010-65012345".
pub fn phone_text(s: &str) -> String {
    let t = compact(s);
    let digits_only: String = t.chars().filter(|c| !"-()".contains(*c)).collect();
    for prefix in ["+86", "0086", ""] {
        if let Some(rest) = digits_only.strip_prefix(prefix) {
            if rest.len() == 11 && rest.starts_with('1') && rest.chars().all(|c| c.is_ascii_digit())
            {
                return rest.to_string();
            }
        }
    }
    if let Some(rest) = t.strip_prefix('(') {
        if let Some((area, number)) = rest.split_once(')') {
            return format!("{area}-{number}");
        }
    }
    // "0731 22917473" lost its separator to the compaction: area codes are 010 and 02x,
    // else four digits, and a subscriber number has 7 or 8 digits.
    let spaced = s.trim().contains(|c: char| is_space(c));
    if spaced && t.starts_with('0') && t.chars().all(|c| c.is_ascii_digit()) {
        let area = if t.starts_with("01") || t.starts_with("02") {
            3
        } else {
            4
        };
        if (7..=8).contains(&(t.len() - area)) {
            return format!("{}-{}", &t[..area], &t[area..]);
        }
    }
    t
}

/// A 15-digit ID number (issued before 1999) as its 18-digit form (GB 11643): `19` put
/// before the 2-digit year and the check character computed.
pub fn upgrade_id_15(text: &str) -> Option<String> {
    if text.len() != 15 || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let body = format!("{}19{}", &text[..6], &text[6..]);
    let check = crate::validate::id_check_char(&body)?;
    Some(format!("{body}{check}"))
}

/// A cell of a personal column (ID number, phone) as the report may show it: masked when
/// it holds a number, as written when it is a word (无, 不详) or a date, which hide nothing
/// and tell the admin what is wrong.
pub fn mask_personal(text: &str, mask: fn(&str) -> String) -> String {
    let digits = compact(text).chars().filter(char::is_ascii_digit).count();
    let is_date = matches!(
        super::dates::parse_date_text(text),
        Ok(_) | Err(super::dates::DateError::MonthOnly { .. })
    );
    if digits < 6 || is_date {
        text.to_string()
    } else {
        mask(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_stray_spaces() {
        assert_eq!(
            compact("４３０２０３ １９５０\u{3000}0302\u{a0}12\u{200b}3Ｘ\t"),
            "43020319500302123X"
        );
        assert_eq!(clean_text(" 张\u{3000}\u{3000}三 "), "张三");
        assert_eq!(clean_text("John \u{a0} Smith\u{200b}"), "John Smith");
        assert_eq!(clean_text("（备注）Ａ１"), "（备注）A1");
        assert_eq!(
            free_text("\u{3000}房东：程 海\n海\u{200b} "),
            "房东：程 海\n海"
        );
        assert_eq!(compact("１３８－１２３４－５６７８"), "138-1234-5678");
    }

    #[test]
    fn id_numbers_are_compacted() {
        assert_eq!(
            id_number_text(" '11010519491231002x "),
            "11010519491231002X"
        );
        assert_eq!(
            id_number_text("１１０１０５１９４９１２３１００２ｘ"),
            "11010519491231002X"
        );
    }

    #[test]
    fn ids_cut_by_excel_are_detected() {
        assert!(id_cut_by_excel(
            &Cell::Number(4.30203195003021e17),
            "",
            false
        ));
        for text in [
            "4.30203E+17",
            "4.30203e17",
            "430203195003021234.0",
            "430203195003021000",
        ] {
            assert!(
                id_cut_by_excel(&Cell::Text(text.into()), text, false),
                "{text}"
            );
        }
        for text in [
            "430203195003021234",
            "43020319500302123X",
            "4.3",
            "abcE+17",
            "E+17",
        ] {
            assert!(
                !id_cut_by_excel(&Cell::Text(text.into()), text, false),
                "{text}"
            );
        }
        // Ending in 000 with a correct check digit is a real ID.
        assert!(!id_cut_by_excel(&Cell::Empty, "430203195003021000", true));
    }

    #[test]
    fn phone_cells_as_offices_fill_them() {
        let none: Vec<String> = Vec::new();
        for s in ["", " ", "无", "暂无", "-", "—", "/", "－"] {
            assert_eq!(phone_numbers(s), none, "{s:?}");
        }
        assert_eq!(phone_numbers("150 1774 9275"), ["15017749275"]);
        assert_eq!(phone_numbers("176-3418-5351"), ["17634185351"]);
        assert_eq!(phone_numbers("0731-22917473"), ["0731-22917473"]);
        assert_eq!(phone_numbers("0731 22917473"), ["0731-22917473"]);
        assert_eq!(phone_numbers("010 65012345"), ["010-65012345"]);
        assert_eq!(
            phone_numbers("13812345678/13912345678"),
            ["13812345678", "13912345678"]
        );
        assert_eq!(
            phone_numbers("13812345678 13912345678"),
            ["13812345678", "13912345678"]
        );
        assert_eq!(
            phone_numbers(&Cell::Number(13812345678.0).display()),
            ["13812345678"]
        );
    }

    #[test]
    fn fifteen_digit_ids_are_upgraded() {
        // 430203500302123 → 430203 19 500302123 + check character.
        let up = upgrade_id_15("430203500302123").unwrap();
        assert_eq!(&up[..17], "43020319500302123");
        assert_eq!(up.len(), 18);
        assert_eq!(crate::validate::id_check_char(&up[..17]), up.chars().last());
        assert_eq!(upgrade_id_15("11010519491231002X"), None);
        assert_eq!(upgrade_id_15("43020350030212"), None);
    }

    #[test]
    fn personal_values_are_masked_but_words_and_dates_are_not() {
        let m = crate::privacy::mask_id_number;
        assert_eq!(mask_personal("无", m), "无");
        assert_eq!(mask_personal("1982-03-01", m), "1982-03-01");
        assert_eq!(mask_personal("1982.03", m), "1982.03");
        assert_eq!(mask_personal("430203195003021311", m), "**************1311");
        assert_eq!(
            mask_personal("1381234", crate::privacy::mask_phone),
            "***1234"
        );
    }

    #[test]
    fn names_lose_stray_spaces() {
        assert_eq!(clean_text("黎 丽"), "黎丽");
        assert_eq!(clean_text("黎\u{a0}丽 "), "黎丽");
        assert_eq!(clean_text("\u{3000}欧阳 娜娜"), "欧阳娜娜");
    }

    #[test]
    fn phones_are_made_comparable() {
        assert_eq!(phone_text("138 1234 5678"), "13812345678");
        assert_eq!(phone_text("138-1234-5678"), "13812345678");
        assert_eq!(phone_text("+86 138 1234 5678"), "13812345678");
        assert_eq!(phone_text("０１０－６５０１２３４５"), "010-65012345");
        assert_eq!(phone_text("(010)65012345"), "010-65012345");
    }
}
