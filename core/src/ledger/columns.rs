//! The ledger's columns: their canonical Chinese and English headers (what an export
//! writes) and the header variants an import recognises.

use serde::{Deserialize, Serialize};

/// One column of the ledger spreadsheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerColumn {
    /// Household document id (UUID); rows with the same id are one household.
    HouseholdId,
    /// 社区: community name or 12-digit code.
    Community,
    /// 网格: grid name ("第3网格") or number; informative, the building decides the grid.
    Grid,
    /// 小区: residential estate; import only (the area tree has no estates): a building
    /// is looked up as estate + building name, then as the building name alone.
    Estate,
    /// 楼栋: building name ("3栋") or 5-digit number, within the community.
    Building,
    Unit,
    Floor,
    Room,
    /// 户类型: 户籍 / 流动 / 空挂.
    HouseholdType,
    /// 房屋用途: 自住 / 出租 / 空置 / 其他.
    HousingUse,
    HouseholdPhone,
    HouseholdNotes,
    Name,
    Sex,
    BirthDate,
    IdNumber,
    Phone,
    /// 与户主关系: 户主 / 配偶 / 子女 …
    Relation,
    /// 人口类型: 户籍人口 / 流动人口 / 境外人员.
    PopulationType,
    /// 人员状态: 在住 / 外出 / 迁出 / 死亡.
    Status,
    /// 关爱标签, separated by 、 , ; or spaces.
    CareTags,
    DisabilityCert,
    Notes,
    Longitude,
    Latitude,
    /// 详细地址: the whole address in one cell ("阳光小区3栋2单元302室"); import only,
    /// read when the building, unit and room columns are absent or empty.
    FullAddress,
}

/// Every column an export writes, in order ([`LedgerColumn::Estate`] and
/// [`LedgerColumn::FullAddress`] are import only).
pub const LEDGER_COLUMNS: &[LedgerColumn] = &[
    LedgerColumn::HouseholdId,
    LedgerColumn::Community,
    LedgerColumn::Grid,
    LedgerColumn::Building,
    LedgerColumn::Unit,
    LedgerColumn::Floor,
    LedgerColumn::Room,
    LedgerColumn::HouseholdType,
    LedgerColumn::HousingUse,
    LedgerColumn::HouseholdPhone,
    LedgerColumn::HouseholdNotes,
    LedgerColumn::Name,
    LedgerColumn::Sex,
    LedgerColumn::BirthDate,
    LedgerColumn::IdNumber,
    LedgerColumn::Phone,
    LedgerColumn::Relation,
    LedgerColumn::PopulationType,
    LedgerColumn::Status,
    LedgerColumn::CareTags,
    LedgerColumn::DisabilityCert,
    LedgerColumn::Notes,
    LedgerColumn::Longitude,
    LedgerColumn::Latitude,
];

/// Every column an import can be told a column holds: the console's mapping choices and
/// `gridwalk-server import --map`.
pub const IMPORT_COLUMNS: &[LedgerColumn] = &[
    LedgerColumn::HouseholdId,
    LedgerColumn::Community,
    LedgerColumn::Grid,
    LedgerColumn::Estate,
    LedgerColumn::Building,
    LedgerColumn::Unit,
    LedgerColumn::Floor,
    LedgerColumn::Room,
    LedgerColumn::FullAddress,
    LedgerColumn::HouseholdType,
    LedgerColumn::HousingUse,
    LedgerColumn::HouseholdPhone,
    LedgerColumn::HouseholdNotes,
    LedgerColumn::Name,
    LedgerColumn::Sex,
    LedgerColumn::BirthDate,
    LedgerColumn::IdNumber,
    LedgerColumn::Phone,
    LedgerColumn::Relation,
    LedgerColumn::PopulationType,
    LedgerColumn::Status,
    LedgerColumn::CareTags,
    LedgerColumn::DisabilityCert,
    LedgerColumn::Notes,
    LedgerColumn::Longitude,
    LedgerColumn::Latitude,
];

impl LedgerColumn {
    /// The stable code (`household_type`, as serde writes it), the same the console's
    /// mapping sends.
    pub fn code(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// A column from its code (`care_tags`) or any header it is recognised by (关爱标签).
    pub fn from_code(s: &str) -> Option<LedgerColumn> {
        let t = s.trim();
        (IMPORT_COLUMNS.iter().copied())
            .find(|c| c.code() == t)
            .or_else(|| LedgerColumn::recognise(t))
    }

    /// The header an export writes (Chinese).
    pub fn zh(self) -> &'static str {
        self.names()[0]
    }

