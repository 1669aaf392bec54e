//! `gridwalk-cli … | head`: the reader goes away before the CLI writes; the CLI ends
//! quietly with success instead of panicking on the broken pipe.

use std::io::Read;
use std::process::{Command, Stdio};

#[test]
fn a_closed_stdout_ends_the_cli_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    for _ in 0..3 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gridwalk-cli"))
            .arg("--data")
            .arg(dir.path())
            .arg("status")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gridwalk-cli");
        // Close the read end before the CLI has opened its store and printed anything.
        drop(child.stdout.take());
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("read stderr");
        let status = child.wait().expect("wait");
        assert!(!stderr.contains("panicked"), "the CLI panicked: {stderr}");
        assert!(status.success(), "exit {status:?}, stderr: {stderr}");
    }
}
