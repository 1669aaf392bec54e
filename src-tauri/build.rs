fn main() {
    // The UI is embedded from ../ui/dist. A checkout where the UI has not been built yet
    // (a plain `cargo clippy --workspace`) gets a one-page placeholder that says so, so the
    // Rust side still compiles; scripts/test-all.sh builds the real UI before the app.
    let dist = std::path::Path::new("../ui/dist");
    if !dist.join("index.html").exists() {
        std::fs::create_dir_all(dist).expect("create ../ui/dist");
        std::fs::write(
            dist.join("index.html"),
            "<!doctype html><meta charset=utf-8><title>Gridwalk</title>\
             <p>界面尚未构建 / UI not built: run <code>npm run build</code> in ui/.</p>",
        )
        .expect("write placeholder index.html");
    }
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::build()
}
