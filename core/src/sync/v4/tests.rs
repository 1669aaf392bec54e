use super::super::{decode_response, encode_response, PROTOCOL_VERSION};
use super::*;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use proptest::prelude::*;

fn snapshot(name: &str, members: usize) -> Vec<u8> {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "name", name).expect("put");
    let m = doc
        .put_object(ROOT, "members", automerge::ObjType::Map)
        .expect("map");
    for i in 0..members {
        doc.put(&m, format!("p{i}"), i as i64).expect("put");
    }
    doc.save_nocompress()
}

fn doc(n: u128, data: DocData, rows: Option<Vec<TableRows>>) -> PulledDoc {
    PulledDoc {
        doc_id: Uuid::from_u128(n),
        kind: DocKind::Household,
        grid_id: format!("g{}", n % 2),
        data,
        heads: if n.is_multiple_of(3) {
            vec![[n as u8; 32]]
        } else {
            vec![]
        },
        rows,
    }
}

fn rows(n: u128) -> Vec<TableRows> {
    let id = Uuid::from_u128(n).to_string();
    vec![
        TableRows {
            table: "households".into(),
            rows: vec![vec![
                Cell::Text(id.clone()),
                Cell::Text(format!("g{}", n % 2)),
                Cell::Int(n as i64),
                Cell::Real(1.5),
                Cell::Null,
                Cell::Text(format!("户名{n}号楼")),
            ]],
        },
        TableRows {
            table: "persons".into(),
            rows: (0..n % 4)
                .map(|p| vec![Cell::Text(format!("p{p}")), Cell::Text(id.clone())])
                .collect(),
        },
    ]
}

/// A demo household's rows, as a district ships them.
fn household_rows(n: u128, members: usize) -> Vec<TableRows> {
    use crate::demo::{generate, DemoParams};
    let d = generate(&DemoParams::single_grid(8, n as u64, 1_750_000_000_000));
    let mut h = d.households[0].clone();
    while h.members.len() > members {
        let last = h.members.keys().next_back().cloned().unwrap_or_default();
        h.members.remove(&last);
    }
    h.id = Uuid::from_u128(n).to_string();
    let (row, persons) = crate::projection::household_rows(&h, &format!("g{}", n % 2), 0);
    vec![
        TableRows {
            table: "households".into(),
            rows: vec![row.cells()],
        },
        TableRows {
            table: "persons".into(),
            rows: persons.iter().map(|p| p.cells()).collect(),
        },
    ]
}

fn response(pulled: Vec<PulledDoc>) -> SyncResponse {
    SyncResponse {
        protocol: PROTOCOL_VERSION,
        pushed: vec![],
        pulled,
        cursors: vec![GridCursor::fresh("g0")],
        more: true,
        full_pull_total: 9,
        digests: vec![],
        server_heads: vec![],
        scope_changed: None,
        handed_over: vec![],
        projection: "3".into(),
    }
}

fn page() -> SyncResponse {
    let mut pulled: Vec<PulledDoc> = (0..6)
        .map(|n| {
            let bytes = snapshot(&format!("户名{n}号楼"), n as usize);
            doc(n, DocData::Snapshot(ByteBuf::from(bytes)), Some(rows(n)))
        })
        .collect();
    pulled.push(doc(7, DocData::Snapshot(ByteBuf::from(vec![1, 2])), None));
    pulled.push(doc(
        8,
        DocData::Changes(vec![ByteBuf::from(vec![3]), ByteBuf::from(vec![])]),
        None,
    ));
    let ragged = TableRows {
        table: "persons".into(),
        rows: vec![
            vec![Cell::Null],
            vec![Cell::Int(1), Cell::Blob(ByteBuf::new())],
        ],
    };
    pulled.push(doc(9, DocData::Changes(vec![]), Some(vec![ragged])));
    // Households whose `search` and `tails` version 5 leaves out (one without members).
    for (n, members) in [(10, 3), (11, 0)] {
        let bytes = snapshot("户", 1);
        let data = DocData::Snapshot(ByteBuf::from(bytes));
        pulled.push(doc(n, data, Some(household_rows(n, members))));
    }
    // A household whose stored keys are not what its cells give: sent as they are.
    let mut odd = household_rows(12, 2);
    odd[0].rows[0][16] = Cell::Text("|stale|".into());
    pulled.push(doc(12, DocData::Changes(vec![]), Some(odd)));
    response(pulled)
}

#[test]
fn a_page_round_trips_whole() {
    let resp = page();
    let cols = to_columns(&resp.pulled, true);
    assert_eq!(cols.forms.iter().filter(|f| **f == Form::Split).count(), 8);
    assert!(cols.tables[0].columns[0]
        .iter()
        .all(|c| *c == WireCell::DocId));
    assert!(cols.tables[0].columns[1]
        .iter()
        .all(|c| *c == WireCell::Grid));
    // The name each snapshot holds travels as a reference into it.
    assert!(cols.tables[0].columns[5]
        .iter()
        .all(|c| matches!(c, WireCell::InDoc { len: 13, .. })));
    assert!(matches!(cols.doc_ids[0], DocIdForm::Raw(_)));
    let body = encode_response(&resp, PROTOCOL_VERSION);
    assert_eq!(decode_response(&body, 1 << 20), Ok(resp.clone()));
    // A version-3 device still gets version 3's shape, which reads the same.
    let old = encode_response(&resp, 3);
    assert_eq!(
        decode_response(&old, 1 << 20).map(|r| r.pulled),
        Ok(resp.pulled)
    );
}

