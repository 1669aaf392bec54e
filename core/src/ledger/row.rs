//! One ledger row as an export writes it: a value per column of [`LEDGER_COLUMNS`], in
//! that order, with enums as the Chinese labels an import reads back.

use super::columns::{LedgerColumn, LEDGER_COLUMNS};
use crate::model::{
    HouseholdType, HousingUse, PersonStatus, PopulationType, Relation, Sex, CARE_TAGS,
};

/// One person's row (household fields repeated), values in [`LEDGER_COLUMNS`] order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LedgerRow {
    pub values: Vec<String>,
}

impl LedgerRow {
    /// A row with every column empty.
    pub fn empty() -> LedgerRow {
        LedgerRow {
            values: vec![String::new(); LEDGER_COLUMNS.len()],
        }
    }

    /// The value of `column` ("" for a column exports do not write).
    pub fn get(&self, column: LedgerColumn) -> &str {
        column_index(column)
            .and_then(|i| self.values.get(i))
            .map_or("", String::as_str)
    }

    /// Set `column` (ignored for a column exports do not write).
    pub fn set(&mut self, column: LedgerColumn, value: impl Into<String>) {
        if let Some(slot) = column_index(column).and_then(|i| self.values.get_mut(i)) {
            *slot = value.into();
        }
    }
}

/// Position of `column` in [`LEDGER_COLUMNS`].
pub fn column_index(column: LedgerColumn) -> Option<usize> {
    LEDGER_COLUMNS.iter().position(|c| *c == column)
}

pub fn sex_zh(sex: &Sex) -> &'static str {
    match sex {
        Sex::Male => "男",
        Sex::Female => "女",
    }
}

pub fn household_type_zh(t: &HouseholdType) -> &'static str {
    match t {
        HouseholdType::Registered => "户籍",
        HouseholdType::Migrant => "流动",
        HouseholdType::RegisteredAbsent => "空挂",
    }
}

pub fn housing_use_zh(u: &HousingUse) -> &'static str {
    match u {
        HousingUse::SelfOccupied => "自住",
        HousingUse::Rented => "出租",
        HousingUse::Vacant => "空置",
        HousingUse::Other => "其他",
    }
}

pub fn relation_zh(r: &Relation) -> &'static str {
    match r {
        Relation::Head => "户主",
        Relation::Spouse => "配偶",
        Relation::Child => "子女",
        Relation::Parent => "父母",
        Relation::Grandchild => "孙辈",
        Relation::Sibling => "兄弟姐妹",
        Relation::Tenant => "租户",
        Relation::Other => "其他",
        Relation::Son => "子",
        Relation::Daughter => "女",
        Relation::DaughterInLaw => "儿媳",
        Relation::SonInLaw => "女婿",
        Relation::ParentInLaw => "公婆/岳父母",
        Relation::Grandparent => "祖父母",
        Relation::Nanny => "保姆",
    }
}

pub fn population_type_zh(p: &PopulationType) -> &'static str {
    match p {
        PopulationType::Registered => "户籍人口",
        PopulationType::Migrant => "流动人口",
        PopulationType::Foreign => "境外人员",
    }
}

pub fn status_zh(s: &PersonStatus) -> &'static str {
    match s {
        PersonStatus::Living => "在住",
        PersonStatus::MovedOut => "迁出",
        PersonStatus::Deceased => "死亡",
    }
}

/// The Chinese label of a care tag code; `None` for anything else (restricted key-person
/// tags included, so they can never reach an export through this function).
pub fn care_tag_zh(code: &str) -> Option<&'static str> {
    CARE_TAGS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, zh, _)| *zh)
}

/// Care tag codes as the ledger writes them: Chinese labels joined with "、", in
/// [`CARE_TAGS`] order; unknown and restricted codes are dropped.
pub fn care_tags_zh<'a>(codes: impl IntoIterator<Item = &'a str>) -> String {
    let codes: Vec<&str> = codes.into_iter().collect();
    CARE_TAGS
        .iter()
        .filter(|(c, _, _)| codes.contains(c))
        .map(|(_, zh, _)| *zh)
        .collect::<Vec<_>>()
        .join("、")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_addressed_by_column() {
        let mut row = LedgerRow::empty();
        row.set(LedgerColumn::Name, "张三");
        row.set(LedgerColumn::Estate, "import only");
        assert_eq!(row.get(LedgerColumn::Name), "张三");
        assert_eq!(row.get(LedgerColumn::Estate), "");
        assert_eq!(row.values.len(), LEDGER_COLUMNS.len());
    }

    #[test]
    fn care_tags_in_canonical_order_without_restricted_ones() {
        let s = care_tags_zh(["min_income", "community_correction", "elderly_alone"]);
        assert_eq!(s, "独居老人、低保");
        assert_eq!(care_tag_zh("drug_rehab"), None);
        assert_eq!(housing_use_zh(&HousingUse::Rented), "出租");
        assert_eq!(relation_zh(&Relation::Sibling), "兄弟姐妹");
    }
}
