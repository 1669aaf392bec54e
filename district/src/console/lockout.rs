//! The login lockout and the per-address rate limit as pure decisions over a stored row:
//! each backend reads the row, asks here, and writes the answer back in one transaction
//! (so parallel attempts, on one server or several, are counted one after the other).

/// Failed logins that lock a username.
pub const LOCKOUT_FAILURES: i64 = 5;
/// How long a lock lasts, and the window the failures are counted in: 15 minutes.
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;
/// Failed logins from one address (any usernames) within [`LOCKOUT_MS`] that lock it.
pub const ADDRESS_LOCKOUT_FAILURES: i64 = 20;
/// The rate limit's window (the limits are "per minute").
pub const RATE_WINDOW_MS: i64 = 60_000;

/// The `login_failures` key of a username.
pub fn username_key(username: &str) -> String {
    format!("user:{username}")
}

/// The `login_failures` key of a client address (a namespace of its own: no username
/// can collide with it).
pub fn address_key(address: &str) -> String {
    format!("addr:{address}")
}

/// A `login_failures` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub failures: i64,
    pub first_failure_at: i64,
    pub locked_until: Option<i64>,
}

/// What to do with one login attempt against a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Refused: locked until then. Nothing is written.
    Locked(i64),
    /// Allowed: write this row (the attempt counted as a failure until the login succeeds
    /// and takes it back).
    Count(Failures),
}

/// Count an attempt against a key that allows `max` failures in [`LOCKOUT_MS`].
pub fn attempt(row: Option<Failures>, max: i64, now_ms: i64) -> Attempt {
    let (failures, first, until) = match row {
        Some(r) if now_ms - r.first_failure_at < LOCKOUT_MS => {
            (r.failures, r.first_failure_at, r.locked_until)
        }
        Some(r) => (0, now_ms, r.locked_until),
        None => (0, now_ms, None),
    };
    if let Some(until) = until.filter(|u| *u > now_ms) {
        return Attempt::Locked(until);
    }
    if failures >= max {
        return Attempt::Locked(now_ms + LOCKOUT_MS);
    }
    // The attempt that uses the last try also sets the lock; a success clears it.
    let failures = failures + 1;
    Attempt::Count(Failures {
        failures,
        first_failure_at: first,
        locked_until: (failures >= max).then_some(now_ms + LOCKOUT_MS),
    })
}

/// A rate-limit row: hits in the current window and in the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateWindow {
    pub window_start: i64,
    pub hits: i64,
    pub previous_hits: i64,
}

/// One hit against a limit of `per_minute`: the row to write and whether the hit is
/// allowed. A sliding-window counter: the previous minute's hits count in proportion to
/// how much of it still lies within the last 60 s, so a burst across a window boundary
/// is not let through twice. A refused hit is not counted (a client retrying too often
/// is not locked out for longer).
pub fn rate_hit(row: Option<RateWindow>, per_minute: u32, now_ms: i64) -> (RateWindow, bool) {
    let start = now_ms - now_ms.rem_euclid(RATE_WINDOW_MS);
    let row = row.unwrap_or_default();
    let (hits, previous) = if row.window_start == start {
        (row.hits, row.previous_hits)
    } else if row.window_start == start - RATE_WINDOW_MS {
        (0, row.hits)
    } else {
        (0, 0)
    };
    let elapsed = now_ms - start;
    // previous × (remaining share of the last minute), rounded up.
    let carried =
        (previous * (RATE_WINDOW_MS - elapsed) + RATE_WINDOW_MS - 1).div_euclid(RATE_WINDOW_MS);
    let allowed = carried + hits < i64::from(per_minute.max(1));
    let hits = if allowed { hits + 1 } else { hits };
    (
        RateWindow {
            window_start: start,
            hits,
            previous_hits: previous,
        },
        allowed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifth_failure_locks_and_the_lock_expires() {
        let mut row = None;
        for i in 0..LOCKOUT_FAILURES {
            match attempt(row, LOCKOUT_FAILURES, 1_000 + i) {
                Attempt::Count(r) => row = Some(r),
                Attempt::Locked(_) => panic!("locked after {i}"),
            }
        }
        let until = row.and_then(|r| r.locked_until).expect("locked");
        assert_eq!(
            attempt(row, LOCKOUT_FAILURES, 2_000),
            Attempt::Locked(until)
        );
        assert!(matches!(
            attempt(row, LOCKOUT_FAILURES, until + 1),
            Attempt::Count(Failures { failures: 1, .. })
        ));
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let old = Failures {
            failures: 4,
            first_failure_at: 0,
            locked_until: None,
        };
        assert_eq!(
            attempt(Some(old), 5, LOCKOUT_MS),
            Attempt::Count(Failures {
                failures: 1,
                first_failure_at: LOCKOUT_MS,
                locked_until: None
            })
        );
    }

    #[test]
    fn the_rate_limit_holds_across_a_window_boundary() {
        let mut row = None;
        let mut allowed = 0;
        // 10 per minute; 25 hits from 59.990 s to 60.014 s.
        for i in 0..25 {
            let (r, ok) = rate_hit(row, 10, 59_990 + i);
            row = Some(r);
            allowed += i64::from(ok);
        }
        assert_eq!(allowed, 10);
        // A minute later everything is allowed again.
        let (_, ok) = rate_hit(row, 10, 200_000);
        assert!(ok);
    }
}
