//! Query parameters of the console's routes, parsed strictly: a parameter that does not
//! parse, is out of range or is too long is a 400 that names it, in Chinese and English,
//! never a 500 from deeper down (an `offset` past i64::MAX used to reach SQLite).

use super::CErr;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// The longest query string accepted (search text, ids, dates and a file name fit easily).
pub const MAX_QUERY_BYTES: usize = 4096;
/// Milliseconds since the epoch up to the end of year 9999: any real `from`/`to`.
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// Like axum's `Query`, with a console error that names the parameter.
pub struct Params<T>(pub T);

fn bad(param: &str, zh: &str, en: &str) -> CErr {
    CErr(
        StatusCode::BAD_REQUEST,
        "bad_query",
        format!("查询参数{param}{zh} / query parameter {param}: {en}"),
    )
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = CErr;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, CErr> {
        let query = parts.uri.query().unwrap_or_default();
        if query.len() > MAX_QUERY_BYTES {
            return Err(CErr(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!(
                    "查询字符串过长(最多{MAX_QUERY_BYTES}字节)/ the query string is longer \
                     than {MAX_QUERY_BYTES} bytes"
                ),
            ));
        }
        match Query::<T>::try_from_uri(&parts.uri) {
            Ok(Query(v)) => Ok(Params(v)),
            Err(e) => {
                // serde_path_to_error's "offset: invalid digit found in string".
                let text = e.body_text();
                let detail = text.split_once("query string: ").map_or(&*text, |(_, d)| d);
                let (param, why) = detail.split_once(": ").unwrap_or(("?", detail));
                Err(bad(param, "无效", why))
            }
        }
    }
}

/// `from`/`to` style times: refused outside year 1970…9999.
pub fn time_ms(param: &str, value: Option<i64>) -> Result<Option<i64>, CErr> {
    match value {
        Some(v) if !(0..=MAX_TIME_MS).contains(&v) => Err(bad(
            param,
            "超出范围",
            &format!("must be between 0 and {MAX_TIME_MS} (ms since 1970)"),
        )),
        v => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct P {
        offset: Option<u32>,
        q: Option<String>,
    }

    async fn parse(uri: &str) -> Result<P, String> {
        let (mut parts, ()) = axum::http::Request::builder()
            .uri(uri)
            .body(())
            .expect("request")
            .into_parts();
        Params::<P>::from_request_parts(&mut parts, &())
            .await
            .map(|p| p.0)
            .map_err(|e| format!("{} {} {}", e.0.as_u16(), e.1, e.2))
    }

    #[tokio::test]
    async fn bad_parameters_are_named() {
        assert!(parse("/x?offset=5&q=a").await.is_ok());
        let e = parse("/x?offset=9223372036854775808")
            .await
            .err()
            .unwrap_or_default();
        assert!(
            e.starts_with("400 bad_query 查询参数offset无效 / query parameter offset:"),
            "{e}"
        );
        let e = parse("/x?offset=-1").await.err().unwrap_or_default();
        assert!(e.contains("parameter offset"), "{e}");
        let long = format!("/x?q={}", "a".repeat(MAX_QUERY_BYTES));
        let e = parse(&long).await.err().unwrap_or_default();
        assert!(e.contains("longer than 4096 bytes"), "{e}");
        assert!(time_ms("from", Some(i64::MAX)).is_err());
        assert!(time_ms("from", Some(-1)).is_err());
        assert_eq!(time_ms("to", Some(5)).ok(), Some(Some(5)));
    }
}
