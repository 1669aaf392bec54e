//! Validation of whole documents (households, visits, issues), reporting every wrong field.

use super::lengths::{self, Lengths};
use super::{check_date, check_id_number, check_phone, ErrorCode, FieldError, ValidationErrors};
use crate::model::{
    is_care_tag, is_restricted_tag, EventKind, Gps, Household, Issue, Relation, Visit,
};
use chrono::{NaiveDate, NaiveTime};
use std::collections::BTreeMap;
use ErrorCode::*;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Accumulates every error of a value.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, path: impl Into<String>, code: ErrorCode, message: impl Into<String>) {
        self.0.push(FieldError::new(path, code, message));
    }

    fn add<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }

    fn required(&mut self, path: &str, value: &str, zh: &str, en: &str) -> bool {
        let empty = value.trim().is_empty();
        if empty {
            self.push(path, Required, format!("{zh}不能为空 / {en} is required"));
        }
        !empty
    }

    fn max_chars(&mut self, path: &str, value: &str, max: usize, zh: &str, en: &str) {
        if value.chars().count() > max {
            self.push(
                path,
                BadLength,
                format!("{zh}不能超过{max}个字 / {en} must be at most {max} characters"),
            );
        }
    }

    fn digit_code(&mut self, path: &str, value: &str, len: usize, zh: &str, en: &str) {
        if !self.required(path, value, zh, en) {
            return;
        }
        if !value.chars().all(|c| c.is_ascii_digit()) {
            let msg = format!("{zh}只能包含数字 / {en} must contain digits only");
            self.push(path, BadChars, msg);
        } else if value.len() != len {
            let msg = format!("{zh}应为{len}位数字 / {en} must be {len} digits");
            self.push(path, BadLength, msg);
        }
    }

    fn key_matches(&mut self, path: &str, id: &str, key: &str) {
        if self.required(path, id, "编号", "id") && id != key {
            self.push(
                path,
                KeyMismatch,
                format!("编号{id}与其键{key}不一致 / id {id} differs from its key {key}"),
            );
        }
    }

    fn gps(&mut self, gps: Option<&Gps>) {
        let Some(g) = gps else { return };
        if !(-90.0..=90.0).contains(&g.lat) {
            self.push(
                "gps.lat",
                OutOfRange,
                "纬度应在-90到90之间 / latitude must be between -90 and 90",
            );
        }
        if !(-180.0..=180.0).contains(&g.lon) {
            self.push(
                "gps.lon",
                OutOfRange,
                "经度应在-180到180之间 / longitude must be between -180 and 180",
            );
        }
    }

    fn finish(mut self, lengths: Lengths) -> Result<(), ValidationErrors> {
        self.0.extend(lengths.0);
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(self.0))
        }
    }
}

