//! A deterministic demo district: area tree, households, visits, issues and users.
//!
//! Everything comes from one seeded ChaCha8 generator and is built in a fixed order with
//! no hash-map iteration and no clock, so the same [`DemoParams`] always give
//! byte-identical output. Ids are UUIDs made from the generator's bytes (v7 with the
//! record's own time for documents and events, v4 for everything else).

#[path = "demo_names.rs"]
mod names;

use crate::area::{AreaTree, Building, Community, District, Grid, Street};
use crate::model::*;
use chrono::{DateTime, Datelike, NaiveDate};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// China Standard Time offset: local dates and working hours are Beijing time.
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
    /// Average visits per household over the last 365 days.
    pub visits_per_household: f64,
    /// Issues per household over the last 365 days.
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
    /// One street, one community, one grid holding all `households` (one worker's grid).
    pub fn single_grid(households: usize, seed: u64, now_ms: i64) -> DemoParams {
        DemoParams {
            seed,
            streets: 1,
            communities_per_street: 1,
            grids_per_community: 1,
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
    /// Grids in scope: the worker's grid, or every grid of the supervisor's community.
    pub grid_ids: Vec<String>,
    pub community_codes: Vec<String>,
    /// The user's one demo device (UUID).
    pub device_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoDistrict {
    pub area: AreaTree,
    pub households: Vec<Household>,
    pub visits: Vec<Visit>,
    pub issues: Vec<Issue>,
    /// The admin first, then per community its supervisor and its grids' workers.
    pub users: Vec<DemoUser>,
}

impl DemoDistrict {
    pub fn user(&self, id: &str) -> Option<&DemoUser> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn worker_of_grid(&self, grid_id: &str) -> Option<&DemoUser> {
        self.users
            .iter()
            .find(|u| u.role == "worker" && u.grid_ids.iter().any(|g| g == grid_id))
    }
}

/// Generate a district. Counts are clamped to what the codes allow (1..=999 streets,
/// communities per street and grids per community); rates to 0..=500; `now_ms` to the
/// years 2001–2100.
pub fn generate(params: &DemoParams) -> DemoDistrict {
    let mut g = Gen::new(params);
    g.area_and_users();
    g.households();
    g.visits();
    g.issues();
    DemoDistrict {
        area: g.area,
        households: g.households,
        visits: g.visits,
        issues: g.issues,
        users: g.users,
    }
}

/// What the generator remembers about a household beyond the record.
struct HouseholdMeta {
    grid: usize,
    building: usize,
    kind: Kind,
    visit_weight: f64,
    /// Index range of its visits in `Gen::visits`.
    visits: (usize, usize),
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Family,
    Elderly,
    Care,
    Rented,
    Vacant,
}

/// How a household is made up: a family shape and the head's age range.
#[derive(Clone, Copy)]
enum Shape {
    Single,
    YoungCouple,
    Nuclear,
    ThreeGen,
    AdultChild,
    ElderlyCouple,
    ElderlyAlone,
    LeftBehind,
    SingleParent,
}

struct Gen {
    rng: ChaCha8Rng,
    now: i64,
    households_wanted: usize,
    visits_per_household: f64,
    issues_per_household: f64,
    dims: (usize, usize, usize),
    surnames: Vec<char>,
    male: Vec<char>,
    female: Vec<char>,
    area: AreaTree,
    users: Vec<DemoUser>,
    /// Per grid: (worker user index, supervisor user index).
    staff: Vec<(usize, usize)>,
    gps: Vec<Gps>,
    households: Vec<Household>,
    meta: Vec<HouseholdMeta>,
    visits: Vec<Visit>,
    issues: Vec<Issue>,
}

fn clean_rate(r: f64) -> f64 {
    if r.is_finite() {
        r.clamp(0.0, 500.0)
    } else {
        0.0
    }
}

impl Gen {
    fn new(p: &DemoParams) -> Gen {
        Gen {
            rng: ChaCha8Rng::seed_from_u64(p.seed),
            now: p.now_ms.clamp(978_307_200_000, 4_102_444_800_000),
            households_wanted: p.households,
            visits_per_household: clean_rate(p.visits_per_household),
            issues_per_household: clean_rate(p.issues_per_household),
            dims: (
                p.streets.clamp(1, 999),
                p.communities_per_street.clamp(1, 999),
                p.grids_per_community.clamp(1, 999),
            ),
            surnames: names::SURNAMES.chars().collect(),
            male: names::MALE_GIVEN.chars().collect(),
            female: names::FEMALE_GIVEN.chars().collect(),
            area: AreaTree::default(),
            users: Vec::new(),
            staff: Vec::new(),
            gps: Vec::new(),
            households: Vec::new(),
            meta: Vec::new(),
            visits: Vec::new(),
            issues: Vec::new(),
        }
    }

    // ---- randomness helpers ----

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.rng.random_range(lo..hi)
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }

    fn pick<'a, T: ?Sized>(&mut self, xs: &[&'a T]) -> &'a T {
        xs[self.rng.random_range(0..xs.len())]
    }

    fn pick_char(&mut self, which: u8) -> char {
        let list = match which {
            0 => &self.surnames,
            1 => &self.male,
            _ => &self.female,
        };
        list[self.rng.random_range(0..list.len())]
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
        uuid::Builder::from_unix_timestamp_millis(ms, &b)
            .into_uuid()
            .to_string()
    }

    fn name(&mut self, surname: char, sex: &Sex) -> String {
        let which = if *sex == Sex::Male { 1 } else { 2 };
        let mut s = String::from(surname);
        s.push(self.pick_char(which));
        if self.chance(0.7) {
            s.push(self.pick_char(which));
        }
        s
    }

    fn phone(&mut self) -> String {
        let second = self.range(3, 10);
        let rest = self.range(0, 1_000_000_000);
        format!("1{second}{rest:09}")
    }

    // ---- area and users ----

    fn area_and_users(&mut self) {
        let (streets, per_street, per_community) = self.dims;
        self.area.district = District {
            code: names::DISTRICT_CODE.into(),
            name: names::DISTRICT_NAME.into(),
        };
        let admin = self.user("admin", "admin".into(), vec![], vec![]);
        self.users.push(admin);
        let prefix = &names::DISTRICT_CODE[..6];
        for s in 0..streets {
            let code = format!("{prefix}{:03}000", s + 1);
            let name = numbered(names::STREETS, s, "街道");
            self.area.streets.push(Street {
                code: code.clone(),
                name,
            });
            for c in 0..per_street {
                let ccode = format!("{}{:03}", &code[..9], c + 1);
                let name = numbered(names::COMMUNITIES, s * per_street + c, "社区");
                self.area.communities.push(Community {
                    code: ccode.clone(),
                    name,
                    street_code: code.clone(),
                });
                let first_grid = self.area.grids.len();
                for n in 1..=per_community {
                    let id = self.uuid4();
                    let grid = Grid {
                        id,
                        community_code: ccode.clone(),
                        number: n as i64,
                        name: format!("第{n}网格"),
                    };
                    self.area.grids.push(grid);
                }
                let grid_ids: Vec<String> = self.area.grids[first_grid..]
                    .iter()
                    .map(|g| g.id.clone())
                    .collect();
                let sup = self.users.len();
                let u = self.user(
                    "supervisor",
                    format!("wgz{ccode}"),
                    grid_ids,
                    vec![ccode.clone()],
                );
                self.users.push(u);
                for gi in first_grid..self.area.grids.len() {
                    let grid = &self.area.grids[gi];
                    let (username, ids) =
                        (format!("wgy{}", grid.grid_code()), vec![grid.id.clone()]);
                    let u = self.user("worker", username, ids, vec![ccode.clone()]);
                    self.staff.push((self.users.len(), sup));
                    self.users.push(u);
                }
            }
        }
    }

    fn user(
        &mut self,
        role: &str,
        username: String,
        grid_ids: Vec<String>,
        communities: Vec<String>,
    ) -> DemoUser {
        let id = self.uuid4();
        let device_id = self.uuid4();
        let sex = if self.chance(0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        let surname = self.pick_char(0);
        DemoUser {
            id,
            username,
            display_name: self.name(surname, &sex),
            role: role.into(),
            grid_ids,
            community_codes: communities,
            device_id,
        }
    }

    // ---- households ----

    fn households(&mut self) {
        let grids = self.area.grids.len();
        let (base, extra) = (
            self.households_wanted / grids,
            self.households_wanted % grids,
        );
        let mut next_number: BTreeMap<String, usize> = BTreeMap::new();
        for gi in 0..grids {
            let want = base + usize::from(gi < extra);
            let mut placed = 0;
            while placed < want {
                let community = self.area.grids[gi].community_code.clone();
                let counter = next_number.entry(community.clone()).or_insert(0);
                *counter += 1;
                let n = *counter;
                let floors = self.range(6, 19);
                let rooms = self.range(2, 5);
                let target = self.range(50, 151);
                let units = (target / (floors * rooms)).clamp(1, 4);
                let building = Building {
                    id: self.uuid4(),
                    community_code: community,
                    grid_id: self.area.grids[gi].id.clone(),
                    number: format!("{:05}", n.min(99_999)),
                    name: format!("{n}栋"),
                    units,
                    floors,
                    rooms_per_floor: rooms,
                };
                let lat = names::CENTRE.0 + self.range(-400, 400) as f64 / 10_000.0;
                let lon = names::CENTRE.1 + self.range(-500, 500) as f64 / 10_000.0;
                self.gps.push(Gps { lat, lon });
                self.area.buildings.push(building);
                let bi = self.area.buildings.len() - 1;
                'rooms: for unit in 1..=units {
                    for floor in 1..=floors {
                        for room in 1..=rooms {
                            if placed == want {
                                break 'rooms;
                            }
                            self.household(gi, bi, unit, floor, room);
                            placed += 1;
                        }
                    }
                }
            }
        }
    }

    fn household(&mut self, gi: usize, bi: usize, unit: i64, floor: i64, room: i64) {
        use HousingUse as U;
        let b = &self.area.buildings[bi];
        let address = Address {
            community_code: b.community_code.clone(),
            building_no: b.number.clone(),
            building_name: b.name.clone(),
            unit: unit.to_string(),
            floor,
            room: format!("{floor}{room:02}"),
        };
        let created_at = if self.chance(0.05) {
            self.now - self.range(DAY, 360 * DAY)
        } else {
            self.now - self.range(400 * DAY, 1800 * DAY)
        };
        let housing = self.weighted(&[
            (U::SelfOccupied, 73),
            (U::Rented, 20),
            (U::Vacant, 5),
            (U::Other, 2),
        ]);
        let htype = match housing {
            U::Vacant => [HouseholdType::RegisteredAbsent, HouseholdType::Registered]
                [self.range(0, 2) as usize]
                .clone(),
            U::Rented if self.chance(0.85) => HouseholdType::Migrant,
            U::SelfOccupied if self.chance(0.06) => HouseholdType::Migrant,
            _ => HouseholdType::Registered,
        };
        let shape = match housing {
            U::Vacant => Shape::Single,
            U::Rented => self.weighted(&[
                (Shape::Single, 40),
                (Shape::YoungCouple, 35),
                (Shape::Nuclear, 25),
            ]),
            _ => self.weighted(&[
                (Shape::Single, 6),
                (Shape::YoungCouple, 8),
                (Shape::Nuclear, 30),
                (Shape::ThreeGen, 14),
                (Shape::AdultChild, 12),
                (Shape::ElderlyCouple, 17),
                (Shape::ElderlyAlone, 3),
                (Shape::LeftBehind, 2),
                (Shape::SingleParent, 4),
            ]),
        };
        let population = if htype == HouseholdType::Migrant {
            PopulationType::Migrant
        } else {
            PopulationType::Registered
        };
        let mut members = self.members(shape, &population);
        let min_income = housing != U::Vacant && self.chance(0.02);
        let empty_nest = matches!(shape, Shape::ElderlyCouple) && self.chance(0.7);
        let lost_only = matches!(shape, Shape::ElderlyCouple) && self.chance(0.01);
        for p in members.iter_mut() {
            let mut add = |tag: &str, on: bool| {
                if on {
                    p.0.tags.insert(tag.to_string(), true);
                }
            };
            add("min_income", min_income);
            add("empty_nest", empty_nest && p.1 >= 60);
            add("lost_only_child", lost_only && p.1 >= 60);
        }
        let head = members.first().map(|m| m.0.clone());
        let phone = members.iter().find_map(|m| m.0.phone.clone());
        let mut notes = String::new();
        if housing == U::Rented {
            let landlord = self.name(self.surnames[0], &Sex::Male);
            notes = format!("房东：{landlord} {}", self.phone());
        } else if housing == U::Vacant {
            notes = "房屋空置，业主不在本地居住".into();
        } else if self.chance(0.08) {
            notes = self.pick(names::HOUSEHOLD_NOTES).into();
        }
        let gps = self.chance(0.6).then(|| self.gps[bi]);
        let tags: Vec<&str> = members
            .iter()
            .filter(|m| m.0.status == PersonStatus::Living)
            .flat_map(|m| m.0.tags.keys().map(String::as_str))
            .collect();
        let high_risk = tags.iter().any(|t| HIGH_RISK_TAGS.contains(t));
        let restricted = members.iter().any(|m| !m.0.restricted_tags.is_empty());
        let kind = match housing {
            U::Vacant => Kind::Vacant,
            _ if high_risk => Kind::Elderly,
            _ if !tags.is_empty() || restricted => Kind::Care,
            U::Rented => Kind::Rented,
            _ => Kind::Family,
        };
        let visit_weight = match kind {
            Kind::Elderly => 6.0,
            Kind::Care => 2.5,
            Kind::Vacant => 0.3,
            _ => 1.0,
        } * (0.6 + self.rng.random::<f64>() * 0.8);
        let household = Household {
            id: self.uuid7(created_at),
            grid_id: self.area.grids[gi].id.clone(),
            address,
            housing_use: housing,
            household_type: htype,
            head_person_id: head.map(|h| h.id),
            phone,
            members: members.into_iter().map(|m| (m.0.id.clone(), m.0)).collect(),
            notes,
            gps,
            created_at,
        };
        self.households.push(household);
        self.meta.push(HouseholdMeta {
            grid: gi,
            building: bi,
            kind,
            visit_weight,
            visits: (0, 0),
        });
    }
}

