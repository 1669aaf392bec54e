//! The demo issues, each with the event log that took it to its planned state.

use super::{names, Gen, Meta, DAY, HOUR, MIN, YEAR};
use crate::model::*;
use std::collections::BTreeMap;

/// The state an issue is left in (a self-handled issue that was closed is `SelfClosed`).
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Plan {
    Reported,
    Filed,
    Dispatched,
    InProgress,
    Feedback,
    Checking,
    Closed,
    Evaluated,
    SelfHandled,
    SelfClosed,
    Voided,
}

impl Gen {
    pub(super) fn issues(&mut self) {
        if self.hh.is_empty() {
            return;
        }
        let total = (self.p.issues_per_household * self.hh.len() as f64).round() as usize;
        for k in 0..total {
            let forced = names::FORCED
                .get(k)
                .filter(|_| total >= names::FORCED.len());
            let (plan, overdue, rework) = match forced {
                Some(f) => *f,
                None => {
                    use Plan::*;
                    let plan = self.weighted(names::PLANS);
                    let dispatched = matches!(plan, Dispatched | InProgress | Feedback);
                    let dispatched = dispatched || matches!(plan, Checking | Closed | Evaluated);
                    let overdue = matches!(plan, Dispatched | InProgress) && self.chance(0.35);
                    (plan, overdue, dispatched && self.chance(0.12))
                }
            };
            let issue = self.issue(plan, overdue, rework);
            self.issues.push(issue);
        }
    }

    fn event(&mut self, kind: EventKind, at: i64, user: usize, note: String) -> IssueEvent {
        let u = &self.users[user];
        let (by_user, by_device) = (u.id.clone(), u.device_id.clone());
        let id = self.uuid7(at);
        let (department, deadline, satisfaction) = (None, None, None);
        IssueEvent {
            id,
            kind,
            at,
            by_user,
            by_device,
            note,
            department,
            deadline,
            satisfaction,
            photos: Default::default(),
        }
    }

