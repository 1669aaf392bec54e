//! Sync end to end: a real server on 127.0.0.1:0, devices with their own stores over HTTP.

use gridwalk_client::HttpTransport;
use gridwalk_core::model::Household;
use gridwalk_core::sync::{SyncRequest, SyncResponse};
use gridwalk_store::client::{SyncOptions, Transport};
use gridwalk_store::Store;
use gridwalk_tests::{
    child_config, hid, household, sorted_heads, Device, TestDistrict, TestServer, NOW,
};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn three_devices_edit_offline_and_converge_in_random_orders() {
    for seed in [1u64, 2, 3] {
        let server = TestServer::start();
        let mut devs = vec![
            server.device("a", &["g1"]),
            server.device("b", &["g1"]),
            server.device("c", &["g1"]),
        ];
        for i in 0..8 {
            let author = devs[0].author;
            devs[0]
                .store
                .create_household(&household(i, "g1"), author, NOW)
                .expect("create");
        }
        for d in devs.iter_mut() {
            d.sync();
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        // Different fields on A and B; the same field (notes of 0..3) on A and C.
        for i in 0..6 {
            devs[0].edit(i, |h| h.notes = format!("A{i}"));
            devs[1].edit(i, |h| h.address.room = format!("B{i}"));
        }
        for i in 0..3 {
            devs[2].edit(i, |h| h.notes = format!("C{i}"));
        }
        let mut order: Vec<usize> = (0..3).chain(0..3).collect();
        order.shuffle(&mut rng);
        for k in order {
            devs[k].sync();
        }
        for d in devs.iter_mut() {
            d.sync();
        }
        for i in 0..8 {
            let server_doc = server
                .district
                .console
                .load_document(hid(i))
                .expect("server doc");
            for d in &devs {
                assert_eq!(
                    d.heads(i),
                    sorted_heads(&server_doc),
                    "seed {seed} household {i}"
                );
            }
            let h: Household = server_doc.read().expect("read");
            if i < 6 {
                assert_eq!(h.address.room, format!("B{i}"), "B's edit kept");
            }
            let conflicts = server_doc.conflicts();
            if i < 3 {
                assert_eq!(
                    conflicts.len(),
                    1,
                    "seed {seed}: same-field edits kept as a conflict"
                );
                let mut values: Vec<String> = conflicts[0]
                    .values
                    .iter()
                    .map(|v| v.value.as_str().unwrap_or_default().to_string())
                    .collect();
                values.sort();
                assert_eq!(values, vec![format!("A{i}"), format!("C{i}")]);
            } else {
                assert!(conflicts.is_empty());
                if i < 6 {
                    assert_eq!(h.notes, format!("A{i}"));
                }
            }
        }
        // The sync log recorded every session with who and what.
        let logs = server
            .district
            .console
            .sync_logs(&Default::default())
            .expect("logs");
        assert!(logs.len() >= 9, "{} sessions logged", logs.len());
        assert!(
            logs.iter().any(|l| l.conflicts > 0),
            "conflicts counted in the log"
        );
    }
}

/// Runs the server in a child process (this test binary) when GRIDWALK_TEST_SERVER is set
/// (on the parent's PostgreSQL database when it runs on one).
#[test]
fn server_child_process() {
    let Some(config) = child_config("GRIDWALK_TEST_SERVER") else {
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

struct ChildServer {
    child: std::process::Child,
    url: String,
}

fn start_child_server(district: &TestDistrict) -> ChildServer {
    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "server_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(district.child_env("GRIDWALK_TEST_SERVER"))
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
        // libtest may have printed "test name ... " on the same line first.
        if let Some((_, url)) = line.split_once("listening ") {
            break url.trim().to_string();
        }
    };
    ChildServer { child, url }
}

#[test]
fn server_killed_mid_push_loses_nothing() {
    let district = TestDistrict::open();
    let (ua, ub) = (district.worker("a", &["g1"]), district.worker("b", &["g1"]));
    let mut server = start_child_server(&district);
    let mut a = Device::enroll(&district, &server.url, &ua, "a");
    let mut b = Device::enroll(&district, &server.url, &ub, "b");
    // 1,500 households made offline: several push requests of about 256 KiB.
    let docs: Vec<(gridwalk_core::Document, String)> = (0..1500)
        .map(|i| {
            let h = household(i, "g1");
            (
                gridwalk_core::Document::create(
                    gridwalk_core::DocKind::Household,
                    hid(i),
                    &h,
                    a.author,
                    NOW,
                )
                .expect("doc"),
                "g1".to_string(),
            )
        })
        .collect();
    a.store.import_documents(&docs, NOW, true).expect("import");
    let options = SyncOptions {
        max_push_bytes: 256 * 1024,
        ..SyncOptions::default()
    };
    let killed = std::thread::scope(|s| {
        let pusher = s.spawn(|| a.sync_with(&options));
        // Kill once the server has stored some, but not all, of the pushes.
        let stored = |d: &TestDistrict| d.count("SELECT count(*) FROM docs");
        let mut waited = 0;
        while stored(&district) == 0 && waited < 600 {
            std::thread::sleep(Duration::from_millis(10));
            waited += 1;
        }
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("reaped");
        (pusher.join().expect("join"), stored(&district))
    });
    let (result, stored_at_kill) = killed;
    assert!(result.is_err(), "the sync saw the server die");
    assert!(
        stored_at_kill > 0 && stored_at_kill < 1500,
        "killed mid-push: {stored_at_kill} stored"
    );
    let left = a.store.outbox_len().expect("outbox");
    assert!(left > 0, "unacknowledged changes stay queued");

    let server = start_child_server(&district);
    a.store.meta_set("server.url", &server.url).expect("url");
    b.store.meta_set("server.url", &server.url).expect("url");
    a.sync();
    assert_eq!(a.store.outbox_len().expect("outbox"), 0);
    b.sync();
    for i in (0..1500).step_by(37) {
        let server_doc = district
            .console
            .load_document(hid(i))
            .expect("on the server");
        assert_eq!(a.heads(i), sorted_heads(&server_doc));
        assert_eq!(b.heads(i), sorted_heads(&server_doc));
    }
    assert_eq!(b.store.doc_ids().expect("ids").len(), 1500);
    let mut server = server;
    let _ = server.child.kill();
    let _ = server.child.wait();
}

/// Forwards TCP to the server; the first `cut_connections` connections are cut after
/// `cut_after` bytes of response.
fn cutting_proxy(
    upstream: String,
    cut_after: usize,
    cut_connections: usize,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let cuts = Arc::new(AtomicUsize::new(0));
    let cuts2 = cuts.clone();
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let Ok(mut client) = client else { break };
            let Ok(mut server) = TcpStream::connect(&upstream) else {
                break;
            };
            let mut client_r = client.try_clone().expect("clone");
            let mut server_w = server.try_clone().expect("clone");
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut client_r, &mut server_w);
            });
            let cut = n < cut_connections;
            let cuts = cuts2.clone();
            std::thread::spawn(move || {
                let mut sent = 0;
                let mut buf = [0u8; 4096];
                while let Ok(k) = server.read(&mut buf) {
                    if k == 0 {
                        break;
                    }
                    let take = if cut {
                        k.min(cut_after.saturating_sub(sent))
                    } else {
                        k
                    };
                    if client.write_all(&buf[..take]).is_err() {
                        break;
                    }
                    sent += take;
                    if cut && sent >= cut_after {
                        cuts.fetch_add(1, Ordering::SeqCst);
                        let _ = client.shutdown(std::net::Shutdown::Both);
                        break;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), cuts)
}

#[test]
fn a_page_cut_off_mid_transfer_is_not_half_applied_and_resumes() {
    let server = TestServer::start();
    let mut a = server.device("a", &["g1"]);
    for i in 0..400 {
        let author = a.author;
        a.store
            .create_household(&household(i, "g1"), author, NOW)
            .expect("create");
    }
    a.sync();
    let mut b = server.device("b", &["g1"]);
    let upstream = server.url.trim_start_matches("http://").to_string();
    let (proxy, cuts) = cutting_proxy(upstream, 20_000, 1);
    let mut t = HttpTransport::new(
        &proxy,
        &b.store
            .meta_get("device.token")
            .expect("meta")
            .expect("token"),
    )
    .expect("transport");
    t.attempts = 1;
    let small = SyncOptions {
        max_pull_bytes: 64 * 1024,
        ..SyncOptions::default()
    };
    let first = b
        .store
        .sync(&mut t, &small, NOW, &mut |_| {}, &AtomicBool::new(false));
    assert!(
        first.is_err(),
        "the cut response is an error, not a partial success"
    );
    assert_eq!(cuts.load(Ordering::SeqCst), 1);
    // Whole pages only: the documents stored are exactly the grid's documents up to the
    // cursor's `full_after`, and nothing after it.
    let cursor = b.store.sync_cursors().expect("cursors").remove(0);
    let mut have: Vec<String> = b
        .store
        .doc_ids()
        .expect("ids")
        .iter()
        .map(|(id, _, _)| id.to_string())
        .collect();
    have.sort();
    let mut expected: Vec<String> = (0..400).map(|i| hid(i).to_string()).collect();
    expected.sort();
    match cursor.full_after {
        Some(last) => expected.retain(|id| *id <= last.to_string()),
        None => expected.clear(),
    }
    assert!(have.len() < 400, "the cut came before the end");
    assert_eq!(have, expected, "no part of the cut page was applied");
    // Through the same proxy, now passing everything: it resumes and completes.
    let mut t = HttpTransport::new(
        &proxy,
        &b.store
            .meta_get("device.token")
            .expect("meta")
            .expect("token"),
    )
    .expect("transport");
    b.store
        .sync(&mut t, &small, NOW, &mut |_| {}, &AtomicBool::new(false))
        .expect("resume");
    for i in (0..400).step_by(13) {
        assert_eq!(b.heads(i), a.heads(i));
    }
    assert_eq!(b.store.doc_ids().expect("ids").len(), 400);
}

/// Sends every request twice (a network that duplicates), answers with the second reply.
struct Duplicating(HttpTransport);

impl Transport for Duplicating {
    fn exchange(&mut self, request: &SyncRequest) -> gridwalk_store::Result<SyncResponse> {
        let _first = self.0.exchange(request)?;
        self.0.exchange(request)
    }
}

#[test]
fn duplicated_requests_store_everything_once() {
    let server = TestServer::start();
    let mut a = server.device("a", &["g1"]);
    let mut b = server.device("b", &["g1"]);
    for i in 0..30 {
        let author = a.author;
        a.store
            .create_household(&household(i, "g1"), author, NOW)
            .expect("create");
    }
    for i in 0..10 {
        a.edit(i, |h| h.notes = "twice?".into());
    }
    let mut t = Duplicating(HttpTransport::from_store(&a.store).expect("transport"));
    a.store
        .sync(
            &mut t,
            &SyncOptions::default(),
            NOW,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect("sync");
    assert_eq!(a.store.outbox_len().expect("outbox"), 0);
    let changes = server.district.count("SELECT count(*) FROM changes");
    assert_eq!(changes, 40, "30 creations and 10 edits, each stored once");
    b.sync();
    let h: Household = b.store.read(hid(3)).expect("read");
    assert_eq!(h.notes, "twice?");
    let _ = Store::open_in_memory();
}
