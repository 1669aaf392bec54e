//! Where the device store's key lives (issue 14). In the operating system's secret store
//! (Secret Service on Linux, Keychain on macOS and iOS, Credential Manager on Windows,
//! through the `keyring` crate), one entry per data directory. Where there is none (a
//! headless Linux box, CI, the e2e test under Xvfb; Android until its Keystore is wired),
//! a 0600 key file beside the data, and the app says so ([`KeyHome::KeyFile`] reaches
//! the Sync screen as a notice). Never plaintext.

use crate::error::{AppError, AppResult};
use gridwalk_store::device_key::{
    destroy_key_file, key_file_path, load_or_create_key_file, read_key_file,
};
use gridwalk_store::DeviceKey;
use std::path::Path;

/// The service name of the key's entry in the OS secret store.
pub const SERVICE: &str = "gridwalk-device-store";

/// Where this device's key is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyHome {
    SecretStore,
    /// No OS secret store could be used: a key file (mode 0600) in the data directory.
    KeyFile {
        reason: String,
    },
}

/// Why the OS secret store could not be used (it cannot be reached, is locked, or
/// forgot the key). Shown in the key-file notice, so it says what happened.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("{reason}")]
pub struct SecretStoreError {
    pub reason: String,
}

impl SecretStoreError {
    pub fn new(reason: impl Into<String>) -> SecretStoreError {
        SecretStoreError {
            reason: reason.into(),
        }
    }
}

#[cfg(not(target_os = "android"))]
impl From<keyring::Error> for SecretStoreError {
    fn from(e: keyring::Error) -> SecretStoreError {
        SecretStoreError::new(e.to_string())
    }
}

/// The OS secret store, or a fake in tests.
pub trait SecretStore {
    /// The secret of `account`; `Ok(None)` when there is no entry; `Err` when the store
    /// cannot be reached (with why).
    fn get(&self, account: &str) -> Result<Option<String>, SecretStoreError>;
    fn set(&self, account: &str, secret: &str) -> Result<(), SecretStoreError>;
    /// Delete the entry; no entry is no error.
    fn delete(&self, account: &str) -> Result<(), SecretStoreError>;
}

/// The platform's secret store through `keyring`.
pub struct OsSecretStore;