/// Issue plans: the state an issue is left in (self-handled issues close as `SelfClosed`).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Plan {
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

/// Issues made first whenever there are enough, so every state shows: (plan, overdue, rework).
const FORCED: [(Plan, bool, bool); 13] = [
    (Plan::Reported, false, false),
    (Plan::Filed, false, false),
    (Plan::Dispatched, true, false),
    (Plan::InProgress, true, false),
    (Plan::InProgress, false, false),
    (Plan::Feedback, false, false),
    (Plan::Checking, false, false),
    (Plan::Closed, false, true),
    (Plan::Evaluated, false, false),
    (Plan::SelfHandled, false, false),
    (Plan::SelfClosed, false, false),
    (Plan::Voided, false, false),
    (Plan::Dispatched, false, true),
];

/// One step of an issue's planned timeline, relative to the report.
struct Step {
    kind: EventKind,
    off: i64,
    by_supervisor: bool,
    note: String,
    stage: Plan,
}

impl Gen {
    fn members(&mut self, shape: Shape, pop: &PopulationType) -> Vec<(Person, i64)> {
        use Relation as R;
        use Sex::{Female as F, Male as M};
        let male_head = self.chance(0.7);
        let (hs, ss) = if male_head { (M, F) } else { (F, M) };
        let any = |g: &mut Gen| if g.chance(0.52) { M } else { F };
        let mut spec: Vec<(Relation, i64, Sex)> = Vec::new();
        let head = match shape {
            Shape::Single => self.range(20, 71),
            Shape::YoungCouple => self.range(24, 39),
            Shape::Nuclear => self.range(28, 51),
            Shape::ThreeGen => self.range(30, 49),
            Shape::AdultChild => self.range(48, 63),
            Shape::ElderlyCouple => self.range(60, 89),
            Shape::ElderlyAlone => self.range(65, 96),
            Shape::LeftBehind => self.range(55, 73),
            Shape::SingleParent => self.range(28, 51),
        };
        let couple = !matches!(
            shape,
            Shape::Single | Shape::ElderlyAlone | Shape::SingleParent
        );
        let head_sex = if couple { hs.clone() } else { any(self) };
        spec.push((R::Head, head, head_sex));
        if couple && !(matches!(shape, Shape::LeftBehind) && self.chance(0.4)) {
            let spouse = (head + self.range(-4, 5)).max(20);
            spec.push((R::Spouse, spouse, ss));
        }
        let kids = match shape {
            Shape::Nuclear => 1 + usize::from(self.chance(0.45)) + usize::from(self.chance(0.05)),
            Shape::ThreeGen | Shape::SingleParent => 1,
            Shape::AdultChild => 1 + usize::from(self.chance(0.2)),
            _ => 0,
        };
        for _ in 0..kids {
            let age = match shape {
                Shape::AdultChild => self.range(20, 33),
                _ => self.range(0, (head - 21).clamp(1, 20)),
            };
            let sex = any(self);
            spec.push((R::Child, age, sex));
        }
        if matches!(shape, Shape::ThreeGen) {
            let both = self.chance(0.5);
            if both || self.chance(0.5) {
                spec.push((R::Parent, head + self.range(24, 33), M));
            }
            if both || spec.last().map(|s| s.0 != R::Parent).unwrap_or(true) {
                spec.push((R::Parent, head + self.range(22, 31), F));
            }
        }
        if matches!(shape, Shape::LeftBehind) {
            let sex = any(self);
            spec.push((R::Grandchild, self.range(3, 16), sex));
        }
        spec.truncate(5);

        let head_surname = self.pick_char(0);
        let spouse_surname = self.pick_char(0);
        let family_surname = if spec.iter().any(|s| s.0 == R::Spouse) && !male_head {
            spouse_surname
        } else {
            head_surname
        };
        let today = local_date(self.now);
        let prefix = &names::DISTRICT_CODE[..6];
        let mut out = Vec::with_capacity(spec.len());
        for (relation, age, sex) in spec {
            let surname = match (&relation, &sex) {
                (R::Head, _) | (R::Parent, M) => head_surname,
                (R::Spouse, _) => spouse_surname,
                (R::Parent, F) => self.pick_char(0),
                _ => family_surname,
            };
            let back = age * 365 + age / 4 + self.range(0, 365);
            let birth = today
                .checked_sub_days(chrono::Days::new(back.max(0) as u64))
                .unwrap_or(today);
            let age = years_between(birth, today);
            let id_number = self.chance(0.99).then(|| {
                let seq = self.range(0, 100) * 10 + self.range(0, 5) * 2 + i64::from(sex == M);
                let body = format!(
                    "{prefix}{:04}{:02}{:02}{seq:03}",
                    birth.year(),
                    birth.month(),
                    birth.day()
                );
                let check = id_check(&body);
                format!("{body}{check}")
            });
            let phone =
                (age >= 16 && self.chance(if age >= 80 { 0.5 } else { 0.9 })).then(|| self.phone());
            let status = match relation {
                R::Child if age >= 22 && self.chance(0.03) => PersonStatus::MovedOut,
                R::Parent if age >= 85 && self.chance(0.04) => PersonStatus::Deceased,
                _ => PersonStatus::Living,
            };
            let mut tags = Vec::new();
            let mut notes = Vec::new();
            let mut disability_cert = None;
            if age >= 80 {
                tags.push("age_80_plus");
            }
            if matches!(shape, Shape::ElderlyAlone) && age >= 65 && self.chance(0.9) {
                tags.push("elderly_alone");
                if self.chance(0.1) {
                    tags.push("extreme_hardship");
                }
            }
            if self.chance(if age < 40 { 0.01 } else { 0.03 }) {
                tags.push("disabled");
                let kind = self.range(0, names::DISABILITY_KINDS.len() as i64) as usize;
                let grade = self.range(0, 4) as usize;
                disability_cert = id_number
                    .as_ref()
                    .map(|id| format!("{id}{}{}", kind + 1, grade + 1));
                notes.push(format!(
                    "{}残疾{}级",
                    names::DISABILITY_KINDS[kind],
                    names::GRADES[grade]
                ));
            }
            if age >= 22 && self.chance(if sex == M { 0.022 } else { 0.002 }) {
                tags.push("veteran");
            }
            if age >= 50 && self.chance(0.10) {
                tags.push("chronic_disease");
                notes.push(format!("患{}，需定期随访", self.pick(names::CHRONIC)));
            }
            if matches!(shape, Shape::LeftBehind) && relation == R::Grandchild && age < 16 {
                tags.push("left_behind_child");
            }
            let pregnant_age = (22..=40).contains(&age) && sex == F;
            if pregnant_age && matches!(relation, R::Head | R::Spouse) && self.chance(0.015) {
                tags.push("pregnant");
            }
            let mut restricted = BTreeMap::new();
            if (18..=65).contains(&age) && self.chance(0.002) {
                let i = self.weighted(&[(0usize, 40), (1, 35), (2, 10), (3, 15)]);
                restricted.insert(RESTRICTED_TAGS[i].0.to_string(), true);
            }
            let person = Person {
                id: self.uuid4(),
                name: self.name(surname, &sex),
                sex,
                birth_date: Some(iso(birth)),
                id_number,
                phone,
                relation,
                population_type: pop.clone(),
                status,
                tags: tags.into_iter().map(|t| (t.to_string(), true)).collect(),
                restricted_tags: restricted,
                disability_cert,
                notes: notes.join("；"),
            };
            out.push((person, age));
        }
        out
    }

