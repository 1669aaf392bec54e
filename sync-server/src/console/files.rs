//! The built console (console/dist) as static files under `/console/`. Any path that is
//! not a file answers `index.html` (the single-page app routes itself); when the console
//! has not been built, `/console/` answers a page saying so and how to build it.

use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::path::{Component, PathBuf};

/// Where the built console is: `config.console_dir` if set, else `console/dist` found
/// beside the executable (…/target/<profile>/ → the repository) or in the current
/// directory.
pub fn console_dir(configured: Option<&std::path::Path>) -> Option<PathBuf> {
    if let Some(dir) = configured {
        return Some(dir.to_path_buf());
    }
    let mut candidates = vec![PathBuf::from("console/dist")];
    if let Ok(exe) = std::env::current_exe() {
        for up in exe.ancestors().skip(1).take(4) {
            candidates.push(up.join("console/dist"));
        }
    }
    candidates
        .into_iter()
        .find(|d| d.join("index.html").is_file())
}

fn dir(state: &AppState) -> Option<PathBuf> {
    console_dir(state.config.console_dir.as_deref())
}

pub(super) async fn redirect() -> Redirect {
    Redirect::permanent("/console/")
}

const NOT_BUILT: &str = r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>Gridwalk 网格长工作台</title></head><body style="font-family:sans-serif;margin:3em">
<h1>网格长工作台尚未构建 / The console has not been built</h1>
<p>The server found no <code>console/dist/index.html</code>. Build it with
<code>cd console &amp;&amp; npm ci &amp;&amp; npm run build</code>, or start the server with
<code>--console-dir DIR</code> pointing at a built console.</p></body></html>"#;

pub(super) async fn index(State(state): State<AppState>) -> Response {
    serve(state, "index.html").await
}

pub(super) async fn file(State(state): State<AppState>, Path(path): Path<String>) -> Response {
    serve(state, &path).await
}

fn content_type(path: &std::path::Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `root/rel` if it is a regular file reached without a symlink anywhere below `root`:
/// a link in the console's directory (to /etc/passwd, to the data directory) is not
/// followed.
async fn plain_file(root: &std::path::Path, rel: &std::path::Path) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    let mut is_file = false;
    for c in rel.components() {
        path.push(c);
        let meta = tokio::fs::symlink_metadata(&path).await.ok()?;
        if meta.file_type().is_symlink() {
            tracing::warn!(path = %path.display(), "console file is a symlink: not served");
            return None;
        }
        is_file = meta.is_file();
    }
    is_file.then_some(path)
}

async fn serve(state: AppState, rel: &str) -> Response {
    let Some(root) = dir(&state) else {
        return (StatusCode::OK, Html(NOT_BUILT)).into_response();
    };
    let rel_path = std::path::Path::new(rel);
    // Only plain relative components: no `..`, no absolute paths.
    if !rel_path
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    let index = std::path::Path::new("index.html");
    let path = match plain_file(&root, rel_path).await {
        Some(p) => p,
        None => match plain_file(&root, index).await {
            Some(p) => p,
            None => return (StatusCode::OK, Html(NOT_BUILT)).into_response(),
        },
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let cache = if path.starts_with(root.join("assets")) {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            (
                [
                    (header::CONTENT_TYPE, content_type(&path)),
                    (header::CACHE_CONTROL, cache),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                ],
                bytes,
            )
                .into_response()
        }
        Err(_) => (StatusCode::OK, Html(NOT_BUILT)).into_response(),
    }
}