/// Validates a household and all its members, reporting every wrong field.
pub fn validate_household(h: &Household, today: NaiveDate) -> Result<(), ValidationErrors> {
    let mut e = Errors::default();
    e.required("id", &h.id, "户编号", "household id");
    e.required("grid_id", &h.grid_id, "网格", "grid");
    let a = &h.address;
    e.digit_code(
        "address.community_code",
        &a.community_code,
        12,
        "社区代码",
        "community code",
    );
    e.digit_code(
        "address.building_no",
        &a.building_no,
        5,
        "楼栋编号",
        "building number",
    );
    e.required("address.unit", &a.unit, "单元", "unit");
    e.required("address.room", &a.room, "房号", "room");
    if h.members.is_empty() {
        e.push(
            "members",
            Required,
            "至少需要一名成员 / at least one member is required",
        );
    }
    if let Some(head) = &h.head_person_id {
        if !h.members.contains_key(head) {
            e.push(
                "head_person_id",
                NotFound,
                format!("户主{head}不是本户成员 / head {head} is not a member of the household"),
            );
        }
    }
    if let Some(phone) = &h.phone {
        e.add(check_phone("phone", phone));
    }
    e.gps(h.gps.as_ref());

    let mut id_numbers: BTreeMap<String, &str> = BTreeMap::new();
    let mut head_seen = false;
    for (key, p) in &h.members {
        let path = |field: &str| format!("members.{key}.{field}");
        e.key_matches(&path("id"), &p.id, key);
        e.required(&path("name"), &p.name, "姓名", "name");
        e.max_chars(&path("name"), &p.name, 50, "姓名", "name");
        let birth = p
            .birth_date
            .as_deref()
            .and_then(|b| e.add(check_date(&path("birth_date"), b)));
        let birth = birth.filter(|b| {
            let future = *b > today;
            if future {
                e.push(
                    path("birth_date"),
                    BadDate,
                    "出生日期晚于今天 / birth date is in the future",
                );
            }
            !future
        });
        if let Some(info) = p
            .id_number
            .as_deref()
            .and_then(|n| e.add(check_id_number(&path("id_number"), n, today)))
        {
            if let Some(b) = birth.filter(|b| *b != info.birth_date) {
                e.push(
                    path("id_number"),
                    BirthDateMismatch,
                    format!("身份证号中的出生日期{}与出生日期{b}不一致 / the birth date in the ID number ({}) differs from the birth date {b}", info.birth_date, info.birth_date),
                );
            }
            if info.sex != p.sex {
                e.push(path("id_number"), SexMismatch, "身份证号中的性别与填写的性别不一致 / the sex in the ID number differs from the person's sex");
            }
            let normalized = p
                .id_number
                .as_deref()
                .unwrap_or_default()
                .to_ascii_uppercase();
            if let Some(other) = id_numbers.insert(normalized, key) {
                e.push(
                    path("id_number"),
                    Duplicate,
                    format!(
                        "身份证号与成员{other}重复 / ID number is the same as member {other}'s"
                    ),
                );
            }
        }
        if let Some(phone) = &p.phone {
            e.add(check_phone(&path("phone"), phone));
        }
        for tag in p.tags.keys().filter(|t| !is_care_tag(t)) {
            e.push(
                path(&format!("tags.{tag}")),
                UnknownTag,
                format!("未知的关爱标签{tag} / unknown care tag {tag}"),
            );
        }
        for tag in p.restricted_tags.keys().filter(|t| !is_restricted_tag(t)) {
            e.push(
                path(&format!("restricted_tags.{tag}")),
                UnknownTag,
                format!("未知的重点人员标签{tag} / unknown key-person tag {tag}"),
            );
        }
        if p.relation == Relation::Head {
            if head_seen {
                e.push(
                    path("relation"),
                    Duplicate,
                    "一户只能有一名户主 / a household can have only one head",
                );
            }
            head_seen = true;
        }
    }
    let mut l = Lengths::default();
    lengths::household(h, &mut l);
    e.finish(l)
}

/// Validates a visit record. `today` bounds its time: a visit may not be dated after
/// tomorrow (UTC), which leaves room for time zones and a slightly fast clock.
pub fn validate_visit(v: &Visit, today: NaiveDate) -> Result<(), ValidationErrors> {
    let mut e = Errors::default();
    e.required("id", &v.id, "走访编号", "visit id");
    e.required("household_id", &v.household_id, "户", "household");
    e.required("grid_id", &v.grid_id, "网格", "grid");
    e.required("worker_id", &v.worker_id, "网格员", "worker");
    e.required("device_id", &v.device_id, "设备", "device");
    let limit = today.and_time(NaiveTime::MIN).and_utc().timestamp_millis() + 2 * DAY_MS;
    if v.at <= 0 {
        e.push("at", OutOfRange, "走访时间无效 / visit time is not valid");
    } else if v.at >= limit {
        e.push(
            "at",
            OutOfRange,
            "走访时间晚于今天 / visit time is in the future",
        );
    }
    if let Some(f) = &v.follow_up {
        e.add(check_date("follow_up", f));
    }
    e.max_chars("findings", &v.findings, 2000, "走访情况", "findings");
    e.gps(v.gps.as_ref());
    let mut l = Lengths::default();
    lengths::visit(v, &mut l);
    e.finish(l)
}

