//! A weak signal and a crashing server: the sync log never misses a stored push (kill -9
//! right after the push committed), a lost or cut-off enrollment answer does not burn the
//! code, a cut-off sync answer says what happened, and a half-open connection gives up in
//! seconds, not minutes.

use gridwalk_client::HttpTransport;
use gridwalk_district_postgres::PgDistrict;
use gridwalk_district_sqlite::{SqliteDistrict, SyncLogQuery};
use gridwalk_store::client::SyncOptions;
use gridwalk_store::{Store, StoreError};
use gridwalk_tests::{child_config, household, Device, TestDistrict, TestServer, NOW};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs the server in a child process (this test binary) when GRIDWALK_ABORT_SERVER is
/// set; it aborts (like kill -9: no unwinding, no destructors) right after the first
/// logged push has committed, before answering it.
#[test]
fn server_aborting_after_push_child() {
    let Some(config) = child_config("GRIDWALK_ABORT_SERVER") else {
        return;
    };
    let state = match config.database_url.clone() {
        Some(url) => {
            let district = PgDistrict::open(&url, 4).expect("district");
            district.set_after_push_hook(Box::new(|| std::process::abort()));
            gridwalk_server::AppState::postgres(Arc::new(district), config)
        }
        None => {
            let district = SqliteDistrict::open(&config.data_dir).expect("district");
            district.set_after_push_hook(Box::new(|| std::process::abort()));
            gridwalk_server::AppState::new(Arc::new(district), config)
        }
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let server = gridwalk_server::spawn_with_state(state)
            .await
            .expect("server");
        println!("listening {}", server.url());
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
}

fn worker(district: &TestDistrict, name: &str) -> String {
    district.worker(name, &["g1"])
}

#[test]
fn a_server_killed_right_after_a_push_committed_has_its_log_row() {
    let district = TestDistrict::open();
    let user = worker(&district, "a");
    // Enrolled through an in-process server on the same store (enrollment is no push).
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let state = district.state(district.config());
    let running = rt
        .block_on(gridwalk_server::spawn_with_state(state))
        .expect("server");
    let mut a = Device::enroll(&district, &running.url(), &user, "a");
    running.abort();
    for i in 0..3 {
        let author = a.author;
        a.store
            .create_household(&household(i, "g1"), author, NOW)
            .expect("create");
    }

    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "server_aborting_after_push_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(district.child_env("GRIDWALK_ABORT_SERVER"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = loop {
        let line = lines.next().expect("address line").expect("line");
        if let Some((_, url)) = line.split_once("listening ") {
            break url.trim().to_string();
        }
    };
    a.store.meta_set("server.url", &url).expect("url");
    let mut t = HttpTransport::from_store(&a.store).expect("transport");
    t.attempts = 1;
    let result = a.store.sync(
        &mut t,
        &SyncOptions::default(),
        NOW,
        &mut |_| {},
        &AtomicBool::new(false),
    );
    let status = child.wait().expect("reaped");
    assert!(!status.success(), "the server died mid-sync: {status:?}");
    assert!(result.is_err(), "no answer came: {result:?}");
    assert_eq!(
        a.store.outbox_len().expect("outbox"),
        3,
        "nothing acknowledged"
    );

    let stored = district.count("SELECT count(*) FROM changes WHERE pushed_by IS NOT NULL");
    assert_eq!(stored, 3, "the push was stored before the kill");
    let logs = district
        .console
        .sync_logs(&SyncLogQuery {
            limit: 10,
            ..SyncLogQuery::default()
        })
        .expect("logs");
    assert_eq!(logs.len(), 1, "the stored push has its log row: {logs:?}");
    assert_eq!((logs[0].docs_in, logs[0].changes_in), (3, 3));
    assert_eq!(logs[0].device_id, a.author.device.to_string());
}

