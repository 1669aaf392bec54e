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
    t
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
    fn phones_are_made_comparable() {
        assert_eq!(phone_text("138 1234 5678"), "13812345678");
        assert_eq!(phone_text("138-1234-5678"), "13812345678");
        assert_eq!(phone_text("+86 138 1234 5678"), "13812345678");
        assert_eq!(phone_text("０１０－６５０１２３４５"), "010-65012345");
        assert_eq!(phone_text("(010)65012345"), "010-65012345");
    }
}
