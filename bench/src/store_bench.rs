//! The device's local store with a grid of N households (plus their visits and issues).

use crate::stats::{median, ms, quantile, row};
use anyhow::Result;
use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::model::Household;
use gridwalk_core::{Author, DocId, DocKind};
use gridwalk_store::{HouseholdQuery, Store};
use rand::{Rng, SeedableRng};
use std::time::Instant;
use uuid::Uuid;

const NOW: i64 = 1_795_000_000_000;

pub fn run(households: usize, seed: u64) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("device.sqlite");
    let district = generate(&DemoParams::single_grid(households, seed, NOW));
    let author = Author::new(Uuid::from_u128(1), Uuid::from_u128(2));
    let t = Instant::now();
    let docs = crate::stats::demo_documents(&district, author, NOW)?;
    {
        let mut store = Store::open(&path)?;
        store.import_documents(&docs, NOW, false)?;
    }
    let setup = t.elapsed();
    println!(
        "store benchmark: {} households, {} visits, {} issues (setup {:.1} s)",
        district.households.len(),
        district.visits.len(),
        district.issues.len(),
        setup.as_secs_f64()
    );

    // Open cold (a new connection: migrations check, first page).
    let mut open_samples = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let store = Store::open(&path)?;
        let page = store.search_households(&HouseholdQuery {
            limit: 50,
            ..Default::default()
        })?;
        assert_eq!(page.items.len(), 50.min(households));
        open_samples.push(ms(t.elapsed()));
    }
    let mut store = Store::open(&path)?;

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
    let mut search_samples = Vec::new();
    let mut hits = 0;
    for (q, _) in &queries {
        let t = Instant::now();
        let page = store.search_households(&HouseholdQuery {
            text: Some(q.clone()),
            limit: 50,
            ..Default::default()
        })?;
        search_samples.push(ms(t.elapsed()));
        hits += usize::from(page.total > 0);
    }

    // One-field edits, each committed durably (WAL, synchronous=FULL).
    let mut edit_samples = Vec::new();
    for n in 0..200 {
        let h = &district.households[rng.random_range(0..district.households.len())];
        let id = DocId(h.id.parse()?);
        let t = Instant::now();
        store.edit::<Household, _>(DocKind::Household, id, author, NOW + n, "bench", |h| {
            h.notes = format!("bench edit {n}");
            Ok(())
        })?;
        edit_samples.push(ms(t.elapsed()));
    }

    let open = median(&open_samples);
    let p95 = quantile(&search_samples, 0.95);
    let edit = median(&edit_samples);
    println!("{:<40} {:>12} {:<6} target", "measure", "value", "unit");
    row(
        "open cold + first page (median of 5)",
        open,
        "ms",
        Some((300.0, true)),
    );
    row("search p50", median(&search_samples), "ms", None);
    row(
        "search p95 (name/pinyin/address/phone)",
        p95,
        "ms",
        Some((10.0, true)),
    );
    row("queries with results", hits as f64, "of", None);
    row("  (of queries)", queries.len() as f64, "", None);
    row(
        "edit, durable (median of 200)",
        edit,
        "ms",
        Some((5.0, true)),
    );
    row("edit p95", quantile(&edit_samples, 0.95), "ms", None);
    println!(
        "{}",
        serde_json::json!({
            "bench": "store",
            "households": district.households.len(),
            "visits": district.visits.len(),
            "issues": district.issues.len(),
            "open_first_page_ms": open,
            "search_p50_ms": median(&search_samples),
            "search_p95_ms": p95,
            "edit_durable_median_ms": edit,
            "edit_durable_p95_ms": quantile(&edit_samples, 0.95),
        })
    );
    Ok(())
}
