//! Who may change what: the one permission rule (PRODUCT.md, "Who may do what").
//!
//! [`authorize`] decides whether a change, given as the document before and after it, is
//! allowed for its author. It is pure, so the server's push path, the console's own edits,
//! the import and the app (to not offer what would be refused) all call this one
//! function. Scope (which grids) is checked here as well, so no caller can forget it.

use crate::model::{EventKind, Household, Issue, KeyPersons, Visit};
use crate::{CoreError, DocKind, Document};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

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

/// A document as typed value; before a change (`None` for a new document) and after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Image<'a> {
    Household(&'a Household),
    Visit(&'a Visit),
    Issue(&'a Issue),
    KeyPersons(&'a KeyPersons),
}

impl Image<'_> {
    pub fn grid_id(&self) -> &str {
        match self {
            Image::Household(h) => &h.grid_id,
            Image::Visit(v) => &v.grid_id,
            Image::Issue(i) => &i.grid_id,
            Image::KeyPersons(k) => &k.grid_id,
        }
    }
}

/// A document read as its typed value, for callers that hold [`Document`]s.
#[derive(Debug, Clone, PartialEq)]
pub enum Owned {
    Household(Household),
    Visit(Visit),
    Issue(Issue),
    KeyPersons(KeyPersons),
}

impl Owned {
    pub fn read(doc: &Document) -> Result<Owned, CoreError> {
        Ok(match doc.kind {
            DocKind::Household => Owned::Household(doc.read()?),
            DocKind::Visit => Owned::Visit(doc.read()?),
            DocKind::Issue => Owned::Issue(doc.read()?),
            DocKind::KeyPersons => Owned::KeyPersons(doc.read()?),
        })
    }

    pub fn image(&self) -> Image<'_> {
        match self {
            Owned::Household(h) => Image::Household(h),
            Owned::Visit(v) => Image::Visit(v),
            Owned::Issue(i) => Image::Issue(i),
            Owned::KeyPersons(k) => Image::KeyPersons(k),
        }
    }
}

/// What the caller looked up for the check: the grid each referenced household is stored
/// in (see [`referenced_household`]). A household the caller does not know (not synced
/// yet) has nothing to leak or move, so it is not refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub household_grids: BTreeMap<String, String>,
}

