//! The app's state: one store connection for the UI's commands (one writer, behind a
//! mutex), the data directory, and the handle of the background sync worker.

use crate::error::{AppError, AppResult};
use crate::sync_worker::SyncHandle;
use gridwalk_core::Author;
use gridwalk_store::Store;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

pub const STORE_FILE: &str = "device.sqlite";

pub struct AppState {
    store: Mutex<Store>,
    pub data_dir: PathBuf,
    pub sync: SyncHandle,
    /// When the process started, for the benchmark's marks.
    pub started: std::time::Instant,
    /// `--start-route /households`: the screen to open first (the benchmark uses it).
    pub start_route: Option<String>,
}

impl AppState {
    pub fn new(store: Store, data_dir: PathBuf, sync: SyncHandle) -> AppState {
        AppState {
            store: Mutex::new(store),
            data_dir,
            sync,
            started: crate::process_start(),
            start_route: arg_value(&std::env::args().collect::<Vec<_>>(), "--start-route"),
        }
    }

    pub fn store(&self) -> AppResult<MutexGuard<'_, Store>> {
        // A panic while holding the lock leaves the store usable: every write is one
        // transaction, so nothing half-written stays behind.
        Ok(self.store.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The device's author, or the error that says the device must be enrolled first.
pub fn author(store: &Store) -> AppResult<Author> {
    store.device_author()?.ok_or_else(AppError::not_enrolled)
}

/// The device's user for the permission rule (`gridwalk_core::authorize`).
pub fn actor(store: &Store) -> AppResult<gridwalk_core::authorize::Actor> {
    store.device_actor()?.ok_or_else(AppError::not_enrolled)
}

/// The data directory: `--data-dir DIR` on the command line, else `GRIDWALK_DATA_DIR`,
/// else the platform's app data directory (given by the caller).
pub fn resolve_data_dir(
    args: &[String],
    env: Option<String>,
    platform: Option<PathBuf>,
) -> Option<PathBuf> {
    arg_value(args, "--data-dir")
        .map(PathBuf::from)
        .or_else(|| env.filter(|s| !s.is_empty()).map(PathBuf::from))
        .or(platform)
}

/// The value of `--name VALUE` or `--name=VALUE` on the command line.
pub fn arg_value(args: &[String], name: &str) -> Option<String> {
    let mut it = args.iter();
    let prefix = format!("{name}=");
    while let Some(a) = it.next() {
        if let Some(v) = a.strip_prefix(&prefix) {
            return Some(v.to_string());
        }
        if a == name {
            return it.next().cloned();
        }
    }
    None
}

pub fn open_store(dir: &Path) -> AppResult<Store> {
    std::fs::create_dir_all(dir).map_err(|e| AppError::Storage {
        message: format!("cannot create {}: {e}", dir.display()),
    })?;
    let store = Store::open(dir.join(STORE_FILE))?;
    crate::local::init(&store)?;
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_precedence() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let p = Some(PathBuf::from("/platform"));
        assert_eq!(
            resolve_data_dir(
                &args(&["app", "--data-dir", "/a"]),
                Some("/env".into()),
                p.clone()
            ),
            Some(PathBuf::from("/a"))
        );
        assert_eq!(
            resolve_data_dir(&args(&["app", "--data-dir=/b"]), None, p.clone()),
            Some(PathBuf::from("/b"))
        );
        assert_eq!(
            resolve_data_dir(&args(&["app"]), Some("/env".into()), p.clone()),
            Some(PathBuf::from("/env"))
        );
        assert_eq!(
            resolve_data_dir(&args(&["app"]), Some(String::new()), p.clone()),
            p
        );
    }
}
