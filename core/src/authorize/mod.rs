//! Who may change what: the one permission rule (PRODUCT.md, "Who may do what").
//!
//! [`authorize`] decides whether a change, given as the document before and after it, is
//! allowed for its author. It is pure, so the server's push path, the console's own edits,
//! the import and the app (to not offer what would be refused) all call this one
//! function. Scope (which grids) is checked here as well, so no caller can forget it.

use crate::model::{EventKind, Household, Issue, Visit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

mod document;
pub use document::{referenced_household, Facts, Image, Owned};

/// A user's role, as stored in `users.role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Worker,
    Supervisor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Worker, Role::Supervisor, Role::Admin];

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

/// The author of a change: user, role and scope, as the caller looked them up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: String,
    pub role: Role,
    /// The grids in scope (a supervisor's communities or street already resolved to
    /// grids); `None` for every grid (an admin).
    pub grids: Option<Vec<String>>,
    /// A supervisor granted key-person data (重点人员). Workers never hold it, admins
    /// always do, whatever this says.
    pub key_person_grant: bool,
}

impl Actor {
    pub fn in_scope(&self, grid_id: &str) -> bool {
        self.grids
            .as_ref()
            .is_none_or(|g| g.iter().any(|x| x == grid_id))
    }

    pub fn may_hold_key_persons(&self) -> bool {
        match self.role {
            Role::Worker => false,
            Role::Supervisor => self.key_person_grant,
            Role::Admin => true,
        }
    }
}

/// One kind of change, as in the table of PRODUCT.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// Create a household, edit its fields, add or move out members.
    EditHousehold,
    /// Read or write key-person (重点人员) data.
    KeyPersons,
    /// Record a visit, as oneself.
    RecordVisit,
    /// Review, flag or comment a visit.
    ReviewVisit,
    /// Change an issue's own fields (title, description, place, …).
    EditIssue,
    /// Append an event of this kind to an issue.
    IssueEvent(EventKind),
}

/// The table "Who may do what": whether `actor` may take `action` at all (scope and the
/// document's content are checked by [`authorize`]).
pub fn may(actor: &Actor, action: Action) -> bool {
    use EventKind as K;
    use Role::*;
    match (actor.role, action) {
        (_, Action::EditHousehold) => true,
        (_, Action::KeyPersons) => actor.may_hold_key_persons(),
        (Worker, Action::RecordVisit) => true,
        (Supervisor, Action::ReviewVisit) => true,
        (Worker | Supervisor, Action::EditIssue) => true,
        (Worker, Action::IssueEvent(K::Report | K::Comment | K::SelfHandle)) => true,
        // The supervisor also records the department's accept and feedback on its behalf.
        (Supervisor, Action::IssueEvent(_)) => true,
        _ => false,
    }
}

/// The issue events `actor` may append, in the order of [`EventKind`].
pub fn issue_events_allowed(actor: &Actor) -> Vec<EventKind> {
    ALL_EVENT_KINDS
        .into_iter()
        .filter(|k| may(actor, Action::IssueEvent(*k)))
        .collect()
}

pub const ALL_EVENT_KINDS: [EventKind; 12] = [
    EventKind::Report,
    EventKind::File,
    EventKind::Void,
    EventKind::SelfHandle,
    EventKind::Dispatch,
    EventKind::Accept,
    EventKind::Feedback,
    EventKind::Check,
    EventKind::Close,
    EventKind::Return,
    EventKind::Evaluate,
    EventKind::Comment,
];

/// Why a change was refused; stable codes for the UI and the sync log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reason {
    /// The document is in a grid outside the author's scope.
    Scope,
    /// The author's role may not take this action.
    Role,
    /// The change claims another user (`by_user`, `worker_id`, `review.by_user`).
    Author,
    /// A referenced household is in another grid.
    Household,
    /// Key-person data by a role that may not hold it.
    KeyPersons,
    /// An append-only record (an issue event, a visit) was rewritten or removed.
    AppendOnly,
    /// Before and after are different kinds of document.
    Kind,
}

/// A refused change: why, where (the field path) and a sentence in zh-CN then English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct Forbidden {
    pub reason: Reason,
    pub path: String,
    pub message: String,
}

impl Forbidden {
    /// The stable code of every refusal ([`Reason`] tells which rule).
    pub const CODE: &'static str = "forbidden";

