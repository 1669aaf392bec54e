//! The demo households: buildings filled room by room, and the people living in them.

use super::{iso, local_date, names, years_between, Gen, Kind, Meta, DAY};
use crate::area::Building;
use crate::model::*;
use chrono::{Datelike, Days};
use rand::Rng;
use std::collections::BTreeMap;

/// How a household is made up.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Shape {
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

impl Gen {
    /// Fills each grid's buildings room by room until the grid has its share of households.
    pub(super) fn households(&mut self) {
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

/// The GB 11643 check character of a 17-digit body (weights 7,9,10,…; map "10X98765432").
pub(super) fn id_check(body: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let digits = body.chars().map(|c| c.to_digit(10).unwrap_or(0));
    let sum: u32 = digits.zip(W).map(|(d, w)| d * w).sum();
    char::from(b"10X98765432"[(sum % 11) as usize])
}