#[cfg(not(target_os = "android"))]
impl SecretStore for OsSecretStore {
    fn get(&self, account: &str) -> Result<Option<String>, SecretStoreError> {
        let entry = keyring::Entry::new(SERVICE, account).map_err(SecretStoreError::from)?;
        match entry.get_password() {
            Ok(s) => Ok(Some(s)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
    fn set(&self, account: &str, secret: &str) -> Result<(), SecretStoreError> {
        let entry = keyring::Entry::new(SERVICE, account).map_err(SecretStoreError::from)?;
        entry.set_password(secret).map_err(SecretStoreError::from)
    }
    fn delete(&self, account: &str) -> Result<(), SecretStoreError> {
        let entry = keyring::Entry::new(SERVICE, account).map_err(SecretStoreError::from)?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Android: the Keystore is not wired yet (README, "Android and iOS builds"): the key
/// file in the app's private storage, and the notice.
#[cfg(target_os = "android")]
impl SecretStore for OsSecretStore {
    fn get(&self, _: &str) -> Result<Option<String>, SecretStoreError> {
        Err(SecretStoreError::new(
            "the Android Keystore is not used by this build",
        ))
    }
    fn set(&self, _: &str, _: &str) -> Result<(), SecretStoreError> {
        Err(SecretStoreError::new(
            "the Android Keystore is not used by this build",
        ))
    }
    fn delete(&self, _: &str) -> Result<(), SecretStoreError> {
        Ok(())
    }
}

/// The account of a data directory's key: its absolute path, so that two app instances
/// with two data directories (two devices side by side) have two keys.
fn account(data_dir: &Path) -> String {
    std::path::absolute(data_dir)
        .unwrap_or_else(|_| data_dir.to_path_buf())
        .display()
        .to_string()
}

/// Whether `db` holds an encrypted store (it exists, is not empty and not plaintext).
fn encrypted_store_exists(db: &Path) -> AppResult<bool> {
    let non_empty = std::fs::metadata(db).is_ok_and(|m| m.len() > 0);
    Ok(non_empty && !gridwalk_store::encrypt::is_plaintext(db)?)
}

fn key_lost(why: &str) -> AppError {
    AppError::Storage {
        message: format!(
            "本机数据已加密，但找不到其密钥（{why}）/ the device's data is encrypted and its key cannot be found ({why})"
        ),
    }
}

/// The key of the store in `data_dir` (`db` its store file): the key file when there is
/// one (the fallback was taken before), else the secret store's entry, else a new key,
/// kept in the secret store or, when that fails, in a new key file.
pub fn obtain(
    data_dir: &Path,
    db: &Path,
    secrets: &dyn SecretStore,
) -> AppResult<(DeviceKey, KeyHome)> {
    let key_path = key_file_path(data_dir);
    if let Some(key) = read_key_file(&key_path)? {
        let reason = match secrets.get(&account(data_dir)) {
            Err(e) => e.to_string(),
            Ok(_) => "the key was created when no secret store could be used".into(),
        };
        return Ok((key, KeyHome::KeyFile { reason }));
    }
    let account = account(data_dir);
    let reason = match secrets.get(&account) {
        Ok(Some(hex)) => return Ok((DeviceKey::from_hex(&hex)?, KeyHome::SecretStore)),
        Ok(None) => {
            if encrypted_store_exists(db)? {
                return Err(key_lost("no entry in the OS secret store"));
            }
            let key = DeviceKey::generate()?;
            // Kept only if it reads back: a store that forgets (a mock, a locked
            // keyring) must not hold the only copy.
            match secrets.set(&account, key.to_hex().as_str()).and_then(|_| {
                match secrets.get(&account)? {
                    Some(back) if back == *key.to_hex() => Ok(()),
                    _ => Err(SecretStoreError::new(
                        "the secret store did not keep the key",
                    )),
                }
            }) {
                Ok(()) => return Ok((key, KeyHome::SecretStore)),
                Err(e) => {
                    let _ = secrets.delete(&account);
                    e.to_string()
                }
            }
        }
        Err(e) => {
            if encrypted_store_exists(db)? {
                return Err(key_lost(&format!("OS secret store: {e}")));
            }
            e.to_string()
        }
    };
    eprintln!(
        "gridwalk: no OS secret store ({reason}): the device key is kept in {}",
        key_path.display()
    );
    let (key, _) = load_or_create_key_file(&key_path)?;
    Ok((key, KeyHome::KeyFile { reason }))
}

/// A key kept in a key file because no secret store could be used when it was made,
/// moved into the secret store once one works (a desktop whose keyring came up after the
/// first start): stored, read back, and only then the key file destroyed. Interrupted
/// anywhere, the key file is still there and the next start moves it again. Called once
/// the key has opened the store, so only a key known to be right is moved. `None`: the
/// key stays in its file (the secret store still cannot be used or did not keep it).
pub fn promote(
    data_dir: &Path,
    key: &DeviceKey,
    secrets: &dyn SecretStore,
) -> AppResult<Option<KeyHome>> {
    let account = account(data_dir);
    let hex = key.to_hex();
    let kept = secrets
        .set(&account, hex.as_str())
        .and_then(|_| secrets.get(&account));
    match kept {
        Ok(Some(back)) if back == *hex => {
            destroy_key_file(&key_file_path(data_dir))?;
            Ok(Some(KeyHome::SecretStore))
        }
        Ok(_) => {
            // It said it kept the key and did not: no entry that could be mistaken for
            // this store's key is left behind.
            let _ = secrets.delete(&account);
            Ok(None)
        }
        Err(_) => Ok(None),
    }
}

/// Destroy the key of `data_dir` wherever it may be: the key file, and the secret store's
/// entry (which must go when the key lives there; otherwise it is tried and let be).
pub fn destroy(data_dir: &Path, home: &KeyHome, secrets: &dyn SecretStore) -> AppResult<()> {
    destroy_key_file(&key_file_path(data_dir))?;
    match (secrets.delete(&account(data_dir)), home) {
        (Err(e), KeyHome::SecretStore) => Err(AppError::Storage {
            message: format!("cannot delete the device key from the OS secret store: {e}"),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// An in-memory secret store; `None` plays one that cannot be reached, `forgets` one
    /// that accepts a secret and does not keep it.
    #[derive(Default)]
    pub struct FakeSecrets(pub Option<Mutex<HashMap<String, String>>>, pub bool);

    impl FakeSecrets {
        pub fn working() -> FakeSecrets {
            FakeSecrets(Some(Mutex::new(HashMap::new())), false)
        }
        pub fn unreachable() -> FakeSecrets {
            FakeSecrets(None, false)
        }
        pub fn forgetful() -> FakeSecrets {
            FakeSecrets(Some(Mutex::new(HashMap::new())), true)
        }
        pub fn entries(&self) -> usize {
            self.0.as_ref().map_or(0, |m| m.lock().unwrap().len())
        }
    }

    /// One fake shared by several opens of a data directory.
    impl SecretStore for std::sync::Arc<FakeSecrets> {
        fn get(&self, account: &str) -> Result<Option<String>, SecretStoreError> {
            self.as_ref().get(account)
        }
        fn set(&self, account: &str, secret: &str) -> Result<(), SecretStoreError> {
            self.as_ref().set(account, secret)
        }
        fn delete(&self, account: &str) -> Result<(), SecretStoreError> {
            self.as_ref().delete(account)
        }
    }

    impl SecretStore for FakeSecrets {
        fn get(&self, account: &str) -> Result<Option<String>, SecretStoreError> {
            let m = self
                .0
                .as_ref()
                .ok_or(SecretStoreError::new("no secret service"))?;
            Ok(m.lock().unwrap().get(account).cloned())
        }
        fn set(&self, account: &str, secret: &str) -> Result<(), SecretStoreError> {
            let m = self
                .0
                .as_ref()
                .ok_or(SecretStoreError::new("no secret service"))?;
            if !self.1 {
                m.lock().unwrap().insert(account.into(), secret.into());
            }
            Ok(())
        }
        fn delete(&self, account: &str) -> Result<(), SecretStoreError> {
            if let Some(m) = &self.0 {
                m.lock().unwrap().remove(account);
            }
            Ok(())
        }
    }

    #[test]
    fn the_secret_store_keeps_the_key_when_it_works() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("device.sqlite");
        let secrets = FakeSecrets::working();
        let (a, home) = obtain(dir.path(), &db, &secrets).unwrap();
        assert_eq!(home, KeyHome::SecretStore);
        assert!(!key_file_path(dir.path()).exists(), "no key file");
        let (b, _) = obtain(dir.path(), &db, &secrets).unwrap();
        assert_eq!(a.to_hex(), b.to_hex());
        destroy(dir.path(), &KeyHome::SecretStore, &secrets).unwrap();
        assert_eq!(secrets.entries(), 0);
    }

    #[test]
    fn without_a_secret_store_a_key_file_and_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("device.sqlite");
        let secrets = FakeSecrets::unreachable();
        let (a, home) = obtain(dir.path(), &db, &secrets).unwrap();
        assert!(
            matches!(&home, KeyHome::KeyFile { reason } if reason.contains("no secret service"))
        );
        assert!(key_file_path(dir.path()).exists());
        let (b, home) = obtain(dir.path(), &db, &secrets).unwrap();
        assert!(matches!(home, KeyHome::KeyFile { .. }));
        assert_eq!(a.to_hex(), b.to_hex());
        // A key file made earlier is what `obtain` gives even once a secret store works
        // (`promote` moves it, after the key has opened the store).
        let (c, home) = obtain(dir.path(), &db, &FakeSecrets::working()).unwrap();
        assert!(matches!(home, KeyHome::KeyFile { .. }));
        assert_eq!(a.to_hex(), c.to_hex());
        destroy(dir.path(), &home, &secrets).unwrap();
        assert!(!key_file_path(dir.path()).exists());
    }

    #[test]
    fn a_key_file_moves_into_a_secret_store_that_keeps_it_and_nowhere_else() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("device.sqlite");
        let (key, _) = obtain(dir.path(), &db, &FakeSecrets::unreachable()).unwrap();
        let file = key_file_path(dir.path());

        // Still no secret store: the key stays in its file.
        assert_eq!(
            promote(dir.path(), &key, &FakeSecrets::unreachable()).unwrap(),
            None
        );
        assert!(file.exists());
        // One that says it keeps the key and forgets it: the file stays, no entry either.
        let forgetful = FakeSecrets::forgetful();
        assert_eq!(promote(dir.path(), &key, &forgetful).unwrap(), None);
        assert!(file.exists());
        assert_eq!(forgetful.entries(), 0);

        // One that keeps it: the key moves, the file goes, and the key is found there.
        let secrets = FakeSecrets::working();
        assert_eq!(
            promote(dir.path(), &key, &secrets).unwrap(),
            Some(KeyHome::SecretStore)
        );
        assert!(!file.exists());
        let (again, home) = obtain(dir.path(), &db, &secrets).unwrap();
        assert_eq!(home, KeyHome::SecretStore);
        assert_eq!(again.to_hex(), key.to_hex());
    }

    /// The real OS secret store (the Secret Service on Linux). Run by
    /// `scripts/test-all.sh` inside `scripts/with-secret-service.sh`: a D-Bus session of
    /// its own with an unlocked GNOME Keyring, as a desktop session has.
    #[test]
    #[ignore = "needs an OS secret store: scripts/with-secret-service.sh cargo test -p gridwalk-app -- --ignored os_secret_store"]
    fn os_secret_store_keeps_moves_and_destroys_the_key() {
        let secrets = OsSecretStore;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("device.sqlite");
        let (key, home) = obtain(dir.path(), &db, &secrets).unwrap();
        assert_eq!(home, KeyHome::SecretStore, "the OS secret store is used");
        assert!(!key_file_path(dir.path()).exists(), "no key file");
        gridwalk_store::Store::open_encrypted(&db, &key).unwrap();
        let (again, home) = obtain(dir.path(), &db, &secrets).unwrap();
        assert_eq!(home, KeyHome::SecretStore);
        assert_eq!(
            again.to_hex(),
            key.to_hex(),
            "the same key at the next start"
        );
        destroy(dir.path(), &home, &secrets).unwrap();
        assert_eq!(secrets.get(&account(dir.path())).unwrap(), None);
        let err = obtain(dir.path(), &db, &secrets).unwrap_err().to_string();
        assert!(err.contains("key cannot be found"), "{err}");

        // A key file from a start without the secret store moves into it.
        let other = tempfile::tempdir().unwrap();
        let db = other.path().join("device.sqlite");
        let (key, _) = obtain(other.path(), &db, &FakeSecrets::unreachable()).unwrap();
        assert_eq!(
            promote(other.path(), &key, &secrets).unwrap(),
            Some(KeyHome::SecretStore)
        );
        assert!(!key_file_path(other.path()).exists());
        let (moved, home) = obtain(other.path(), &db, &secrets).unwrap();
        assert_eq!(home, KeyHome::SecretStore);
        assert_eq!(moved.to_hex(), key.to_hex());
        destroy(other.path(), &home, &secrets).unwrap();
        assert_eq!(secrets.get(&account(other.path())).unwrap(), None);
    }

    #[test]
    fn an_encrypted_store_without_its_key_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("device.sqlite");
        let secrets = FakeSecrets::working();
        let (key, _) = obtain(dir.path(), &db, &secrets).unwrap();
        gridwalk_store::Store::open_encrypted(&db, &key).unwrap();
        destroy(dir.path(), &KeyHome::SecretStore, &secrets).unwrap();
        let err = obtain(dir.path(), &db, &secrets).unwrap_err().to_string();
        assert!(err.contains("key cannot be found"), "{err}");
        let err = obtain(dir.path(), &db, &FakeSecrets::unreachable())
            .unwrap_err()
            .to_string();
        assert!(err.contains("key cannot be found"), "{err}");
        assert!(
            !key_file_path(dir.path()).exists(),
            "no key file made for it"
        );
    }
}
