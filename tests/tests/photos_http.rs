//! Photos end to end: real servers on 127.0.0.1:0, devices with their own stores, photo
//! references synced in documents first, bytes uploaded beside them ("Blobs, version 1")
//! through a proxy that cuts connections, duplicated requests, a server killed mid-upload.

use gridwalk_client::blobs::{BlobClient, Size};
use gridwalk_core::model::{
    EventKind, Issue, PhotoRef, Urgency, Visit, VisitMode, MAX_PHOTO_BYTES,
};
use gridwalk_core::upload::DEFAULT_CHUNK;
use gridwalk_core::workflow::new_event;
use gridwalk_photo::{prepare, Options, Prepared};
use gridwalk_store::{NewPhoto, Store};
use gridwalk_tests::{child_config, Device, TestDistrict, TestServer, NOW};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A prepared photo of `w`×`h` pixels: smooth (small) or noise (large, many chunks).
fn photo(seed: u32, w: u32, h: u32, noise: bool) -> Prepared {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    let img = image::RgbImage::from_fn(w, h, |px, py| {
        if noise {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let b = x.to_le_bytes();
            image::Rgb([b[0], b[1], b[2]])
        } else {
            image::Rgb([(px + seed) as u8, (py * 2) as u8, ((px + py) / 3) as u8])
        }
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 92)
        .encode_image(&img)
        .expect("encode");
    prepare(&jpeg, &Options::default()).expect("prepared")
}

fn reference(p: &Prepared) -> PhotoRef {
    PhotoRef {
        sha256: p.sha256.clone(),
        bytes: p.bytes.len() as i64,
        width: i64::from(p.width),
        height: i64::from(p.height),
        mime: p.mime.into(),
        taken_at: NOW,
        gps: None,
    }
}

/// Keeps the photo on the device (and queues it), as the app does when it is taken.
fn take(store: &mut Store, p: &Prepared) -> PhotoRef {
    let new = NewPhoto {
        sha256: &p.sha256,
        bytes: &p.bytes,
        thumb: &p.thumb,
        width: p.width,
        height: p.height,
        mime: p.mime,
    };
    store.put_photo(&new, NOW).expect("kept");
    reference(p)
}

fn photos(refs: &[PhotoRef]) -> BTreeMap<String, PhotoRef> {
    refs.iter()
        .enumerate()
        .map(|(i, r)| (format!("p{i}"), r.clone()))
        .collect()
}

fn record_visit(d: &mut Device, grid: &str, refs: &[PhotoRef]) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let v = Visit {
        id: id.clone(),
        household_id: uuid::Uuid::now_v7().to_string(),
        grid_id: grid.into(),
        worker_id: d.author.user.to_string(),
        device_id: d.author.device.to_string(),
        at: NOW,
        mode: VisitMode::InPerson,
        findings: "老人身体状况良好".into(),
        needs: String::new(),
        follow_up: None,
        linked_issues: BTreeMap::new(),
        photos: photos(refs),
        gps: None,
        review: None,
    };
    d.store.create_visit(&v, d.author, NOW).expect("visit");
    id
}

fn report_issue(d: &mut Device, grid: &str, refs: &[PhotoRef]) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let mut report = new_event(
        EventKind::Report,
        NOW,
        d.author.user.to_string(),
        d.author.device.to_string(),
        "楼道堆放杂物",
    );
    report.photos = photos(refs);
    let i = Issue {
        id: id.clone(),
        grid_id: grid.into(),
        category: "environment_sanitation".into(),
        title: "楼道堆放杂物".into(),
        description: String::new(),
        place: "3栋2单元".into(),
        household_id: None,
        reporter: None,
        urgency: Urgency::Normal,
        photos: BTreeMap::new(),
        gps: None,
        created_at: NOW,
        events: [(report.id.clone(), report)].into(),
    };
    d.store.create_issue(&i, d.author, NOW).expect("issue");
    id
}

/// Uploads until the queue is empty; the clock jumps past every backoff.
fn upload_all(d: &mut Device, client: &mut BlobClient, clock: &AtomicI64) -> usize {
    let mut failures = 0;
    for _ in 0..200 {
        let now = || clock.load(Ordering::SeqCst);
        let r = client
            .upload_pending(&mut d.store, &now, Duration::from_secs(30))
            .expect("upload run");
        failures += r.failures;
        if r.pending == 0 {
            return failures;
        }
        clock.fetch_add(15 * 60_000, Ordering::SeqCst);
    }
    panic!("uploads did not finish: {:?}", d.store.upload_queue());
}

/// Every blob the server stored, with its size.
fn stored(district: &TestDistrict) -> Vec<(String, u64)> {
    district.stored_blobs()
}

