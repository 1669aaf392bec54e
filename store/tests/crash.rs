//! Kill -9 in the middle of a loop of writes; reopen; every committed edit is there and no
//! document is torn.
//!
//! The test binary runs itself as the writer (the `crash_writer_child` test, which does
//! nothing unless GRIDWALK_CRASH_DIR is set). The child prints a line after each commit
//! returns; the parent kills it with SIGKILL after a varying number of lines. The same
//! runs on the encrypted device store (SQLCipher, GRIDWALK_CRASH_KEY).

use gridwalk_core::model::Household;
use gridwalk_core::{Author, DocId, DocKind};
use gridwalk_store::{DeviceKey, Store};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use uuid::Uuid;

mod common;

const HOUSEHOLDS: usize = 20;

fn household(i: usize) -> Household {
    common::household(i, "grid-1")
}

fn author() -> Author {
    Author::new(Uuid::from_u128(1), Uuid::from_u128(2))
}

#[test]
fn crash_writer_child() {
    let Ok(dir) = std::env::var("GRIDWALK_CRASH_DIR") else {
        return; // only runs as the child of `kill_9_mid_write_loses_no_committed_edit`
    };
    let path = format!("{dir}/store.sqlite");
    let mut store = match std::env::var("GRIDWALK_CRASH_KEY") {
        Ok(hex) => Store::open_encrypted(&path, &DeviceKey::from_hex(&hex).expect("key")),
        Err(_) => Store::open(&path),
    }
    .expect("open");
    let mut out = std::io::stdout().lock();
    for i in 0..HOUSEHOLDS {
        if store
            .try_load(DocId(Uuid::from_u128(0x1000 + i as u128)))
            .expect("load")
            .is_none()
        {
            store
                .create_household(&household(i), author(), 1_700_000_000_000)
                .expect("create");
        }
    }
    writeln!(out, "ready").expect("stdout");
    for n in 0.. {
        let i = n % HOUSEHOLDS;
        let id = DocId(Uuid::from_u128(0x1000 + i as u128));
        store
            .edit::<Household, _>(
                DocKind::Household,
                id,
                author(),
                1_700_000_000_000 + n as i64,
                "edit",
                |h| {
                    h.notes = format!("edit {n}");
                    Ok(())
                },
            )
            .expect("edit");
        writeln!(out, "committed {i} {n}").expect("stdout");
        out.flush().expect("flush");
    }
}

#[test]
fn kill_9_mid_write_loses_no_committed_edit() {
    kill_9_rounds(None);
}

#[test]
fn kill_9_mid_write_loses_no_committed_edit_in_the_encrypted_store() {
    kill_9_rounds(Some(DeviceKey::generate().expect("key")));
}

fn open(path: &std::path::Path, key: Option<&DeviceKey>) -> Store {
    match key {
        Some(key) => Store::open_encrypted(path, key),
        None => Store::open(path),
    }
    .expect("reopen")
}

fn kill_9_rounds(key: Option<DeviceKey>) {
    for (round, kill_after) in [37usize, 211, 503].into_iter().enumerate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut command = Command::new(std::env::current_exe().expect("exe"));
        if let Some(key) = &key {
            command.env("GRIDWALK_CRASH_KEY", key.to_hex().as_str());
        }
        let mut child = command
            .args([
                "--exact",
                "crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GRIDWALK_CRASH_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut last_committed: HashMap<usize, usize> = HashMap::new();
        let mut seen = 0;
        while let Some(Ok(line)) = lines.next() {
            if let Some(rest) = line.strip_prefix("committed ") {
                let mut parts = rest.split(' ').map(|p| p.parse::<usize>().expect("number"));
                let (i, n) = (parts.next().expect("i"), parts.next().expect("n"));
                last_committed.insert(i, n);
                seen += 1;
                if seen == kill_after {
                    child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
                }
            }
        }
        let status = child.wait().expect("wait");
        assert!(
            !status.success(),
            "round {round}: the child must have been killed"
        );
        assert!(
            seen >= kill_after,
            "round {round}: child stopped early after {seen} edits"
        );

        let mut store = open(&dir.path().join("store.sqlite"), key.as_ref());
        if key.is_some() {
            // It is the encrypted store that was written and reopened.
            assert!(Store::open(dir.path().join("store.sqlite")).is_err());
        }
        for i in 0..HOUSEHOLDS {
            let id = DocId(Uuid::from_u128(0x1000 + i as u128));
            let h: Household = store.read(id).expect("every document loads whole");
            let stored: usize = h
                .notes
                .strip_prefix("edit ")
                .map(|n| n.parse().expect("edit number"))
                .unwrap_or(0);
            if let Some(&n) = last_committed.get(&i) {
                assert!(
                    stored >= n,
                    "round {round}: household {i} lost committed edit {n}, has {stored}"
                );
            }
        }
        // Every stored change is still in the outbox (nothing was acknowledged), and the
        // projections agree with the documents after a rebuild.
        let changes: usize = (0..HOUSEHOLDS)
            .map(|i| {
                store
                    .load(DocId(Uuid::from_u128(0x1000 + i as u128)))
                    .expect("load")
                    .changes_since(&[])
                    .len()
            })
            .sum();
        assert_eq!(
            store.outbox_len().expect("outbox"),
            changes,
            "round {round}: outbox out of step"
        );
        let before: Vec<String> = store
            .search_households(&Default::default())
            .expect("list")
            .items
            .iter()
            .map(|r| r.doc_id.clone())
            .collect();
        store.rebuild_projections().expect("rebuild");
        let after: Vec<String> = store
            .search_households(&Default::default())
            .expect("list")
            .items
            .iter()
            .map(|r| r.doc_id.clone())
            .collect();
        assert_eq!(before, after);
        assert_eq!(after.len(), HOUSEHOLDS);
    }
}
