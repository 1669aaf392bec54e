//! Validation of key-person documents, and the rule that households carry none.

use super::{ErrorCode, FieldError, ValidationErrors};
use crate::model::{is_restricted_tag, Household, KeyPersons};

/// Validates a key-person document: ids present, every tag a known restricted tag.
pub fn validate_key_persons(k: &KeyPersons) -> Result<(), ValidationErrors> {
    let mut errors = Vec::new();
    for (path, value, zh, en) in [
        ("id", &k.id, "编号", "id"),
        ("household_id", &k.household_id, "住户", "household"),
        ("grid_id", &k.grid_id, "网格", "grid"),
    ] {
        if value.trim().is_empty() {
            let msg = format!("{zh}不能为空 / {en} is required");
            errors.push(FieldError::new(path, ErrorCode::Required, msg));
        }
    }
    for (person, tags) in &k.persons {
        for tag in tags.keys().filter(|t| !is_restricted_tag(t)) {
            errors.push(FieldError::new(
                format!("persons.{person}.{tag}"),
                ErrorCode::UnknownTag,
                format!("未知的重点人员标签{tag} / unknown key-person tag {tag}"),
            ));
        }
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(ValidationErrors(errors)),
    }
}

/// Key-person tags are kept in their own document ([`KeyPersons`]), never in the
/// household, which reaches every device of the grid.
pub fn check_no_restricted_tags(h: &Household) -> Result<(), ValidationErrors> {
    let errors: Vec<FieldError> = h
        .members
        .iter()
        .filter(|(_, p)| !p.restricted_tags.is_empty())
        .map(|(id, _)| {
            FieldError::new(
                format!("members.{id}.restricted_tags"),
                ErrorCode::Restricted,
                "重点人员标签须记在重点人员档案中，不能记在住户里 / key-person tags belong in \
                 the key-person record, not in the household",
            )
        })
        .collect();
    match errors.is_empty() {
        true => Ok(()),
        false => Err(ValidationErrors(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn key_person_documents_hold_only_known_restricted_tags() {
        let mut k = KeyPersons {
            id: "k".into(),
            household_id: "h".into(),
            grid_id: "g".into(),
            persons: BTreeMap::from([(
                "p".to_string(),
                BTreeMap::from([("drug_rehab".to_string(), true)]),
            )]),
        };
        assert_eq!(validate_key_persons(&k), Ok(()));
        k.persons
            .get_mut("p")
            .unwrap()
            .insert("elderly_alone".into(), true);
        k.grid_id.clear();
        let e = validate_key_persons(&k).unwrap_err().0;
        let codes: Vec<_> = e.iter().map(|f| (f.path.as_str(), f.code)).collect();
        assert_eq!(
            codes,
            vec![
                ("grid_id", ErrorCode::Required),
                ("persons.p.elderly_alone", ErrorCode::UnknownTag)
            ]
        );
    }
}
