//! The console is embedded in the binary (src/console/files.rs), so `console/dist` must
//! exist when this crate compiles. Build it here when it is missing or older than the
//! console's sources, with npm if there is one; otherwise stop with the command to run.
//! A fresh dist costs nothing: no npm runs on an ordinary `cargo build`/`clippy`/`test`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// The console's build inputs (relative to console/).
const INPUTS: [&str; 6] = [
    "src",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let console = manifest.join("../console");
    for input in INPUTS {
        println!("cargo:rerun-if-changed={}", console.join(input).display());
    }
    // include_dir! does not tell cargo which files it read: a rebuilt dist re-embeds
    // through this line.
    println!("cargo:rerun-if-changed={}", console.join("dist").display());

    let index = console.join("dist/index.html");
    let built = modified(&index);
    let newest_input = INPUTS.iter().filter_map(|i| newest(&console.join(i))).max();
    let stale = match (built, newest_input) {
        (None, _) => true,
        (Some(b), Some(i)) => i > b,
        (Some(_), None) => false,
    };
    if !stale {
        return;
    }
    if !console.join("package.json").is_file() {
        fail("console/package.json is missing: the console's sources are not here");
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        fail(&format!(
            "console/dist is {} and npm is not installed. Install Node.js 20+ and npm, or \
             build the console elsewhere: cd console && npm ci && npm run build",
            if built.is_none() {
                "missing"
            } else {
                "older than console/src"
            }
        ));
    }
    if !console.join("node_modules/.package-lock.json").is_file() {
        run(npm, &["ci", "--no-audit", "--no-fund"], &console);
    }
    run(npm, &["run", "build"], &console);
    if !index.is_file() {
        fail("npm run build finished but console/dist/index.html is still missing");
    }
}

fn run(npm: &str, args: &[&str], dir: &Path) {
    println!("cargo:warning=building the console: npm {}", args.join(" "));
    let status = Command::new(npm).args(args).current_dir(dir).status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => fail(&format!(
            "`npm {}` in console/ failed ({s}); run it there to see why",
            args.join(" ")
        )),
        Err(e) => fail(&format!("cannot run npm: {e}")),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: the console could not be embedded: {message}");
    std::process::exit(1);
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file or of any file under a directory.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = path.metadata().ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| newest(&e.path()))
        .max()
}
