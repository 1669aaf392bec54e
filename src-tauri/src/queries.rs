//! Read-only queries over the store's projection tables that the app's screens need and
//! the store does not offer as methods: the building tree, the visits of a household, and
//! what is due today by the visit frequency rules.

use crate::dto::{
    Building, DueVisit, FollowUp, IssueRow, OverdueLevel, UnitCount, VisitRow, VisitRule,
};
use crate::error::AppResult;
use crate::mask::mask_free_text;
use gridwalk_core::deadline::{self, WorkCalendar};
use gridwalk_core::model::{is_restricted_tag, HIGH_RISK_TAGS};
use gridwalk_core::workflow::IssueState;
use gridwalk_store::Store;

const DAY_MS: i64 = 86_400_000;

/// The frequency rule of a household from its living members' tags (PRODUCT.md):
/// high-risk elderly weekly, key groups (any other care tag, or a key-person tag) monthly,
/// everyone else quarterly.
pub fn visit_rule<'a>(tags: impl IntoIterator<Item = &'a str>) -> VisitRule {
    let mut rule = VisitRule::Quarterly;
    for t in tags {
        if HIGH_RISK_TAGS.contains(&t) {
            return VisitRule::Weekly;
        }
        if gridwalk_core::model::is_care_tag(t) || is_restricted_tag(t) {
            rule = VisitRule::Monthly;
        }
    }
    rule
}

pub fn rule_days(rule: VisitRule) -> i64 {
    match rule {
        VisitRule::Weekly => 7,
        VisitRule::Monthly => 30,
        VisitRule::Quarterly => 90,
    }
}

/// Whether a household under `rule` last visited at `last` is due at `now`, and by how
/// many whole days (`None` when never visited).
pub fn due(rule: VisitRule, last: Option<i64>, now_ms: i64) -> Option<Option<i32>> {
    match last {
        None => Some(None),
        Some(at) => {
            let due_at = at + rule_days(rule) * DAY_MS;
            (now_ms >= due_at).then(|| Some(((now_ms - due_at) / DAY_MS) as i32))
        }
    }
}

/// Every household due a visit, weekly rule first, then the longest overdue.
pub fn due_visits(store: &Store, now_ms: i64) -> AppResult<Vec<DueVisit>> {
    let mut stmt = store.connection().prepare_cached(
        "SELECT h.doc_id, h.address, h.head_name, h.tags, h.restricted,
            (SELECT max(at) FROM visits v WHERE v.household_id = h.doc_id)
         FROM households h",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<i64>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, address, head_name, tags, restricted, last) = row?;
        let rule = visit_rule(tags.split_whitespace().chain(restricted.split_whitespace()));
        if let Some(days_overdue) = due(rule, last, now_ms) {
            out.push(DueVisit {
                household_id: id,
                address,
                head_name,
                rule,
                last_visit_at: last,
                days_overdue,
            });
        }
    }
    out.sort_by_key(|d| {
        (
            rule_days(d.rule),
            std::cmp::Reverse(d.days_overdue.unwrap_or(i32::MAX)),
            d.address.clone(),
        )
    });
    Ok(out)
}

