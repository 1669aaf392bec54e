//! The optional app PIN (issue 14): on a shared phone it keeps the open app's screens
//! from the next person. It is not the data key: the store is encrypted with the device
//! key whether or not a PIN is set, and the PIN only gates the commands that read or
//! write data ([`crate::state::AppState::store`] refuses them while locked).
//!
//! The PIN is kept only as an argon2id hash in the encrypted store's `meta` table, so
//! its hash is as protected as the data. Wrong PINs are counted there too (a restart
//! does not reset them): after [`FREE_ATTEMPTS`] the next try must wait 30 s, doubling
//! with each further wrong PIN up to an hour. The app locks when it starts with a PIN
//! set, on "lock now", and when it comes back after the chosen minutes in the background.

use crate::dto::LockStatus;
use crate::error::{AppError, AppResult};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use gridwalk_store::Store;

const HASH_KEY: &str = "app.pin.hash";
const MINUTES_KEY: &str = "app.pin.lock_minutes";
const FAILURES_KEY: &str = "app.pin.failures";
const WAIT_UNTIL_KEY: &str = "app.pin.wait_until_ms";

/// The choices of "lock after N minutes in the background".
pub const LOCK_MINUTES: [u32; 4] = [1, 5, 15, 30];
pub const DEFAULT_LOCK_MINUTES: u32 = 5;
/// Wrong PINs allowed before the first wait.
pub const FREE_ATTEMPTS: u32 = 5;
const FIRST_WAIT_SECS: i64 = 30;
const MAX_WAIT_SECS: i64 = 3600;
/// A PIN is 4 to 12 digits; longer input is refused before any hashing.
const MIN_DIGITS: usize = 4;
const MAX_DIGITS: usize = 12;

/// Whether the app is locked now, and since when it is in the background (a monotonic
/// clock in ms). Held in memory by the app: a new process starts locked if a PIN is set.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Lock {
    pub locked: bool,
    pub hidden_since_ms: Option<i64>,
}

fn meta_i64(store: &Store, key: &str) -> AppResult<i64> {
    Ok(store
        .meta_get(key)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

pub fn is_set(store: &Store) -> AppResult<bool> {
    Ok(store.meta_get(HASH_KEY)?.is_some())
}

pub fn lock_minutes(store: &Store) -> AppResult<u32> {
    let m = meta_i64(store, MINUTES_KEY)? as u32;
    Ok(if LOCK_MINUTES.contains(&m) {
        m
    } else {
        DEFAULT_LOCK_MINUTES
    })
}

/// Seconds until the next try is taken (0: now).
fn wait_seconds(store: &Store, wall_ms: i64) -> AppResult<u32> {
    let until = meta_i64(store, WAIT_UNTIL_KEY)?;
    Ok(((until - wall_ms).max(0) as u64).div_ceil(1000) as u32)
}

pub fn status(store: &Store, lock: &Lock, wall_ms: i64) -> AppResult<LockStatus> {
    let pin_set = is_set(store)?;
    let failures = meta_i64(store, FAILURES_KEY)? as u32;
    Ok(LockStatus {
        pin_set,
        locked: pin_set && lock.locked,
        lock_minutes: lock_minutes(store)?,
        wait_seconds: wait_seconds(store, wall_ms)?,
        attempts_left: FREE_ATTEMPTS.saturating_sub(failures),
    })
}

/// A new PIN: 4 to 12 digits, not all the same digit.
pub fn check_new_pin(pin: &str) -> AppResult<()> {
    let n = pin.chars().count();
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&n) || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::field(
            "pin",
            "BadPin",
            "PIN 为 4–12 位数字 / a PIN is 4 to 12 digits",
        ));
    }
    if pin.chars().all(|c| pin.starts_with(c)) {
        return Err(AppError::field(
            "pin",
            "WeakPin",
            "PIN 不能是同一个数字 / a PIN cannot be one digit repeated",
        ));
    }
    Ok(())
}

fn hash(pin: &str) -> AppResult<String> {
    let salt =
        SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes()).map_err(|e| AppError::Storage {
            message: format!("PIN salt: {e}"),
        })?;
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Storage {
            message: format!("PIN hash: {e}"),
        })
}

fn verify(pin: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(pin.as_bytes(), &h)
            .is_ok()
    })
}

/// The wait after the `failures`-th wrong PIN in a row, in seconds.
pub fn wait_after(failures: u32) -> i64 {
    if failures < FREE_ATTEMPTS {
        return 0;
    }
    let doublings = (failures - FREE_ATTEMPTS).min(16);
    (FIRST_WAIT_SECS << doublings).min(MAX_WAIT_SECS)
}

