//! The demo district's area tree (streets, communities, grids) and its users.

use super::{names, DemoUser, Gen};
use crate::area::{Community, District, Grid, Street};
use crate::model::*;

impl Gen {
    pub(super) fn area_and_users(&mut self) {
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
}

/// `list[i]` + suffix; past the end of the list a number keeps names unique (建设2街道).
fn numbered(list: &[&str], i: usize, suffix: &str) -> String {
    match (list.get(i % list.len().max(1)), i / list.len().max(1)) {
        (Some(base), 0) => format!("{base}{suffix}"),
        (Some(base), k) => format!("{base}{}{suffix}", k + 1),
        (None, _) => format!("{}{suffix}", i + 1),
    }
}
