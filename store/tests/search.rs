//! Search over the projections: names, pinyin initials, address fragments, phone tails,
//! tag filters, paging.

mod common;

use common::{household, NOW};
use gridwalk_core::validate::id_check_char;
use gridwalk_core::{Author, DocKind};
use gridwalk_store::{HouseholdQuery, Store};
use uuid::Uuid;

/// 欧阳修's ID number without its check character.
const ID_BODY: &str = "43020319500101987";

fn store_with(n: usize) -> Store {
    let mut store = Store::open_in_memory().expect("store");
    let author = Author::new(Uuid::from_u128(1), Uuid::from_u128(2));
    for i in 0..n {
        let mut h = household(i, "g1");
        let p = h.members.values_mut().next().expect("member");
        if i == 7 {
            p.name = "欧阳修".into();
            p.phone = Some("13500009876".into());
            p.birth_date = Some("1950-01-01".into());
            p.id_number = Some(format!(
                "{ID_BODY}{}",
                id_check_char(ID_BODY).expect("check")
            ));
            p.tags.insert("elderly_alone".into(), true);
        }
        if i == 8 {
            p.name = "曾国藩".into();
        }
        h.address.unit = format!("{}", 1 + i % 3);
        store.create_household(&h, author, NOW).expect("create");
    }
    store
}

fn find(store: &Store, text: &str) -> Vec<String> {
    store
        .search_households(&HouseholdQuery {
            text: Some(text.into()),
            limit: 100,
            ..Default::default()
        })
        .expect("search")
        .items
        .into_iter()
        .map(|r| r.head_name)
        .collect()
}

#[test]
fn finds_by_name_pinyin_address_and_phone_tail() {
    let store = store_with(30);
    assert_eq!(find(&store, "欧阳"), vec!["欧阳修"]);
    assert_eq!(find(&store, "oyx"), vec!["欧阳修"], "pinyin initials");
    assert_eq!(find(&store, "ouyangxiu"), vec!["欧阳修"], "full pinyin");
    assert_eq!(
        find(&store, "zgf"),
        vec!["曾国藩"],
        "polyphonic surname read as zeng"
    );
    assert_eq!(find(&store, "9876"), vec!["欧阳修"], "phone tail");
    assert_eq!(
        find(&store, " ９８７６ "),
        vec!["欧阳修"],
        "full-width digits and spaces"
    );
    let unit2 = find(&store, "3栋2单元");
    assert_eq!(unit2.len(), 10, "address fragment: building 3, unit 2");
    assert!(find(&store, "no such person").is_empty());
    assert!(find(&store, "%").is_empty(), "LIKE wildcards are literal");
}

#[test]
fn filters_by_tag_and_pages_with_a_total() {
    let store = store_with(30);
    let tagged = store
        .search_households(&HouseholdQuery {
            tags: vec!["elderly_alone".into()],
            ..Default::default()
        })
        .expect("search");
    assert_eq!(tagged.total, 1);
    assert_eq!(tagged.items[0].head_name, "欧阳修");
    let page = store
        .search_households(&HouseholdQuery {
            limit: 10,
            offset: 20,
            ..Default::default()
        })
        .expect("page");
    assert_eq!((page.items.len(), page.total), (10, 30));
    let past = store
        .search_households(&HouseholdQuery {
            limit: 10,
            offset: 40,
            ..Default::default()
        })
        .expect("page");
    assert_eq!((past.items.len(), past.total), (0, 30));
    let scoped = store
        .search_households(&HouseholdQuery {
            grid_ids: Some(vec!["other".into()]),
            ..Default::default()
        })
        .expect("scoped");
    assert_eq!(scoped.total, 0, "scope filters by grid");
    let _ = DocKind::Household;
}

/// The attack of issue 9: knowing a masked number's tail, prepend one digit at a time and
/// keep the digit whose query still finds the household. 30 queries rebuilt a phone when
/// full numbers were search keys. Now every candidate answers the same: nothing learnt.
#[test]
fn search_is_no_oracle_for_masked_phones_and_ids() {
    let store = store_with(30);
    let id = format!("{ID_BODY}{}", id_check_char(ID_BODY).expect("check"));
    for (number, what) in [("13500009876", "phone"), (id.as_str(), "ID number")] {
        let tail = &number[number.len() - 4..];
        assert_eq!(
            find(&store, tail),
            vec!["欧阳修"],
            "{what}: tail search still works"
        );
        let mut known = tail.to_string();
        let mut queries = 0;
        for _ in 0..(number.len() - 4).min(8) {
            let found: Vec<char> = ('0'..='9')
                .filter(|d| {
                    queries += 1;
                    find(&store, &format!("{d}{known}")).contains(&"欧阳修".to_string())
                })
                .collect();
            assert!(
                found.len() != 1,
                "{what}: the query answers told one digit apart ({found:?} before {known})"
            );
            // Follow the true digit, as an attacker who guessed right would.
            let true_digit = number.as_bytes()[number.len() - known.len() - 1] as char;
            known.insert(0, true_digit);
        }
        assert!(queries >= 30);
        // The full number finds no more than its tail does, and a wrong prefix no less.
        assert_eq!(find(&store, number), find(&store, tail), "{what}");
        let wrong = format!("{}{}", "9".repeat(number.len() - 4), tail);
        assert_eq!(find(&store, &wrong), find(&store, tail), "{what}");
    }
}
