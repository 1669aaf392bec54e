//! Maximum lengths of every free-text field and id of the document schema.
//!
//! Documents come from devices: without a bound, a 2.5 KB compressed push can store a
//! 20 MB description that every supervisor's console and every device of the grid then
//! loads. Limits count characters (a Chinese character is one), and each error names the
//! field and its limit. (Person names, issue titles and findings are bounded in
//! documents.rs with their other checks.)

use super::{ErrorCode, FieldError};
use crate::model::{Household, Issue, PhotoRef, Visit};
use std::collections::BTreeMap;

/// Ids, map keys that are ids, user and device ids (UUIDs are 36).
pub const MAX_ID: usize = 64;
/// Short labels: units, rooms, categories, departments, mime types, certificate numbers.
pub const MAX_SHORT: usize = 50;
/// Names of people and buildings, places.
pub const MAX_NAME: usize = 100;
/// Notes, findings, needs, event notes and review comments.
pub const MAX_NOTE: usize = 2000;
/// Issue descriptions.
pub const MAX_DESCRIPTION: usize = 5000;
/// Entries of one map (members, photos, linked issues, events, tags).
pub const MAX_ENTRIES: usize = 500;

/// Collects the fields that are too long.
#[derive(Default)]
pub(super) struct Lengths(pub(super) Vec<FieldError>);

impl Lengths {
    fn max(&mut self, path: &str, value: &str, max: usize, zh: &str, en: &str) {
        // `len()` bounds the count cheaply before counting characters.
        if value.len() > max && value.chars().count() > max {
            self.0.push(FieldError::new(
                path,
                ErrorCode::BadLength,
                format!("{zh}不能超过{max}个字 / {en} must be at most {max} characters"),
            ));
        }
    }

    fn opt(&mut self, path: &str, value: Option<&String>, max: usize, zh: &str, en: &str) {
        if let Some(v) = value {
            self.max(path, v, max, zh, en);
        }
    }

    fn entries<V>(&mut self, path: &str, map: &BTreeMap<String, V>, zh: &str, en: &str) {
        if map.len() > MAX_ENTRIES {
            self.0.push(FieldError::new(
                path,
                ErrorCode::BadLength,
                format!(
                    "{zh}不能超过{MAX_ENTRIES}条 / {en} must have at most {MAX_ENTRIES} entries"
                ),
            ));
        }
        for key in map.keys() {
            self.max(&format!("{path}.{key}"), key, MAX_ID, "键", "key");
        }
    }

    fn photos(&mut self, path: &str, photos: &BTreeMap<String, PhotoRef>) {
        super::photos::check(path, photos, &mut self.0);
    }
}

pub(super) fn household(h: &Household, l: &mut Lengths) {
    l.max("id", &h.id, MAX_ID, "户编号", "household id");
    l.max("grid_id", &h.grid_id, MAX_ID, "网格", "grid");
    let a = &h.address;
    l.max(
        "address.building_name",
        &a.building_name,
        MAX_NAME,
        "楼栋名称",
        "building name",
    );
    l.max("address.unit", &a.unit, MAX_SHORT, "单元", "unit");
    l.max("address.room", &a.room, MAX_SHORT, "房号", "room");
    l.opt(
        "head_person_id",
        h.head_person_id.as_ref(),
        MAX_ID,
        "户主",
        "head",
    );
    l.max("notes", &h.notes, MAX_NOTE, "备注", "notes");
    l.entries("members", &h.members, "成员", "members");
    for (key, p) in &h.members {
        let path = |field: &str| format!("members.{key}.{field}");
        l.max(&path("notes"), &p.notes, MAX_NOTE, "备注", "notes");
        l.opt(
            &path("disability_cert"),
            p.disability_cert.as_ref(),
            MAX_SHORT,
            "残疾证号",
            "disability certificate",
        );
        l.entries(&path("tags"), &p.tags, "标签", "tags");
        l.entries(&path("restricted_tags"), &p.restricted_tags, "标签", "tags");
    }
}

pub(super) fn visit(v: &Visit, l: &mut Lengths) {
    l.max("id", &v.id, MAX_ID, "走访编号", "visit id");
    l.max("household_id", &v.household_id, MAX_ID, "户", "household");
    l.max("grid_id", &v.grid_id, MAX_ID, "网格", "grid");
    l.max("worker_id", &v.worker_id, MAX_ID, "网格员", "worker");
    l.max("device_id", &v.device_id, MAX_ID, "设备", "device");
    l.max("needs", &v.needs, MAX_NOTE, "群众诉求", "needs");
    l.entries(
        "linked_issues",
        &v.linked_issues,
        "关联事件",
        "linked issues",
    );
    l.photos("photos", &v.photos);
    if let Some(r) = &v.review {
        l.max(
            "review.comment",
            &r.comment,
            MAX_NOTE,
            "审核意见",
            "review comment",
        );
        l.max("review.by_user", &r.by_user, MAX_ID, "审核人", "reviewer");
    }
}

pub(super) fn issue(i: &Issue, l: &mut Lengths) {
    l.max("id", &i.id, MAX_ID, "事件编号", "issue id");
    l.max("grid_id", &i.grid_id, MAX_ID, "网格", "grid");
    l.max("category", &i.category, MAX_SHORT, "类别", "category");
    l.max(
        "description",
        &i.description,
        MAX_DESCRIPTION,
        "描述",
        "description",
    );
    l.max("place", &i.place, MAX_NAME, "地点", "place");
    l.opt(
        "household_id",
        i.household_id.as_ref(),
        MAX_ID,
        "户",
        "household",
    );
    if let Some(r) = &i.reporter {
        l.max("reporter.name", &r.name, MAX_NAME, "反映人", "reporter");
    }
    l.photos("photos", &i.photos);
    l.entries("events", &i.events, "事件记录", "events");
    for (key, ev) in &i.events {
        let path = |field: &str| format!("events.{key}.{field}");
        l.max(&path("note"), &ev.note, MAX_NOTE, "说明", "note");
        l.max(&path("by_user"), &ev.by_user, MAX_ID, "操作人", "user");
        l.max(&path("by_device"), &ev.by_device, MAX_ID, "设备", "device");
        l.opt(
            &path("department"),
            ev.department.as_ref(),
            MAX_SHORT,
            "部门",
            "department",
        );
        l.photos(&path("photos"), &ev.photos);
    }
}
