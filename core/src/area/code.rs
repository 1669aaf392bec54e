//! 12-digit statistical area codes and 15-digit grid codes: parsing and levels.

use crate::validate::{ErrorCode, FieldError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How specific a 12-digit area code is: the last non-zero part decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AreaLevel {
    Province,
    City,
    County,
    Street,
    Community,
}

/// A well-formed 12-digit statistical area code. Build it with [`parse_area_code`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AreaCode(String);

impl AreaCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The 2-digit province part.
    pub fn province(&self) -> &str {
        &self.0[..2]
    }
    /// The 2-digit city part.
    pub fn city(&self) -> &str {
        &self.0[2..4]
    }
    /// The 2-digit county part.
    pub fn county(&self) -> &str {
        &self.0[4..6]
    }
    /// The 3-digit street part.
    pub fn street(&self) -> &str {
        &self.0[6..9]
    }
    /// The 3-digit community part.
    pub fn community(&self) -> &str {
        &self.0[9..12]
    }
    /// The first 6 digits: the county (district) prefix, also the first 6 digits of an ID number.
    pub fn county_prefix(&self) -> &str {
        &self.0[..6]
    }
    /// The first 9 digits: the street prefix.
    pub fn street_prefix(&self) -> &str {
        &self.0[..9]
    }

    pub fn level(&self) -> AreaLevel {
        if self.community() != "000" {
            AreaLevel::Community
        } else if self.street() != "000" {
            AreaLevel::Street
        } else if self.county() != "00" {
            AreaLevel::County
        } else if self.city() != "00" {
            AreaLevel::City
        } else {
            AreaLevel::Province
        }
    }

    /// The area's prefix: the digits up to and including its level's part.
    pub fn prefix(&self) -> &str {
        match self.level() {
            AreaLevel::Province => &self.0[..2],
            AreaLevel::City => &self.0[..4],
            AreaLevel::County => &self.0[..6],
            AreaLevel::Street => &self.0[..9],
            AreaLevel::Community => &self.0[..12],
        }
    }

    /// True when `self` lies inside `outer` (or is `outer`).
    pub fn is_within(&self, outer: &AreaCode) -> bool {
        self.0.starts_with(outer.prefix())
    }
}

impl fmt::Display for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<AreaCode> for String {
    fn from(code: AreaCode) -> String {
        code.0
    }
}

impl TryFrom<String> for AreaCode {
    type Error = FieldError;
    fn try_from(s: String) -> Result<AreaCode, FieldError> {
        parse_area_code(&s)
    }
}

/// Parse a 12-digit statistical area code: 12 ASCII digits with a non-zero province, and
/// no non-zero part below a zero part (e.g. `430200001000` is not a code).
pub fn parse_area_code(s: &str) -> Result<AreaCode, FieldError> {
    parse_code_at("code", s)
}

/// Parse an area code and require it to be exactly at `level`.
pub fn parse_area_code_at(s: &str, level: AreaLevel) -> Result<AreaCode, FieldError> {
    parse_level_at("code", s, level)
}

/// A district (county-level) code: 12 digits, county part non-zero, last 6 digits zero.
pub fn parse_district_code(s: &str) -> Result<AreaCode, FieldError> {
    parse_area_code_at(s, AreaLevel::County)
}

/// A street code: 12 digits, street part non-zero, last 3 digits zero.
pub fn parse_street_code(s: &str) -> Result<AreaCode, FieldError> {
    parse_area_code_at(s, AreaLevel::Street)
}

/// A community code: 12 digits, community part non-zero.
pub fn parse_community_code(s: &str) -> Result<AreaCode, FieldError> {
    parse_area_code_at(s, AreaLevel::Community)
}

