//! The queue against a model of the server, through a network that cuts, duplicates and
//! restarts: every blob ends stored once, with its bytes, and every queue empty.

use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The server as the protocol describes it (docs/sync-protocol.md, "Blobs").
#[derive(Default)]
struct Server {
    partial: BTreeMap<String, Vec<u8>>,
    stored: BTreeMap<String, Vec<u8>>,
    /// How many times each hash was written to the store (must end at 1).
    stores: BTreeMap<String, u32>,
    /// Hashes a document references (the rest are refused).
    referenced: BTreeSet<String>,
}

impl Server {
    fn head(&self, sha: &str) -> Answer {
        if !self.referenced.contains(sha) {
            return Answer::Refused(Refusal::NotReferenced);
        }
        match self.stored.contains_key(sha) {
            true => Answer::Stored,
            false => Answer::Offset(self.partial.get(sha).map_or(0, |p| p.len() as u64)),
        }
    }

    fn put(&mut self, sha: &str, offset: u64, chunk: &[u8], total: u64) -> Answer {
        if !self.referenced.contains(sha) {
            return Answer::Refused(Refusal::NotReferenced);
        }
        if self.stored.contains_key(sha) {
            return Answer::Stored;
        }
        let have = self.partial.entry(sha.to_string()).or_default();
        if offset != have.len() as u64 || offset + chunk.len() as u64 > total {
            return Answer::Offset(have.len() as u64);
        }
        have.extend_from_slice(chunk);
        if (have.len() as u64) < total {
            return Answer::Offset(have.len() as u64);
        }
        let bytes = self.partial.remove(sha).unwrap_or_default();
        if sha256_hex(&bytes) != sha {
            return Answer::Refused(Refusal::Mismatch);
        }
        self.stored.insert(sha.to_string(), bytes);
        *self.stores.entry(sha.to_string()).or_default() += 1;
        Answer::Stored
    }

    fn serve(&mut self, action: &Action, blobs: &BTreeMap<String, Vec<u8>>) -> Answer {
        match action {
            Action::Probe { sha256 } => self.head(sha256),
            Action::Send {
                sha256,
                offset,
                len,
                total,
            } => {
                let bytes = &blobs[sha256];
                let chunk = &bytes[*offset as usize..(*offset + *len) as usize];
                self.put(sha256, *offset, chunk, *total)
            }
        }
    }
}

/// What happens to one request.
#[derive(Debug, Clone, Copy)]
enum Net {
    Deliver,
    /// Lost on the way: the server never saw it.
    CutBefore,
    /// The server did it; the answer was lost.
    CutAfter,
    /// Delivered twice (a proxy's retry); the client sees the second answer.
    Duplicate,
    /// The device app is killed: the queue comes back from what was persisted.
    ClientRestart,
    /// The server is killed: partial uploads keep only a prefix (what reached the disk).
    ServerRestart(u8),
    /// The document referencing blob i is not synced yet: for a while, not referenced.
    Unreference(u8),
    /// The worker attaches the same photo again.
    AddAgain(u8),
}

fn net() -> impl Strategy<Value = Net> {
    prop_oneof![
        6 => Just(Net::Deliver),
        2 => Just(Net::CutBefore),
        2 => Just(Net::CutAfter),
        2 => Just(Net::Duplicate),
        1 => Just(Net::ClientRestart),
        1 => any::<u8>().prop_map(Net::ServerRestart),
        1 => any::<u8>().prop_map(Net::Unreference),
        1 => any::<u8>().prop_map(Net::AddAgain),
    ]
}

