//! The app's state: the device store (one connection for the UI's commands, one writer
//! behind a mutex; its key), the data directory, and the handle of the background sync
//! worker.

use crate::error::{AppError, AppResult};
use crate::keystore::{KeyHome, SecretStore};
use crate::pin::Lock;
use crate::sync_worker::SyncHandle;
use gridwalk_core::Author;
use gridwalk_store::{DeviceKey, Store};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub const STORE_FILE: &str = "device.sqlite";

/// The encrypted device store of a data directory: the UI's connection, and the key
/// every other connection (the sync thread's, enrollment's) opens it with.
pub struct DeviceStore {
    pub data_dir: PathBuf,
    store: Mutex<Store>,
    key: Mutex<(DeviceKey, KeyHome)>,
    secrets: Box<dyn SecretStore + Send + Sync>,
    /// The app PIN's lock (`crate::pin`); locked at start when a PIN is set.
    lock: Mutex<Lock>,
}

impl DeviceStore {
    /// Open the store of `dir` with its key (found or made: [`crate::keystore::obtain`]).
    /// A plaintext store of an older version is encrypted in place on the way.
    pub fn open(
        dir: &Path,
        secrets: Box<dyn SecretStore + Send + Sync>,
    ) -> AppResult<Arc<DeviceStore>> {
        std::fs::create_dir_all(dir).map_err(|e| AppError::Storage {
            message: format!("cannot create {}: {e}", dir.display()),
        })?;
        let db = dir.join(STORE_FILE);
        let (key, mut home) = crate::keystore::obtain(dir, &db, secrets.as_ref())?;
        let store = open_with(&db, &key)?;
        if matches!(home, KeyHome::KeyFile { .. }) {
            if let Some(moved) = crate::keystore::promote(dir, &key, secrets.as_ref())? {
                home = moved;
            }
        }
        let lock = Lock {
            locked: crate::pin::is_set(&store)?,
            hidden_since_ms: None,
        };
        Ok(Arc::new(DeviceStore {
            data_dir: dir.to_path_buf(),
            store: Mutex::new(store),
            key: Mutex::new((key, home)),
            secrets,
            lock: Mutex::new(lock),
        }))
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join(STORE_FILE)
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves the store usable: every write is one
        // transaction, so nothing half-written stays behind.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The PIN lock. Taken after the store's mutex where both are held.
    pub fn lock(&self) -> MutexGuard<'_, Lock> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_locked(&self) -> bool {
        self.lock().locked
    }

    fn key_state(&self) -> MutexGuard<'_, (DeviceKey, KeyHome)> {
        self.key.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn key_home(&self) -> KeyHome {
        self.key_state().1.clone()
    }

    /// Another connection to the store (the sync thread's, enrollment's).
    pub fn connect(&self) -> AppResult<Store> {
        let key = self.key_state().0.clone();
        open_with(&self.db_path(), &key)
    }

    /// Crypto-erase (a revoked device): destroy the key first, so that the files, and any
    /// copy of them, are unreadable; then close the connections and remove the files; then
    /// a new key and an empty store for the next enrollment. `other` is the caller's own
    /// connection, closed after the key is gone and before the files are.
    pub fn erase(&self, other: Option<Store>) -> AppResult<()> {
        let mut key = self.key_state();
        crate::keystore::destroy(&self.data_dir, &key.1, self.secrets.as_ref())?;
        key.0 = DeviceKey::generate()?; // the old key's bytes are zeroed as it drops
        drop(other);
        let mut store = self.store();
        *store = Store::open_in_memory()?;
        let db = self.db_path();
        gridwalk_store::encrypt::remove_store_files(&db)?;
        let (new_key, home) = crate::keystore::obtain(&self.data_dir, &db, self.secrets.as_ref())?;
        *store = open_with(&db, &new_key)?;
        *key = (new_key, home);
        // The PIN went with the store.
        *self.lock() = Lock::default();
        Ok(())
    }
}

fn open_with(db: &Path, key: &DeviceKey) -> AppResult<Store> {
    let store = Store::open_encrypted(db, key)?;
    crate::local::init(&store)?;
    Ok(store)
}

pub struct AppState {
    pub device: Arc<DeviceStore>,
    pub data_dir: PathBuf,
    pub sync: SyncHandle,
    /// When the process started, for the benchmark's marks.
    pub started: std::time::Instant,
    /// `--start-route /households`: the screen to open first (the benchmark uses it).
    pub start_route: Option<String>,
}

impl AppState {
    pub fn new(device: Arc<DeviceStore>, sync: SyncHandle) -> AppState {
        AppState {
            data_dir: device.data_dir.clone(),
            device,
            sync,
            started: crate::process_start(),
            start_route: arg_value(&std::env::args().collect::<Vec<_>>(), "--start-route"),
        }
    }

