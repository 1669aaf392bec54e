//! Enrollment codes and device tokens, the same on every backend. Codes and tokens are
//! random and never stored: only their SHA-256 is. They are long random secrets (not
//! passwords), so a fast hash is enough.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The one answer to an enrollment code that cannot be used, whatever the reason.
pub const BAD_ENROLLMENT_CODE: &str =
    "注册码无效、已使用或已过期 / the enrollment code is unknown, used or expired";

const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Normalise a typed code: case, spaces and dashes do not matter.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

pub fn random_code() -> String {
    let bytes = *Uuid::new_v4().as_bytes();
    let chars: String = bytes[..12]
        .iter()
        .map(|b| CODE_ALPHABET[(*b as usize) % CODE_ALPHABET.len()] as char)
        .collect();
    format!("{}-{}-{}", &chars[..4], &chars[4..8], &chars[8..12])
}

/// A device enrolled this long ago that has never synced is an orphan: its enrollment
/// answer never arrived (the app syncs at once after enrolling). Enrolling revokes them.
pub const ORPHAN_AFTER_MS: i64 = 7 * 24 * 3_600_000;
const MIN_DEVICE_KEY_CHARS: usize = 16;
const MAX_DEVICE_KEY_CHARS: usize = 128;

/// The stored hash of the key a device proposed at enrollment (`None` without one); a
/// key of the wrong length is refused.
pub fn device_key_hash(device_key: Option<&str>) -> crate::Result<Option<String>> {
    let Some(key) = device_key.map(str::trim) else {
        return Ok(None);
    };
    if !(MIN_DEVICE_KEY_CHARS..=MAX_DEVICE_KEY_CHARS).contains(&key.len()) {
        return Err(crate::StoreError::BadRequest(format!(
            "device_key must be {MIN_DEVICE_KEY_CHARS} to {MAX_DEVICE_KEY_CHARS} characters"
        )));
    }
    Ok(Some(sha256_hex(key)))
}

pub fn random_token() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_normalise_and_look_random() {
        let c = random_code();
        assert_eq!(c.len(), 14);
        assert_eq!(
            normalize_code(&c.to_lowercase().replace('-', " ")),
            c.replace('-', "")
        );
        assert_ne!(random_code(), random_code());
        assert_eq!(random_token().len(), 64);
    }
}
