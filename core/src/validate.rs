//! Validation of documents and of single fields, with errors that name the field path and
//! the reason in plain words. Nothing invalid is written: callers validate the value an
//! edit would produce before committing it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a field is wrong: a stable code the UI can translate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    Required,
    BadLength,
    BadChars,
    BadCheckDigit,
    BadDate,
    BirthDateMismatch,
    SexMismatch,
    BadPhone,
    BadEnum,
    BadCode,
    OutOfRange,
    UnknownTag,
    NotFound,
    Duplicate,
}

/// One wrong field: where (`members.<id>.id_number`), what kind of wrong, and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub path: String,
    pub code: ErrorCode,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every wrong field of a value; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "invalid: {}", parts.join("; "))
    }
}