    /// The English header.
    pub fn en(self) -> &'static str {
        match self {
            LedgerColumn::HouseholdId => "Household ID",
            LedgerColumn::Community => "Community",
            LedgerColumn::Grid => "Grid",
            LedgerColumn::Estate => "Estate",
            LedgerColumn::Building => "Building",
            LedgerColumn::Unit => "Unit",
            LedgerColumn::Floor => "Floor",
            LedgerColumn::Room => "Room",
            LedgerColumn::HouseholdType => "Household type",
            LedgerColumn::HousingUse => "Housing use",
            LedgerColumn::HouseholdPhone => "Household phone",
            LedgerColumn::HouseholdNotes => "Household notes",
            LedgerColumn::Name => "Name",
            LedgerColumn::Sex => "Sex",
            LedgerColumn::BirthDate => "Birth date",
            LedgerColumn::IdNumber => "ID number",
            LedgerColumn::Phone => "Phone",
            LedgerColumn::Relation => "Relation to head",
            LedgerColumn::PopulationType => "Population type",
            LedgerColumn::Status => "Status",
            LedgerColumn::CareTags => "Care tags",
            LedgerColumn::DisabilityCert => "Disability certificate",
            LedgerColumn::Notes => "Notes",
            LedgerColumn::Longitude => "Longitude",
            LedgerColumn::Latitude => "Latitude",
            LedgerColumn::FullAddress => "Full address",
        }
    }

    /// Chinese headers recognised on import, the canonical one first.
    fn names(self) -> &'static [&'static str] {
        match self {
            LedgerColumn::HouseholdId => &["户编号", "户ID", "户号", "户编码"],
            LedgerColumn::Community => &["社区", "社区名称", "社区/村", "村/社区", "所属社区"],
            LedgerColumn::Grid => &["网格", "所属网格", "网格名称"],
            LedgerColumn::Estate => &["小区", "小区名称", "居住小区", "小区名"],
            LedgerColumn::Building => &[
                "楼栋",
                "楼号",
                "楼栋号",
                "栋",
                "幢",
                "楼栋名称",
                "栋号",
                "幢号",
            ],
            LedgerColumn::Unit => &["单元", "单元号"],
            LedgerColumn::Floor => &["楼层", "层"],
            LedgerColumn::Room => &[
                "房号",
                "房间号",
                "门牌号",
                "户室",
                "室",
                "户室号",
                "房屋号",
                "门牌",
            ],
            // 户口性质 and 人户状态 say whether the household is registered here, as
            // does a per-person 人员类型 column (户籍 / 流动 / 空挂 / 人户分离 / 寄住).
            LedgerColumn::HouseholdType => &[
                "户类型",
                "户别",
                "户籍类型",
                "人员类型",
                "户口性质",
                "人户状态",
            ],
            // 居住状态 and 居住情况 describe the dwelling (自住 / 出租 / 空置), not the person.
            LedgerColumn::HousingUse => &[
                "房屋用途",
                "房屋性质",
                "居住性质",
                "房屋状态",
                "居住状态",
                "居住情况",
            ],
            LedgerColumn::HouseholdPhone => &["户联系电话", "户电话", "家庭电话"],
            LedgerColumn::HouseholdNotes => &["户备注"],
            LedgerColumn::Name => &["姓名", "名字", "居民姓名", "人员姓名"],
            LedgerColumn::Sex => &["性别"],
            LedgerColumn::BirthDate => &["出生日期", "出生年月", "生日"],
            LedgerColumn::IdNumber => &[
                "身份证号",
                "身份证号码",
                "公民身份号码",
                "证件号码",
                "身份证",
            ],
            LedgerColumn::Phone => &["联系电话", "手机", "手机号", "手机号码", "电话", "联系方式"],
            LedgerColumn::Relation => &["与户主关系", "关系", "与户主的关系", "家庭关系"],
            LedgerColumn::PopulationType => &["人口类型", "人口类别"],
            LedgerColumn::Status => &["人员状态", "在住情况", "状态", "在住状态"],
            LedgerColumn::CareTags => &[
                "关爱标签",
                "标签",
                "人员标签",
                "特殊人群",
                "人员类别",
                "关爱对象",
                "重点关注",
                "特殊人群类别",
            ],
            LedgerColumn::DisabilityCert => &["残疾证号", "残疾证"],
            LedgerColumn::Notes => &["备注", "其他情况"],
            LedgerColumn::Longitude => &["经度"],
            LedgerColumn::Latitude => &["纬度"],
            LedgerColumn::FullAddress => &["详细地址", "地址", "住址", "现住址", "居住地址"],
        }
    }

    /// The column a header names, if any: exact Chinese variants or the English header,
    /// ignoring spaces, full-width parentheses' contents such as "（必填）" and case.
    pub fn recognise(header: &str) -> Option<LedgerColumn> {
        let cleaned: String = strip_annotation(header)
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '*' && *c != '\u{feff}')
            .collect();
        if cleaned.is_empty() {
            return None;
        }
        let lower = cleaned.to_lowercase();
        (IMPORT_COLUMNS.iter().copied()).find(|c| {
            c.names().contains(&cleaned.as_str()) || c.en().replace(' ', "").to_lowercase() == lower
        })
    }
}

