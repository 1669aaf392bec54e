//! A deterministic demo district: area tree, households, visits, issues and users.
//!
//! Everything comes from one seeded ChaCha8 generator and is built in a fixed order with
//! no hash-map iteration and no clock, so the same [`DemoParams`] always give
//! byte-identical output. Ids are UUIDs made from the generator's bytes (v7 carrying the
//! record's own time for households, visits, issues and events; v4 for the rest).

mod area;
mod issues;
mod names;
mod people;
mod visits;

use crate::area::AreaTree;
use crate::model::*;
use chrono::{DateTime, Datelike, NaiveDate};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
const YEAR: i64 = 365 * DAY;
/// Beijing time offset: local dates and working hours are China Standard Time.
const CST: i64 = 8 * HOUR;
/// 2025-06-02 10:00 Beijing time, the default "now".
pub const DEFAULT_NOW_MS: i64 = 1_748_829_600_000;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoParams {
    pub seed: u64,
    pub streets: usize,
    pub communities_per_street: usize,
    pub grids_per_community: usize,
    /// Total households, spread evenly over the grids.
    pub households: usize,
    /// Average visits per household over the 365 days before `now_ms`.
    pub visits_per_household: f64,
    /// Issues per household over the 365 days before `now_ms`.
    pub issues_per_household: f64,
    /// "Now", ms since the epoch (UTC): every generated time lies before it.
    pub now_ms: i64,
}

impl Default for DemoParams {
    /// A small district: 2 streets × 2 communities × 2 grids, 1,600 households.
    fn default() -> Self {
        DemoParams {
            seed: 42,
            streets: 2,
            communities_per_street: 2,
            grids_per_community: 2,
            households: 1_600,
            visits_per_household: 4.0,
            issues_per_household: 0.4,
            now_ms: DEFAULT_NOW_MS,
        }
    }
}

impl DemoParams {
    /// One street, one community and one grid holding all `households` (one worker's grid).
    pub fn single_grid(households: usize, seed: u64, now_ms: i64) -> DemoParams {
        let one = 1;
        DemoParams {
            seed,
            streets: one,
            communities_per_street: one,
            grids_per_community: one,
            households,
            now_ms,
            ..DemoParams::default()
        }
    }
}

/// A demo user. `role` is "worker", "supervisor" or "admin".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoUser {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    /// The worker's grid, or every grid of the supervisor's community; empty for the admin.
    pub grid_ids: Vec<String>,
    pub community_codes: Vec<String>,
    /// The user's one demo device (a UUID), used on everything the user writes.
    pub device_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoDistrict {
    pub area: AreaTree,
    pub households: Vec<Household>,
    pub visits: Vec<Visit>,
    pub issues: Vec<Issue>,
    /// Key-person data (restricted tags), one document per household that has any; the
    /// households themselves carry none.
    pub key_persons: Vec<KeyPersons>,
    /// The admin first, then for each community its supervisor and its grids' workers.
    pub users: Vec<DemoUser>,
}

impl DemoDistrict {
    pub fn user(&self, id: &str) -> Option<&DemoUser> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn worker_of_grid(&self, grid_id: &str) -> Option<&DemoUser> {
        let of_grid = |u: &&DemoUser| u.grid_ids.iter().any(|g| g == grid_id);
        self.users
            .iter()
            .filter(|u| u.role == "worker")
            .find(of_grid)
    }
}

/// Generate a district. Streets, communities, grids and users come first out of the
/// generator, so they depend only on the seed and the area counts, never on the household
/// count, the rates or `now_ms`. Counts are clamped to what the codes allow (1..=999
/// streets, communities per street and grids per community), rates to 0..=500 (NaN → 0),
/// and `now_ms` to the years 2001–2100. Never panics.
pub fn generate(params: &DemoParams) -> DemoDistrict {
    let mut g = Gen::new(params);
    g.area_and_users();
    g.households();
    g.visits();
    g.issues();
    let (area, mut households, visits, issues, users) = (g.area, g.hh, g.visits, g.issues, g.users);
    let key_persons = split_key_persons(&mut households);
    DemoDistrict {
        area,
        households,
        visits,
        issues,
        key_persons,
        users,
    }
}

