//! The household projection follows every member edit: a changed member is updated, a
//! removed one deleted, a new one inserted, and the living ID-number holder counts stay
//! right through each (the members are upserted, not rewritten on every edit).

mod common;

use common::{household, NOW};
use gridwalk_core::model::{Household, PersonStatus};
use gridwalk_core::{Author, DocId, DocKind};
use gridwalk_store::Store;
use uuid::Uuid;

/// A valid ID number (with its check character) from its first 17 digits.
fn id(body: &str) -> String {
    format!(
        "{body}{}",
        gridwalk_core::validate::id_check_char(body).unwrap()
    )
}

fn rows(store: &Store, hid: &str) -> Vec<(String, String, Option<String>, String)> {
    let mut stmt = store
        .connection()
        .prepare(
            "SELECT person_id, name, id_number, status FROM persons
             WHERE household_id = ?1 ORDER BY person_id",
        )
        .unwrap();
    stmt.query_map([hid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn holders(store: &Store, id: &str) -> i64 {
    store
        .connection()
        .query_row(
            "SELECT coalesce((SELECT living FROM id_number_holders WHERE id_number = ?1), 0)",
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

fn edit(store: &mut Store, id: DocId, at: i64, f: impl FnOnce(&mut Household)) {
    store
        .edit::<Household, _>(DocKind::Household, id, author(), at, "edit", |h| {
            f(h);
            Ok(())
        })
        .unwrap();
}

fn author() -> Author {
    Author::new(Uuid::from_u128(1), Uuid::from_u128(2))
}

#[test]
fn member_edits_reach_the_projection_and_the_holder_counts() {
    let (id_a, id_b) = (id("43020319500302001"), id("43020319500302003"));
    // The holder counts are the district's (a device store has no such table).
    let mut store = Store::open_district_in_memory().unwrap();
    let mut h = household(1, "g1");
    let head = h.members.keys().next().unwrap().clone();
    h.members.get_mut(&head).unwrap().id_number = Some(id_a.clone());
    store.create_household(&h, author(), NOW).unwrap();
    let id = DocId(h.id.parse().unwrap());
    assert_eq!(rows(&store, &h.id).len(), 1);
    assert_eq!(holders(&store, &id_a), 1);

    // An edit elsewhere leaves the member as it was.
    edit(&mut store, id, NOW + 1, |h| h.notes = "楼道灯坏了".into());
    assert_eq!(rows(&store, &h.id)[0].1, "张三丰1");
    assert_eq!(holders(&store, &id_a), 1);

    // A member's name and ID number change; a second member joins with another ID.
    let second = Uuid::from_u128(0xBEEF).to_string();
    edit(&mut store, id, NOW + 2, |h| {
        let p = h.members.get_mut(&head).unwrap();
        p.name = "张三".into();
        p.id_number = Some(id_b.clone());
        let mut q = p.clone();
        q.id = second.clone();
        q.name = "李四".into();
        q.id_number = Some(id_a.clone());
        q.relation = gridwalk_core::model::Relation::Spouse;
        h.members.insert(second.clone(), q);
    });
    let r = rows(&store, &h.id);
    assert_eq!(r.len(), 2);
    assert!(r
        .iter()
        .any(|p| p.0 == head && p.1 == "张三" && p.2.as_deref() == Some(id_b.as_str())));
    assert!(r.iter().any(|p| p.0 == second && p.1 == "李四"));
    assert_eq!((holders(&store, &id_a), holders(&store, &id_b)), (1, 1));

    // The head dies: no longer a living holder. Then the spouse leaves the household.
    edit(&mut store, id, NOW + 3, |h| {
        h.members.get_mut(&head).unwrap().status = PersonStatus::Deceased;
    });
    assert_eq!(holders(&store, &id_b), 0);
    edit(&mut store, id, NOW + 4, |h| {
        h.members.remove(&second);
    });
    let r = rows(&store, &h.id);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].3, "Deceased");
    assert_eq!((holders(&store, &id_a), holders(&store, &id_b)), (0, 0));
}