    fn new(reason: Reason, path: impl Into<String>, zh: &str, en: &str) -> Forbidden {
        Forbidden {
            reason,
            path: path.into(),
            message: format!("{zh} / {en}"),
        }
    }
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "forbidden: {}", self.message)
        } else {
            write!(f, "forbidden at {}: {}", self.path, self.message)
        }
    }
}

type Checked = Result<(), Forbidden>;

/// Decide whether `actor` may change a document from `before` to `after`.
pub fn authorize(
    actor: &Actor,
    before: Option<Image<'_>>,
    after: Image<'_>,
    facts: &Facts,
) -> Checked {
    for grid in before.iter().map(|b| b.grid_id()).chain([after.grid_id()]) {
        if !actor.in_scope(grid) {
            return Err(Forbidden::new(
                Reason::Scope,
                "grid_id",
                &format!("网格{grid}不在您的范围内"),
                &format!("grid {grid} is outside your scope"),
            ));
        }
    }
    match (before, after) {
        (None, Image::Household(a)) => household(actor, None, a),
        (Some(Image::Household(b)), Image::Household(a)) => household(actor, Some(b), a),
        (None, Image::Visit(a)) => visit(actor, None, a, facts),
        (Some(Image::Visit(b)), Image::Visit(a)) => visit(actor, Some(b), a, facts),
        (None, Image::Issue(a)) => issue(actor, None, a, facts),
        (Some(Image::Issue(b)), Image::Issue(a)) => issue(actor, Some(b), a, facts),
        (None | Some(Image::KeyPersons(_)), Image::KeyPersons(a)) => {
            if !may(actor, Action::KeyPersons) {
                return Err(key_persons_refused(actor, "persons".into()));
            }
            let before_household = match before {
                Some(Image::KeyPersons(b)) => Some(b.household_id.as_str()),
                _ => None,
            };
            match before_household == Some(a.household_id.as_str()) {
                true => Ok(()),
                false => household_in_grid("household_id", &a.household_id, &a.grid_id, facts),
            }
        }
        _ => Err(Forbidden::new(
            Reason::Kind,
            "",
            "文档类型不能改变",
            "a document cannot change its kind",
        )),
    }
}

fn role_refused(actor: &Actor, path: impl Into<String>, zh: &str, en: &str) -> Forbidden {
    let role = actor.role.as_str();
    Forbidden::new(
        Reason::Role,
        path,
        &format!("{}无权{zh}", role_zh(actor.role)),
        &format!("a {role} may not {en}"),
    )
}

fn role_zh(role: Role) -> &'static str {
    match role {
        Role::Worker => "网格员",
        Role::Supervisor => "网格长",
        Role::Admin => "管理员",
    }
}

fn not_author(path: impl Into<String>, claimed: &str, actor: &Actor) -> Forbidden {
    let me = &actor.user_id;
    Forbidden::new(
        Reason::Author,
        path,
        &format!("记录人应为本人（{me}），而不是{claimed}"),
        &format!("must be the change's author ({me}), not {claimed}"),
    )
}

fn household_in_grid(path: &str, id: &str, grid: &str, facts: &Facts) -> Checked {
    match facts.household_grids.get(id) {
        Some(g) if g != grid => Err(Forbidden::new(
            Reason::Household,
            path,
            &format!("住户{id}不属于网格{grid}"),
            &format!("household {id} is not in grid {grid}"),
        )),
        _ => Ok(()),
    }
}

fn household(actor: &Actor, before: Option<&Household>, after: &Household) -> Checked {
    if !may(actor, Action::EditHousehold) {
        return Err(role_refused(actor, "", "编辑住户", "edit households"));
    }
    if actor.may_hold_key_persons() {
        return Ok(());
    }
    let empty = BTreeMap::new();
    let tags_before = |id: &str| {
        before
            .and_then(|b| b.members.get(id))
            .map_or(&empty, |p| &p.restricted_tags)
    };
    for (id, p) in &after.members {
        if &p.restricted_tags != tags_before(id) {
            return Err(key_persons_refused(
                actor,
                format!("members.{id}.restricted_tags"),
            ));
        }
    }
    // A member removed with its tags is a write of key-person data too.
    for (id, p) in before.map(|b| &b.members).into_iter().flatten() {
        if !after.members.contains_key(id) && !p.restricted_tags.is_empty() {
            return Err(key_persons_refused(actor, format!("members.{id}")));
        }
    }
    Ok(())
}

