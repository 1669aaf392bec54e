//! The visit record (走访记录).
//!
//! Storage decision: every visit is its own small document, written once by the worker
//! who made it. A log of visits therefore appends without conflicts (two workers never
//! write the same document) and no document grows without bound: a household's visit
//! history is the set of visit documents that name it, found through the projection.
//! The only later writes are the supervisor's review (`review`, a map of its own).

use super::household::Gps;
use super::photo::PhotoRef;
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
pub enum VisitMode {
    /// 入户
    InPerson,
    /// 电话
    Phone,
    /// 微信
    Messaging,
    /// 代办
    OnBehalf,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
pub enum ReviewStatus {
    Reviewed,
    Flagged,
}

/// A supervisor's review of a visit; reaches the worker's app through sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct VisitReview {
    pub status: ReviewStatus,
    pub comment: String,
    pub by_user: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Visit {
    pub id: String,
    pub household_id: String,
    pub grid_id: String,
    /// The worker (user id) who visited; also in the change's actor.
    pub worker_id: String,
    pub device_id: String,
    /// When the visit happened, ms since the epoch (UTC).
    pub at: i64,
    pub mode: VisitMode,
    /// 走访情况
    pub findings: String,
    /// 诉求/需求
    pub needs: String,
    /// ISO date of the follow-up, if one is due.
    pub follow_up: Option<String>,
    /// Issue id → true.
    pub linked_issues: BTreeMap<String, bool>,
    /// Photo id → reference.
    pub photos: BTreeMap<String, PhotoRef>,
    pub gps: Option<Gps>,
    pub review: Option<VisitReview>,
}
