//! The words ledgers use for the household's and the person's enums: the Chinese an
//! export writes, the usual variants, and the English serde names.

use crate::model::*;

/// Words for one enum: `(value, accepted words)`, the first word of each the canonical one.
type Words<T> = &'static [(T, &'static [&'static str])];

const SEX: Words<Sex> = &[
    (Sex::Male, &["男", "男性", "M", "Male"]),
    (Sex::Female, &["女", "女性", "F", "Female"]),
];

/// GB/T 4761's relations as ledgers write them. 子女 is [`Relation::Child`] here; the row
/// makes it 子 or 女 by the person's sex.
const RELATION: Words<Relation> = &[
    (Relation::Head, &["户主", "本人", "户主本人", "Head"]),
    (
        Relation::Spouse,
        &["配偶", "妻", "妻子", "夫", "丈夫", "爱人", "老伴", "Spouse"],
    ),
    (Relation::Child, &["子女", "Child"]),
    (
        Relation::Son,
        &[
            "子",
            "儿子",
            "长子",
            "次子",
            "三子",
            "四子",
            "五子",
            "独生子",
            "养子",
            "继子",
            "Son",
        ],
    ),
    (
        Relation::Daughter,
        &[
            "女",
            "女儿",
            "长女",
            "次女",
            "三女",
            "四女",
            "五女",
            "独生女",
            "养女",
            "继女",
            "Daughter",
        ],
    ),
    (
        Relation::DaughterInLaw,
        &["儿媳", "儿媳妇", "媳妇", "长媳", "次媳", "DaughterInLaw"],
    ),
    (Relation::SonInLaw, &["女婿", "SonInLaw"]),
    (
        Relation::Parent,
        &[
            "父母", "父亲", "母亲", "父", "母", "继父", "继母", "养父", "养母", "Parent",
        ],
    ),
    (
        Relation::ParentInLaw,
        &[
            "公婆",
            "公公",
            "婆婆",
            "岳父母",
            "岳父",
            "岳母",
            "公婆/岳父母",
            "ParentInLaw",
        ],
    ),
    (
        Relation::Grandchild,
        &[
            "孙子女",
            "孙辈",
            "孙子",
            "孙女",
            "外孙子女",
            "外孙",
            "外孙子",
            "外孙女",
            "Grandchild",
        ],
    ),
    (
        Relation::Grandparent,
        &[
            "祖父母",
            "祖父",
            "祖母",
            "外祖父母",
            "外祖父",
            "外祖母",
            "爷爷",
            "奶奶",
            "外公",
            "外婆",
            "Grandparent",
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
    (Relation::Nanny, &["保姆", "Nanny"]),
    (Relation::Tenant, &["租户", "租客", "承租人", "Tenant"]),
    (
        Relation::Other,
        &[
            "其他",
            "其它",
            "侄子",
            "侄女",
            "外甥",
            "外甥女",
            "孙媳",
            "亲属",
            "朋友",
            "Other",
        ],
    ),
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
    // 外出 (working or studying elsewhere for a while) still belongs to the household: the
    // row keeps the word in the person's notes.
    (
        PersonStatus::Living,
        &["在住", "居住", "在册", "正常", "外出", "暂时外出", "Living"],
    ),
    (
        PersonStatus::MovedOut,
        &["迁出", "已迁出", "搬离", "已搬离", "MovedOut"],
    ),
    (
        PersonStatus::Deceased,
        &["死亡", "已故", "去世", "Deceased"],
    ),
];

const HOUSING_USE: Words<HousingUse> = &[
    (
        HousingUse::SelfOccupied,
        &["自住", "自有", "自购", "SelfOccupied"],
    ),
    (HousingUse::Rented, &["出租", "租住", "租赁", "Rented"]),
    (HousingUse::Vacant, &["空置", "空房", "闲置", "Vacant"]),
    (
        HousingUse::Other,
        &["其他", "其它", "借住", "商用", "Other"],
    ),
];

const HOUSEHOLD_TYPE: Words<HouseholdType> = &[
    // A per-person 人员类型 column says 户籍人口 / 流动人口; 人户状态 says 人户一致 or
    // 人户分离 (registered here, living elsewhere: as good as 空挂 for the grid), and 寄住
    // is someone lodging here without registration: 流动.
    (
        HouseholdType::Registered,
        &[
            "户籍",
            "户籍户",
            "户籍人口",
            "常住人口",
            "人户一致",
            "Registered",
        ],
    ),
    (
        HouseholdType::Migrant,
        &[
            "流动",
            "流动户",
            "流动人口",
            "外来人口",
            "寄住",
            "暂住",
            "人在户不在",
            "Migrant",
        ],
    ),
    (
        HouseholdType::RegisteredAbsent,
        &[
            "空挂",
            "空挂户",
            "人户分离",
            "户在人不在",
            "RegisteredAbsent",
        ],
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

/// Words offices write for a care tag besides its label: (word, code).
const CARE_TAG_WORDS: &[(&str, &str)] = &[
    ("空巢", "empty_nest"),
    ("独居", "elderly_alone"),
    ("孤寡老人", "elderly_alone"),
    ("高龄老人", "age_80_plus"),
    ("80岁以上", "age_80_plus"),
    ("残疾人", "disabled"),
    ("残疾人员", "disabled"),
    ("低保户", "min_income"),
    ("低保对象", "min_income"),
    ("特困户", "extreme_hardship"),
    ("特困人员", "extreme_hardship"),
    ("五保户", "extreme_hardship"),
    ("失独", "lost_only_child"),
    ("退伍军人", "veteran"),
    ("孕妇", "pregnant"),
];

/// Words that mean "no tag".
const NO_TAG: &[&str] = &["无", "否", "-", "—", "/", "暂无", "正常"];

/// Tags from a cell: care tags (by Chinese label, also without the 老人/家庭 ending, by
/// code, English label or a usual synonym) and restricted key-person tags (社区矫正 …,
/// which only an admin import may set), separated by 、 , ， ; ； / | or spaces.
/// `Err` names the words not understood.
pub fn tags(s: &str) -> Result<(Vec<&'static str>, Vec<&'static str>), Vec<String>> {
    let (mut care, mut restricted, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    let words = s
        .split(['、', ',', '，', ';', '；', '/', ' ', '|', '\n'])
        .map(str::trim)
        .filter(|w| !w.is_empty() && !NO_TAG.contains(w));
    for word in words {
        let label = |(code, zh, en): &(&'static str, &str, &str)| {
            let short = zh.strip_suffix("老人").or_else(|| zh.strip_suffix("家庭"));
            (*zh == word
                || short == Some(word)
                || code.eq_ignore_ascii_case(word)
                || en.eq_ignore_ascii_case(word))
            .then_some(*code)
        };
        let synonym = CARE_TAG_WORDS
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, c)| *c);
        if let Some(code) = CARE_TAGS.iter().find_map(label).or(synonym) {
            if !care.contains(&code) {
                care.push(code);
            }
        } else if let Some(code) = RESTRICTED_TAGS.iter().find_map(label) {
            if !restricted.contains(&code) {
                restricted.push(code);
            }
        } else {
            unknown.push(word.to_string());
        }
    }
    if unknown.is_empty() {
        Ok((care, restricted))
    } else {
        Err(unknown)
    }
}

/// Care tags only (see [`tags`]); restricted words count as not understood.
pub fn care_tags(s: &str) -> Result<Vec<&'static str>, Vec<String>> {
    match tags(s) {
        Ok((care, restricted)) if restricted.is_empty() => Ok(care),
        Ok(_) => Err(s
            .split(['、', ',', '，', ';', '；', '/', ' ', '|'])
            .map(str::trim)
            .filter(|w| RESTRICTED_TAGS.iter().any(|(_, zh, _)| zh == w))
            .map(str::to_string)
            .collect()),
        Err(unknown) => Err(unknown),
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
        assert_eq!(relation("长女"), Ok(Relation::Daughter));
        assert_eq!(population_type("境外人员"), Ok(PopulationType::Foreign));
        assert_eq!(status("moved_out"), Ok(PersonStatus::MovedOut));
        assert_eq!(housing_use("SelfOccupied"), Ok(HousingUse::SelfOccupied));
        assert_eq!(household_type("空挂"), Ok(HouseholdType::RegisteredAbsent));
        assert_eq!(sex("未知"), Err("男、女".to_string()));
    }

    /// GB/T 4761's vocabulary, as LEDGERS.md lists it.
    #[test]
    fn every_relation_word_offices_use() {
        use Relation as R;
        let table: &[(R, &[&str])] = &[
            (R::Head, &["户主", "本人"]),
            (R::Spouse, &["配偶", "妻", "夫", "妻子", "丈夫"]),
            (R::Son, &["子", "长子", "次子", "儿子"]),
            (R::Daughter, &["女", "长女", "次女", "女儿"]),
            (R::Child, &["子女"]),
            (R::DaughterInLaw, &["儿媳"]),
            (R::SonInLaw, &["女婿"]),
            (
                R::Grandchild,
                &["孙子", "孙女", "外孙", "外孙女", "孙子女", "外孙子女"],
            ),
            (R::Parent, &["父母", "父亲", "母亲"]),
            (
                R::ParentInLaw,
                &["公婆", "公公", "婆婆", "岳父母", "岳父", "岳母"],
            ),
            (R::Grandparent, &["祖父母", "祖父", "祖母"]),
            (R::Sibling, &["兄弟姐妹", "兄", "弟", "姐", "妹"]),
            (R::Other, &["其他"]),
            (R::Nanny, &["保姆"]),
            (R::Tenant, &["租户"]),
        ];
        for (want, words) in table {
            for w in *words {
                assert_eq!(relation(w).as_ref(), Ok(want), "{w}");
            }
        }
        assert!(relation("邻居").is_err());
    }

    #[test]
    fn household_status_and_use_words() {
        use HouseholdType as T;
        for (w, want) in [
            ("空挂", T::RegisteredAbsent),
            ("人户分离", T::RegisteredAbsent),
            ("寄住", T::Migrant),
            ("流动人口", T::Migrant),
            ("户籍人口", T::Registered),
        ] {
            assert_eq!(household_type(w), Ok(want), "{w}");
        }
        assert_eq!(status("外出"), Ok(PersonStatus::Living));
        assert_eq!(status("迁出"), Ok(PersonStatus::MovedOut));
        assert_eq!(status("死亡"), Ok(PersonStatus::Deceased));
        assert_eq!(housing_use("借住"), Ok(HousingUse::Other));
        assert_eq!(housing_use("出租"), Ok(HousingUse::Rented));
    }

    #[test]
    fn tags_with_any_separator_and_restricted_ones() {
        for s in [
            "独居老人、低保",
            "独居老人,低保",
            "独居老人，低保",
            "独居老人;低保",
            "独居老人；低保",
            "独居老人/低保",
            "独居老人 低保",
        ] {
            assert_eq!(
                tags(s),
                Ok((vec!["elderly_alone", "min_income"], vec![])),
                "{s}"
            );
        }
        assert_eq!(
            tags("空巢；慢性病"),
            Ok((vec!["empty_nest", "chronic_disease"], vec![]))
        );
        assert_eq!(tags("无"), Ok((vec![], vec![])));
        assert_eq!(
            tags("低保户、社区矫正"),
            Ok((vec!["min_income"], vec!["community_correction"]))
        );
        assert_eq!(care_tags("社区矫正"), Err(vec!["社区矫正".to_string()]));
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
