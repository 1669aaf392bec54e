//! The device store's key: 32 random bytes, held zeroed-on-drop, and its key file.
//!
//! The store never decides where a key lives: the shell does (the app: the OS secret
//! store, else a key file; `gridwalk-cli`: a key file in its data directory). The key
//! file helpers are here so that both shells write it the same way: created with mode
//! 0600 and linked into place atomically (never a half-written key), read with a size
//! limit, and destroyed by overwriting it before removing it.

use crate::{Result, StoreError};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The key file's name in a data directory.
pub const KEY_FILE: &str = "device.key";

/// A device store key: 32 bytes from the OS's random source. Cloning copies it; every
/// copy is overwritten with zeros when dropped. `Debug` does not print it.
#[derive(Clone)]
pub struct DeviceKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(…)")
    }
}

impl DeviceKey {
    /// A new random key from the operating system's random source.
    pub fn generate() -> Result<DeviceKey> {
        use rand::TryRngCore;
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng
            .try_fill_bytes(bytes.as_mut())
            .map_err(|e| StoreError::Key(format!("no random bytes from the OS: {e}")))?;
        Ok(DeviceKey(bytes))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> DeviceKey {
        DeviceKey(Zeroizing::new(bytes))
    }

    /// Parse 64 hex digits (surrounding white space ignored), as the key file and the
    /// OS secret store hold it.
    pub fn from_hex(text: &str) -> Result<DeviceKey> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), bytes.as_mut())
            .map_err(|_| StoreError::Key("a device key is 64 hex digits".into()))?;
        Ok(DeviceKey(bytes))
    }

    /// The key as 64 lowercase hex digits.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_ref()))
    }

    /// The SQLCipher raw key literal `x'…'`: used as the key as it is, with no key
    /// derivation on every open (the key is random, not a password).
    pub(crate) fn sqlcipher_literal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("x'{}'", self.to_hex().as_str()))
    }
}

/// The key file of a data directory.
pub fn key_file_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE)
}

fn key_err(path: &Path, what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Key(format!("{what} {}: {e}", path.display()))
}

/// Read a key file; `None` when there is none. A file that is not a key is an error (it
/// is never replaced: the store it opens would be lost).
pub fn read_key_file(path: &Path) -> Result<Option<DeviceKey>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(key_err(path, "cannot read the key file", e)),
    };
    tighten_permissions(path, &file);
    let mut text = Zeroizing::new(String::new());
    // 64 hex digits and a line break; anything much longer is not a key file.
    file.take(256)
        .read_to_string(&mut text)
        .map_err(|e| key_err(path, "cannot read the key file", e))?;
    DeviceKey::from_hex(&text)
        .map(Some)
        .map_err(|_| key_err(path, "not a device key file", "expected 64 hex digits"))
}

/// A key file readable by others is made owner-only (and said so in the log).
fn tighten_permissions(path: &Path, file: &File) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = file.metadata() {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "key file was readable by others: set to 0600");
                let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, file);
}

/// Create a key file holding a new random key, mode 0600, or read the one that exists.
/// Written to a temporary file, synced, then hard-linked into place: the key file is
/// either absent or whole, and two processes racing get the same key. Returns the key and
/// whether this call created it.
pub fn load_or_create_key_file(path: &Path) -> Result<(DeviceKey, bool)> {
    if let Some(key) = read_key_file(path)? {
        return Ok((key, false));
    }
    let key = DeviceKey::generate()?;
    let tmp = path.with_extension(format!("key.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options
            .open(&tmp)
            .map_err(|e| key_err(&tmp, "cannot create the key file", e))?;
        let mut line = key.to_hex();
        line.push('\n');
        f.write_all(line.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| key_err(&tmp, "cannot write the key file", e))?;
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(path);
            Ok((key, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let key = read_key_file(path)?
                .ok_or_else(|| key_err(path, "key file vanished", "while being created"))?;
            Ok((key, false))
        }
        Err(e) => Err(key_err(path, "cannot create the key file", e)),
    }
}

/// Destroy a key file: overwrite its bytes with zeros, sync, remove, sync the directory.
/// Without the key the store's files are noise (crypto-erase). No file is no error.
pub fn destroy_key_file(path: &Path) -> Result<()> {
    match OpenOptions::new().write(true).open(path) {
        Ok(mut f) => {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0).min(4096) as usize;
            f.write_all(&vec![0u8; len.max(65)])
                .and_then(|_| f.sync_all())
                .map_err(|e| key_err(path, "cannot overwrite the key file", e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(key_err(path, "cannot open the key file", e)),
    }
    std::fs::remove_file(path).map_err(|e| key_err(path, "cannot remove the key file", e))?;
    sync_dir(path);
    Ok(())
}

/// Make a rename or link in `path`'s directory durable (best effort where unsupported).
pub(crate) fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_once_owner_only_and_destroyed() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_file_path(dir.path());
        assert!(read_key_file(&path).unwrap().is_none());
        let (a, created) = load_or_create_key_file(&path).unwrap();
        assert!(created);
        let (b, created) = load_or_create_key_file(&path).unwrap();
        assert!(!created);
        assert_eq!(a.to_hex(), b.to_hex());
        assert_eq!(a.to_hex().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        destroy_key_file(&path).unwrap();
        assert!(read_key_file(&path).unwrap().is_none());
        destroy_key_file(&path).unwrap();
    }

    #[test]
    fn keys_differ_and_bad_files_are_refused() {
        let a = DeviceKey::generate().unwrap();
        let b = DeviceKey::generate().unwrap();
        assert_ne!(a.to_hex(), b.to_hex());
        assert_eq!(format!("{a:?}"), "DeviceKey(…)");
        assert!(DeviceKey::from_hex("abc").is_err());
        assert!(DeviceKey::from_hex(&"zz".repeat(32)).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = key_file_path(dir.path());
        std::fs::write(&path, "not a key").unwrap();
        let err = read_key_file(&path).unwrap_err().to_string();
        assert!(err.contains("not a device key file"), "{err}");
        // A file that is not a key is never replaced by a new key.
        assert!(load_or_create_key_file(&path).is_err());
        std::fs::write(&path, "x".repeat(100_000)).unwrap();
        assert!(read_key_file(&path).is_err());
    }
}