/// Move the members' restricted tags out of the households into key-person documents.
fn split_key_persons(households: &mut [Household]) -> Vec<KeyPersons> {
    households
        .iter_mut()
        .filter_map(crate::model::split_key_persons)
        .collect()
}

/// What the generator remembers about a household beyond its record.
struct Meta {
    grid: usize,
    building: usize,
    kind: Kind,
    visit_weight: f64,
    /// Index range of its visits in `Gen::visits`.
    visits: (usize, usize),
}

/// Decides the visit notes and how often a household is visited.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Family,
    Elderly,
    Care,
    Rented,
    Vacant,
}

struct Gen {
    rng: ChaCha8Rng,
    p: DemoParams,
    now: i64,
    /// Surnames, male and female given-name characters.
    chars: [Vec<char>; 3],
    area: AreaTree,
    users: Vec<DemoUser>,
    /// Per grid: (worker, supervisor) index in `users`.
    staff: Vec<(usize, usize)>,
    /// Per building: its location.
    gps: Vec<Gps>,
    hh: Vec<Household>,
    meta: Vec<Meta>,
    visits: Vec<Visit>,
    issues: Vec<Issue>,
}

fn rate(r: f64) -> f64 {
    if r.is_finite() {
        r.clamp(0.0, 500.0)
    } else {
        0.0
    }
}

impl Gen {
    fn new(p: &DemoParams) -> Gen {
        let p = DemoParams {
            streets: p.streets.clamp(1, 999),
            communities_per_street: p.communities_per_street.clamp(1, 999),
            grids_per_community: p.grids_per_community.clamp(1, 999),
            visits_per_household: rate(p.visits_per_household),
            issues_per_household: rate(p.issues_per_household),
            ..p.clone()
        };
        let lists = [names::SURNAMES, names::MALE_GIVEN, names::FEMALE_GIVEN];
        Gen {
            rng: ChaCha8Rng::seed_from_u64(p.seed),
            now: p.now_ms.clamp(978_307_200_000, 4_102_444_800_000),
            p,
            chars: lists.map(|s| s.chars().collect()),
            area: AreaTree::default(),
            users: Vec::new(),
            staff: Vec::new(),
            gps: Vec::new(),
            hh: Vec::new(),
            meta: Vec::new(),
            visits: Vec::new(),
            issues: Vec::new(),
        }
    }

    /// Uniform in `lo..hi`; `lo` when the range is empty.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        self.rng.random_range(lo..hi)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }

    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.rng.random_range(0..xs.len())].clone()
    }

    /// A character from list 0 (surnames), 1 (male given) or 2 (female given).
    fn letter(&mut self, list: usize) -> char {
        let i = self.rng.random_range(0..self.chars[list].len());
        self.chars[list][i]
    }

    fn weighted<T: Clone>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.rng.random_range(0..total.max(1));
        for (item, w) in items {
            if x < *w {
                return item.clone();
            }
            x -= w;
        }
        items[items.len() - 1].0.clone()
    }

    fn uuid4(&mut self) -> String {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        uuid::Builder::from_random_bytes(b).into_uuid().to_string()
    }

    fn uuid7(&mut self, ms: i64) -> String {
        let mut b = [0u8; 10];
        self.rng.fill_bytes(&mut b);
        let ms = u64::try_from(ms).unwrap_or(0);
        let id = uuid::Builder::from_unix_timestamp_millis(ms, &b).into_uuid();
        id.to_string()
    }

    fn name(&mut self, surname: char, sex: &Sex) -> String {
        let list = if *sex == Sex::Male { 1 } else { 2 };
        let mut s = String::from(surname);
        s.push(self.letter(list));
        if self.chance(0.7) {
            s.push(self.letter(list));
        }
        s
    }

    fn phone(&mut self) -> String {
        let (second, rest) = (self.range(3, 10), self.range(0, 1_000_000_000));
        format!("1{second}{rest:09}")
    }
}

/// ms → the local (Beijing) date.
fn local_date(ms: i64) -> NaiveDate {
    let at = DateTime::from_timestamp_millis(ms.saturating_add(CST));
    at.map(|d| d.date_naive()).unwrap_or_default()
}