    fn visits(&mut self) {
        let n = self.households.len();
        let target = (self.visits_per_household * n as f64).round();
        let total: f64 = self.meta.iter().map(|m| m.visit_weight).sum();
        let (mut cum, mut done) = (0.0, 0i64);
        for h in 0..n {
            cum += self.meta[h].visit_weight;
            let upto = if total > 0.0 {
                (target * cum / total).round() as i64
            } else {
                0
            };
            let k = upto - done;
            done = upto;
            let first = self.visits.len();
            let created = self.households[h].created_at;
            let start = created.max(self.now - 365 * DAY);
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
        use VisitMode as M;
        let (kind, grid, bi) = (self.meta[h].kind, self.meta[h].grid, self.meta[h].building);
        let (worker, sup) = self.staff[grid];
        let mode = if kind == Kind::Vacant {
            self.weighted(&[(M::Phone, 60), (M::InPerson, 40)])
        } else {
            self.weighted(&[
                (M::InPerson, 72),
                (M::Phone, 16),
                (M::Messaging, 10),
                (M::OnBehalf, 2),
            ])
        };
        let list = match kind {
            Kind::Elderly => names::FINDINGS_ELDERLY,
            Kind::Care => names::FINDINGS_CARE,
            Kind::Rented => names::FINDINGS_RENTED,
            Kind::Vacant => names::FINDINGS_VACANT,
            Kind::Family => names::FINDINGS_GENERAL,
        };
        let mut findings = self.pick(list).to_string();
        if kind != Kind::Vacant && kind != Kind::Family && self.chance(0.3) {
            findings.push_str(self.pick(names::FINDINGS_GENERAL));
        }
        let needs = if kind != Kind::Vacant && self.chance(0.25) {
            self.pick(names::NEEDS)
        } else {
            ""
        };
        let follow_up = (!needs.is_empty() && self.chance(0.5))
            .then(|| iso(local_date(at + self.range(3, 22) * DAY)));
        let gps = (mode == M::InPerson && self.chance(0.7)).then(|| {
            let g = self.gps[bi];
            let jitter = |g: &mut Gen| g.range(-5, 6) as f64 / 100_000.0;
            Gps {
                lat: g.lat + jitter(self),
                lon: g.lon + jitter(self),
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
            household_id: self.households[h].id.clone(),
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

    fn issues(&mut self) {
        if self.households.is_empty() {
            return;
        }
        let total = (self.issues_per_household * self.households.len() as f64).round() as usize;
        for k in 0..total {
            let (plan, overdue, rework) = if total >= FORCED.len() && k < FORCED.len() {
                FORCED[k]
            } else {
                use Plan::*;
                let plan = self.weighted(&[
                    (SelfClosed, 42),
                    (SelfHandled, 3),
                    (Voided, 4),
                    (Reported, 4),
                    (Filed, 2),
                    (Dispatched, 4),
                    (InProgress, 5),
                    (Feedback, 3),
                    (Checking, 2),
                    (Closed, 17),
                    (Evaluated, 14),
                ]);
                let dispatched =
                    !matches!(plan, SelfClosed | SelfHandled | Voided | Reported | Filed);
                let overdue = matches!(plan, Dispatched | InProgress) && self.chance(0.35);
                (plan, overdue, dispatched && self.chance(0.12))
            };
            let issue = self.issue(plan, overdue, rework);
            self.issues.push(issue);
        }
    }

    fn issue(&mut self, plan: Plan, overdue: bool, rework: bool) -> Issue {
        let h = self.range(0, self.households.len() as i64) as usize;
        let (grid, bi, visits) = (
            self.meta[h].grid,
            self.meta[h].building,
            self.meta[h].visits,
        );
        let (worker, sup) = self.staff[grid];
        let cats: Vec<((&str, i64), u32)> = names::CATEGORIES
            .iter()
            .map(|(c, w, d)| ((*c, *d), *w))
            .collect();
        let (category, days) = self.weighted(&cats);
        let templates: Vec<_> = names::ISSUES.iter().filter(|t| t.0 == category).collect();
        let (_, title, description, resolution) =
            *templates[self.range(0, templates.len() as i64) as usize];
        let departments = names::DEPARTMENTS
            .iter()
            .find(|d| d.0 == category)
            .map_or(&["街道综治中心"][..], |d| d.1);
        let dept = self.pick(departments);
        let with_household = matches!(
            category,
            "assistance_request" | "policy_enquiry" | "neighbour_dispute"
        ) || self.chance(0.3);
        let public = self.pick(names::PUBLIC_PLACES);
        let address = &self.households[h].address;
        let place = if with_household {
            address.short()
        } else {
            format!("{}{public}", address.building_name)
        };
        let reporter = (with_household && self.chance(0.8)).then(|| {
            let head = self.households[h].head();
            Reporter {
                name: head.map(|p| p.name.clone()).unwrap_or_default(),
                phone: head.and_then(|p| p.phone.clone()),
            }
        });
        let urgency = if category == "safety_hazard" {
            self.weighted(&[
                (Urgency::Normal, 50),
                (Urgency::Urgent, 40),
                (Urgency::Critical, 10),
            ])
        } else {
            self.weighted(&[
                (Urgency::Normal, 91),
                (Urgency::Urgent, 8),
                (Urgency::Critical, 1),
            ])
        };

        // The planned timeline, relative to the report, cut where the plan's state is reached.
        let deadline_off = days * DAY;
        let mut steps = Vec::new();
        let mut t = 0;
        let note = self.pick(names::REPORT_NOTES).to_string();
        step(
            &mut steps,
            EventKind::Report,
            t,
            false,
            note,
            Plan::Reported,
        );
        match plan {
            Plan::Reported => {}
            Plan::Voided => {
                t += self.range(HOUR, 2 * DAY);
                let note = self.pick(names::VOID_NOTES).to_string();
                step(&mut steps, EventKind::Void, t, true, note, Plan::Voided);
            }
            Plan::SelfHandled | Plan::SelfClosed => {
                t += self.range(10 * MIN, 6 * HOUR);
                let note = format!("{}{resolution}", names::SELF_HANDLE_PREFIX);
                step(
                    &mut steps,
                    EventKind::SelfHandle,
                    t,
                    false,
                    note,
                    Plan::SelfHandled,
                );
                t += self.range(2 * HOUR, 3 * DAY);
                step(
                    &mut steps,
                    EventKind::Close,
                    t,
                    true,
                    "经核实已处置完毕，予以结案".into(),
                    Plan::SelfClosed,
                );
            }
            _ => {
                t += self.range(30 * MIN, DAY);
                step(
                    &mut steps,
                    EventKind::File,
                    t,
                    true,
                    "符合立案条件，予以立案".into(),
                    Plan::Filed,
                );
                t += self.range(10 * MIN, 4 * HOUR);
                step(
                    &mut steps,
                    EventKind::Dispatch,
                    t,
                    true,
                    format!("派遣至{dept}处置"),
                    Plan::Dispatched,
                );
                for round in 0..=usize::from(rework) {
                    if round == 1 {
                        t += self.range(HOUR, 4 * HOUR);
                        let note = self.pick(names::RETURN_NOTES).to_string();
                        step(
                            &mut steps,
                            EventKind::Return,
                            t,
                            true,
                            note,
                            Plan::Dispatched,
                        );
                    }
                    t += self.range(30 * MIN, DAY);
                    step(
                        &mut steps,
                        EventKind::Accept,
                        t,
                        true,
                        format!("{dept}已签收"),
                        Plan::InProgress,
                    );
                    let room = deadline_off - t - 30 * HOUR;
                    t = if round == 0 && room > HOUR && self.chance(0.85) {
                        t + self.range(HOUR, room)
                    } else {
                        t.max(deadline_off) + self.range(HOUR, 5 * DAY)
                    };
                    step(
                        &mut steps,
                        EventKind::Feedback,
                        t,
                        true,
                        format!("{dept}反馈：{resolution}"),
                        Plan::Feedback,
                    );
                    t += self.range(HOUR, DAY);
                    step(
                        &mut steps,
                        EventKind::Check,
                        t,
                        true,
                        "已安排现场核查".into(),
                        Plan::Checking,
                    );
                }
                t += self.range(10 * MIN, 4 * HOUR);
                step(
                    &mut steps,
                    EventKind::Close,
                    t,
                    true,
                    "核查通过，予以结案".into(),
                    Plan::Closed,
                );
                t += self.range(DAY, 5 * DAY);
                step(
                    &mut steps,
                    EventKind::Evaluate,
                    t,
                    true,
                    String::new(),
                    Plan::Evaluated,
                );
            }
        }
        if let Some(last) = steps.iter().rposition(|s| s.stage == plan) {
            steps.truncate(last + 1);
        }
        let span = steps.last().map_or(0, |s| s.off);

        // When it was reported: recent for open issues, past the deadline for overdue ones.
        let open = !matches!(
            plan,
            Plan::Closed | Plan::Evaluated | Plan::SelfClosed | Plan::Voided
        );
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
            let v = if from_visit {
                self.range(visits.0 as i64, visits.1 as i64) as usize
            } else {
                usize::MAX
            };
            let r = self.visits.get(v).map(|v| v.at + 20 * MIN);
            match r {
                Some(r) if r < latest && r > self.now - 365 * DAY => {
                    linked = Some(v);
                    r
                }
                _ => self.range(self.now - 365 * DAY, latest),
            }
        };

        let id = self.uuid7(reported);
        let mut events = BTreeMap::new();
        let sat = self.weighted(&[(5i64, 55), (4, 30), (3, 10), (2, 4), (1, 1)]);
        for s in &steps {
            let at = reported + s.off;
            let user = if s.by_supervisor { sup } else { worker };
            let mut e = IssueEvent {
                id: self.uuid7(at),
                kind: s.kind,
                at,
                by_user: self.users[user].id.clone(),
                by_device: self.users[user].device_id.clone(),
                note: s.note.clone(),
                department: None,
                deadline: None,
                satisfaction: None,
            };
            match s.kind {
                EventKind::Dispatch => {
                    e.department = Some(dept.to_string());
                    e.deadline = Some(reported + deadline_off);
                }
                EventKind::Evaluate => {
                    e.satisfaction = Some(sat);
                    e.note = names::EVAL_NOTES[(sat - 1).clamp(0, 4) as usize].into();
                }
                _ => {}
            }
            events.insert(e.id.clone(), e);
        }
        if self.chance(0.12) {
            let at = match steps.get(1) {
                Some(next) if next.off > 2 * MIN => reported + next.off / 2,
                _ => (reported + span + self.range(10 * MIN, HOUR)).min(self.now - MIN),
            };
            let e = IssueEvent {
                id: self.uuid7(at),
                kind: EventKind::Comment,
                at,
                by_user: self.users[worker].id.clone(),
                by_device: self.users[worker].device_id.clone(),
                note: self.pick(names::COMMENTS).into(),
                department: None,
                deadline: None,
                satisfaction: None,
            };
            events.insert(e.id.clone(), e);
        }
        if let Some(v) = linked {
            self.visits[v].linked_issues.insert(id.clone(), true);
        }
        let gps = (!with_household && self.chance(0.5)).then(|| self.gps[bi]);
        Issue {
            id,
            grid_id: self.area.grids[grid].id.clone(),
            category: category.into(),
            title: title.into(),
            description: description.replace("{p}", &place),
            place,
            household_id: with_household.then(|| self.households[h].id.clone()),
            reporter,
            urgency,
            photos: BTreeMap::new(),
            gps,
            created_at: reported,
            events,
        }
    }
}

fn step(
    steps: &mut Vec<Step>,
    kind: EventKind,
    off: i64,
    by_supervisor: bool,
    note: String,
    stage: Plan,
) {
    steps.push(Step {
        kind,
        off,
        by_supervisor,
        note,
        stage,
    });
}

/// Whole years from `birth` to `today`.
fn years_between(birth: NaiveDate, today: NaiveDate) -> i64 {
    let mut years = i64::from(today.year() - birth.year());
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0)
}

/// `list[i]` + suffix; past the end of the list, a number is added to keep names unique.
fn numbered(list: &[&str], i: usize, suffix: &str) -> String {
    let base = list[i % list.len()];
    match i / list.len() {
        0 => format!("{base}{suffix}"),
        k => format!("{base}{}{suffix}", k + 1),
    }
}

/// ms → local (Beijing) date.
fn local_date(ms: i64) -> NaiveDate {
    DateTime::from_timestamp_millis(ms + CST)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

fn iso(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// The GB 11643 check character of a 17-digit body.
fn id_check(body: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

#[cfg(test)]
mod tests {
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
        let a = serde_json::to_string(&generate(&small())).unwrap();
        let b = serde_json::to_string(&generate(&small())).unwrap();
        assert_eq!(a, b);
        let c = serde_json::to_string(&generate(&DemoParams { seed: 7, ..small() })).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn counts_match_params() {
        let p = DemoParams::default();
        let d = generate(&p);
        let grids = p.streets * p.communities_per_street * p.grids_per_community;
        assert_eq!(d.households.len(), p.households);
        assert_eq!(d.area.streets.len(), p.streets);
        assert_eq!(
            d.area.communities.len(),
            p.streets * p.communities_per_street
        );
        assert_eq!(d.area.grids.len(), grids);
        assert_eq!(d.users.len(), grids + d.area.communities.len() + 1);
        let want = |rate: f64| (rate * p.households as f64).round() as usize;
        assert_eq!(d.visits.len(), want(p.visits_per_household));
        assert_eq!(d.issues.len(), want(p.issues_per_household));
        assert_eq!(d.area.validate(), Ok(()));
        let one = generate(&DemoParams::single_grid(300, 1, DEFAULT_NOW_MS));
        assert_eq!(
            (one.area.grids.len(), one.households.len(), one.users.len()),
            (1, 300, 3)
        );
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
            assert_eq!(id_check(&id[..17]), id.chars().last().unwrap(), "{id}");
            assert_eq!(&id[..6], "430203");
            let birth = p.birth_date.as_deref().unwrap().replace('-', "");
            assert_eq!(&id[6..14], birth);
            let odd = id[16..17].parse::<u32>().unwrap() % 2 == 1;
            assert_eq!(odd, p.sex == Sex::Male, "{id}");
        }
        assert!(n > 1000);
        // A known number: 11010519491231002X.
        assert_eq!(id_check("11010519491231002"), 'X');
    }

    #[test]
    fn references_hold() {
        let d = generate(&small());
        let now = small().now_ms;
        for h in &d.households {
            let grid = d.area.grid(&h.grid_id).expect("grid exists");
            assert_eq!(h.address.community_code, grid.community_code);
            assert!(h.created_at < now);
            assert!(h.head().is_some() && !h.members.is_empty() && h.members.len() <= 5);
        }
        for v in &d.visits {
            assert!(v.at < now && v.at >= now - 366 * DAY);
            assert_eq!(d.worker_of_grid(&v.grid_id).unwrap().id, v.worker_id);
        }
        for i in &d.issues {
            let timeline = i.timeline();
            assert_eq!(timeline.first().map(|e| e.kind), Some(EventKind::Report));
            assert!(timeline.iter().all(|e| e.at < now));
            assert!(d.area.grid(&i.grid_id).is_some());
            assert_eq!(fold(i).rejected_count, 0, "{:?}", timeline);
        }
    }

    #[test]
    fn every_state_shows() {
        let d = generate(&DemoParams::default());
        let summaries: Vec<_> = d.issues.iter().map(fold).collect();
        for state in IssueState::ALL {
            assert!(
                summaries.iter().any(|s| s.state == Some(state)),
                "{state:?}"
            );
        }
        assert!(summaries.iter().any(|s| s.rework_count > 0));
        let now = DemoParams::default().now_ms;
        let overdue = summaries
            .iter()
            .filter(|s| s.is_open() && s.deadline.is_some_and(|d| d < now))
            .count();
        assert!(overdue > 0);
        let linked = d
            .visits
            .iter()
            .filter(|v| !v.linked_issues.is_empty())
            .count();
        assert!(linked > 0);
    }

    #[test]
    fn realistic_spread() {
        let d = generate(&DemoParams::default());
        let people: Vec<(&Person, i64)> = d
            .households
            .iter()
            .flat_map(|h| h.members.values())
            .map(|p| {
                let b = NaiveDate::parse_from_str(p.birth_date.as_deref().unwrap(), "%Y-%m-%d")
                    .unwrap();
                (p, years_between(b, local_date(DEFAULT_NOW_MS)))
            })
            .collect();
        let share = |tag: &str, filter: &dyn Fn(i64) -> bool| {
            let of: Vec<_> = people.iter().filter(|(_, a)| filter(*a)).collect();
            let n = of.iter().filter(|(p, _)| p.tags.contains_key(tag)).count();
            n as f64 / of.len().max(1) as f64
        };
        let all = |_: i64| true;
        eprintln!(
            "persons {} 65+ {:.3} 80+ {:.3}",
            people.len(),
            people.iter().filter(|p| p.1 >= 65).count() as f64 / people.len() as f64,
            people.iter().filter(|p| p.1 >= 80).count() as f64 / people.len() as f64
        );
        for (tag, s) in [
            ("elderly_alone", share("elderly_alone", &|a| a >= 65)),
            ("age_80_plus", share("age_80_plus", &|a| a >= 80)),
            ("disabled", share("disabled", &all)),
            ("min_income", share("min_income", &all)),
            ("veteran", share("veteran", &all)),
            ("chronic", share("chronic_disease", &|a| a >= 50)),
            ("left_behind", share("left_behind_child", &all)),
            ("pregnant", share("pregnant", &all)),
        ] {
            eprintln!("{tag}: {s:.4}");
        }
        let restricted = people
            .iter()
            .filter(|(p, _)| !p.restricted_tags.is_empty())
            .count();
        eprintln!("restricted {:.4}", restricted as f64 / people.len() as f64);
        let mut states = BTreeMap::new();
        for i in &d.issues {
            *states.entry(format!("{:?}", fold(i).state)).or_insert(0) += 1;
        }
        eprintln!("{states:?}");
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
        assert_eq!(
            (
                d.area.grids.len(),
                d.households.len(),
                d.visits.len(),
                d.issues.len()
            ),
            (1, 3, 0, 0)
        );
        let d = generate(&DemoParams {
            households: 0,
            now_ms: i64::MAX,
            issues_per_household: 5.0,
            ..DemoParams::default()
        });
        assert!(d.households.is_empty() && d.issues.is_empty());
    }

    #[test]
    fn tmp_perf() {
        let t = std::time::Instant::now();
        let d = generate(&DemoParams::single_grid(5000, 42, DEFAULT_NOW_MS));
        eprintln!(
            "5000: {:?} visits {} issues {} buildings {}",
            t.elapsed(),
            d.visits.len(),
            d.issues.len(),
            d.area.buildings.len()
        );
        let t = std::time::Instant::now();
        let d = generate(&DemoParams {
            households: 100_000,
            streets: 5,
            communities_per_street: 6,
            grids_per_community: 8,
            ..DemoParams::default()
        });
        eprintln!(
            "100k: {:?} visits {} issues {}",
            t.elapsed(),
            d.visits.len(),
            d.issues.len()
        );
    }
}
