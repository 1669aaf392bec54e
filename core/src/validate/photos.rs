//! Photo references: at most [`MAX_PHOTOS`] per visit, issue and issue event, each naming
//! its blob by a well-formed hash and claiming sizes a prepared photo can have. A photo's
//! bytes are checked against its hash where they arrive (the server's blob store).

use super::{ErrorCode, FieldError};
use crate::model::{
    is_sha256_hex, PhotoRef, MAX_PHOTOS, MAX_PHOTO_BYTES, MAX_PHOTO_SIDE, PHOTO_MIMES,
};
use std::collections::BTreeMap;

/// Errors of the photo map at `path` (`photos`, `events.<id>.photos`).
pub(super) fn check(path: &str, photos: &BTreeMap<String, PhotoRef>, out: &mut Vec<FieldError>) {
    if photos.len() > MAX_PHOTOS {
        out.push(FieldError::new(
            path,
            ErrorCode::BadLength,
            format!("照片不能超过{MAX_PHOTOS}张 / at most {MAX_PHOTOS} photos"),
        ));
    }
    for (key, p) in photos.iter().take(MAX_PHOTOS + 1) {
        let at = |field: &str| format!("{path}.{key}.{field}");
        let mut bad = |field: &str, code, zh: &str, en: &str| {
            out.push(FieldError::new(at(field), code, format!("{zh} / {en}")));
        };
        if key.is_empty() || key.len() > super::MAX_ID {
            bad("", ErrorCode::BadLength, "照片编号无效", "bad photo id");
        }
        if !is_sha256_hex(&p.sha256) {
            bad(
                "sha256",
                ErrorCode::BadChars,
                "照片哈希应为64位小写十六进制",
                "photo hash must be 64 lowercase hex digits",
            );
        }
        if !(1..=MAX_PHOTO_BYTES).contains(&p.bytes) {
            let (zh, en) = (
                format!("照片大小应在1到{MAX_PHOTO_BYTES}字节之间"),
                format!("photo size must be 1 to {MAX_PHOTO_BYTES} bytes"),
            );
            bad("bytes", ErrorCode::OutOfRange, &zh, &en);
        }
        for (field, v) in [("width", p.width), ("height", p.height)] {
            if !(1..=MAX_PHOTO_SIDE).contains(&v) {
                let (zh, en) = (
                    format!("照片像素应在1到{MAX_PHOTO_SIDE}之间"),
                    format!("photo {field} must be 1 to {MAX_PHOTO_SIDE} pixels"),
                );
                bad(field, ErrorCode::OutOfRange, &zh, &en);
            }
        }
        if !PHOTO_MIMES.contains(&p.mime.as_str()) {
            bad(
                "mime",
                ErrorCode::BadEnum,
                "照片类型应为JPEG或WebP",
                "photo type must be image/jpeg or image/webp",
            );
        }
        if p.taken_at < 0 {
            bad(
                "taken_at",
                ErrorCode::OutOfRange,
                "拍摄时间无效",
                "bad time taken",
            );
        }
        if let Some(g) = &p.gps {
            if !(-90.0..=90.0).contains(&g.lat) || !(-180.0..=180.0).contains(&g.lon) {
                bad(
                    "gps",
                    ErrorCode::OutOfRange,
                    "照片位置无效",
                    "bad photo location",
                );
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid reference (tests of other modules use it too).
    pub(crate) fn photo(n: u8) -> PhotoRef {
        PhotoRef {
            sha256: format!("{n:02x}").repeat(32),
            bytes: 200_000,
            width: 1600,
            height: 1200,
            mime: "image/jpeg".into(),
            taken_at: 1_717_200_000_000,
            gps: None,
        }
    }

    fn errors(photos: &BTreeMap<String, PhotoRef>) -> Vec<(String, ErrorCode)> {
        let mut out = Vec::new();
        check("photos", photos, &mut out);
        out.into_iter().map(|e| (e.path, e.code)).collect()
    }

    #[test]
    fn nine_good_photos_pass_and_a_tenth_is_refused() {
        let mut m: BTreeMap<String, PhotoRef> =
            (0..9).map(|n| (format!("p{n}"), photo(n))).collect();
        assert_eq!(errors(&m), []);
        m.insert("p9".into(), photo(9));
        assert_eq!(errors(&m), [("photos".into(), ErrorCode::BadLength)]);
    }

    #[test]
    fn each_bad_field_is_named() {
        let mut p = photo(1);
        p.sha256 = "../x".into();
        p.bytes = MAX_PHOTO_BYTES + 1;
        p.width = 0;
        p.mime = "image/heic".into();
        p.taken_at = -1;
        p.gps = Some(crate::model::Gps {
            lat: 91.0,
            lon: 0.0,
        });
        let got = errors(&[("p".to_string(), p)].into());
        let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "photos.p.sha256",
                "photos.p.bytes",
                "photos.p.width",
                "photos.p.mime",
                "photos.p.taken_at",
                "photos.p.gps"
            ]
        );
    }
}