/// Forwards TCP to `upstream`; the first `cut_connections` connections get only
/// `cut_after` bytes of the answer, then are closed.
fn cutting_proxy(upstream: String, cut_after: usize, cut_connections: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { break };
            let Ok(mut server) = TcpStream::connect(&upstream) else {
                break;
            };
            let cut = seen.fetch_add(1, Ordering::SeqCst) < cut_connections;
            let mut client_r = client.try_clone().expect("clone");
            let mut server_w = server.try_clone().expect("clone");
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut client_r, &mut server_w);
            });
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
                        let _ = client.shutdown(std::net::Shutdown::Both);
                        break;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_lost_enrollment_answer_is_retried_with_the_same_code_and_gets_the_same_device() {
    let server = TestServer::start();
    let user = worker(&server.district, "w");
    let code = server.district.enrollment_code(&user);
    // The first answer is cut after its status line: the server enrolled the device, the
    // device never heard. gridwalk_client::enroll retries with the same code and key.
    let proxy = cutting_proxy(server.url.trim_start_matches("http://").into(), 40, 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(dir.path().join("device.sqlite")).expect("store");
    let enrolled =
        gridwalk_client::enroll(&mut store, &proxy, &code, "phone").expect("enrolled on retry");
    let devices = server.district.console.devices().expect("devices");
    assert_eq!(devices.len(), 1, "one device, no orphan: {devices:?}");
    assert_eq!(devices[0].device_id, enrolled.device_id);
    // The token it got works.
    store.meta_set("server.url", &server.url).expect("url");
    let mut t = HttpTransport::from_store(&store).expect("transport");
    t.attempts = 1;
    store
        .sync(
            &mut t,
            &SyncOptions::default(),
            NOW,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect("the retried enrollment's token syncs");

    // Another device (another key) with the same code: refused, as before.
    let other_dir = tempfile::tempdir().expect("tempdir");
    let mut other = Store::open(other_dir.path().join("device.sqlite")).expect("store");
    let refused = gridwalk_client::enroll(&mut other, &server.url, &code, "thief");
    assert!(
        matches!(refused, Err(StoreError::Unauthorized(_))),
        "{refused:?}"
    );
    // The same device again after it synced: the code is spent.
    let again = gridwalk_client::enroll(&mut store, &server.url, &code, "phone");
    assert!(
        matches!(again, Err(StoreError::Unauthorized(_))),
        "{again:?}"
    );
}

#[test]
fn a_cut_off_sync_answer_says_the_changes_may_be_stored() {
    let server = TestServer::start();
    let mut a = server.device("a", &["g1"]);
    let author = a.author;
    a.store
        .create_household(&household(1, "g1"), author, NOW)
        .expect("create");
    // Every answer cut after 60 bytes: the push is stored, the answer never whole.
    let proxy = cutting_proxy(server.url.trim_start_matches("http://").into(), 60, 100);
    let token = a
        .store
        .meta_get("device.token")
        .expect("meta")
        .expect("token");
    let mut t = HttpTransport::new(&proxy, &token).expect("transport");
    t.attempts = 2;
    t.backoff = Duration::from_millis(20);
    let err = a
        .store
        .sync(
            &mut t,
            &SyncOptions::default(),
            NOW,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect_err("no whole answer");
    assert!(matches!(err, StoreError::ReplyCutOff { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("the reply was cut off")
            && text.contains("may already be on the server")
            && !text.contains("could not reach"),
        "{text}"
    );
    assert_eq!(
        a.store.outbox_len().expect("outbox"),
        1,
        "still unacknowledged"
    );
    assert_eq!(t.requests, 2, "retried once (the push is idempotent)");
    // Confirmed on the next sync.
    a.sync();
    assert_eq!(a.store.outbox_len().expect("outbox"), 0);
}

#[test]
fn a_half_open_connection_gives_up_within_the_read_idle_timeout() {
    // A "server" that accepts and then never answers: a phone whose signal dropped.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let held = Arc::new(std::sync::Mutex::new(Vec::new()));
    let held2 = held.clone();
    std::thread::spawn(move || {
        for c in listener.incoming().flatten() {
            held2.lock().expect("lock").push(c);
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(dir.path().join("device.sqlite")).expect("store");
    let idle = Duration::from_secs(2);
    let mut t = HttpTransport::new(&format!("http://{addr}"), "token")
        .and_then(|t| t.with_read_idle(idle))
        .expect("transport");
    t.attempts = 1;
    let started = Instant::now();
    let err = store
        .sync(
            &mut t,
            &SyncOptions::default(),
            NOW,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect_err("no answer");
    let waited = started.elapsed();
    assert!(matches!(err, StoreError::Transport { .. }), "{err:?}");
    assert!(
        waited >= idle && waited < idle + Duration::from_secs(5),
        "gave up after {waited:?}, not after the 2 s read-idle timeout"
    );
    assert!(gridwalk_client::READ_IDLE_TIMEOUT <= Duration::from_secs(30));
}
