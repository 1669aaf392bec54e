//! The console (console/dist, embedded at compile time; build.rs builds it when missing
//! or stale) as static files under `/console/`. Any path that is not a file answers
//! `index.html`: the single-page app routes itself. Nothing is read from disk.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use include_dir::{include_dir, Dir};

static DIST: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../console/dist");

pub(super) async fn redirect() -> Redirect {
    Redirect::permanent("/console/")
}

pub(super) async fn index() -> Response {
    serve("index.html")
}

pub(super) async fn file(Path(path): Path<String>) -> Response {
    serve(&path)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map_or("", |(_, ext)| ext) {
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

fn serve(rel: &str) -> Response {
    // The embedded tree has only plain relative paths, so `..` or `/x` simply miss.
    let (path, file) = match DIST.get_file(rel) {
        Some(f) => (rel, f),
        None => match DIST.get_file("index.html") {
            Some(f) => ("index.html", f),
            // build.rs refuses to compile without index.html; kept total anyway.
            None => return (axum::http::StatusCode::NOT_FOUND, "not found").into_response(),
        },
    };
    // Vite names assets by content hash: they never change under one name.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, content_type(path)),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        file.contents(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn get(path: &str) -> (String, String, String) {
        let r = serve(path);
        let ct = r.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        let cc = r.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .to_string();
        let body = to_bytes(r.into_body(), usize::MAX).await.unwrap();
        (ct, cc, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn embedded_console_with_spa_fallback_and_caching() {
        let (ct, cc, body) = get("index.html").await;
        assert_eq!(
            (ct.as_str(), cc.as_str()),
            ("text/html; charset=utf-8", "no-cache")
        );
        assert!(body.contains("<div id=\"app\""), "{body}");
        // A client-side route and a path trying to leave the tree both get the app.
        assert_eq!(get("issues/123").await.2, body);
        assert_eq!(get("../Cargo.toml").await.2, body);
        let asset = DIST
            .get_dir("assets")
            .and_then(|d| {
                d.files()
                    .find(|f| f.path().extension().is_some_and(|e| e == "js"))
            })
            .expect("a built JS asset");
        let (ct, cc, _) = get(asset.path().to_str().unwrap()).await;
        assert_eq!(ct, "text/javascript; charset=utf-8");
        assert_eq!(cc, "public, max-age=31536000, immutable");
    }
}
