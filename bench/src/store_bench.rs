//! The device's local store with a grid of N households (plus their visits and issues),
//! encrypted (SQLCipher) and plaintext side by side.

use crate::stats::{median, ms, quantile, row};
use anyhow::Result;
use gridwalk_core::demo::{generate, DemoDistrict, DemoParams};
use gridwalk_core::model::Household;
use gridwalk_core::{Author, DocId, DocKind};
use gridwalk_store::{DeviceKey, HouseholdQuery, Store};
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::Instant;
use uuid::Uuid;

const NOW: i64 = 1_795_000_000_000;

/// What one store (plaintext or encrypted) measured.
struct Figures {
    open: f64,
    search_p50: f64,
    search_p95: f64,
    hits: usize,
    queries: usize,
    edit: f64,
    edit_p95: f64,
    /// The same edit of a household just opened (its pages in the cache), as on the
    /// household screen: what is left is the write's own cost.
    edit_viewed: f64,
}

fn open(path: &Path, key: Option<&DeviceKey>) -> Result<Store> {
    Ok(match key {
        Some(key) => Store::open_encrypted(path, key)?,
        None => Store::open(path)?,
    })
}

/// The device store: SQLCipher-encrypted as the app and CLI keep it (issue 14), and
/// plaintext beside it, the same grid and the same queries and edits.
pub fn run(households: usize, seed: u64) -> Result<()> {
    let district = generate(&DemoParams::single_grid(households, seed, NOW));
    let author = Author::new(Uuid::from_u128(1), Uuid::from_u128(2));
    let t = Instant::now();
    let docs = crate::stats::demo_documents(&district, author, NOW)?;
    let setup = t.elapsed();
    println!(
        "store benchmark: {} households, {} visits, {} issues (documents made in {:.1} s)",
        district.households.len(),
        district.visits.len(),
        district.issues.len(),
        setup.as_secs_f64()
    );
    let key = DeviceKey::generate()?;
    let (plain, enc) = measure(&district, &docs, &key, seed)?;

    println!(
        "{:<40} {:>10} {:>10} {:>7} {:<6} target (encrypted)",
        "measure", "plaintext", "encrypted", "enc/pl", "unit"
    );
    let line = |what: &str, p: f64, e: f64, unit: &str, target: Option<f64>| {
        let target_text = target
            .map(|t| format!("≤ {t} {unit}  {}", if e <= t { "met" } else { "NOT met" }))
            .unwrap_or_default();
        println!(
            "{what:<40} {p:>10.2} {e:>10.2} {:>7.2} {unit:<6} {target_text}",
            e / p
        );
    };
    line(
        "open cold + first page (median of 5)",
        plain.open,
        enc.open,
        "ms",
        Some(300.0),
    );
    line("search p50", plain.search_p50, enc.search_p50, "ms", None);
    line(
        "search p95 (name/pinyin/address/phone)",
        plain.search_p95,
        enc.search_p95,
        "ms",
        Some(10.0),
    );
    line(
        "edit, durable (median of 200)",
        plain.edit,
        enc.edit,
        "ms",
        Some(5.0),
    );
    line("edit p95", plain.edit_p95, enc.edit_p95, "ms", None);
    line(
        "edit, durable, household just opened",
        plain.edit_viewed,
        enc.edit_viewed,
        "ms",
        None,
    );
    row("queries with results", enc.hits as f64, "of", None);
    row("  (of queries)", enc.queries as f64, "", None);
    for (what, p, e) in [
        ("search p95", plain.search_p95, enc.search_p95),
        ("durable edit", plain.edit, enc.edit),
        (
            "durable edit, household just opened",
            plain.edit_viewed,
            enc.edit_viewed,
        ),
    ] {
        println!(
            "encrypted {what}: {:+.0}% of plaintext (target: within 15%)",
            (e / p - 1.0) * 100.0
        );
    }
    println!(
        "{}",
        serde_json::json!({
            "bench": "store",
            "households": district.households.len(),
            "visits": district.visits.len(),
            "issues": district.issues.len(),
            "encrypted": true,
            "open_first_page_ms": enc.open,
            "search_p50_ms": enc.search_p50,
            "search_p95_ms": enc.search_p95,
            "edit_durable_median_ms": enc.edit,
            "edit_durable_p95_ms": enc.edit_p95,
            "edit_durable_viewed_median_ms": enc.edit_viewed,
            "plaintext": {
                "open_first_page_ms": plain.open,
                "search_p50_ms": plain.search_p50,
                "search_p95_ms": plain.search_p95,
                "edit_durable_median_ms": plain.edit,
                "edit_durable_p95_ms": plain.edit_p95,
                "edit_durable_viewed_median_ms": plain.edit_viewed,
            },
        })
    );
    Ok(())
}

