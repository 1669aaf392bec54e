//! The words ledgers use for the household's and the person's enums: the Chinese an
//! export writes, the usual variants, and the English serde names.

use crate::model::*;

/// Words for one enum: `(value, accepted words)`, the first word of each the canonical one.
type Words<T> = &'static [(T, &'static [&'static str])];

const SEX: Words<Sex> = &[
    (Sex::Male, &["男", "男性", "M", "Male"]),
    (Sex::Female, &["女", "女性", "F", "Female"]),
];

const RELATION: Words<Relation> = &[
    (Relation::Head, &["户主", "本人", "户主本人", "Head"]),
    (
        Relation::Spouse,
        &["配偶", "妻", "妻子", "夫", "丈夫", "Spouse"],
    ),
    (
        Relation::Child,
        &[
            "子女", "子", "女", "儿子", "女儿", "长子", "次子", "长女", "次女", "Child",
        ],
    ),
    (
        Relation::Parent,
        &["父母", "父亲", "母亲", "父", "母", "Parent"],
    ),
    (
        Relation::Grandchild,
        &[
            "孙辈",
            "孙子",
            "孙女",
            "外孙",
            "外孙子",
            "外孙女",
            "Grandchild",
        ],
    ),
    (
        Relation::Sibling,
        &[
            "兄弟姐妹",
            "兄",
            "弟",
            "姐",
            "妹",
            "哥哥",
            "弟弟",
            "姐姐",
            "妹妹",
            "Sibling",
        ],
    ),
    (Relation::Tenant, &["租户", "租客", "承租人", "Tenant"]),
    (Relation::Other, &["其他", "其它", "Other"]),
];

const POPULATION_TYPE: Words<PopulationType> = &[
    (
        PopulationType::Registered,
        &["户籍人口", "户籍", "常住人口", "Registered"],
    ),
    (
        PopulationType::Migrant,
        &["流动人口", "流动", "外来人口", "Migrant"],
    ),
    (
        PopulationType::Foreign,
        &["境外人员", "境外", "外籍", "外籍人员", "Foreign"],
    ),
];

const STATUS: Words<PersonStatus> = &[
    (
        PersonStatus::Living,
        &["在住", "居住", "在册", "正常", "Living"],
    ),
    (PersonStatus::MovedOut, &["迁出", "已迁出", "MovedOut"]),
    (
        PersonStatus::Deceased,
        &["死亡", "已故", "去世", "Deceased"],
    ),
];

const HOUSING_USE: Words<HousingUse> = &[
    (HousingUse::SelfOccupied, &["自住", "SelfOccupied"]),
    (HousingUse::Rented, &["出租", "Rented"]),
    (HousingUse::Vacant, &["空置", "Vacant"]),
    (HousingUse::Other, &["其他", "其它", "Other"]),
];

const HOUSEHOLD_TYPE: Words<HouseholdType> = &[
    (HouseholdType::Registered, &["户籍", "户籍户", "Registered"]),
    (HouseholdType::Migrant, &["流动", "流动户", "Migrant"]),
    (
        HouseholdType::RegisteredAbsent,
        &["空挂", "空挂户", "RegisteredAbsent"],
    ),
];

fn lookup<T: Clone>(words: Words<T>, s: &str) -> Result<T, String> {
    let found = words.iter().find(|(_, ws)| {
        ws.iter().any(|w| {
            w.eq_ignore_ascii_case(s) || w.eq_ignore_ascii_case(&s.replace([' ', '_'], ""))
        })
    });
    match found {
        Some((value, _)) => Ok(value.clone()),
        None => Err(words
            .iter()
            .filter_map(|(_, ws)| ws.first().copied())
            .collect::<Vec<_>>()
            .join("、")),
    }
}

/// Each parser returns the value, or `Err` with the canonical words (joined by 、) to list
/// in the problem message.
pub fn sex(s: &str) -> Result<Sex, String> {
    lookup(SEX, s)
}
pub fn relation(s: &str) -> Result<Relation, String> {
    lookup(RELATION, s)
}
pub fn population_type(s: &str) -> Result<PopulationType, String> {
    lookup(POPULATION_TYPE, s)
}
pub fn status(s: &str) -> Result<PersonStatus, String> {
    lookup(STATUS, s)
}
pub fn housing_use(s: &str) -> Result<HousingUse, String> {
    lookup(HOUSING_USE, s)
}
pub fn household_type(s: &str) -> Result<HouseholdType, String> {
    lookup(HOUSEHOLD_TYPE, s)
}

/// Care tags from their Chinese labels (also without the 老人/家庭 ending, so 空巢 is
/// 空巢老人), their codes, or their English labels, separated by 、 , ; / or spaces.
/// `Err` names the words not understood.
pub fn care_tags(s: &str) -> Result<Vec<&'static str>, Vec<String>> {
    let mut tags = Vec::new();
    let mut unknown = Vec::new();
    let words = s
        .split(['、', ',', '，', ';', '；', '/', ' ', '|'])
        .map(str::trim)
        .filter(|w| !w.is_empty());
    for word in words {
        let found = CARE_TAGS.iter().find(|(code, zh, en)| {
            let short = zh.strip_suffix("老人").or_else(|| zh.strip_suffix("家庭"));
            *zh == word
                || short == Some(word)
                || code.eq_ignore_ascii_case(word)
                || en.eq_ignore_ascii_case(word)
        });
        match found {
            Some((code, _, _)) if !tags.contains(code) => tags.push(*code),
            Some(_) => {}
            None => unknown.push(word.to_string()),
        }
    }
    if unknown.is_empty() {
        Ok(tags)
    } else {
        Err(unknown)
    }
}

/// The Chinese labels of every care tag, for messages.
pub fn care_tag_labels() -> String {
    CARE_TAGS
        .iter()
        .map(|(_, zh, _)| *zh)
        .collect::<Vec<_>>()
        .join("、")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_words_and_variants() {
        assert_eq!(sex("男"), Ok(Sex::Male));
        assert_eq!(sex("female"), Ok(Sex::Female));
        assert_eq!(relation("本人"), Ok(Relation::Head));
        assert_eq!(relation("长女"), Ok(Relation::Child));
        assert_eq!(population_type("境外人员"), Ok(PopulationType::Foreign));
        assert_eq!(status("moved_out"), Ok(PersonStatus::MovedOut));
        assert_eq!(housing_use("SelfOccupied"), Ok(HousingUse::SelfOccupied));
        assert_eq!(household_type("空挂"), Ok(HouseholdType::RegisteredAbsent));
        assert_eq!(sex("未知"), Err("男、女".to_string()));
    }

    #[test]
    fn care_tags_from_labels() {
        assert_eq!(
            care_tags("独居老人、高龄,空巢 veteran"),
            Ok(vec![
                "elderly_alone",
                "age_80_plus",
                "empty_nest",
                "veteran"
            ])
        );
        assert_eq!(care_tags(""), Ok(vec![]));
        assert_eq!(care_tags("高龄、会飞"), Err(vec!["会飞".to_string()]));
        // Every label an export writes comes back.
        let all = CARE_TAGS
            .iter()
            .map(|(_, zh, _)| *zh)
            .collect::<Vec<_>>()
            .join("、");
        assert_eq!(care_tags(&all).map(|t| t.len()), Ok(CARE_TAGS.len()));
    }
}