/// Follow-ups due by `today` (ISO date) that no later visit to the household has answered.
pub fn follow_ups(store: &Store, today: &str, limit: u32) -> AppResult<Vec<FollowUp>> {
    let mut stmt = store.connection().prepare_cached(
        "SELECT v.doc_id, v.household_id, coalesce(h.address, ''), coalesce(h.head_name, ''),
            v.follow_up, v.findings
         FROM visits v LEFT JOIN households h ON h.doc_id = v.household_id
         WHERE v.follow_up IS NOT NULL AND v.follow_up <> '' AND v.follow_up <= ?1
           AND NOT EXISTS (SELECT 1 FROM visits w
                           WHERE w.household_id = v.household_id AND w.at > v.at)
         ORDER BY v.follow_up LIMIT ?2",
    )?;
    let rows = stmt.query_map(rusqlite::params![today, limit], |r| {
        Ok(FollowUp {
            visit_id: r.get(0)?,
            household_id: r.get(1)?,
            address: r.get(2)?,
            head_name: r.get(3)?,
            follow_up: r.get(4)?,
            findings: mask_free_text(&r.get::<_, String>(5)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Buildings with their units and household counts, in walking order.
pub fn buildings(store: &Store) -> AppResult<Vec<Building>> {
    let mut stmt = store.connection().prepare_cached(
        "SELECT building_no, building_name, unit, count(*) FROM households
         GROUP BY building_no, building_name, unit ORDER BY building_no, unit",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut out: Vec<Building> = Vec::new();
    for row in rows {
        let (no, name, unit, n) = row?;
        let n = n as u32;
        match out.last_mut() {
            Some(b) if b.building_no == no => {
                b.households += n;
                b.units.push(UnitCount {
                    unit,
                    households: n,
                });
            }
            _ => out.push(Building {
                building_no: no,
                building_name: name,
                households: n,
                units: vec![UnitCount {
                    unit,
                    households: n,
                }],
            }),
        }
    }
    Ok(out)
}

pub fn household_visits(
    store: &Store,
    household_id: &str,
    me: Option<&str>,
) -> AppResult<Vec<VisitRow>> {
    let mut stmt = store.connection().prepare_cached(
        "SELECT doc_id, household_id, at, mode, findings, needs, follow_up, worker_id,
            review_status, review_comment
         FROM visits WHERE household_id = ?1 ORDER BY at DESC LIMIT 100",
    )?;
    let rows = stmt.query_map([household_id], |r| {
        let worker: String = r.get(7)?;
        Ok(VisitRow {
            id: r.get(0)?,
            household_id: r.get(1)?,
            at: r.get(2)?,
            mode: r.get(3)?,
            findings: mask_free_text(&r.get::<_, String>(4)?),
            needs: mask_free_text(&r.get::<_, String>(5)?),
            follow_up: r.get(6)?,
            mine: me == Some(worker.as_str()),
            review_status: r.get(8)?,
            review_comment: r.get::<_, Option<String>>(9)?.map(|c| mask_free_text(&c)),
            photos: Vec::new(),
        })
    })?;
    let mut visits: Vec<VisitRow> = rows.collect::<Result<_, _>>()?;
    // Only the visits that reference a photo are loaded as documents (the projection
    // knows which), so a household without photos costs no document load.
    let mut has_photos = store
        .connection()
        .prepare_cached("SELECT 1 FROM photo_refs WHERE doc_id = ?1 LIMIT 1")?;
    for v in &mut visits {
        if has_photos.exists([&v.id])? {
            let visit: gridwalk_core::model::Visit = store.read(crate::commands::doc_id(&v.id)?)?;
            v.photos = crate::commands::photos::dtos(store, &visit.photos)?;
        }
    }
    Ok(visits)
}

fn parse_level(s: &str) -> Option<OverdueLevel> {
    match s {
        "Green" => Some(OverdueLevel::Green),
        "Yellow" => Some(OverdueLevel::Yellow),
        "Red" => Some(OverdueLevel::Red),
        _ => None,
    }
}

/// The traffic light of an issue row. A dispatched issue is measured against its dispatch
/// deadline (the store's rule); an open issue not dispatched yet against its category's
/// default limit counted from the report, marked as estimated.
pub fn issue_row(
    row: &gridwalk_store::IssueRow,
    me: Option<&str>,
    reported_by: Option<&str>,
    now_ms: i64,
) -> IssueRow {
    let state: Option<IssueState> = row
        .state
        .as_deref()
        .and_then(|s| serde_json::from_value(serde_json::Value::String(s.into())).ok());
    let open = gridwalk_core::workflow::is_open(state);
    let mut deadline_ms = row.deadline;
    let mut overdue = row.overdue.as_deref().and_then(parse_level);
    let mut estimated = false;
    if open && deadline_ms.is_none() {
        if let Some(reported) = row.reported_at {
            let limit = deadline::limit_for(&row.category, &[]);
            let d = deadline::deadline(reported, &limit, &WorkCalendar::china_2026());
            deadline_ms = Some(d);
            overdue = crate::dto::mirror(&deadline::overdue_level(reported, d, now_ms)).ok();
            estimated = true;
        }
    }
    IssueRow {
        id: row.doc_id.clone(),
        household_id: row.household_id.clone(),
        category: row.category.clone(),
        title: mask_free_text(&row.title),
        urgency: row.urgency.clone(),
        state: state.and_then(|s| crate::dto::mirror(&s).ok()),
        reported_at: row.reported_at,
        deadline: deadline_ms,
        deadline_estimated: estimated,
        overdue,
        mine: me.is_some() && me == reported_by,
    }
}

/// Who reported each issue (the projection has it; the store's row type does not).
pub fn reporters(store: &Store, ids: &[&str]) -> AppResult<Vec<Option<String>>> {
    let mut stmt = store
        .connection()
        .prepare_cached("SELECT reported_by FROM issues WHERE doc_id = ?1")?;
    ids.iter()
        .map(|id| {
            use rusqlite::OptionalExtension;
            Ok(stmt
                .query_row([id], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequency_rules() {
        assert_eq!(visit_rule(["elderly_alone"]), VisitRule::Weekly);
        assert_eq!(visit_rule(["min_income", "age_80_plus"]), VisitRule::Weekly);
        assert_eq!(visit_rule(["min_income"]), VisitRule::Monthly);
        assert_eq!(visit_rule(["community_correction"]), VisitRule::Monthly);
        assert_eq!(visit_rule([]), VisitRule::Quarterly);
        let now = 100 * DAY_MS;
        assert_eq!(due(VisitRule::Weekly, None, now), Some(None));
        assert_eq!(due(VisitRule::Weekly, Some(now - 6 * DAY_MS), now), None);
        assert_eq!(
            due(VisitRule::Weekly, Some(now - 7 * DAY_MS), now),
            Some(Some(0))
        );
        assert_eq!(
            due(VisitRule::Monthly, Some(now - 40 * DAY_MS), now),
            Some(Some(10))
        );
        assert_eq!(
            due(VisitRule::Quarterly, Some(now - 89 * DAY_MS), now),
            None
        );
    }
}
