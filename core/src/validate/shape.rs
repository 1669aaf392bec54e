//! A document holds only the fields of its schema.
//!
//! Typed reads ignore keys they do not know, so without this check a device could store
//! any amount of data under a made-up key (`{"x": <20 MB>}`) that validation never sees,
//! and every device of the grid would download it. The rule: every key of the document's
//! JSON image is a key of its typed value, serialised again.

use super::{ErrorCode, FieldError, ValidationErrors};
use serde::Serialize;
use serde_json::Value;

/// At most this many unknown keys are reported (the first ones in key order).
const MAX_REPORTED: usize = 10;

/// Errors for every key of `image` that `typed` (the same document read as its schema
/// type) does not have, by path.
pub fn check_known_fields<T: Serialize>(image: &Value, typed: &T) -> Result<(), ValidationErrors> {
    let Ok(schema) = serde_json::to_value(typed) else {
        return Ok(());
    };
    let mut errors = Vec::new();
    unknown(image, &schema, "", &mut errors);
    match errors.is_empty() {
        true => Ok(()),
        false => Err(ValidationErrors(errors)),
    }
}

fn unknown(image: &Value, schema: &Value, path: &str, out: &mut Vec<FieldError>) {
    let (Value::Object(image), Value::Object(schema)) = (image, schema) else {
        return;
    };
    for (key, value) in image {
        if out.len() >= MAX_REPORTED {
            return;
        }
        let here = match path {
            "" => key.clone(),
            _ => format!("{path}.{key}"),
        };
        match schema.get(key) {
            Some(known) => unknown(value, known, &here, out),
            None => out.push(FieldError::new(
                here.clone(),
                ErrorCode::UnknownField,
                format!("{here}不是此类文档的字段 / {here} is not a field of this document"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{generate, DemoParams};
    use crate::{DocKind, Document};

    #[test]
    fn every_demo_document_has_only_schema_fields() {
        let d = generate(&DemoParams::single_grid(60, 7, 1_750_000_000_000));
        let author = crate::Author::new(uuid::Uuid::nil(), uuid::Uuid::nil());
        for h in d.households.iter().take(50) {
            let id = crate::DocId(h.id.parse().expect("uuid"));
            let doc = Document::create(DocKind::Household, id, h, author, 0).expect("doc");
            assert_eq!(check_known_fields(&doc.to_json(), h), Ok(()));
        }
        for v in d.visits.iter().take(50) {
            let id = crate::DocId(v.id.parse().expect("uuid"));
            let doc = Document::create(DocKind::Visit, id, v, author, 0).expect("doc");
            assert_eq!(check_known_fields(&doc.to_json(), v), Ok(()));
        }
        for i in d.issues.iter().take(50) {
            let id = crate::DocId(i.id.parse().expect("uuid"));
            let doc = Document::create(DocKind::Issue, id, i, author, 0).expect("doc");
            assert_eq!(check_known_fields(&doc.to_json(), i), Ok(()));
        }
    }

    #[test]
    fn a_made_up_key_is_refused_by_its_path() {
        let typed = serde_json::json!({"notes": "", "members": {"p1": {"name": "张三"}}});
        let image = serde_json::json!({
            "notes": "", "x": "junk", "members": {"p1": {"name": "张三", "y": 1}}
        });
        let errs = check_known_fields(&image, &typed).expect_err("unknown keys");
        let paths: Vec<&str> = errs.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["members.p1.y", "x"]);
        assert!(errs.0.iter().all(|e| e.code == ErrorCode::UnknownField));
    }
}
