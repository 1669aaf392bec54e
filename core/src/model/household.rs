//! The household document (户) and its members (persons).
//!
//! Schema rules that keep concurrent edits mergeable: everything is a map or a scalar (no
//! lists), collections are maps keyed by id so concurrent adds never collide, tag sets are
//! maps of tag → true, and ids are strings. Field names are the serde names.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
pub enum HousingUse {
    /// 自住
    SelfOccupied,
    /// 出租
    Rented,
    /// 空置
    Vacant,
    /// 其他
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
pub enum HouseholdType {
    /// 户籍
    Registered,
    /// 流动
    Migrant,
    /// 空挂 (registered but absent)
    RegisteredAbsent,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
pub enum Sex {
    Male,
    Female,
}

/// Relation to the head of household, after the national code table (GB/T 4761 家庭关系
/// 代码): its groups, plus the in-laws, nanny and tenant that community ledgers list.
/// Serde names are stable: documents store them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
pub enum Relation {
    /// 户主
    Head,
    /// 配偶
    Spouse,
    /// 子女 (son or daughter not said)
    Child,
    /// 父母
    Parent,
    /// 孙子女、外孙子女
    Grandchild,
    /// 兄弟姐妹
    Sibling,
    /// 租户
    Tenant,
    /// 其他
    Other,
    /// 子
    Son,
    /// 女
    Daughter,
    /// 儿媳
    DaughterInLaw,
    /// 女婿
    SonInLaw,
    /// 公婆、岳父母
    ParentInLaw,
    /// 祖父母、外祖父母
    Grandparent,
    /// 保姆
    Nanny,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
pub enum PopulationType {
    /// 户籍人口
    Registered,
    /// 流动人口
    Migrant,
    /// 境外人员
    Foreign,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
pub enum PersonStatus {
    /// 在住
    Living,
    /// 迁出
    MovedOut,
    /// 死亡
    Deceased,
}

/// Care tags (关爱标签): shown to every role that sees the person.
pub const CARE_TAGS: &[(&str, &str, &str)] = &[
    ("elderly_alone", "独居老人", "elderly living alone"),
    ("empty_nest", "空巢老人", "empty-nest elderly"),
    ("age_80_plus", "高龄", "aged 80+"),
    ("disabled", "残疾", "disabled"),
    ("min_income", "低保", "minimum income"),
    ("extreme_hardship", "特困", "extreme hardship"),
    ("lost_only_child", "失独家庭", "lost only child"),
    ("left_behind_child", "留守儿童", "left-behind child"),
    ("veteran", "退役军人", "veteran"),
    ("chronic_disease", "慢性病", "chronic disease"),
    ("pregnant", "孕产妇", "pregnant"),
];

/// Key-person tags (重点人员): restricted, shown only to roles that need them.
pub const RESTRICTED_TAGS: &[(&str, &str, &str)] = &[
    ("community_correction", "社区矫正", "community corrections"),
    (
        "severe_mental_illness",
        "严重精神障碍",
        "serious mental illness",
    ),
    ("drug_rehab", "社区戒毒", "community drug rehabilitation"),
    ("released_prisoner", "刑满释放", "released from prison"),
];

/// Care tags that put a household on the weekly visit rule (high-risk elderly).
pub const HIGH_RISK_TAGS: &[&str] = &["elderly_alone", "age_80_plus", "extreme_hardship"];

pub fn is_care_tag(tag: &str) -> bool {
    CARE_TAGS.iter().any(|(code, _, _)| *code == tag)
}

pub fn is_restricted_tag(tag: &str) -> bool {
    RESTRICTED_TAGS.iter().any(|(code, _, _)| *code == tag)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Address {
    /// 12-digit statistical code of the community (社区).
    pub community_code: String,
    /// 5-digit building number within the community.
    pub building_no: String,
    /// Building name as residents say it, e.g. "3栋".
    pub building_name: String,
    pub unit: String,
    pub floor: i64,
    pub room: String,
}

impl Address {
    /// "3栋2单元501" — how the address is written on a door plate.
    pub fn short(&self) -> String {
        format!("{}{}单元{}", self.building_name, self.unit, self.room)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Gps {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub sex: Sex,
    /// ISO date, `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// 18-character resident ID (GB 11643).
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub relation: Relation,
    pub population_type: PopulationType,
    pub status: PersonStatus,
    /// Care tag code → true. A map, so two workers tagging at once never collide.
    pub tags: BTreeMap<String, bool>,
    /// Restricted key-person tag code → true.
    pub restricted_tags: BTreeMap<String, bool>,
    /// Disability certificate number, when tagged disabled.
    pub disability_cert: Option<String>,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Household {
    pub id: String,
    /// The grid this household belongs to: the unit of scope for sync and access.
    pub grid_id: String,
    pub address: Address,
    pub housing_use: HousingUse,
    pub household_type: HouseholdType,
    /// Person id of the head of household, one of `members`.
    pub head_person_id: Option<String>,
    pub phone: Option<String>,
    /// Person id → person.
    pub members: BTreeMap<String, Person>,
    pub notes: String,
    pub gps: Option<Gps>,
    /// Creation time, milliseconds since the Unix epoch (UTC).
    pub created_at: i64,
}

impl Household {
    pub fn head(&self) -> Option<&Person> {
        self.head_person_id
            .as_ref()
            .and_then(|id| self.members.get(id))
    }

    /// Members who still live here (not moved out, not deceased).
    pub fn living_members(&self) -> impl Iterator<Item = &Person> {
        self.members
            .values()
            .filter(|p| p.status == PersonStatus::Living)
    }

    /// Union of the care tags of the living members.
    pub fn care_tags(&self) -> std::collections::BTreeSet<&str> {
        self.living_members()
            .flat_map(|p| {
                p.tags
                    .iter()
                    .filter(|(_, on)| **on)
                    .map(|(t, _)| t.as_str())
            })
            .collect()
    }
}
