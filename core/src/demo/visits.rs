//! The demo visits: spread over the households by weight and over the past year.

use super::{iso, local_date, names, Gen, Kind, Meta, CST, DAY, HOUR, MIN, YEAR};
use crate::model::*;
use rand::Rng;
use std::collections::BTreeMap;

impl Gen {
    /// Spreads `visits_per_household × households` visits (exactly, after rounding) over the
    /// households by weight — high-risk elderly most, vacant flats least — and over the
    /// year before now, in working hours.
    pub(super) fn visits(&mut self) {
        let target = (self.p.visits_per_household * self.hh.len() as f64).round();
        let total: f64 = self.meta.iter().map(|m| m.visit_weight).sum();
        let (mut cum, mut done) = (0.0, 0i64);
        for h in 0..self.hh.len() {
            cum += self.meta[h].visit_weight;
            let upto = if total > 0.0 {
                (target * cum / total).round() as i64
            } else {
                0
            };
            let k = upto - done;
            done = upto;
            let first = self.visits.len();
            let created = self.hh[h].created_at;
            let start = created.max(self.now - YEAR);
            let span = (self.now - start) as f64;
            for i in 0..k {
                let t = start + ((i as f64 + self.rng.random::<f64>()) * span / k as f64) as i64;
                let day = (t + CST).div_euclid(DAY);
                let at = day * DAY - CST + self.range(8 * HOUR + 30 * MIN, 18 * HOUR);
                let visit = self.visit(h, at.clamp(created + MIN, self.now - MIN));
                self.visits.push(visit);
            }
            self.meta[h].visits = (first, self.visits.len());
        }
    }

    fn visit(&mut self, h: usize, at: i64) -> Visit {
        let Meta {
            kind,
            grid,
            building,
            ..
        } = self.meta[h];
        let (worker, sup) = self.staff[grid];
        let vacant = kind == Kind::Vacant;
        let mode = self.weighted(if vacant {
            names::MODES_VACANT
        } else {
            names::MODES
        });
        let care = self.hh[h].care_tags();
        let fits = |(tag, _): &&(&str, &'static str)| care.contains(tag) || tag.is_empty();
        let care: Vec<&'static str> = names::FINDINGS_CARE
            .iter()
            .filter(fits)
            .map(|c| c.1)
            .collect();
        let mut findings = self
            .pick(match kind {
                Kind::Elderly => names::FINDINGS_ELDERLY,
                Kind::Care => &care,
                Kind::Rented => names::FINDINGS_RENTED,
                Kind::Vacant => names::FINDINGS_VACANT,
                Kind::Family => names::FINDINGS_GENERAL,
            })
            .to_string();
        if !vacant && kind != Kind::Family && self.chance(0.3) {
            findings.push_str(self.pick(names::FINDINGS_GENERAL));
        }
        let needs = if !vacant && self.chance(0.25) {
            self.pick(names::NEEDS)
        } else {
            ""
        };
        let follow = !needs.is_empty() && self.chance(0.5);
        let follow_up = follow.then(|| iso(local_date(at + self.range(3, 22) * DAY)));
        let gps = (mode == VisitMode::InPerson && self.chance(0.7)).then(|| {
            let g = self.gps[building];
            let (dlat, dlon) = (self.range(-5, 6), self.range(-5, 6));
            Gps {
                lat: g.lat + dlat as f64 / 1e5,
                lon: g.lon + dlon as f64 / 1e5,
            }
        });
        let roll = self.rng.random::<f64>();
        let review = (at < self.now - 3 * DAY && roll < 0.4).then(|| {
            let flagged = roll < 0.015;
            VisitReview {
                status: if flagged {
                    ReviewStatus::Flagged
                } else {
                    ReviewStatus::Reviewed
                },
                comment: if flagged {
                    self.pick(names::FLAG_COMMENTS).into()
                } else {
                    String::new()
                },
                by_user: self.users[sup].id.clone(),
                at: (at + self.range(HOUR, 72 * HOUR)).min(self.now - MIN),
            }
        });
        Visit {
            id: self.uuid7(at),
            household_id: self.hh[h].id.clone(),
            grid_id: self.area.grids[grid].id.clone(),
            worker_id: self.users[worker].id.clone(),
            device_id: self.users[worker].device_id.clone(),
            at,
            mode,
            findings,
            needs: needs.into(),
            follow_up,
            linked_issues: BTreeMap::new(),
            photos: BTreeMap::new(),
            gps,
            review,
        }
    }
}