fn iso(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// Whole years from `birth` to `today`.
fn years_between(birth: NaiveDate, today: NaiveDate) -> i64 {
    let mut years = i64::from(today.year() - birth.year());
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0)
}

#[cfg(test)]
mod tests {
    use super::people::id_check;
    use super::*;
    use crate::workflow::{fold, IssueState};

    fn small() -> DemoParams {
        DemoParams {
            households: 400,
            ..DemoParams::default()
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        let json = |p: &DemoParams| serde_json::to_string(&generate(p)).unwrap();
        assert_eq!(json(&small()), json(&small()));
        assert_ne!(json(&small()), json(&DemoParams { seed: 7, ..small() }));
    }

    #[test]
    fn counts_match_params() {
        let p = DemoParams::default();
        let d = generate(&p);
        let (streets, communities) = (p.streets, p.streets * p.communities_per_street);
        let grids = communities * p.grids_per_community;
        let got = (
            d.area.streets.len(),
            d.area.communities.len(),
            d.area.grids.len(),
        );
        assert_eq!(got, (streets, communities, grids));
        assert_eq!(d.households.len(), p.households);
        assert_eq!(d.users.len(), grids + communities + 1);
        let want = |rate: f64| (rate * p.households as f64).round() as usize;
        assert_eq!(d.visits.len(), want(p.visits_per_household));
        assert_eq!(d.issues.len(), want(p.issues_per_household));
        assert_eq!(d.area.validate(), Ok(()));
        for grid in &d.area.grids {
            let n = d.households.iter().filter(|h| h.grid_id == grid.id).count();
            assert_eq!(n, p.households / grids);
        }
        let tiny = generate(&DemoParams {
            households: 1,
            now_ms: 0,
            ..p.clone()
        });
        assert_eq!((&tiny.users, &tiny.area.grids), (&d.users, &d.area.grids));
        let one = generate(&DemoParams::single_grid(300, 1, DEFAULT_NOW_MS));
        let got = (one.area.grids.len(), one.households.len(), one.users.len());
        assert_eq!(got, (1, 300, 3));
        assert_eq!(one.area.validate(), Ok(()));
    }

    #[test]
    fn id_numbers_are_valid_and_agree() {
        let d = generate(&small());
        let mut n = 0;
        for p in d.households.iter().flat_map(|h| h.members.values()) {
            let Some(id) = &p.id_number else { continue };
            n += 1;
            assert_eq!(id.len(), 18);
            assert_eq!(Some(id_check(&id[..17])), id.chars().last(), "{id}");
            assert_eq!(&id[..6], &d.area.district.code[..6]);
            let birth = p.birth_date.as_deref().unwrap().replace('-', "");
            assert_eq!(id[6..14], birth);
            let odd = id.as_bytes()[16] % 2 == 1;
            assert_eq!(odd, p.sex == Sex::Male, "{id}");
        }
        assert!(n > 900, "{n}");
        assert_eq!(id_check("11010519491231002"), 'X');
        assert_eq!(id_check("43020319850101123"), '1');
    }

    #[test]
    fn records_hang_together() {
        let d = generate(&small());
        let now = small().now_ms;
        let today = local_date(now);
        for h in &d.households {
            let grid = d
                .area
                .grid(&h.grid_id)
                .expect("the household's grid exists");
            assert_eq!(h.address.community_code, grid.community_code);
            assert!(h.created_at < now && h.head().is_some());
            assert!((1..=5).contains(&h.members.len()));
            let v = crate::validate::validate_household(h, today);
            assert!(v.is_ok(), "{v:?} {h:?}");
        }
        for v in &d.visits {
            assert!(v.at < now && v.at >= now - YEAR - DAY);
            assert_eq!(
                d.worker_of_grid(&v.grid_id).map(|u| &u.id),
                Some(&v.worker_id)
            );
            let r = crate::validate::validate_visit(v, today);
            assert!(r.is_ok(), "{r:?} {v:?}");
        }
        for i in &d.issues {
            let timeline = i.timeline();
            assert_eq!(timeline.first().map(|e| e.kind), Some(EventKind::Report));
            assert!(timeline.iter().all(|e| e.at < now) && d.area.grid(&i.grid_id).is_some());
            assert_eq!(fold(i).rejected_count, 0, "{timeline:?}");
            let r = crate::validate::validate_issue(i);
            assert!(r.is_ok(), "{r:?} {i:?}");
        }
    }

    #[test]
    fn issues_reach_every_state() {
        let d = generate(&DemoParams::default());
        let now = DemoParams::default().now_ms;
        let all: Vec<_> = d.issues.iter().map(fold).collect();
        for state in IssueState::ALL {
            assert!(all.iter().any(|s| s.state == Some(state)), "{state:?}");
        }
        assert!(all.iter().any(|s| s.rework_count > 0));
        assert!(all.iter().any(|s| s.satisfaction.is_some()));
        assert!(all
            .iter()
            .any(|s| s.is_open() && s.deadline.is_some_and(|d| d < now)));
        let self_handled = all.iter().filter(|s| {
            s.timeline
                .iter()
                .any(|t| t.event.kind == EventKind::SelfHandle)
        });
        assert!(
            self_handled.count() * 3 > all.len(),
            "most issues stay in the grid"
        );
        assert!(d.visits.iter().any(|v| !v.linked_issues.is_empty()));
    }

    #[test]
    fn care_tags_spread_realistically() {
        let d = generate(&DemoParams::default());
        let today = local_date(DEFAULT_NOW_MS);
        let people: Vec<(&Person, i64)> = d
            .households
            .iter()
            .flat_map(|h| h.members.values())
            .map(|p| {
                let birth =
                    NaiveDate::parse_from_str(p.birth_date.as_deref().unwrap_or(""), "%Y-%m-%d");
                (p, years_between(birth.unwrap(), today))
            })
            .collect();
        let share = |tag: &str, min_age: i64| {
            let of: Vec<_> = people.iter().filter(|(_, a)| *a >= min_age).collect();
            let n = of.iter().filter(|(p, _)| p.tags.contains_key(tag)).count();
            n as f64 / of.len().max(1) as f64
        };
        assert_eq!(share("age_80_plus", 80), 1.0);
        let within =
            |x: f64, lo: f64, hi: f64| assert!((lo..=hi).contains(&x), "{x} not in {lo}..{hi}");
        within(share("elderly_alone", 65), 0.01, 0.06);
        within(share("disabled", 0), 0.01, 0.035);
        within(share("min_income", 0), 0.005, 0.04);
        within(share("veteran", 0), 0.003, 0.02);
        within(share("chronic_disease", 50), 0.06, 0.14);
        within(share("pregnant", 0), 0.0, 0.01);
        assert!(people.iter().all(|(p, _)| p.restricted_tags.is_empty()));
        let restricted: usize = d.key_persons.iter().map(|k| k.persons.len()).sum();
        assert!(restricted > 0);
        within(restricted as f64 / people.len() as f64, 0.0, 0.003);
        for k in &d.key_persons {
            let h = d
                .households
                .iter()
                .find(|h| h.id == k.household_id)
                .unwrap();
            assert_eq!(k.grid_id, h.grid_id);
            assert!(k.persons.keys().all(|p| h.members.contains_key(p)));
        }
        let rented = d
            .households
            .iter()
            .filter(|h| h.housing_use == HousingUse::Rented)
            .count();
        within(rented as f64 / d.households.len() as f64, 0.15, 0.25);
    }

    #[test]
    fn odd_params_do_not_panic() {
        let p = DemoParams {
            streets: 0,
            communities_per_street: 0,
            grids_per_community: 0,
            households: 3,
            visits_per_household: f64::NAN,
            issues_per_household: -1.0,
            now_ms: i64::MIN,
            seed: 1,
        };
        let d = generate(&p);
        let got = (
            d.area.grids.len(),
            d.households.len(),
            d.visits.len(),
            d.issues.len(),
        );
        assert_eq!(got, (1, 3, 0, 0));
        let p = DemoParams {
            households: 0,
            now_ms: i64::MAX,
            ..DemoParams::default()
        };
        let d = generate(&p);
        assert!(d.households.is_empty() && d.issues.is_empty() && d.visits.is_empty());
        let d = generate(&DemoParams {
            households: 5,
            issues_per_household: 4.0,
            ..p
        });
        assert_eq!(d.issues.len(), 20);
    }
}