    /// One issue left in `plan`'s state, with the events that took it there.
    fn issue(&mut self, plan: Plan, overdue: bool, rework: bool) -> Issue {
        use EventKind as E;
        let h = self.range(0, self.hh.len() as i64) as usize;
        let Meta {
            grid,
            building,
            visits,
            ..
        } = self.meta[h];
        let (worker, sup) = self.staff[grid];
        let cats: Vec<((&str, i64), u32)> = names::CATEGORIES
            .iter()
            .map(|(c, w, d)| ((*c, *d), *w))
            .collect();
        let (category, days) = self.weighted(&cats);
        let templates: Vec<_> = names::ISSUES.iter().filter(|t| t.0 == category).collect();
        let (_, title, description, resolution) = *self.pick(&templates);
        let depts = names::DEPARTMENTS.iter().find(|d| d.0 == category);
        let dept = self.pick(depts.map_or(&["街道综治中心"][..], |d| d.1));
        let personal = matches!(
            category,
            "assistance_request" | "policy_enquiry" | "neighbour_dispute"
        );
        let with_household = personal || self.chance(0.3);
        let public = self.pick(names::PUBLIC_PLACES);
        let address = &self.hh[h].address;
        let place = match with_household {
            true => address.short(),
            false => format!("{}{public}", address.building_name),
        };
        let reporter = (with_household && self.chance(0.8)).then(|| {
            let head = self.hh[h].head();
            let name = head.map(|p| p.name.clone()).unwrap_or_default();
            Reporter {
                name,
                phone: head.and_then(|p| p.phone.clone()),
            }
        });
        let safety = category == "safety_hazard";
        let urgency = self.weighted(if safety {
            names::URGENCY_SAFETY
        } else {
            names::URGENCY
        });

        // The planned steps (kind, offset from the report, by supervisor, note, state after),
        // then cut where the plan's state is reached for the last time. The deadline is the
        // category's days counted from the dispatch; `deadline_off` is from the report.
        let mut deadline_off = days * DAY;
        let mut steps: Vec<(EventKind, i64, bool, String, Plan)> = Vec::new();
        let mut t = 0;
        let note = self.pick(names::REPORT_NOTES).to_string();
        steps.push((E::Report, t, false, note, Plan::Reported));
        match plan {
            Plan::Reported => {}
            Plan::Voided => {
                t += self.range(HOUR, 2 * DAY);
                let note = self.pick(names::VOID_NOTES).to_string();
                steps.push((E::Void, t, true, note, Plan::Voided));
            }
            Plan::SelfHandled | Plan::SelfClosed => {
                t += self.range(10 * MIN, 6 * HOUR);
                let note = format!("{}{resolution}", names::SELF_HANDLE_PREFIX);
                steps.push((E::SelfHandle, t, false, note, Plan::SelfHandled));
                t += self.range(2 * HOUR, 3 * DAY);
                let note = "经核实已处置完毕，予以结案".to_string();
                steps.push((E::Close, t, true, note, Plan::SelfClosed));
            }
            _ => {
                t += self.range(30 * MIN, DAY);
                let note = "符合立案条件，予以立案".to_string();
                steps.push((E::File, t, true, note, Plan::Filed));
                t += self.range(10 * MIN, 4 * HOUR);
                let note = format!("派遣至{dept}处置");
                steps.push((E::Dispatch, t, true, note, Plan::Dispatched));
                deadline_off += t;
                for round in 0..=usize::from(rework) {
                    if round == 1 {
                        t += self.range(HOUR, 4 * HOUR);
                        let note = self.pick(names::RETURN_NOTES).to_string();
                        steps.push((E::Return, t, true, note, Plan::Dispatched));
                    }
                    t += self.range(30 * MIN, DAY);
                    let note = format!("{dept}已签收");
                    steps.push((E::Accept, t, true, note, Plan::InProgress));
                    // Most departments answer in time; some late, and reworks always late.
                    let room = deadline_off - t - 30 * HOUR;
                    t = if round == 0 && room > HOUR && self.chance(0.85) {
                        t + self.range(HOUR, room)
                    } else {
                        t.max(deadline_off) + self.range(HOUR, 5 * DAY)
                    };
                    let note = format!("{dept}反馈：{resolution}");
                    steps.push((E::Feedback, t, true, note, Plan::Feedback));
                    t += self.range(HOUR, DAY);
                    steps.push((E::Check, t, true, "已安排现场核查".into(), Plan::Checking));
                }
                t += self.range(10 * MIN, 4 * HOUR);
                steps.push((E::Close, t, true, "核查通过，予以结案".into(), Plan::Closed));
                t += self.range(DAY, 5 * DAY);
                steps.push((E::Evaluate, t, true, String::new(), Plan::Evaluated));
            }
        }
        if let Some(last) = steps.iter().rposition(|s| s.4 == plan) {
            steps.truncate(last + 1);
        }
        let span = steps.last().map_or(0, |s| s.1);

        // When it was reported: recent for open issues, past the deadline for overdue ones,
        // any time in the year for finished ones (half of those with a household right
        // after a visit to it, and linked to that visit).
        use Plan::{Closed, Evaluated, SelfClosed, Voided};
        let open = !matches!(plan, Closed | Evaluated | SelfClosed | Voided);
        let mut linked = None;
        let reported = if overdue {
            let hi = self.now - deadline_off.max(span) - HOUR;
            self.range(hi - 20 * DAY, hi)
        } else if open {
            let mut gap = 2 * DAY;
            if matches!(plan, Plan::Dispatched | Plan::InProgress) {
                gap = gap.min(deadline_off - span - HOUR);
            }
            self.now - span - self.range(30 * MIN, gap.max(30 * MIN + 1))
        } else {
            let latest = self.now - span - HOUR;
            let from_visit = with_household && visits.1 > visits.0 && self.chance(0.5);
            let v = self.range(visits.0 as i64, visits.1 as i64) as usize;
            let at = self
                .visits
                .get(v)
                .map(|v| v.at + 20 * MIN)
                .filter(|_| from_visit);
            match at {
                Some(at) if at < latest && at > self.now - YEAR => {
                    linked = Some(v);
                    at
                }
                _ => self.range(self.now - YEAR, latest),
            }
        };

        let id = self.uuid7(reported);
        let satisfaction = self.weighted(names::SATISFACTION);
        let mut events = BTreeMap::new();
        for (kind, off, by_sup, note, _) in &steps {
            let user = if *by_sup { sup } else { worker };
            let mut e = self.event(*kind, reported + off, user, note.clone());
            if *kind == E::Dispatch {
                e.department = Some(dept.to_string());
                e.deadline = Some(reported + deadline_off);
            } else if *kind == E::Evaluate {
                e.satisfaction = Some(satisfaction);
                e.note = names::EVAL_NOTES[(satisfaction - 1).clamp(0, 4) as usize].into();
            }
            events.insert(e.id.clone(), e);
        }
        if self.chance(0.12) {
            let at = match steps.get(1) {
                Some(next) if next.1 > 2 * MIN => reported + next.1 / 2,
                _ => (reported + span + self.range(10 * MIN, HOUR)).min(self.now - MIN),
            };
            let note = self.pick(names::COMMENTS).to_string();
            let e = self.event(E::Comment, at, worker, note);
            events.insert(e.id.clone(), e);
        }
        if let Some(v) = linked {
            self.visits[v].linked_issues.insert(id.clone(), true);
        }
        let gps = (!with_household && self.chance(0.5)).then(|| self.gps[building]);
        Issue {
            id,
            grid_id: self.area.grids[grid].id.clone(),
            category: category.into(),
            title: title.into(),
            description: description.replace("{p}", &place),
            place,
            household_id: with_household.then(|| self.hh[h].id.clone()),
            reporter,
            urgency,
            photos: BTreeMap::new(),
            gps,
            created_at: reported,
            events,
        }
    }
}
