//! Admin edits of the area tree: create or change one street, community, grid or
//! building. Moves that would leave households behind (a grid to another community, a
//! building to another grid) are refused: households carry their grid, so a move is a
//! re-gridding of documents, not an edit of the tree.

use super::{AreaTree, Building, Community, Grid, Street};
use crate::validate::{ErrorCode, FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};

/// One street, community, grid or building, created or replaced (by code or id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "level", rename_all = "snake_case")]
pub enum AreaEdit {
    Street(Street),
    Community(Community),
    Grid(Grid),
    Building(Building),
}

impl AreaEdit {
    /// "street 110105001000", for logs and the audit trail.
    pub fn describe(&self) -> String {
        match self {
            AreaEdit::Street(s) => format!("street {} {}", s.code, s.name),
            AreaEdit::Community(c) => format!("community {} {}", c.code, c.name),
            AreaEdit::Grid(g) => format!("grid {} {}", g.grid_code(), g.name),
            AreaEdit::Building(b) => format!("building {} {}", b.number, b.name),
        }
    }
}

fn moved(path: &str, message: &str) -> ValidationErrors {
    ValidationErrors(vec![FieldError::new(path, ErrorCode::BadCode, message)])
}

impl AreaTree {
    /// Apply `edit`; the tree is unchanged unless the result validates.
    pub fn apply(&mut self, edit: AreaEdit) -> Result<(), ValidationErrors> {
        let mut next = self.clone();
        match edit {
            AreaEdit::Street(s) => upsert(&mut next.streets, s, |a, b| a.code == b.code),
            AreaEdit::Community(c) => {
                if let Some(old) = next.communities.iter().find(|x| x.code == c.code) {
                    if old.street_code != c.street_code {
                        return Err(moved(
                            "street_code",
                            "社区不能改属其他街道 / a community cannot move to another street",
                        ));
                    }
                }
                upsert(&mut next.communities, c, |a, b| a.code == b.code)
            }
            AreaEdit::Grid(g) => {
                if let Some(old) = next.grids.iter().find(|x| x.id == g.id) {
                    if old.community_code != g.community_code {
                        return Err(moved(
                            "community_code",
                            "网格不能改属其他社区 / a grid cannot move to another community",
                        ));
                    }
                }
                upsert(&mut next.grids, g, |a, b| a.id == b.id)
            }
            AreaEdit::Building(b) => {
                if let Some(old) = next.buildings.iter().find(|x| x.id == b.id) {
                    if old.grid_id != b.grid_id || old.community_code != b.community_code {
                        return Err(moved(
                            "grid_id",
                            "楼栋不能改属其他网格 / a building cannot move to another grid",
                        ));
                    }
                }
                match next.grid(&b.grid_id) {
                    Some(g) if g.community_code == b.community_code => {}
                    _ => {
                        return Err(moved(
                            "grid_id",
                            "楼栋的网格不在其社区内 / the building's grid is not in its community",
                        ))
                    }
                }
                upsert(&mut next.buildings, b, |a, b| a.id == b.id)
            }
        }
        next.validate()?;
        *self = next;
        Ok(())
    }
}

fn upsert<T>(items: &mut Vec<T>, item: T, same: impl Fn(&T, &T) -> bool) {
    match items.iter().position(|x| same(x, &item)) {
        Some(i) => items[i] = item,
        None => items.push(item),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{generate, DemoParams};

    fn tree() -> AreaTree {
        generate(&DemoParams::single_grid(20, 7, 1_780_000_000_000)).area
    }

    #[test]
    fn a_new_building_is_added_and_an_existing_one_renamed() {
        let mut t = tree();
        let mut b = t.buildings[0].clone();
        b.name = "新名字".into();
        t.apply(AreaEdit::Building(b.clone())).unwrap();
        assert_eq!(t.building(&b.id).unwrap().name, "新名字");
        let n = t.buildings.len();
        let mut nb = b.clone();
        nb.id = "b-new".into();
        nb.number = "99999".into();
        t.apply(AreaEdit::Building(nb)).unwrap();
        assert_eq!(t.buildings.len(), n + 1);
    }

    #[test]
    fn an_invalid_edit_leaves_the_tree_unchanged() {
        let mut t = tree();
        let before = t.clone();
        let mut b = t.buildings[0].clone();
        b.id = "b-dup".into(); // same number as buildings[0]: duplicate in the community
        assert!(t.apply(AreaEdit::Building(b)).is_err());
        let mut g = t.grids[0].clone();
        g.community_code = "999999999999".into();
        assert!(t.apply(AreaEdit::Grid(g)).is_err());
        assert_eq!(t, before);
    }
}
