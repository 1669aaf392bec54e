//! The document schemas. Each type is one Automerge document's root.

pub mod household;
pub mod issue;
pub mod key_persons;
pub mod photo;
pub mod visit;

pub use household::*;
pub use issue::*;
pub use key_persons::*;
pub use photo::*;
pub use visit::*;
