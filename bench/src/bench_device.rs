//! The benchmarks' device: an enrolled store (plaintext or, with `--encrypted`,
//! SQLCipher), a timed sync over HTTP, and a first download measured in a process of its
//! own (for its peak RSS).

use anyhow::{Context, Result};
use gridwalk_client::{enroll, HttpTransport};
use gridwalk_core::Author;
use gridwalk_store::client::SyncOptions;
use gridwalk_store::Store;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// `gridwalk-bench sync --encrypted`: devices keep their store encrypted (issue 14).
/// The environment variable that carries an encrypted device's key to its process.
const DEVICE_KEY_ENV: &str = "GRIDWALK_BENCH_DEVICE_KEY";

pub static ENCRYPTED_DEVICES: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

pub struct Device {
    pub store: Store,
    pub author: Author,
    pub _dir: tempfile::TempDir,
}

pub fn new_device(
    district: &dyn gridwalk_district_sqlite::AdminStore,
    base: &str,
    user_id: &str,
    name: &str,
) -> Result<Device> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("device.sqlite");
    let mut store = if encrypted_devices() {
        Store::open_encrypted(&path, &gridwalk_store::DeviceKey::generate()?)?
    } else {
        Store::open(&path)?
    };
    let code = district.create_enrollment(user_id, 3_600_000, gridwalk_server::now_ms())?;
    let e = enroll(&mut store, base, &code, name)?;
    let author = Author::new(e.user_id.parse()?, e.device_id.parse()?);
    Ok(Device {
        store,
        author,
        _dir: dir,
    })
}

/// Sync once; returns (seconds, requests, bytes up + down).
pub fn timed_sync(dev: &mut Device) -> Result<(f64, usize, usize)> {
    let mut t = HttpTransport::from_store(&dev.store)?;
    let start = Instant::now();
    dev.store.sync(
        &mut t,
        &SyncOptions::default(),
        gridwalk_server::now_ms(),
        &mut |_| {},
        &AtomicBool::new(false),
    )?;
    Ok((
        start.elapsed().as_secs_f64(),
        t.requests,
        t.bytes_up + t.bytes_down,
    ))
}

/// One fresh device's first download, measured in its own process (for its peak RSS).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FullPull {
    pub secs: f64,
    pub requests: usize,
    pub bytes: usize,
    pub docs: usize,
    /// Time spent outside the transport (building requests, applying pages).
    pub apply_secs: f64,
    pub peak_rss_kb: u64,
}

/// The hidden `sync-device-internal` command: enroll a fresh device in `dir`, download
/// everything once, print one JSON line ([`FullPull`]) with this process's peak RSS.
pub fn device_internal(base: String, code: String, dir: std::path::PathBuf) -> Result<()> {
    let path = dir.join("device.sqlite");
    // `--encrypted`: the parent passes the device key (hex) in the environment.
    let mut store = match std::env::var(DEVICE_KEY_ENV) {
        Ok(hex) => Store::open_encrypted(&path, &gridwalk_store::DeviceKey::from_hex(&hex)?)?,
        Err(_) => Store::open(&path)?,
    };
    enroll(&mut store, &base, &code, "bench-device")?;
    let mut t = TimedTransport {
        inner: HttpTransport::from_store(&store)?,
        spent: std::time::Duration::ZERO,
    };
    let start = Instant::now();
    store.sync(
        &mut t,
        &SyncOptions::default(),
        gridwalk_server::now_ms(),
        &mut |_| {},
        &AtomicBool::new(false),
    )?;
    let secs = start.elapsed().as_secs_f64();
    let out = FullPull {
        secs,
        requests: t.inner.requests,
        bytes: t.inner.bytes_up + t.inner.bytes_down,
        docs: store.doc_ids()?.len(),
        apply_secs: secs - t.spent.as_secs_f64(),
        peak_rss_kb: peak_rss_kb(),
    };
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

/// A transport that counts the time spent inside it (network, server, decoding).
struct TimedTransport {
    inner: HttpTransport,
    spent: std::time::Duration,
}

impl gridwalk_store::client::Transport for TimedTransport {
    fn exchange(
        &mut self,
        request: &gridwalk_core::sync::SyncRequest,
    ) -> gridwalk_store::Result<gridwalk_core::sync::SyncResponse> {
        let start = Instant::now();
        let out = self.inner.exchange(request);
        self.spent += start.elapsed();
        out
    }
}

/// This process's peak resident set (VmHWM), in KiB; 0 where /proc is not there.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

pub fn encrypted_devices() -> bool {
    ENCRYPTED_DEVICES.load(std::sync::atomic::Ordering::Relaxed)
}

/// A fresh device's first download in a child process, its store encrypted or not;
/// returns its figures and its store.
pub fn full_pull_in_child(
    district: &dyn gridwalk_district_sqlite::AdminStore,
    base: &str,
    user_id: &str,
    encrypted: bool,
) -> Result<(FullPull, Device)> {
    let dir = tempfile::tempdir()?;
    let code = district.create_enrollment(user_id, 3_600_000, gridwalk_server::now_ms())?;
    let key = encrypted
        .then(gridwalk_store::DeviceKey::generate)
        .transpose()?;
    let mut child = std::process::Command::new(std::env::current_exe()?);
    if let Some(key) = &key {
        child.env(DEVICE_KEY_ENV, key.to_hex().as_str());
    }
    let out = child
        .args([
            "sync-device-internal",
            "--base",
            base,
            "--code",
            &code,
            "--dir",
        ])
        .arg(dir.path())
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "device process failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .last()
        .context("device process printed nothing")?;
    let pull: FullPull = serde_json::from_str(line)?;
    let path = dir.path().join("device.sqlite");
    let store = match &key {
        Some(key) => Store::open_encrypted(&path, key)?,
        None => Store::open(&path)?,
    };
    let author = store.device_author()?.context("device not enrolled")?;
    Ok((
        pull,
        Device {
            store,
            author,
            _dir: dir,
        },
    ))
}