/// Check `pin` against the stored hash, counting a wrong one (and refusing to check at
/// all while a wait runs).
fn attempt(store: &mut Store, pin: &str, wall_ms: i64) -> AppResult<()> {
    let phc = store
        .meta_get(HASH_KEY)?
        .ok_or_else(|| AppError::bad_request("no PIN is set"))?;
    let wait = wait_seconds(store, wall_ms)?;
    if wait > 0 {
        return Err(AppError::PinWait {
            message: format!("too many wrong PINs: wait {wait} s"),
            wait_seconds: wait,
        });
    }
    let plausible = pin.len() <= MAX_DIGITS;
    if plausible && verify(pin, &phc) {
        store.meta_set(FAILURES_KEY, "0")?;
        store.meta_set(WAIT_UNTIL_KEY, "0")?;
        return Ok(());
    }
    let failures = meta_i64(store, FAILURES_KEY)? as u32 + 1;
    let wait = wait_after(failures);
    store.meta_set(FAILURES_KEY, &failures.to_string())?;
    store.meta_set(WAIT_UNTIL_KEY, &(wall_ms + wait * 1000).to_string())?;
    Err(AppError::PinWrong {
        message: "wrong PIN".into(),
        attempts_left: FREE_ATTEMPTS.saturating_sub(failures),
        wait_seconds: wait as u32,
    })
}

pub fn unlock(store: &mut Store, lock: &mut Lock, pin: &str, wall_ms: i64) -> AppResult<()> {
    attempt(store, pin, wall_ms)?;
    *lock = Lock::default();
    Ok(())
}

/// Set a PIN, or change it (then the current one is needed and counted like an unlock).
pub fn set_pin(
    store: &mut Store,
    current: Option<&str>,
    new_pin: &str,
    wall_ms: i64,
) -> AppResult<()> {
    if is_set(store)? {
        attempt(store, current.unwrap_or_default(), wall_ms)?;
    }
    check_new_pin(new_pin)?;
    let phc = hash(new_pin)?;
    store.meta_set(HASH_KEY, &phc)?;
    store.meta_set(FAILURES_KEY, "0")?;
    store.meta_set(WAIT_UNTIL_KEY, "0")?;
    Ok(())
}

/// Remove the PIN (the current one is needed): the app no longer locks.
pub fn remove_pin(
    store: &mut Store,
    lock: &mut Lock,
    current: &str,
    wall_ms: i64,
) -> AppResult<()> {
    attempt(store, current, wall_ms)?;
    store.connection().execute(
        "DELETE FROM meta WHERE key IN (?1, ?2, ?3)",
        [HASH_KEY, FAILURES_KEY, WAIT_UNTIL_KEY],
    )?;
    *lock = Lock::default();
    Ok(())
}

pub fn set_lock_minutes(store: &mut Store, minutes: u32) -> AppResult<()> {
    if !LOCK_MINUTES.contains(&minutes) {
        return Err(AppError::bad_request(format!(
            "lock after {minutes} minutes is not offered"
        )));
    }
    store.meta_set(MINUTES_KEY, &minutes.to_string())?;
    Ok(())
}

pub fn lock_now(store: &Store, lock: &mut Lock) -> AppResult<()> {
    if !is_set(store)? {
        return Err(AppError::bad_request("set a PIN before locking"));
    }
    lock.locked = true;
    Ok(())
}

/// The app went to the background (`document.visibilitychange`).
pub fn hidden(lock: &mut Lock, mono_ms: i64) {
    lock.hidden_since_ms = lock.hidden_since_ms.or(Some(mono_ms));
}