/// The household a document refers to, whose grid the caller should put in [`Facts`].
pub fn referenced_household(after: Image<'_>) -> Option<&str> {
    match after {
        Image::Household(_) => None,
        Image::Visit(v) => Some(&v.household_id),
        Image::Issue(i) => i.household_id.as_deref(),
        Image::KeyPersons(k) => Some(&k.household_id),
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
mod tests {
    use super::*;
    use crate::demo::{generate, DemoParams};
    use crate::workflow::new_event;
    use EventKind as K;
    use Role::*;

    fn actor(role: Role, grant: bool) -> Actor {
        let grids = (role != Admin).then(|| vec!["A".to_string()]);
        Actor {
            user_id: "me".into(),
            role,
            grids,
            key_person_grant: grant,
        }
    }

    /// A household, a visit of it and an issue, all in grid A, from the demo generator.
    fn fixtures() -> (Household, Visit, Issue) {
        let demo = generate(&DemoParams::single_grid(30, 7, crate::demo::DEFAULT_NOW_MS));
        let mut h = demo.households[0].clone();
        h.grid_id = "A".into();
        for p in h.members.values_mut() {
            p.restricted_tags.clear();
        }
        let mut v = demo.visits[0].clone();
        (v.grid_id, v.household_id, v.worker_id, v.review) =
            ("A".into(), h.id.clone(), "me".into(), None);
        let mut i = demo.issues[0].clone();
        i.grid_id = "A".into();
        i.household_id = Some(h.id.clone());
        let report = new_event(K::Report, 1, "me", "d", "");
        i.events = [(report.id.clone(), report)].into();
        (h, v, i)
    }

    fn facts(h: &Household) -> Facts {
        Facts {
            household_grids: [(h.id.clone(), "A".into()), ("elsewhere".into(), "B".into())].into(),
        }
    }

    /// The outcome of one change for one role: `Ok` or the reason refused.
    fn outcome(role: Role, grant: bool, change: &str) -> Result<(), Reason> {
        let me = actor(role, grant);
        let (h, v, i) = fixtures();
        let f = facts(&h);
        let mut h2 = h.clone();
        let mut v2 = v.clone();
        let mut i2 = i.clone();
        let r = match change {
            "create household" => authorize(&me, None, Image::Household(&h), &f),
            "edit household" => {
                h2.notes = "x".into();
                authorize(&me, Some(Image::Household(&h)), Image::Household(&h2), &f)
            }
            "tag key person" => {
                let p = h2.members.values_mut().next().unwrap();
                p.restricted_tags.insert("drug_rehab".into(), true);
                authorize(&me, Some(Image::Household(&h)), Image::Household(&h2), &f)
            }
            "record visit" => authorize(&me, None, Image::Visit(&v), &f),
            "visit for another worker" => {
                v2.worker_id = "other".into();
                authorize(&me, None, Image::Visit(&v2), &f)
            }
            "pre-reviewed visit" => {
                v2.review = Some(review("me"));
                authorize(&me, None, Image::Visit(&v2), &f)
            }
            "visit of household in another grid" => {
                v2.household_id = "elsewhere".into();
                authorize(&me, None, Image::Visit(&v2), &f)
            }
            "review visit" => {
                v2.review = Some(review("me"));
                authorize(&me, Some(Image::Visit(&v)), Image::Visit(&v2), &f)
            }
            "review as another" => {
                v2.review = Some(review("boss"));
                authorize(&me, Some(Image::Visit(&v)), Image::Visit(&v2), &f)
            }
            "rewrite visit" => {
                v2.findings = "changed".into();
                authorize(&me, Some(Image::Visit(&v)), Image::Visit(&v2), &f)
            }
            "report issue" => authorize(&me, None, Image::Issue(&i), &f),
            "event by another" => {
                let e = new_event(K::Comment, 2, "boss", "d", "");
                i2.events.insert(e.id.clone(), e);
                authorize(&me, Some(Image::Issue(&i)), Image::Issue(&i2), &f)
            }
            "rewrite event" => {
                let e = i2.events.values_mut().next().unwrap();
                e.note = "changed".into();
                authorize(&me, Some(Image::Issue(&i)), Image::Issue(&i2), &f)
            }
            "issue of household in another grid" => {
                i2.household_id = Some("elsewhere".into());
                authorize(&me, Some(Image::Issue(&i)), Image::Issue(&i2), &f)
            }
            "out of scope" => {
                h2.grid_id = "B".into();
                authorize(&me, None, Image::Household(&h2), &f)
            }
            other => {
                let kind = ALL_EVENT_KINDS
                    .into_iter()
                    .find(|k| format!("{k:?}") == other)
                    .expect("a known change");
                let e = new_event(kind, 2, "me", "d", "");
                i2.events.insert(e.id.clone(), e);
                authorize(&me, Some(Image::Issue(&i)), Image::Issue(&i2), &f)
            }
        };
        r.map_err(|e| e.reason)
    }

    fn review(by: &str) -> crate::model::VisitReview {
        crate::model::VisitReview {
            status: crate::model::ReviewStatus::Reviewed,
            comment: String::new(),
            by_user: by.into(),
            at: 3,
        }
    }

    #[test]
    fn role_by_change_matrix() {
        use Reason as R;
        const OK: Result<(), Reason> = Ok(());
        let role = Err(R::Role);
        // change: worker, supervisor, supervisor granted key persons, admin
        let table: &[(&str, [Result<(), Reason>; 4])] = &[
            ("create household", [OK, OK, OK, OK]),
            ("edit household", [OK, OK, OK, OK]),
            (
                "tag key person",
                [Err(R::KeyPersons), Err(R::KeyPersons), OK, OK],
            ),
            ("record visit", [OK, role, role, role]),
            (
                "visit for another worker",
                [Err(R::Author), role, role, role],
            ),
            ("pre-reviewed visit", [role, role, role, role]),
            (
                "visit of household in another grid",
                [Err(R::Household), role, role, role],
            ),
            ("review visit", [role, OK, OK, role]),
            (
                "review as another",
                [role, Err(R::Author), Err(R::Author), role],
            ),
            ("rewrite visit", [Err(R::AppendOnly); 4]),
            ("report issue", [OK, OK, OK, role]),
            (
                "event by another",
                [Err(R::Author), Err(R::Author), Err(R::Author), role],
            ),
            ("rewrite event", [Err(R::AppendOnly); 4]),
            (
                "issue of household in another grid",
                [
                    Err(R::Household),
                    Err(R::Household),
                    Err(R::Household),
                    role,
                ],
            ),
            (
                "out of scope",
                [Err(R::Scope), Err(R::Scope), Err(R::Scope), OK],
            ),
            ("Report", [OK, OK, OK, role]),
            ("Comment", [OK, OK, OK, role]),
            ("SelfHandle", [OK, OK, OK, role]),
            ("File", [role, OK, OK, role]),
            ("Void", [role, OK, OK, role]),
            ("Dispatch", [role, OK, OK, role]),
            ("Accept", [role, OK, OK, role]),
            ("Feedback", [role, OK, OK, role]),
            ("Check", [role, OK, OK, role]),
            ("Close", [role, OK, OK, role]),
            ("Return", [role, OK, OK, role]),
            ("Evaluate", [role, OK, OK, role]),
        ];
        let cols = [
            (Worker, false),
            (Supervisor, false),
            (Supervisor, true),
            (Admin, false),
        ];
        for (change, expected) in table {
            for ((r, grant), want) in cols.iter().zip(expected) {
                assert_eq!(
                    &outcome(*r, *grant, change),
                    want,
                    "{change} by {r:?} (granted {grant})"
                );
            }
        }
        // Every event kind has a row.
        for k in ALL_EVENT_KINDS {
            assert!(table.iter().any(|(c, _)| *c == format!("{k:?}")), "{k:?}");
        }
    }

    #[test]
    fn refusals_name_the_field_in_both_languages() {
        let (h, mut v, _) = fixtures();
        v.worker_id = "other".into();
        let e = authorize(&actor(Worker, false), None, Image::Visit(&v), &facts(&h)).unwrap_err();
        assert_eq!(e.path, "worker_id");
        assert!(
            e.message.contains("记录人") && e.message.contains("author"),
            "{e}"
        );
        assert_eq!(Forbidden::CODE, "forbidden");
    }

    #[test]
    fn a_worker_may_keep_a_household_whose_key_person_data_it_does_not_touch() {
        let (mut h, _, _) = fixtures();
        let p = h.members.values_mut().next().unwrap();
        p.restricted_tags.insert("drug_rehab".into(), true);
        let mut h2 = h.clone();
        h2.notes = "new note".into();
        let w = actor(Worker, false);
        assert_eq!(
            authorize(
                &w,
                Some(Image::Household(&h)),
                Image::Household(&h2),
                &facts(&h)
            ),
            Ok(())
        );
        h2.members.clear();
        let e = authorize(
            &w,
            Some(Image::Household(&h)),
            Image::Household(&h2),
            &facts(&h),
        );
        assert_eq!(e.unwrap_err().reason, Reason::KeyPersons);
    }

    #[test]
    fn allowed_issue_events_follow_the_table() {
        assert_eq!(
            issue_events_allowed(&actor(Worker, false)),
            vec![K::Report, K::SelfHandle, K::Comment]
        );
        assert_eq!(issue_events_allowed(&actor(Supervisor, false)).len(), 12);
        assert!(issue_events_allowed(&actor(Admin, false)).is_empty());
        assert_eq!(Role::parse("supervisor"), Some(Supervisor));
        assert_eq!(Role::parse("root"), None);
    }
}