fn key_persons_refused(actor: &Actor, path: String) -> Forbidden {
    Forbidden::new(
        Reason::KeyPersons,
        path,
        &format!("{}无权查看或修改重点人员信息", role_zh(actor.role)),
        &format!(
            "a {} may not read or write key-person data",
            actor.role.as_str()
        ),
    )
}

fn visit(actor: &Actor, before: Option<&Visit>, after: &Visit, facts: &Facts) -> Checked {
    let Some(before) = before else {
        if !may(actor, Action::RecordVisit) {
            return Err(role_refused(actor, "", "记录走访", "record a visit"));
        }
        if after.worker_id != actor.user_id {
            return Err(not_author("worker_id", &after.worker_id, actor));
        }
        if after.review.is_some() {
            return Err(role_refused(actor, "review", "审核走访", "review a visit"));
        }
        return household_in_grid("household_id", &after.household_id, &after.grid_id, facts);
    };
    // A visit is a log entry: only its review may change after it is recorded.
    let (mut b, mut a) = (before.clone(), after.clone());
    b.review = None;
    a.review = None;
    if a != b {
        return Err(Forbidden::new(
            Reason::AppendOnly,
            "",
            "走访记录一经记录不能修改（审核除外）",
            "a recorded visit cannot be rewritten (only reviewed)",
        ));
    }
    if before.review != after.review {
        if !may(actor, Action::ReviewVisit) {
            return Err(role_refused(actor, "review", "审核走访", "review a visit"));
        }
        if let Some(r) = after.review.as_ref().filter(|r| r.by_user != actor.user_id) {
            return Err(not_author("review.by_user", &r.by_user, actor));
        }
    }
    Ok(())
}

fn issue(actor: &Actor, before: Option<&Issue>, after: &Issue, facts: &Facts) -> Checked {
    let no_events = BTreeMap::new();
    let events_before = before.map_or(&no_events, |b| &b.events);
    for (id, e) in events_before {
        if after.events.get(id) != Some(e) {
            return Err(Forbidden::new(
                Reason::AppendOnly,
                format!("events.{id}"),
                "事件一经记录不能修改或删除",
                "a recorded event cannot be changed or removed",
            ));
        }
    }
    // Photos are evidence: those given with the issue stay as they were (an event's
    // photos are part of the event, append-only above).
    if before.is_some_and(|b| b.photos != after.photos) {
        return Err(Forbidden::new(
            Reason::AppendOnly,
            "photos",
            "事件照片一经上报不能修改或删除",
            "an issue's photos cannot be changed or removed once reported",
        ));
    }
    let fields_changed = before.is_none_or(|b| {
        let mut b = b.clone();
        b.events = after.events.clone();
        b != *after
    });
    if fields_changed && !may(actor, Action::EditIssue) {
        return Err(role_refused(actor, "", "编辑诉求", "edit an issue"));
    }
    for (id, e) in &after.events {
        if events_before.contains_key(id) {
            continue;
        }
        if !may(actor, Action::IssueEvent(e.kind)) {
            return Err(role_refused(
                actor,
                format!("events.{id}.kind"),
                &format!("记录“{}”", event_zh(e.kind)),
                &format!("record the event {:?}", e.kind),
            ));
        }
        if e.by_user != actor.user_id {
            return Err(not_author(
                format!("events.{id}.by_user"),
                &e.by_user,
                actor,
            ));
        }
    }
    let household_changed = before.is_none_or(|b| b.household_id != after.household_id);
    match after.household_id.as_deref() {
        Some(h) if household_changed => household_in_grid("household_id", h, &after.grid_id, facts),
        _ => Ok(()),
    }
}

/// The step's name as the issue desk says it.
pub fn event_zh(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Report => "上报",
        EventKind::File => "立案",
        EventKind::Void => "作废",
        EventKind::SelfHandle => "自行处置",
        EventKind::Dispatch => "派遣",
        EventKind::Accept => "受理",
        EventKind::Feedback => "处置反馈",
        EventKind::Check => "核查",
        EventKind::Close => "结案",
        EventKind::Return => "返工",
        EventKind::Evaluate => "回访评价",
        EventKind::Comment => "补充说明",
    }
}

#[cfg(test)]
mod tests;