/// "身份证号（必填）" → "身份证号"; "姓名(name)" → "姓名".
fn strip_annotation(header: &str) -> &str {
    let cut = header
        .find(['（', '('])
        .filter(|&i| i > 0)
        .unwrap_or(header.len());
    &header[..cut]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_headers_round_trip() {
        for c in LEDGER_COLUMNS {
            assert_eq!(LedgerColumn::recognise(c.zh()), Some(*c), "{c:?}");
            assert_eq!(LedgerColumn::recognise(c.en()), Some(*c), "{c:?}");
        }
    }

    /// Every header word LEDGERS.md lists, with the field it names.
    #[test]
    fn header_words_offices_use() {
        use LedgerColumn as C;
        let table: &[(C, &[&str])] = &[
            (C::Name, &["姓名", "居民姓名", "人员姓名"]),
            (C::Sex, &["性别"]),
            (C::BirthDate, &["出生日期", "出生年月", "生日"]),
            (
                C::IdNumber,
                &["身份证号", "身份证号码", "公民身份号码", "证件号码"],
            ),
            (C::Phone, &["联系电话", "联系方式", "手机号码", "电话"]),
            (C::Relation, &["与户主关系", "家庭关系", "关系"]),
            (
                C::HouseholdType,
                &["人员类型", "户籍类型", "户口性质", "人户状态"],
            ),
            (
                C::HousingUse,
                &["居住状态", "房屋状态", "房屋用途", "居住情况"],
            ),
            (C::Status, &["人员状态", "在住情况"]),
            (
                C::CareTags,
                &["特殊人群", "人员类别", "关爱对象", "重点关注", "标签"],
            ),
            (C::Community, &["社区"]),
            (C::Estate, &["小区", "小区名称", "小区(名称)"]),
            (C::Building, &["楼栋", "楼栋号", "栋", "幢"]),
            (C::Unit, &["单元"]),
            (C::Floor, &["楼层"]),
            (C::Room, &["房号", "门牌号", "户室号"]),
            (C::FullAddress, &["详细地址"]),
            (C::HouseholdId, &["户编号", "户号"]),
            (C::Notes, &["备注", "其他情况"]),
        ];
        for (field, words) in table {
            for w in *words {
                assert_eq!(LedgerColumn::recognise(w), Some(*field), "{w}");
            }
        }
    }

    #[test]
    fn codes_as_the_console_sends_them() {
        assert_eq!(LedgerColumn::HouseholdType.code(), "household_type");
        for c in IMPORT_COLUMNS {
            assert_eq!(LedgerColumn::from_code(&c.code()), Some(*c));
        }
        assert_eq!(
            LedgerColumn::from_code("特殊人群"),
            Some(LedgerColumn::CareTags)
        );
        assert_eq!(LedgerColumn::from_code("nonsense"), None);
        assert!(LEDGER_COLUMNS.iter().all(|c| IMPORT_COLUMNS.contains(c)));
    }

    #[test]
    fn usual_variants_are_recognised() {
        assert_eq!(
            LedgerColumn::recognise(" 身份证号码 "),
            Some(LedgerColumn::IdNumber)
        );
        assert_eq!(
            LedgerColumn::recognise("*姓名（必填）"),
            Some(LedgerColumn::Name)
        );
        assert_eq!(
            LedgerColumn::recognise("\u{feff}社区"),
            Some(LedgerColumn::Community)
        );
        assert_eq!(LedgerColumn::recognise("phone"), Some(LedgerColumn::Phone));
        assert_eq!(LedgerColumn::recognise("小区"), Some(LedgerColumn::Estate));
        assert_eq!(LedgerColumn::recognise("籍贯"), None);
        assert_eq!(LedgerColumn::recognise("户主姓名"), None);
        assert_eq!(LedgerColumn::recognise(""), None);
    }
}