/// Validates an issue and its event log.
pub fn validate_issue(i: &Issue) -> Result<(), ValidationErrors> {
    let mut e = Errors::default();
    e.required("id", &i.id, "事件编号", "issue id");
    e.required("grid_id", &i.grid_id, "网格", "grid");
    e.required("category", &i.category, "类别", "category");
    e.required("title", &i.title, "标题", "title");
    e.max_chars("title", &i.title, 100, "标题", "title");
    if let Some(phone) = i.reporter.as_ref().and_then(|r| r.phone.as_ref()) {
        e.add(check_phone("reporter.phone", phone));
    }
    e.gps(i.gps.as_ref());
    if i.events.is_empty() {
        e.push(
            "events",
            Required,
            "至少需要一条事件记录 / at least one event is required",
        );
    }
    for (key, ev) in &i.events {
        let path = |field: &str| format!("events.{key}.{field}");
        e.key_matches(&path("id"), &ev.id, key);
        if ev.satisfaction.is_some_and(|s| !(1..=5).contains(&s)) {
            e.push(
                path("satisfaction"),
                OutOfRange,
                "满意度应为1到5 / satisfaction must be from 1 to 5",
            );
        }
        if ev.kind == EventKind::Dispatch {
            e.required(
                &path("department"),
                ev.department.as_deref().unwrap_or_default(),
                "派遣部门",
                "department",
            );
            match ev.deadline {
                None => e.push(
                    path("deadline"),
                    Required,
                    "派遣须有办理期限 / a dispatch needs a deadline",
                ),
                Some(d) if d <= ev.at => e.push(
                    path("deadline"),
                    OutOfRange,
                    "办理期限应晚于派遣时间 / the deadline must be after the dispatch",
                ),
                Some(_) => {}
            }
        }
    }
    let mut l = Lengths::default();
    lengths::issue(i, &mut l);
    e.finish(l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::validate::tests::{id_for, today};

    /// "path Code, path Code, …" in the order the errors were found.
    fn summary(r: Result<(), ValidationErrors>) -> String {
        let errors = r.err().map(|e| e.0).unwrap_or_default();
        let parts: Vec<String> = errors
            .iter()
            .map(|f| format!("{} {:?}", f.path, f.code))
            .collect();
        parts.join(", ")
    }

    fn person(id: &str, sex: Sex, birth: &str, seq: &str, relation: Relation) -> (String, Person) {
        let id_number = id_for(&format!("110105{}{seq}", birth.replace('-', "")));
        let person = Person {
            id: id.into(),
            name: "张三".into(),
            sex,
            birth_date: Some(birth.into()),
            id_number: Some(id_number),
            phone: Some("13812345678".into()),
            relation,
            population_type: PopulationType::Registered,
            status: PersonStatus::Living,
            tags: [("elderly_alone".to_string(), true)].into(),
            restricted_tags: [("community_correction".to_string(), true)].into(),
            disability_cert: None,
            notes: String::new(),
        };
        (id.into(), person)
    }

    fn household() -> Household {
        let address = Address {
            community_code: "110105001001".into(),
            building_no: "00003".into(),
            building_name: "3栋".into(),
            unit: "2".into(),
            floor: 5,
            room: "501".into(),
        };
        Household {
            id: "h1".into(),
            grid_id: "g1".into(),
            address,
            housing_use: HousingUse::SelfOccupied,
            household_type: HouseholdType::Registered,
            head_person_id: Some("p1".into()),
            phone: Some("010-65012345".into()),
            members: [
                person("p1", Sex::Male, "1950-03-07", "011", Relation::Head),
                person("p2", Sex::Female, "1952-08-20", "022", Relation::Spouse),
            ]
            .into(),
            notes: String::new(),
            gps: Some(Gps {
                lat: 39.9,
                lon: 116.4,
            }),
            created_at: 1_700_000_000_000,
        }
    }

    fn visit() -> Visit {
        Visit {
            id: "v1".into(),
            household_id: "h1".into(),
            grid_id: "g1".into(),
            worker_id: "u1".into(),
            device_id: "d1".into(),
            at: 1_717_200_000_000, // 2024-06-01 UTC
            mode: VisitMode::InPerson,
            findings: "老人身体状况良好".into(),
            needs: String::new(),
            follow_up: Some("2024-06-08".into()),
            linked_issues: BTreeMap::new(),
            photos: BTreeMap::new(),
            gps: None,
            review: None,
        }
    }

    fn event(id: &str, kind: EventKind) -> (String, IssueEvent) {
        let dispatch = kind == EventKind::Dispatch;
        let event = IssueEvent {
            id: id.into(),
            kind,
            at: 1_717_200_000_000,
            by_user: "u1".into(),
            by_device: "d1".into(),
            note: String::new(),
            department: dispatch.then(|| "城管".into()),
            deadline: dispatch.then_some(1_717_300_000_000),
            satisfaction: None,
            photos: BTreeMap::new(),
        };
        (id.into(), event)
    }

    fn issue() -> Issue {
        let reporter = Reporter {
            name: "李四".into(),
            phone: Some("13912345678".into()),
        };
        Issue {
            id: "i1".into(),
            grid_id: "g1".into(),
            category: "environment".into(),
            title: "楼道堆放杂物".into(),
            description: String::new(),
            place: "3栋2单元".into(),
            household_id: None,
            reporter: Some(reporter),
            urgency: Urgency::Normal,
            photos: BTreeMap::new(),
            gps: None,
            created_at: 1_717_200_000_000,
            events: [
                event("e1", EventKind::Report),
                event("e2", EventKind::Dispatch),
            ]
            .into(),
        }
    }

    #[test]
    fn validate_valid_documents_pass() {
        assert_eq!(validate_household(&household(), today()), Ok(()));
        assert_eq!(validate_visit(&visit(), today()), Ok(()));
        assert_eq!(validate_issue(&issue()), Ok(()));
    }

    #[test]
    fn validate_household_collects_all_errors() {
        let mut h = household();
        (h.id, h.grid_id, h.phone) = (" ".into(), String::new(), Some("phone".into()));
        h.address.community_code = "11010500100".into();
        h.address.building_no = "0003a".into();
        (h.address.unit, h.address.room) = (String::new(), String::new());
        h.head_person_id = Some("p9".into());
        h.gps = Some(Gps {
            lat: 91.0,
            lon: f64::NAN,
        });
        let p = h.members.get_mut("p1").unwrap();
        (p.id, p.name, p.phone) = ("p3".into(), "名".repeat(51), Some("123".into()));
        p.tags.insert("community_correction".into(), true);
        p.restricted_tags.insert("elderly_alone".into(), true);
        let p = h.members.get_mut("p2").unwrap();
        p.name.clear();
        p.birth_date = Some("2030-01-01".into());
        p.id_number = Some("11010519491231002Y".into());
        assert_eq!(
            summary(validate_household(&h, today())),
            "id Required, grid_id Required, address.community_code BadLength, \
             address.building_no BadChars, address.unit Required, address.room Required, \
             head_person_id NotFound, phone BadPhone, gps.lat OutOfRange, gps.lon OutOfRange, \
             members.p1.id KeyMismatch, members.p1.name BadLength, members.p1.phone BadPhone, \
             members.p1.tags.community_correction UnknownTag, \
             members.p1.restricted_tags.elderly_alone UnknownTag, members.p2.name Required, \
             members.p2.birth_date BadDate, members.p2.id_number BadChars"
        );
        let mut empty = household();
        (empty.members, empty.head_person_id) = (BTreeMap::new(), None);
        assert_eq!(
            summary(validate_household(&empty, today())),
            "members Required"
        );
    }

    #[test]
    fn validate_household_cross_checks_members() {
        let mut h = household();
        let p1_id = h.members["p1"].id_number.clone();
        let p2 = h.members.get_mut("p2").unwrap();
        (p2.id_number, p2.relation) = (p1_id.map(|s| s.to_lowercase()), Relation::Head);
        assert_eq!(
            summary(validate_household(&h, today())),
            "members.p2.id_number BirthDateMismatch, members.p2.id_number SexMismatch, \
             members.p2.id_number Duplicate, members.p2.relation Duplicate"
        );
    }

    #[test]
    fn validate_visit_errors() {
        let mut v = visit();
        (v.id, v.household_id, v.grid_id) = (String::new(), String::new(), String::new());
        (v.worker_id, v.device_id, v.at) = (String::new(), String::new(), 0);
        (v.follow_up, v.findings) = (Some("2024-06-31".into()), "字".repeat(2001));
        v.gps = Some(Gps {
            lat: 0.0,
            lon: 181.0,
        });
        assert_eq!(
            summary(validate_visit(&v, today())),
            "id Required, household_id Required, grid_id Required, worker_id Required, \
             device_id Required, at OutOfRange, follow_up BadDate, findings BadLength, \
             gps.lon OutOfRange"
        );
        let mut v = visit();
        v.at += 2 * DAY_MS;
        assert_eq!(summary(validate_visit(&v, today())), "at OutOfRange");
    }

    #[test]
    fn validate_issue_errors() {
        let mut i = issue();
        (i.category, i.title) = (String::new(), "题".repeat(101));
        i.reporter.as_mut().unwrap().phone = Some("110".into());
        let e1 = i.events.get_mut("e1").unwrap();
        (e1.id, e1.satisfaction) = ("e9".into(), Some(6));
        let e2 = i.events.get_mut("e2").unwrap();
        (e2.department, e2.deadline) = (None, Some(e2.at));
        assert_eq!(
            summary(validate_issue(&i)),
            "category Required, title BadLength, reporter.phone BadPhone, \
             events.e1.id KeyMismatch, events.e1.satisfaction OutOfRange, \
             events.e2.department Required, events.e2.deadline OutOfRange"
        );
        i.events.get_mut("e2").unwrap().deadline = None;
        assert!(summary(validate_issue(&i)).contains("events.e2.deadline Required"));
        i.events.clear();
        assert!(summary(validate_issue(&i)).ends_with("events Required"));
    }

    #[test]
    fn validate_free_text_lengths() {
        let long = |n: usize| "字".repeat(n + 1);
        let mut h = household();
        h.notes = long(2000);
        h.address.room = long(50);
        if let Some(p) = h.members.get_mut("p1") {
            p.notes = long(2000);
        }
        assert_eq!(
            summary(validate_household(&h, today())),
            "address.room BadLength, notes BadLength, members.p1.notes BadLength"
        );
        let mut v = visit();
        v.needs = long(2000);
        v.review = Some(VisitReview {
            status: ReviewStatus::Flagged,
            comment: long(2000),
            by_user: "u2".into(),
            at: 1,
        });
        assert_eq!(
            summary(validate_visit(&v, today())),
            "needs BadLength, review.comment BadLength"
        );
        let mut i = issue();
        // 20 MB of description, as a 2.5 KB compressed push once stored.
        i.description = "x".repeat(20 << 20);
        i.place = long(100);
        if let Some(ev) = i.events.get_mut("e2") {
            ev.note = long(2000);
            ev.department = Some(long(50));
        }
        let err = validate_issue(&i).expect_err("too long");
        assert_eq!(
            summary(Err(err.clone())),
            "description BadLength, place BadLength, events.e2.note BadLength, \
             events.e2.department BadLength"
        );
        assert!(
            err.to_string()
                .contains("描述不能超过5000个字 / description must be at most 5000"),
            "{err}"
        );
        // At the limit is fine.
        let mut i = issue();
        i.description = "字".repeat(5000);
        assert_eq!(validate_issue(&i), Ok(()));
    }
}
