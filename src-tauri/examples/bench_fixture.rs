//! Make a device data directory holding one worker's grid of N demo households (with their
//! visits and issues), enrolled to a server address that does not answer: the app opens
//! it as an enrolled device that is offline. Used by the app benchmark.
//!
//!     cargo run -p gridwalk-app --example bench_fixture -- DIR [HOUSEHOLDS]

use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::{Author, DocId, DocKind, Document};
use gridwalk_store::Store;
use std::time::Instant;
use uuid::Uuid;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: bench_fixture DIR [HOUSEHOLDS]")?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5000);
    let started = Instant::now();
    let now = chrono::Utc::now().timestamp_millis();
    let d = generate(&DemoParams::single_grid(n, 42, now));
    let grid = d.area.grids[0].id.clone();
    let worker = d.worker_of_grid(&grid).ok_or("demo has no worker")?;
    let server = Author::new(Uuid::from_u128(0), Uuid::from_u128(1));
    let mut docs: Vec<(Document, String)> = Vec::new();
    for h in &d.households {
        let id = DocId::parse(&h.id).ok_or("bad id")?;
        docs.push((
            Document::create(DocKind::Household, id, h, server, h.created_at)?,
            h.grid_id.clone(),
        ));
    }
    for v in &d.visits {
        let id = DocId::parse(&v.id).ok_or("bad id")?;
        docs.push((
            Document::create(DocKind::Visit, id, v, server, v.at)?,
            v.grid_id.clone(),
        ));
    }
    for i in &d.issues {
        let id = DocId::parse(&i.id).ok_or("bad id")?;
        docs.push((
            Document::create(DocKind::Issue, id, i, server, i.created_at)?,
            i.grid_id.clone(),
        ));
    }
    std::fs::create_dir_all(&dir)?;
    // Encrypted, with its key in a key file beside it (the app's fallback, which it finds
    // first): the benchmark measures the app on the encrypted store it really uses.
    let dir_path = std::path::Path::new(&dir);
    let (key, _) = gridwalk_store::device_key::load_or_create_key_file(
        &gridwalk_store::device_key::key_file_path(dir_path),
    )?;
    let mut store = Store::open_encrypted(dir_path.join("device.sqlite"), &key)?;
    for chunk in docs.chunks(2000) {
        store.import_documents(chunk, now, false)?;
    }
    store.set_device_identity(
        &worker.id,
        &Uuid::now_v7().to_string(),
        std::slice::from_ref(&grid),
    )?;
    // Port 9 (discard) on loopback: nothing answers, so the device is simply offline.
    store.meta_set("server.url", "http://127.0.0.1:9")?;
    store.meta_set("device.token", "bench")?;
    store.meta_set("device.display_name", &worker.display_name)?;
    println!(
        "{{\"dir\":{:?},\"households\":{},\"visits\":{},\"issues\":{},\"seconds\":{:.1}}}",
        dir,
        d.households.len(),
        d.visits.len(),
        d.issues.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