/// Parse a 15-digit grid code (community code + 3-digit grid number 001..=999).
pub fn parse_grid_code(s: &str) -> Result<(AreaCode, i64), FieldError> {
    let bad = || {
        FieldError::new("code", ErrorCode::BadCode, "网格编码应为15位数字（社区代码+3位网格编号） / a grid code is 15 digits (community code + 3-digit grid number)")
    };
    if s.len() != 15 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let community = parse_level_at("code", &s[..12], AreaLevel::Community)?;
    let number: i64 = s[12..].parse().map_err(|_| bad())?;
    if number == 0 {
        return Err(bad());
    }
    Ok((community, number))
}

fn parse_code_at(path: &str, s: &str) -> Result<AreaCode, FieldError> {
    if s.trim().is_empty() {
        return Err(FieldError::new(
            path,
            ErrorCode::Required,
            "区划代码不能为空 / the area code must not be empty",
        ));
    }
    if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(
            path,
            ErrorCode::BadCode,
            format!("区划代码应为12位数字，而不是“{s}” / an area code is 12 digits, not {s:?}"),
        ));
    }
    let parts = [&s[..2], &s[2..4], &s[4..6], &s[6..9], &s[9..12]];
    let zero = |p: &str| p.bytes().all(|b| b == b'0');
    if zero(parts[0]) {
        return Err(FieldError::new(
            path,
            ErrorCode::BadCode,
            format!(
                "区划代码 {s} 的省级代码不能为00 / area code {s}: the province part must not be 00"
            ),
        ));
    }
    // Once a part is zero, every later part must be zero too.
    let mut seen_zero = false;
    for p in parts {
        if zero(p) {
            seen_zero = true;
        } else if seen_zero {
            return Err(FieldError::new(
                path,
                ErrorCode::BadCode,
                format!("区划代码 {s} 层级不连续（上级为0的部分之后不能再有非0部分） / area code {s} skips a level (a non-zero part after a zero part)"),
            ));
        }
    }
    Ok(AreaCode(s.to_string()))
}

pub(super) fn parse_level_at(
    path: &str,
    s: &str,
    level: AreaLevel,
) -> Result<AreaCode, FieldError> {
    let code = parse_code_at(path, s)?;
    if code.level() != level {
        let (zh, en, shape) = match level {
            AreaLevel::Province => ("省级", "province", "后10位为0"),
            AreaLevel::City => ("市级", "city", "后8位为0"),
            AreaLevel::County => ("区县级", "county (district)", "后6位为0"),
            AreaLevel::Street => ("街道级", "street", "第7-9位非0、后3位为0"),
            AreaLevel::Community => ("社区级", "community", "后3位非0"),
        };
        return Err(FieldError::new(
            path,
            ErrorCode::BadCode,
            format!("{s} 不是{zh}区划代码（{shape}） / {s} is not a {en}-level area code"),
        ));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_levels() {
        let c = parse_area_code("430203001002").unwrap();
        assert_eq!(c.level(), AreaLevel::Community);
        assert_eq!(c.county_prefix(), "430203");
        assert_eq!(c.street_prefix(), "430203001");
        assert!(c.is_within(&parse_district_code("430203000000").unwrap()));
        assert!(!c.is_within(&parse_district_code("430204000000").unwrap()));
        assert_eq!(
            parse_area_code("430200000000").unwrap().level(),
            AreaLevel::City
        );
        assert!(parse_street_code("430203001000").is_ok());
        for bad in [
            "",
            "43020300100",
            "4302030010001",
            "43020300100a",
            "000203001000",
            "430200001000",
            "４30203001000",
        ] {
            assert!(parse_area_code(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_area_code("").unwrap_err().code, ErrorCode::Required);
        assert_eq!(
            parse_district_code("430203001000").unwrap_err().code,
            ErrorCode::BadCode
        );
        assert!(parse_community_code("430203001000").is_err());
        let (cc, n) = parse_grid_code("430203001002007").unwrap();
        assert_eq!((cc.as_str(), n), ("430203001002", 7));
        assert!(parse_grid_code("430203001002000").is_err());
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "\"430203001002\"");
        assert!(serde_json::from_str::<AreaCode>("\"12\"").is_err());
    }
}