/// The app came back: locked if a PIN is set and it was away the chosen minutes.
pub fn visible(store: &Store, lock: &mut Lock, mono_ms: i64) -> AppResult<()> {
    if let Some(since) = lock.hidden_since_ms.take() {
        let away = i64::from(lock_minutes(store)?) * 60_000;
        if is_set(store)? && mono_ms - since >= away {
            lock.locked = true;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        Store::open_in_memory().unwrap()
    }

    #[test]
    fn a_pin_is_4_to_12_digits_and_not_one_digit_repeated() {
        for ok in ["1234", "2580", "123456789012"] {
            check_new_pin(ok).unwrap();
        }
        for bad in [
            "",
            "123",
            "12a4",
            "1234567890123",
            "１２３４",
            "0000",
            "111111",
        ] {
            assert!(check_new_pin(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_pin_is_stored_only_as_a_salted_hash() {
        let mut s = store();
        set_pin(&mut s, None, "246810", 0).unwrap();
        let phc = s.meta_get(HASH_KEY).unwrap().unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains("246810"));
        let mut t = store();
        set_pin(&mut t, None, "246810", 0).unwrap();
        assert_ne!(phc, t.meta_get(HASH_KEY).unwrap().unwrap(), "salted");
    }

    #[test]
    fn unlock_takes_the_right_pin_and_refuses_a_wrong_one() {
        let mut s = store();
        let mut lock = Lock {
            locked: true,
            hidden_since_ms: None,
        };
        // No PIN: nothing to lock.
        assert!(!status(&s, &lock, 0).unwrap().locked);
        set_pin(&mut s, None, "2468", 0).unwrap();
        assert!(status(&s, &lock, 0).unwrap().locked);
        let e = unlock(&mut s, &mut lock, "1357", 0).unwrap_err();
        assert!(
            matches!(
                e,
                AppError::PinWrong {
                    attempts_left: 4,
                    wait_seconds: 0,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(lock.locked);
        unlock(&mut s, &mut lock, "2468", 0).unwrap();
        assert!(!lock.locked);
        // The right PIN resets the count.
        assert_eq!(status(&s, &lock, 0).unwrap().attempts_left, FREE_ATTEMPTS);
    }

    #[test]
    fn five_wrong_pins_make_the_next_try_wait_and_the_wait_grows() {
        let mut s = store();
        let mut lock = Lock::default();
        set_pin(&mut s, None, "2468", 0).unwrap();
        for n in 1..FREE_ATTEMPTS {
            let e = unlock(&mut s, &mut lock, "0000", 0).unwrap_err();
            assert!(
                matches!(
                    e,
                    AppError::PinWrong {
                        wait_seconds: 0,
                        ..
                    }
                ),
                "{n}: {e:?}"
            );
        }
        let e = unlock(&mut s, &mut lock, "0000", 0).unwrap_err();
        assert!(
            matches!(
                e,
                AppError::PinWrong {
                    attempts_left: 0,
                    wait_seconds: 30,
                    ..
                }
            ),
            "{e:?}"
        );
        // During the wait even the right PIN is not checked.
        let e = unlock(&mut s, &mut lock, "2468", 10_000).unwrap_err();
        assert!(
            matches!(
                e,
                AppError::PinWait {
                    wait_seconds: 20,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(status(&s, &lock, 10_000).unwrap().wait_seconds, 20);
        // After it, a wrong PIN doubles the wait.
        let e = unlock(&mut s, &mut lock, "0000", 30_000).unwrap_err();
        assert!(
            matches!(
                e,
                AppError::PinWrong {
                    wait_seconds: 60,
                    ..
                }
            ),
            "{e:?}"
        );
        unlock(&mut s, &mut lock, "2468", 90_000).unwrap();
        assert_eq!(wait_after(4), 0);
        assert_eq!(wait_after(5), 30);
        assert_eq!(wait_after(7), 120);
        assert_eq!(wait_after(40), MAX_WAIT_SECS);
    }

    #[test]
    fn the_count_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        {
            let mut s = Store::open(&path).unwrap();
            set_pin(&mut s, None, "2468", 0).unwrap();
            for _ in 0..FREE_ATTEMPTS {
                let _ = unlock(&mut s, &mut Lock::default(), "0000", 0);
            }
        }
        let mut s = Store::open(&path).unwrap();
        let e = unlock(&mut s, &mut Lock::default(), "2468", 1000).unwrap_err();
        assert!(matches!(e, AppError::PinWait { .. }), "{e:?}");
    }

    #[test]
    fn changing_or_removing_the_pin_needs_the_current_one() {
        let mut s = store();
        let mut lock = Lock::default();
        set_pin(&mut s, None, "2468", 0).unwrap();
        assert!(set_pin(&mut s, Some("1111"), "1357", 0).is_err());
        assert!(set_pin(&mut s, None, "1357", 0).is_err());
        set_pin(&mut s, Some("2468"), "1357", 0).unwrap();
        assert!(remove_pin(&mut s, &mut lock, "2468", 0).is_err());
        remove_pin(&mut s, &mut lock, "1357", 0).unwrap();
        assert!(!is_set(&s).unwrap());
        assert!(lock_now(&s, &mut lock).is_err(), "no PIN, no lock");
    }

    #[test]
    fn the_app_locks_after_the_chosen_minutes_in_the_background() {
        let mut s = store();
        let mut lock = Lock::default();
        set_pin(&mut s, None, "2468", 0).unwrap();
        assert_eq!(lock_minutes(&s).unwrap(), DEFAULT_LOCK_MINUTES);
        hidden(&mut lock, 0);
        visible(&s, &mut lock, 4 * 60_000).unwrap();
        assert!(!lock.locked, "back within 5 minutes");
        hidden(&mut lock, 10 * 60_000);
        // A second "hidden" does not restart the clock.
        hidden(&mut lock, 14 * 60_000);
        visible(&s, &mut lock, 15 * 60_000).unwrap();
        assert!(lock.locked, "away 5 minutes");
        set_lock_minutes(&mut s, 1).unwrap();
        assert!(set_lock_minutes(&mut s, 0).is_err());
        assert!(set_lock_minutes(&mut s, 7).is_err());
        let mut lock = Lock::default();
        hidden(&mut lock, 0);
        visible(&s, &mut lock, 60_000).unwrap();
        assert!(lock.locked);
        lock_now(&s, &mut Lock::default()).unwrap();
    }
}