    /// The store for a command that reads or writes data: refused while the app is
    /// locked by its PIN (the lock screen's commands use `device.store()` directly).
    pub fn store(&self) -> AppResult<MutexGuard<'_, Store>> {
        self.unlocked_device()?;
        Ok(self.device.store())
    }

    /// The device's handle for work off the async thread (photos), refused while locked
    /// like [`AppState::store`]: a locked app shows no photo either.
    pub fn unlocked_device(&self) -> AppResult<Arc<DeviceStore>> {
        if self.device.is_locked() {
            return Err(AppError::Locked {
                message: "the app is locked: enter the PIN".into(),
            });
        }
        Ok(self.device.clone())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystore::tests::FakeSecrets;
    use gridwalk_core::demo::{generate, DemoParams, DEFAULT_NOW_MS};

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    /// Every needle found in any file of `dir`, with the file's name.
    fn found_in(dir: &Path, needles: &[String]) -> Vec<String> {
        let mut hits = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            for n in needles {
                if contains(&bytes, n.as_bytes()) {
                    hits.push(format!("{}: {n}", path.display()));
                }
            }
        }
        hits
    }

    /// The app's wipe of a revoked device (issue 14): the key is destroyed, the files
    /// removed, nothing of the grid is left in the data directory, a copy taken before
    /// stays unreadable, and the PIN and its lock went with the store.
    #[test]
    fn the_apps_wipe_leaves_nothing_readable_and_no_pin() {
        let demo = generate(&DemoParams::single_grid(12, 3, DEFAULT_NOW_MS));
        let mut needles: Vec<String> = demo
            .households
            .iter()
            .flat_map(|h| h.members.values())
            .flat_map(|p| [Some(p.name.clone()), p.id_number.clone(), p.phone.clone()])
            .flatten()
            .filter(|v| v.len() >= 6)
            .collect();
        needles.sort();
        needles.dedup();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let device = DeviceStore::open(&data, Box::new(FakeSecrets::unreachable())).unwrap();
        let author = Author::new(uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
        {
            let mut store = device.store();
            for h in &demo.households {
                store.create_household(h, author, DEFAULT_NOW_MS).unwrap();
            }
            crate::pin::set_pin(&mut store, None, "2468", 0).unwrap();
            crate::pin::lock_now(&store, &mut device.lock()).unwrap();
        }
        assert!(device.is_locked());
        // Written and encrypted: no personal value in any file, before the wipe either.
        assert!(found_in(&data, &needles).is_empty());
        let copy = dir.path().join("copy");
        std::fs::create_dir(&copy).unwrap();
        // A copy of the store's files (the key is in the OS secret store, or in a key
        // file that the copier would need the OS account for).
        for entry in std::fs::read_dir(&data).unwrap() {
            let p = entry.unwrap().path();
            if p.file_name() != Some(std::ffi::OsStr::new("device.key")) {
                std::fs::copy(&p, copy.join(p.file_name().unwrap())).unwrap();
            }
        }

        device.erase(None).unwrap();

        assert!(found_in(&data, &needles).is_empty());
        assert!(!device.is_locked(), "the lock went with the store");
        let store = device.store();
        assert!(!crate::pin::is_set(&store).unwrap());
        let households: i64 = store
            .connection()
            .query_row("SELECT count(*) FROM households", [], |r| r.get(0))
            .unwrap();
        assert_eq!(households, 0);
        drop(store);
        // The old key is gone; the new one does not open the copy.
        let new_key = device.key_state().0.clone();
        assert!(matches!(
            Store::open_encrypted(copy.join(STORE_FILE), &new_key),
            Err(gridwalk_store::StoreError::WrongKey)
        ));
    }

    /// A device whose first start found no secret store (a key file) moves its key into
    /// the secret store at the first start that finds one, and its data stays readable.
    #[test]
    fn a_key_file_moves_into_the_secret_store_once_one_works() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let demo = generate(&DemoParams::single_grid(3, 1, DEFAULT_NOW_MS));
        let author = Author::new(uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
        let households = |device: &DeviceStore| -> i64 {
            device
                .store()
                .connection()
                .query_row("SELECT count(*) FROM households", [], |r| r.get(0))
                .unwrap()
        };

        let device = DeviceStore::open(&data, Box::new(FakeSecrets::unreachable())).unwrap();
        assert!(matches!(device.key_home(), KeyHome::KeyFile { .. }));
        for h in &demo.households {
            device
                .store()
                .create_household(h, author, DEFAULT_NOW_MS)
                .unwrap();
        }
        let key_file = gridwalk_store::device_key::key_file_path(&data);
        assert!(key_file.exists());
        drop(device);

        let secrets = std::sync::Arc::new(FakeSecrets::working());
        let device = DeviceStore::open(&data, Box::new(secrets.clone())).unwrap();
        assert_eq!(device.key_home(), KeyHome::SecretStore);
        assert!(!key_file.exists(), "the key file is destroyed once moved");
        assert_eq!(secrets.entries(), 1);
        assert_eq!(households(&device), demo.households.len() as i64);
        drop(device);

        let device = DeviceStore::open(&data, Box::new(secrets.clone())).unwrap();
        assert_eq!(device.key_home(), KeyHome::SecretStore);
        assert_eq!(households(&device), demo.households.len() as i64);
        // Revoked: the entry goes, and with it the only copy of the key.
        let old_key = device.key_state().0.to_hex().to_string();
        device.erase(None).unwrap();
        assert!(!key_file.exists());
        let kept = secrets.0.as_ref().unwrap().lock().unwrap();
        assert_eq!(kept.len(), 1, "only the new key's entry");
        assert!(kept.values().all(|v| *v != old_key), "the old key is gone");
    }

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