/// Runs two devices sharing some blobs against one server.
fn run(blobs: Vec<Vec<u8>>, chunk: u64, faults: Vec<(bool, Net)>) -> Result<(), TestCaseError> {
    let named: BTreeMap<String, Vec<u8>> =
        blobs.iter().map(|b| (sha256_hex(b), b.clone())).collect();
    let hashes: Vec<String> = named.keys().cloned().collect();
    let mut server = Server {
        referenced: hashes.iter().cloned().collect(),
        ..Server::default()
    };
    // Device 0 has every blob; device 1 the even ones (the same photo from two devices).
    let mut devices: Vec<Queue> = (0..2)
        .map(|d| {
            let mut q = Queue::new(chunk, []);
            for (i, h) in hashes.iter().enumerate() {
                if d == 0 || i.is_multiple_of(2) {
                    q.add(h, named[h].len() as u64);
                }
            }
            q
        })
        .collect();
    let mut now = 0u64;
    let mut unreferenced_until: BTreeMap<String, u64> = BTreeMap::new();
    let step = |q: &mut Queue, server: &mut Server, net: Net, now: u64| {
        let Some(action) = q.next(now) else { return };
        let sha = match &action {
            Action::Probe { sha256 } | Action::Send { sha256, .. } => sha256.clone(),
        };
        let answer = match net {
            Net::CutBefore => Answer::Failed,
            Net::CutAfter => {
                server.serve(&action, &named);
                Answer::Failed
            }
            Net::Duplicate => {
                server.serve(&action, &named);
                server.serve(&action, &named)
            }
            _ => server.serve(&action, &named),
        };
        q.answer(&sha, answer, now);
    };
    for (which, f) in faults {
        let q = &mut devices[usize::from(which)];
        match f {
            Net::ClientRestart => *q = Queue::new(chunk, q.entries().cloned().collect::<Vec<_>>()),
            Net::ServerRestart(cut) => {
                for p in server.partial.values_mut() {
                    let keep = p.len() * usize::from(cut) / 255;
                    p.truncate(keep);
                }
            }
            Net::Unreference(i) => {
                let h = &hashes[usize::from(i) % hashes.len()];
                server.referenced.remove(h);
                unreferenced_until.insert(h.clone(), now + 5_000);
            }
            Net::AddAgain(i) => {
                let h = &hashes[usize::from(i) % hashes.len()];
                // Only a photo the device has, and it may have been uploaded already:
                // queued again, it is answered "stored" at once.
                if usize::from(which) == 0 || (usize::from(i) % hashes.len()).is_multiple_of(2) {
                    q.add(h, named[h].len() as u64);
                }
            }
            net => step(q, &mut server, net, now),
        }
        now += 1_000;
        unreferenced_until.retain(|h, until| {
            let back = *until <= now;
            if back {
                server.referenced.insert(h.clone());
            }
            !back
        });
    }
    // Then the network is good again (and every document synced): everything drains.
    server.referenced.extend(hashes.iter().cloned());
    for _ in 0..100_000 {
        if devices.iter().all(Queue::is_empty) {
            break;
        }
        let due = devices
            .iter()
            .filter_map(Queue::next_due)
            .min()
            .unwrap_or(now);
        now = now.max(due);
        for q in &mut devices {
            step(q, &mut server, Net::Deliver, now);
        }
    }
    prop_assert!(devices.iter().all(Queue::is_empty), "queues drained");
    for (h, bytes) in &named {
        prop_assert_eq!(server.stored.get(h), Some(bytes), "stored with its bytes");
        prop_assert_eq!(server.stores.get(h), Some(&1), "stored once");
    }
    prop_assert!(server.partial.is_empty(), "no partial left");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_cuts_duplicates_and_restarts_end_with_each_blob_stored_once(
        blobs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..60), 1..5),
        chunk in 1u64..20,
        faults in proptest::collection::vec((any::<bool>(), net()), 0..120),
    ) {
        run(blobs, chunk, faults)?;
    }
}

#[test]
fn a_cut_at_80_percent_resumes_there() {
    let blob: Vec<u8> = (0..100u8).collect();
    let sha = sha256_hex(&blob);
    let mut q = Queue::new(20, []);
    q.add(&sha, 100);
    q.add(&sha, 100);
    assert_eq!(q.len(), 1, "the same photo twice is one entry");
    assert_eq!(
        q.next(0),
        Some(Action::Probe {
            sha256: sha.clone()
        })
    );
    assert_eq!(q.answer(&sha, Answer::Offset(0), 0), Outcome::Pending);
    for offset in [0, 20, 40, 60] {
        let next = q.next(0);
        assert_eq!(
            next,
            Some(Action::Send {
                sha256: sha.clone(),
                offset,
                len: 20,
                total: 100
            })
        );
        q.answer(&sha, Answer::Offset(offset + 20), 0);
    }
    // The fifth chunk is cut: wait, ask, and send from 80, not from zero.
    assert_eq!(q.answer(&sha, Answer::Failed, 0), Outcome::Pending);
    assert_eq!(q.next(0), None, "backing off");
    assert_eq!(q.next_due(), Some(BASE_BACKOFF_MS));
    assert_eq!(
        q.next(BASE_BACKOFF_MS),
        Some(Action::Probe {
            sha256: sha.clone()
        })
    );
    q.answer(&sha, Answer::Offset(80), BASE_BACKOFF_MS);
    assert_eq!(
        q.next(BASE_BACKOFF_MS),
        Some(Action::Send {
            sha256: sha.clone(),
            offset: 80,
            len: 20,
            total: 100
        })
    );
    assert_eq!(
        q.answer(&sha, Answer::Stored, BASE_BACKOFF_MS),
        Outcome::Uploaded
    );
    assert!(q.is_empty());
}

#[test]
fn refusals_back_off_or_park_but_never_drop() {
    let sha = "ab".repeat(32);
    let mut q = Queue::new(10, []);
    q.add(&sha, 50);
    q.answer(&sha, Answer::Refused(Refusal::Quota), 0);
    assert!(
        q.entry(&sha).unwrap().not_before >= 60 * 60_000,
        "quota waits an hour"
    );
    q.answer(&sha, Answer::Refused(Refusal::TooLarge), 0);
    assert_eq!(q.entry(&sha).unwrap().parked, Some(Refusal::TooLarge));
    assert_eq!(q.next(u64::MAX), None, "parked is not tried");
    assert_eq!(q.len(), 1, "but kept");
    q.unpark();
    assert!(q.next(u64::MAX).is_some());
    assert_eq!(q.answer("other", Answer::Stored, 0), Outcome::Unknown);
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    assert_eq!(backoff_ms(1), 2_000);
    assert_eq!(backoff_ms(2), 4_000);
    assert_eq!(backoff_ms(5), 32_000);
    assert_eq!(backoff_ms(100), MAX_BACKOFF_MS);
}