/// One store of the comparison: its directory, its open connection, its samples.
struct Side {
    _dir: tempfile::TempDir,
    store: Store,
    open: Vec<f64>,
    search: Vec<f64>,
    hits: usize,
    edit: Vec<f64>,
    edit_viewed: Vec<f64>,
}

/// The grid written into a new store (plaintext, or encrypted with `key`), then opened
/// cold five times (a new connection: key, migrations check, first page).
fn prepare(
    docs: &[(gridwalk_core::Document, String)],
    households: usize,
    key: Option<&DeviceKey>,
) -> Result<Side> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("device.sqlite");
    open(&path, key)?.import_documents(docs, NOW, false)?;
    let mut open_samples = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let store = open(&path, key)?;
        let page = store.search_households(&HouseholdQuery {
            limit: 50,
            ..Default::default()
        })?;
        assert_eq!(page.items.len(), 50.min(households));
        open_samples.push(ms(t.elapsed()));
    }
    Ok(Side {
        store: open(&path, key)?,
        _dir: dir,
        open: open_samples,
        search: vec![],
        hits: 0,
        edit: vec![],
        edit_viewed: vec![],
    })
}

/// Plaintext and encrypted measured turn about, query by query and edit by edit, so that
/// both see the same load on a shared machine (one after the other, a burst of another
/// process's I/O would land on one side only).
fn measure(
    district: &DemoDistrict,
    docs: &[(gridwalk_core::Document, String)],
    key: &DeviceKey,
    seed: u64,
) -> Result<(Figures, Figures)> {
    let households = district.households.len();
    let author = Author::new(Uuid::from_u128(1), Uuid::from_u128(2));
    let mut sides = [
        prepare(docs, households, None)?,
        prepare(docs, households, Some(key))?,
    ];

    // A mix of queries a worker types: name fragments, pinyin initials, address
    // fragments, phone tails.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut queries: Vec<(String, &str)> = Vec::new();
    for _ in 0..100 {
        let h = &district.households[rng.random_range(0..district.households.len())];
        let p = h.members.values().next().expect("member");
        let name: Vec<char> = p.name.chars().collect();
        queries.push((name[1..].iter().collect(), "name"));
        queries.push((
            gridwalk_core::search_keys::pinyin_initials(&p.name),
            "pinyin",
        ));
        queries.push((
            format!("{}{}单元", h.address.building_name, h.address.unit),
            "address",
        ));
        if let Some(phone) = &p.phone {
            queries.push((phone[phone.len() - 4..].to_string(), "phone tail"));
        }
    }
    for (n, (q, _)) in queries.iter().enumerate() {
        for i in [n % 2, 1 - n % 2] {
            let side = &mut sides[i];
            let t = Instant::now();
            let page = side.store.search_households(&HouseholdQuery {
                text: Some(q.clone()),
                limit: 50,
                ..Default::default()
            })?;
            side.search.push(ms(t.elapsed()));
            side.hits += usize::from(page.total > 0);
        }
    }

    // One-field edits, each committed durably (WAL, synchronous=FULL).
    for n in 0..200 {
        let h = &district.households[rng.random_range(0..district.households.len())];
        let id = DocId(h.id.parse()?);
        for i in [n % 2, 1 - n % 2] {
            let side = &mut sides[i];
            let t = Instant::now();
            side.store.edit::<Household, _>(
                DocKind::Household,
                id,
                author,
                NOW + n as i64,
                "bench",
                |h| {
                    h.notes = format!("bench edit {n}");
                    Ok(())
                },
            )?;
            side.edit.push(ms(t.elapsed()));
        }
    }
    // The same, of a household the worker has just opened (read untimed first), as the
    // app's household screen does before a save.
    for n in 0..200 {
        let h = &district.households[rng.random_range(0..district.households.len())];
        let id = DocId(h.id.parse()?);
        for i in [n % 2, 1 - n % 2] {
            let side = &mut sides[i];
            side.store.read::<Household>(id)?;
            let t = Instant::now();
            side.store.edit::<Household, _>(
                DocKind::Household,
                id,
                author,
                NOW + 1_000 + n as i64,
                "bench",
                |h| {
                    h.notes = format!("bench edit after viewing {n}");
                    Ok(())
                },
            )?;
            side.edit_viewed.push(ms(t.elapsed()));
        }
    }
    let figures = |s: &Side| Figures {
        open: median(&s.open),
        search_p50: median(&s.search),
        search_p95: quantile(&s.search, 0.95),
        hits: s.hits,
        queries: queries.len(),
        edit: median(&s.edit),
        edit_p95: quantile(&s.edit, 0.95),
        edit_viewed: median(&s.edit_viewed),
    };
    Ok((figures(&sides[0]), figures(&sides[1])))
}