/// Forwards TCP to `upstream`. Connection n: n % 3 == 0 is cut after 20 KB of request
/// (the server sees half a chunk), n % 3 == 1 after 12 bytes of response (the server did
/// it, the device does not know), the others pass. Returns the address and the cut count.
fn faulty_proxy(upstream: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let cuts = Arc::new(AtomicUsize::new(0));
    let counted = cuts.clone();
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let Ok(client) = client else { break };
            let Ok(server) = TcpStream::connect(&upstream) else {
                break;
            };
            let (up_cut, down_cut): (Option<usize>, Option<usize>) = match n % 3 {
                0 => (Some(20_000), None),
                1 => (None, Some(12)),
                _ => (None, None),
            };
            for (mut from, mut to, cut) in [
                (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                    up_cut,
                ),
                (server, client, down_cut),
            ] {
                let cuts = counted.clone();
                std::thread::spawn(move || {
                    let mut sent = 0usize;
                    let mut buf = [0u8; 4096];
                    while let Ok(k) = from.read(&mut buf) {
                        if k == 0 {
                            break;
                        }
                        let take = cut.map_or(k, |c| k.min(c.saturating_sub(sent)));
                        if to.write_all(&buf[..take]).is_err() {
                            break;
                        }
                        sent += take;
                        if cut.is_some_and(|c| sent >= c) {
                            cuts.fetch_add(1, Ordering::SeqCst);
                            let _ = to.shutdown(std::net::Shutdown::Both);
                            let _ = from.shutdown(std::net::Shutdown::Both);
                            break;
                        }
                    }
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    (format!("http://{addr}"), cuts)
}

fn token(d: &Device) -> String {
    d.store
        .meta_get("device.token")
        .expect("meta")
        .expect("token")
}

#[test]
fn photos_of_two_devices_arrive_once_through_cuts_and_duplicates() {
    let server = TestServer::start();
    let mut a = server.device("a", &["g1"]);
    let mut b = server.device("b", &["g1"]);
    let mut c = server.device("c", &["g2"]);
    let shared = photo(1, 560, 420, true);
    let (pa, pb, pd) = (
        photo(2, 800, 600, false),
        photo(3, 640, 480, false),
        photo(4, 400, 300, true),
    );
    assert!(
        shared.bytes.len() > 100_000,
        "several chunks: {}",
        shared.bytes.len()
    );
    let refs_a = [take(&mut a.store, &shared), take(&mut a.store, &pa)];
    record_visit(&mut a, "g1", &refs_a);
    let refs_b = [take(&mut b.store, &shared), take(&mut b.store, &pb)];
    report_issue(&mut b, "g1", &refs_b);
    let clock = AtomicI64::new(NOW);

    // Bytes before their document: refused, kept, retried later.
    let mut direct = BlobClient::new(&server.url, &token(&a)).expect("client");
    let now = || clock.load(Ordering::SeqCst);
    let r = direct
        .upload_pending(&mut a.store, &now, Duration::from_secs(10))
        .expect("run");
    assert!(r.uploaded.is_empty() && r.pending == 2, "{r:?}");

    a.sync();
    b.sync();
    let (proxy, cuts) = faulty_proxy(server.url.trim_start_matches("http://").to_string());
    let mut client_a = BlobClient::new(&proxy, &token(&a)).expect("client");
    let mut client_b = BlobClient::new(&proxy, &token(&b)).expect("client");
    client_a.chunk = 16 * 1024;
    client_b.chunk = 16 * 1024;
    clock.fetch_add(15 * 60_000, Ordering::SeqCst);
    let failures =
        upload_all(&mut a, &mut client_a, &clock) + upload_all(&mut b, &mut client_b, &clock);
    assert!(
        cuts.load(Ordering::SeqCst) > 0 && failures > 0,
        "the proxy cut uploads"
    );
    assert!(a.store.upload_queue().expect("queue").is_empty());
    assert!(b.store.upload_queue().expect("queue").is_empty());

    // Duplicated requests: each chunk sent twice, the last one too.
    let refs_d = [take(&mut a.store, &pd)];
    record_visit(&mut a, "g1", &refs_d);
    a.sync();
    let http = reqwest::blocking::Client::new();
    let url = format!("{}/api/v1/blobs/{}", server.url, pd.sha256);
    let total = pd.bytes.len();
    let mut offset = 0;
    while offset < total {
        let end = (offset + 50_000).min(total);
        let mut statuses = Vec::new();
        for _ in 0..2 {
            let r = http
                .put(&url)
                .query(&[("offset", offset), ("total", total)])
                .bearer_auth(token(&a))
                .body(pd.bytes[offset..end].to_vec())
                .send()
                .expect("put");
            statuses.push(r.status().as_u16());
        }
        match end == total {
            true => assert_eq!(statuses, [201, 201], "the last chunk twice: stored once"),
            false => assert_eq!(statuses, [200, 409], "a chunk twice: taken once"),
        }
        offset = end;
    }
    // The device's queue learns it from the server.
    assert_eq!(upload_all(&mut a, &mut direct, &clock), 0);
    assert!(a.store.upload_queue().expect("queue").is_empty());

    // Everything once, with its bytes.
    let mut want: Vec<(String, u64)> = [&shared, &pa, &pb, &pd]
        .iter()
        .map(|p| (p.sha256.clone(), p.bytes.len() as u64))
        .collect();
    want.sort();
    assert_eq!(stored(&server.district), want);
    let st = a.store.photo_storage().expect("storage");
    assert_eq!((st.pending, st.uploaded), (0, 3));

    // Device b views a's visit photo: thumbnail first, then the full photo, hash checked.
    let mut view = BlobClient::new(&server.url, &token(&b)).expect("client");
    let thumb = view
        .download(&pa.sha256, Size::Thumb)
        .expect("thumb")
        .expect("stored");
    let t = image::load_from_memory(&thumb).expect("a JPEG");
    assert!(t.width().max(t.height()) <= 256);
    let full = view
        .download(&pa.sha256, Size::Full)
        .expect("full")
        .expect("stored");
    b.store
        .put_downloaded_photo(&pa.sha256, Some(&full), Some(&thumb), 10 << 20, NOW)
        .expect("hash checked");
    assert_eq!(full, pa.bytes);

    // Device c (grid g2) may not read grid g1's photos, nor upload a photo nothing in its
    // scope references.
    let mut other = BlobClient::new(&server.url, &token(&c)).expect("client");
    assert!(matches!(
        other.download(&pa.sha256, Size::Thumb),
        Err(gridwalk_store::StoreError::Forbidden { .. })
    ));
    let own = photo(9, 300, 200, false);
    take(&mut c.store, &own);
    let r = other
        .upload_pending(&mut c.store, &now, Duration::from_secs(10))
        .expect("run");
    assert_eq!((r.uploaded.len(), r.pending), (0, 1));
    assert!(
        c.store.photo_bytes(&own.sha256).expect("read").is_some(),
        "kept"
    );
}

#[test]
fn a_full_quota_is_refused_with_a_clear_message_and_the_photo_kept() {
    let server = TestServer::start_with(|state, district| {
        state.blobs = district.blobs(20_000);
    });
    let mut a = server.device("a", &["g1"]);
    let big = photo(5, 300, 200, true);
    assert!(big.bytes.len() > 20_000 && big.bytes.len() as i64 <= MAX_PHOTO_BYTES);
    let refs = [take(&mut a.store, &big)];
    record_visit(&mut a, "g1", &refs);
    a.sync();
    let mut client = BlobClient::new(&server.url, &token(&a)).expect("client");
    let r = client
        .upload_pending(&mut a.store, &|| NOW, Duration::from_secs(10))
        .expect("run");
    let msg = r.last_refusal.clone().unwrap_or_default();
    assert!(
        msg.contains("照片空间已满") && msg.contains("photo space is full"),
        "{msg}"
    );
    assert_eq!((r.uploaded.len(), r.pending), (0, 1));
    assert_eq!(
        a.store.photo_bytes(&big.sha256).expect("read").as_deref(),
        Some(&big.bytes[..])
    );
    assert!(stored(&server.district).is_empty());
}

/// Runs the server in a child process (this test binary) when GRIDWALK_PHOTO_SERVER is set.
#[test]
fn photo_server_child_process() {
    let Some(config) = child_config("GRIDWALK_PHOTO_SERVER") else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let server = gridwalk_server::spawn(config).await.expect("server");
        println!("listening {}", server.url());
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
}

fn start_child_server(district: &TestDistrict) -> (std::process::Child, String) {
    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "photo_server_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(district.child_env("GRIDWALK_PHOTO_SERVER"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("server printed its address")
            .expect("line");
        if let Some((_, url)) = line.split_once("listening ") {
            break url.trim().to_string();
        }
    };
    (child, url)
}

#[test]
fn server_killed_mid_upload_resumes_where_it_was() {
    let district = TestDistrict::open();
    let user = district.worker("a", &["g1"]);
    let (mut child, url) = start_child_server(&district);
    let mut a = Device::enroll(&district, &url, &user, "a");
    let big = photo(6, 900, 700, true);
    let total = big.bytes.len();
    let refs = [take(&mut a.store, &big)];
    record_visit(&mut a, "g1", &refs);
    a.sync();
    let blobs = district.blobs(0);
    let mut client = BlobClient::new(&url, &token(&a)).expect("client");
    client.chunk = 4 * 1024;
    let (report, held_at_kill) = std::thread::scope(|s| {
        let store = &mut a.store;
        let up = s.spawn(move || {
            client
                .upload_pending(store, &|| NOW, Duration::from_secs(60))
                .expect("run")
        });
        let mut held = 0;
        for _ in 0..3000 {
            if let Ok(gridwalk_district_sqlite::blobs::BlobStatus::Partial { offset }) =
                blobs.status(&big.sha256)
            {
                if offset > 20_000 {
                    held = offset;
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        (up.join().expect("join"), held)
    });
    assert!(
        held_at_kill > 0 && (held_at_kill as usize) < total,
        "killed mid-upload at {held_at_kill} of {total}: {report:?} {:?}",
        blobs.status(&big.sha256)
    );
    assert_eq!(report.pending, 1, "still queued: {report:?}");
    assert!(report.failures > 0);

    let (mut child, url) = start_child_server(&district);
    a.store.meta_set("server.url", &url).expect("url");
    let mut client = BlobClient::from_store(&a.store).expect("client");
    client.chunk = DEFAULT_CHUNK;
    let clock = AtomicI64::new(NOW + 3_600_000);
    upload_all(&mut a, &mut client, &clock);
    assert!(
        client.bytes_up <= total - held_at_kill as usize,
        "resumed: sent {} of {total} after the restart (the server held {held_at_kill})",
        client.bytes_up
    );
    assert_eq!(stored(&district), [(big.sha256.clone(), total as u64)]);
    assert!(a.store.upload_queue().expect("queue").is_empty());
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_server_collects_old_unreferenced_blobs_when_it_starts() {
    let old = b"a photo whose record never arrived".to_vec();
    let young = b"a photo whose record is still on its way".to_vec();
    let (old_sha, young_sha) = (
        gridwalk_photo::sha256_hex(&old),
        gridwalk_photo::sha256_hex(&young),
    );
    let server = TestServer::start_with(|state, _| {
        let n = |b: &[u8]| b.len() as u64;
        state
            .blobs
            .append("d", &old_sha, 0, n(&old), &old, 0)
            .expect("old");
        let now = gridwalk_server::now_ms();
        state
            .blobs
            .append("d", &young_sha, 0, n(&young), &young, now)
            .expect("young");
    });
    let mut left = stored(&server.district);
    for _ in 0..100 {
        if left.len() == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        left = stored(&server.district);
    }
    assert_eq!(left, [(young_sha, young.len() as u64)]);
}

#[test]
fn bytes_that_do_not_match_their_hash_are_refused_over_http_and_nothing_is_stored() {
    let server = TestServer::start();
    let mut a = server.device("a", &["g1"]);
    let p = photo(6, 400, 300, false);
    let refs = [take(&mut a.store, &p)];
    record_visit(&mut a, "g1", &refs);
    a.sync();
    let http = reqwest::blocking::Client::new();
    let url = format!("{}/api/v1/blobs/{}", server.url, p.sha256);
    let put = |body: Vec<u8>| {
        http.put(format!("{url}?offset=0&total={}", body.len()))
            .bearer_auth(token(&a))
            .body(body)
            .send()
            .expect("put")
    };
    // One byte changed: the whole hashes to another name.
    let mut wrong = p.bytes.clone();
    wrong[p.bytes.len() / 2] ^= 0x55;
    let r = put(wrong);
    assert_eq!(r.status().as_u16(), 422);
    let body: serde_json::Value = r.json().expect("json");
    assert_eq!(body["error"], "mismatch");
    let msg = body["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("哈希不符") && msg.contains("do not match"),
        "{msg}"
    );
    assert!(stored(&server.district).is_empty(), "nothing kept of it");
    let head = http.head(&url).bearer_auth(token(&a)).send().expect("head");
    assert_eq!(
        head.headers()["upload-offset"],
        "0",
        "the upload starts again"
    );
    // The device's own upload then stores the right bytes.
    let mut client = BlobClient::new(&server.url, &token(&a)).expect("client");
    let r = client
        .upload_pending(&mut a.store, &|| NOW, Duration::from_secs(10))
        .expect("run");
    assert_eq!(r.uploaded, std::slice::from_ref(&p.sha256));
    assert_eq!(
        stored(&server.district),
        [(p.sha256.clone(), p.bytes.len() as u64)]
    );
}