/// The households table of a page's columns (25 cells wide).
fn households(cols: &mut PulledColumns) -> &mut TableColumns {
    let t = cols
        .tables
        .iter_mut()
        .find(|t| t.name == "households" && t.columns.len() == 25);
    t.expect("a households table")
}

#[test]
fn version_5_leaves_out_what_the_device_derives() {
    let resp = page();
    let mut cols = to_columns(&resp.pulled, true);
    let derived = |t: &TableColumns, c: usize| {
        t.columns[c]
            .iter()
            .map(|w| *w == WireCell::Derived)
            .collect::<Vec<_>>()
    };
    // Both households that derive their keys, not the one whose stored keys differ.
    let t = households(&mut cols);
    assert_eq!(derived(t, 16), [true, true, false]);
    assert_eq!(derived(t, 17), [true, true, false]);
    assert!(t
        .columns
        .iter()
        .enumerate()
        .all(|(c, col)| c == 16 || c == 17 || col.iter().all(|w| *w != WireCell::Derived)));
    // Version 4 sends them all.
    let mut v4 = to_columns(&resp.pulled, false);
    assert!(households(&mut v4)
        .columns
        .iter()
        .all(|col| col.iter().all(|w| *w != WireCell::Derived)));
    let body = encode_response(&resp, 5);
    assert_eq!(decode_response(&body, 1 << 20), Ok(resp.clone()));
    let body = encode_response(&resp, 4);
    assert_eq!(
        decode_response(&body, 1 << 20).map(|r| r.pulled),
        Ok(resp.pulled)
    );
}

#[test]
fn a_derived_cell_out_of_place_is_an_error() {
    let good = to_v4(&page(), PROTOCOL_VERSION);
    assert!(from_v4(good.clone()).is_ok());
    // In another column of a household, in another table, in a row without a household.
    let mut column = good.clone();
    households(&mut column.pulled).columns[8][0] = WireCell::Derived;
    assert!(from_v4(column).is_err());
    let mut other = good.clone();
    other.pulled.tables[0].columns[5][0] = WireCell::Derived;
    assert!(from_v4(other).is_err());
    let mut persons = good.clone();
    let wide = persons
        .pulled
        .tables
        .iter_mut()
        .find(|t| t.columns.len() == 14);
    wide.expect("persons").columns[2][0] = WireCell::Derived;
    assert!(from_v4(persons).is_err());
    // A household whose cells no longer give keys (a name that is not text).
    let mut names = good;
    let wide = names
        .pulled
        .tables
        .iter_mut()
        .find(|t| t.columns.len() == 14);
    wide.expect("persons").columns[2][0] = WireCell::Int(7);
    assert!(from_v4(names).is_err());
}

#[test]
fn an_empty_page_round_trips() {
    let resp = response(vec![]);
    let body = encode_response(&resp, PROTOCOL_VERSION);
    assert_eq!(decode_response(&body, 1 << 20), Ok(resp));
}

#[test]
fn broken_columns_are_errors_not_panics() {
    let resp = page();
    let good = to_v4(&resp, PROTOCOL_VERSION);
    let mut shorter = good.clone();
    shorter.pulled.kinds.pop();
    assert!(from_v4(shorter).is_err());
    let mut stream = good.clone();
    stream.pulled.split.columns[0].1.pop();
    assert!(from_v4(stream).is_err());
    let mut extra = good.clone();
    extra.pulled.split.heads.push(0);
    assert!(from_v4(extra).is_err());
    let mut grid = good.clone();
    grid.pulled.grid_of[0] = 99;
    assert!(from_v4(grid).is_err());
    let mut outside = good.clone();
    outside.pulled.tables[0].columns[5][0] = WireCell::InDoc {
        at: 1 << 30,
        len: 9,
    };
    assert!(from_v4(outside).is_err());
    let mut table = good;
    let persons = table
        .pulled
        .tables
        .iter_mut()
        .find(|t| t.columns.len() == 2);
    persons.expect("persons").columns[0].pop();
    assert!(from_v4(table).is_err());
    // Every cut of the raw message, decoded: an error or the page, never a panic.
    let raw = postcard::to_allocvec(&to_v4(&resp, PROTOCOL_VERSION)).expect("encodes");
    for cut in 0..raw.len() {
        let body = zstd::bulk::compress(&raw[..cut], 1).expect("compress");
        assert!(decode_response(&body, 1 << 20).is_err(), "cut at {cut}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn flipped_bytes_never_panic(at in 0usize..4096, bit in 0u8..8) {
        let raw = postcard::to_allocvec(&to_v4(&page(), PROTOCOL_VERSION)).expect("encodes");
        let mut raw = raw.clone();
        let at = at % raw.len();
        raw[at] ^= 1 << bit;
        let body = zstd::bulk::compress(&raw, 1).expect("compress");
        let _ = decode_response(&body, 1 << 20);
    }

    #[test]
    fn any_cells_round_trip(cells in proptest::collection::vec(
        prop_oneof![
            Just(Cell::Null),
            any::<i64>().prop_map(Cell::Int),
            any::<f64>().prop_map(Cell::Real),
            ".{0,8}".prop_map(Cell::Text),
            proptest::collection::vec(any::<u8>(), 0..4)
                .prop_map(|b| Cell::Blob(ByteBuf::from(b))),
        ],
        0..12,
    )) {
        let rows = vec![TableRows { table: "t".into(), rows: vec![cells.clone(), cells] }];
        let resp = response(vec![doc(1, DocData::Changes(vec![]), Some(rows))]);
        let body = encode_response(&resp, PROTOCOL_VERSION);
        prop_assert_eq!(decode_response(&body, 1 << 20), Ok(resp));
    }
}
