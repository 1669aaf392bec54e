//! Identifiers: documents, users, devices, and the Automerge actor that ties a change to
//! the user and device that made it.

use automerge::ActorId;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// What a document holds. Each kind has its own schema (see [`crate::model`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DocKind {
    Household,
    Visit,
    Issue,
    /// Key-person data (重点人员) of one household: synced only to roles that may hold it.
    KeyPersons,
}

impl DocKind {
    pub const ALL: [DocKind; 4] = [
        DocKind::Household,
        DocKind::Visit,
        DocKind::Issue,
        DocKind::KeyPersons,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Household => "household",
            DocKind::Visit => "visit",
            DocKind::Issue => "issue",
            DocKind::KeyPersons => "key_persons",
        }
    }

    pub fn parse(s: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A document's id. UUID v7 so that ids sort roughly by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocId(pub Uuid);

impl DocId {
    pub fn new_v7() -> DocId {
        DocId(Uuid::now_v7())
    }
    pub fn parse(s: &str) -> Option<DocId> {
        Uuid::parse_str(s).ok().map(DocId)
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Who made a change: the user and the device they made it on, offline or not.
///
/// The Automerge actor id of every change is these two UUIDs side by side (32 bytes), so
/// authorship travels inside the change itself and never depends on who syncs it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Author {
    pub user: Uuid,
    pub device: Uuid,
}

impl Author {
    pub fn new(user: Uuid, device: Uuid) -> Author {
        Author { user, device }
    }

    pub fn actor_id(&self) -> ActorId {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(self.user.as_bytes());
        bytes.extend_from_slice(self.device.as_bytes());
        ActorId::from(bytes)
    }

    /// The author encoded in an actor id, or `None` for an actor not made by [`Author::actor_id`].
    pub fn from_actor(actor: &ActorId) -> Option<Author> {
        let bytes = actor.to_bytes();
        if bytes.len() != 32 {
            return None;
        }
        let user = Uuid::from_slice(&bytes[..16]).ok()?;
        let device = Uuid::from_slice(&bytes[16..]).ok()?;
        Some(Author { user, device })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_round_trips_user_and_device() {
        let a = Author::new(Uuid::now_v7(), Uuid::new_v4());
        assert_eq!(Author::from_actor(&a.actor_id()), Some(a));
        assert_eq!(Author::from_actor(&ActorId::from(vec![1u8, 2, 3])), None);
    }

    #[test]
    fn doc_kind_parses_its_own_names() {
        for k in DocKind::ALL {
            assert_eq!(DocKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(DocKind::parse("person"), None);
    }
}
