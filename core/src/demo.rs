//! A deterministic demo district: area tree, households, visits, issues and users.
//!
//! Everything comes from one seeded ChaCha8 generator and is built in a fixed order with
//! no hash-map iteration and no clock, so the same [`DemoParams`] always give
//! byte-identical output. Ids are UUIDs made from the generator's bytes (v7 carrying the
//! record's own time for households, visits, issues and events; v4 for the rest).

#[path = "demo_names.rs"]
mod names;

use crate::area::{AreaTree, Building, Community, District, Grid, Street};
use crate::model::*;
use chrono::{DateTime, Datelike, Days, NaiveDate};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    let (area, households, visits, issues, users) = (g.area, g.hh, g.visits, g.issues, g.users);
    DemoDistrict {
        area,
        households,
        visits,
        issues,
        users,
    }
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

/// How a household is made up.
#[derive(Clone, Copy, PartialEq)]
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

/// The state an issue is left in (a self-handled issue that was closed is `SelfClosed`).
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

    fn area_and_users(&mut self) {
        let (code, name) = (
            names::DISTRICT_CODE.to_string(),
            names::DISTRICT_NAME.into(),
        );
        self.area.district = District { code, name };
        let admin = self.user("admin", "admin".into(), vec![], vec![]);
        self.users.push(admin);
        let per_street = self.p.communities_per_street;
        for s in 0..self.p.streets {
            let code = format!("{}{:03}000", &names::DISTRICT_CODE[..6], s + 1);
            let name = numbered(names::STREETS, s, "街道");
            let street_code = code.clone();
            self.area.streets.push(Street { code, name });
            for c in 0..per_street {
                let cc = format!("{}{:03}", &street_code[..9], c + 1);
                let name = numbered(names::COMMUNITIES, s * per_street + c, "社区");
                let (code, street_code) = (cc.clone(), street_code.clone());
                let community = Community {
                    code,
                    name,
                    street_code,
                };
                self.area.communities.push(community);
                let mut ids = Vec::new();
                for number in 1..=self.p.grids_per_community as i64 {
                    let (id, community_code) = (self.uuid4(), cc.clone());
                    let name = format!("第{number}网格");
                    ids.push(id.clone());
                    let grid = Grid {
                        id,
                        community_code,
                        number,
                        name,
                    };
                    self.area.grids.push(grid);
                }
                let sup = self.users.len();
                let u = self.user(
                    "supervisor",
                    format!("wgz{cc}"),
                    ids.clone(),
                    vec![cc.clone()],
                );
                self.users.push(u);
                for (k, id) in ids.into_iter().enumerate() {
                    let username = format!("wgy{cc}{:03}", k + 1);
                    let u = self.user("worker", username, vec![id], vec![cc.clone()]);
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
        cc: Vec<String>,
    ) -> DemoUser {
        let (id, device_id) = (self.uuid4(), self.uuid4());
        let sex = if self.chance(0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        let surname = self.letter(0);
        let display_name = self.name(surname, &sex);
        let role = role.to_string();
        DemoUser {
            id,
            username,
            display_name,
            role,
            grid_ids,
            community_codes: cc,
            device_id,
        }
    }

    /// Fills each grid's buildings room by room until the grid has its share of households.
    fn households(&mut self) {
        let grids = self.area.grids.len();
        let (base, extra) = (self.p.households / grids, self.p.households % grids);
        let mut numbers: BTreeMap<String, usize> = BTreeMap::new();
        for gi in 0..grids {
            let (want, mut placed) = (base + usize::from(gi < extra), 0);
            while placed < want {
                let grid = &self.area.grids[gi];
                let (community, grid_id) = (grid.community_code.clone(), grid.id.clone());
                let n = numbers.entry(community.clone()).or_insert(0);
                *n += 1;
                let n = *n;
                let (floors, rooms, target) =
                    (self.range(6, 19), self.range(2, 5), self.range(50, 151));
                let units = (target / (floors * rooms)).clamp(1, 4);
                let building = Building {
                    id: self.uuid4(),
                    community_code: community,
                    grid_id,
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
        use HouseholdType as T;
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
        let created_at = match self.chance(0.05) {
            true => self.now - self.range(DAY, 360 * DAY),
            false => self.now - self.range(400 * DAY, 1800 * DAY),
        };
        let housing = self.weighted(names::HOUSING);
        let household_type = match housing {
            U::Vacant if self.chance(0.6) => T::RegisteredAbsent,
            U::Rented if self.chance(0.85) => T::Migrant,
            U::SelfOccupied if self.chance(0.06) => T::Migrant,
            _ => T::Registered,
        };
        let shape = match housing {
            U::Vacant => Shape::Single,
            U::Rented => self.weighted(names::SHAPES_RENTED),
            _ => self.weighted(names::SHAPES_OWNED),
        };
        let migrant = household_type == T::Migrant;
        let mut members = self.members(shape, migrant);
        // Household-level tags: 低保 is granted per household; empty nest and lost only
        // child are about the elderly couple.
        let min_income = housing != U::Vacant && self.chance(0.02);
        let couple = shape == Shape::ElderlyCouple;
        let empty_nest = couple && self.chance(0.7);
        let lost_only = couple && self.chance(0.01);
        for (p, age) in members.iter_mut() {
            let on = [
                (min_income, "min_income"),
                (empty_nest && *age >= 60, "empty_nest"),
            ];
            let more = [(lost_only && *age >= 60, "lost_only_child")];
            for (_, tag) in on.into_iter().chain(more).filter(|(on, _)| *on) {
                p.tags.insert(tag.to_string(), true);
            }
        }
        let head_person_id = members.first().map(|m| m.0.id.clone());
        let phone = members.iter().find_map(|m| m.0.phone.clone());
        let notes = if housing == U::Rented {
            let landlord = self.letter(0);
            let landlord = self.name(landlord, &Sex::Male);
            format!("房东：{landlord} {}", self.phone())
        } else if housing == U::Vacant {
            "房屋空置，业主不在本地居住".into()
        } else if self.chance(0.08) {
            self.pick(names::HOUSEHOLD_NOTES).into()
        } else {
            String::new()
        };
        let gps = self.chance(0.6).then(|| self.gps[bi]);
        let living = members
            .iter()
            .filter(|m| m.0.status == PersonStatus::Living);
        let tags: Vec<&String> = living.flat_map(|m| m.0.tags.keys()).collect();
        let restricted = members.iter().any(|m| !m.0.restricted_tags.is_empty());
        let kind = match housing {
            U::Vacant => Kind::Vacant,
            _ if tags.iter().any(|t| HIGH_RISK_TAGS.contains(&t.as_str())) => Kind::Elderly,
            _ if !tags.is_empty() || restricted => Kind::Care,
            U::Rented => Kind::Rented,
            _ => Kind::Family,
        };
        let weight = match kind {
            Kind::Elderly => 6.0,
            Kind::Care => 2.5,
            Kind::Vacant => 0.3,
            _ => 1.0,
        };
        let visit_weight = weight * (0.6 + self.rng.random::<f64>() * 0.8);
        let id = self.uuid7(created_at);
        self.hh.push(Household {
            id,
            grid_id: self.area.grids[gi].id.clone(),
            address,
            housing_use: housing,
            household_type,
            head_person_id,
            phone,
            members: members
                .into_iter()
                .map(|(p, _)| (p.id.clone(), p))
                .collect(),
            notes,
            gps,
            created_at,
        });
        let (grid, building, visits) = (gi, bi, (0, 0));
        self.meta.push(Meta {
            grid,
            building,
            kind,
            visit_weight,
            visits,
        });
    }

    /// The members of a household of `shape`, head first, each with their age.
    fn members(&mut self, shape: Shape, migrant: bool) -> Vec<(Person, i64)> {
        use Relation as R;
        use Sex::{Female as F, Male as M};
        use Shape as S;
        let male_head = self.chance(0.7);
        let any = |g: &mut Gen| if g.chance(0.52) { M } else { F };
        let head = match shape {
            S::Single => self.range(20, 71),
            S::YoungCouple => self.range(24, 39),
            S::Nuclear | S::SingleParent => self.range(28, 51),
            S::ThreeGen => self.range(30, 49),
            S::AdultChild => self.range(48, 63),
            S::ElderlyCouple => self.range(60, 89),
            S::ElderlyAlone => self.range(65, 96),
            S::LeftBehind => self.range(55, 73),
        };
        let couple = !matches!(shape, S::Single | S::ElderlyAlone | S::SingleParent);
        let head_sex = match (couple, male_head) {
            (true, true) => M,
            (true, false) => F,
            _ => any(self),
        };
        let mut spec = vec![(R::Head, head, head_sex.clone())];
        let with_spouse = couple && !(shape == S::LeftBehind && self.chance(0.4));
        if with_spouse {
            let sex = if head_sex == M { F } else { M };
            spec.push((R::Spouse, (head + self.range(-4, 5)).max(20), sex));
        }
        let kids = match shape {
            S::Nuclear => 1 + usize::from(self.chance(0.45)) + usize::from(self.chance(0.05)),
            S::ThreeGen | S::SingleParent => 1,
            S::AdultChild => 1 + usize::from(self.chance(0.2)),
            _ => 0,
        };
        for _ in 0..kids {
            let age = match shape {
                S::AdultChild => self.range(20, 33),
                _ => self.range(0, (head - 21).clamp(1, 20)),
            };
            spec.push((R::Child, age, any(self)));
        }
        if shape == S::ThreeGen {
            let who = self.range(0, 3); // father, mother or both
            if who != 1 {
                spec.push((R::Parent, head + self.range(24, 33), M));
            }
            if who != 0 {
                spec.push((R::Parent, head + self.range(22, 31), F));
            }
        }
        if shape == S::LeftBehind {
            spec.push((R::Grandchild, self.range(3, 16), any(self)));
        }
        spec.truncate(5);

        // Children take the father's surname; the head's parents are the head's family.
        let (head_surname, spouse_surname) = (self.letter(0), self.letter(0));
        let family = if with_spouse && !male_head {
            spouse_surname
        } else {
            head_surname
        };
        let today = local_date(self.now);
        let mut out = Vec::with_capacity(spec.len());
        for (relation, age, sex) in spec {
            let surname = match (&relation, &sex) {
                (R::Head, _) | (R::Parent, M) => head_surname,
                (R::Spouse, _) => spouse_surname,
                (R::Parent, F) => self.letter(0),
                _ => family,
            };
            let back = age * 365 + age / 4 + self.range(0, 365);
            let birth = today.checked_sub_days(Days::new(back.max(0) as u64));
            let birth = birth.unwrap_or(today);
            let age = years_between(birth, today);
            let id_number = self.chance(0.99).then(|| {
                let seq = self.range(0, 100) * 10 + self.range(0, 5) * 2 + i64::from(sex == M);
                let (y, m, d) = (birth.year(), birth.month(), birth.day());
                let body = format!("{}{y:04}{m:02}{d:02}{seq:03}", &names::DISTRICT_CODE[..6]);
                let check = id_check(&body);
                format!("{body}{check}")
            });
            let has_phone = age >= 16 && self.chance(if age >= 80 { 0.5 } else { 0.9 });
            let phone = has_phone.then(|| self.phone());
            let status = match relation {
                R::Child if age >= 22 && self.chance(0.03) => PersonStatus::MovedOut,
                R::Parent if age >= 85 && self.chance(0.04) => PersonStatus::Deceased,
                _ => PersonStatus::Living,
            };
            let (mut tags, mut notes, mut disability_cert) = (vec![], vec![], None);
            if age >= 80 {
                tags.push("age_80_plus");
            }
            if shape == S::ElderlyAlone && age >= 65 && self.chance(0.9) {
                tags.push("elderly_alone");
                if self.chance(0.1) {
                    tags.push("extreme_hardship");
                }
            }
            if self.chance(if age < 40 { 0.01 } else { 0.03 }) {
                tags.push("disabled");
                let kind = self.range(0, names::DISABILITY_KINDS.len() as i64) as usize;
                let grade = self.range(0, 4) as usize;
                let cert = |id: &String| format!("{id}{}{}", kind + 1, grade + 1);
                disability_cert = id_number.as_ref().map(cert);
                let (k, g) = (names::DISABILITY_KINDS[kind], names::GRADES[grade]);
                notes.push(format!("{k}残疾{g}级"));
            }
            if age >= 22 && self.chance(if sex == M { 0.022 } else { 0.002 }) {
                tags.push("veteran");
            }
            if age >= 50 && self.chance(0.10) {
                tags.push("chronic_disease");
                notes.push(format!("患{}，需定期随访", self.pick(names::CHRONIC)));
            }
            if shape == S::LeftBehind && relation == R::Grandchild && age < 16 {
                tags.push("left_behind_child");
            }
            let mother_to_be = (22..=40).contains(&age) && sex == F;
            if mother_to_be && matches!(relation, R::Head | R::Spouse) && self.chance(0.015) {
                tags.push("pregnant");
            }
            let mut restricted_tags = BTreeMap::new();
            if (18..=65).contains(&age) && self.chance(0.002) {
                let i = self.weighted(names::RESTRICTED);
                restricted_tags.insert(RESTRICTED_TAGS[i].0.to_string(), true);
            }
            let population_type = match migrant {
                true => PopulationType::Migrant,
                false => PopulationType::Registered,
            };
            let person = Person {
                id: self.uuid4(),
                name: self.name(surname, &sex),
                sex,
                birth_date: Some(iso(birth)),
                id_number,
                phone,
                relation,
                population_type,
                status,
                tags: tags.into_iter().map(|t| (t.to_string(), true)).collect(),
                restricted_tags,
                disability_cert,
                notes: notes.join("；"),
            };
            out.push((person, age));
        }
        out
    }
}

impl Gen {
    /// Spreads `visits_per_household × households` visits (exactly, after rounding) over the
    /// households by weight — high-risk elderly most, vacant flats least — and over the
    /// year before now, in working hours.
    fn visits(&mut self) {
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

    fn issues(&mut self) {
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

/// `list[i]` + suffix; past the end of the list a number keeps names unique (建设2街道).
fn numbered(list: &[&str], i: usize, suffix: &str) -> String {
    match (list.get(i % list.len().max(1)), i / list.len().max(1)) {
        (Some(base), 0) => format!("{base}{suffix}"),
        (Some(base), k) => format!("{base}{}{suffix}", k + 1),
        (None, _) => format!("{}{suffix}", i + 1),
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

/// The GB 11643 check character of a 17-digit body (weights 7,9,10,…; map "10X98765432").
fn id_check(body: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let digits = body.chars().map(|c| c.to_digit(10).unwrap_or(0));
    let sum: u32 = digits.zip(W).map(|(d, w)| d * w).sum();
    char::from(b"10X98765432"[(sum % 11) as usize])
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
        let restricted = people
            .iter()
            .filter(|(p, _)| !p.restricted_tags.is_empty())
            .count();
        within(restricted as f64 / people.len() as f64, 0.0, 0.003);
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
