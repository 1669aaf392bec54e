//! The older shapes of the messages, still read and written. A version-1 device is
//! answered in version 1's shape (no heads, no projection rows); a response of a
//! version-1 server is read; requests from devices older than the handover are read.

use super::{
    decompress_limited, encode, encode_at, parse, CodecError, DocChanges, DocData, DocHeads,
    GridCompare, GridCursor, GridDigest, PulledDoc, PushResult, SyncRequest, SyncResponse,
};
use crate::ids::DocKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// zstd level of a version-2 response: a first download's pages of snapshots and rows
/// share their shape, and a higher level than the default finds more of it
/// (docs/sync-protocol.md). 7, not 9: the same bytes within 0.2% for about a third less
/// compression time, which was the largest part of a first download's server work.
pub const RESPONSE_ZSTD_LEVEL: i32 = 7;

/// A request as devices before the handover sent it: [`SyncRequest`] without `handover`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct SyncRequestV1 {
    pub protocol: u16,
    pub cursors: Vec<GridCursor>,
    pub push: Vec<DocChanges>,
    pub max_pull_bytes: u32,
    pub want_digest: bool,
    pub compare: Vec<GridCompare>,
}

/// Version 1's pulled document: no heads, no rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct PulledDocV1 {
    pub doc_id: Uuid,
    pub kind: DocKind,
    pub grid_id: String,
    pub data: DocData,
}

/// Version 1's response, with the scope-change fields it gained late.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct SyncResponseV1 {
    pub protocol: u16,
    pub pushed: Vec<PushResult>,
    pub pulled: Vec<PulledDocV1>,
    pub cursors: Vec<GridCursor>,
    pub more: bool,
    pub full_pull_total: u64,
    pub digests: Vec<GridDigest>,
    pub server_heads: Vec<DocHeads>,
    pub scope_changed: Option<Vec<String>>,
    pub handed_over: Vec<PushResult>,
}

/// Version 1's response before the handover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct SyncResponseV1Early {
    pub protocol: u16,
    pub pushed: Vec<PushResult>,
    pub pulled: Vec<PulledDocV1>,
    pub cursors: Vec<GridCursor>,
    pub more: bool,
    pub full_pull_total: u64,
    pub digests: Vec<GridDigest>,
    pub server_heads: Vec<DocHeads>,
}

fn from_v1(p: PulledDocV1) -> PulledDoc {
    PulledDoc {
        doc_id: p.doc_id,
        kind: p.kind,
        grid_id: p.grid_id,
        data: p.data,
        heads: vec![],
        rows: None,
    }
}

/// Encode a response in the shape of the request's `version`: version 1 gets its pulled
/// documents without heads and rows (their snapshots load as before), versions 2 and 3
/// all, version 4 all of it column by column.
pub fn encode_response(resp: &SyncResponse, version: u16) -> Vec<u8> {
    if version >= 4 {
        return encode_at(&super::v4::to_v4(resp, version), RESPONSE_ZSTD_LEVEL);
    }
    if version >= 2 {
        // The version the message names is the one its shape has (the server answers in
        // the request's version, so this copy is only for callers that did not).
        if resp.protocol != version {
            let mut resp = resp.clone();
            resp.protocol = version;
            return encode_at(&resp, RESPONSE_ZSTD_LEVEL);
        }
        return encode_at(resp, RESPONSE_ZSTD_LEVEL);
    }
    let old = SyncResponseV1 {
        protocol: version,
        pushed: resp.pushed.clone(),
        pulled: resp
            .pulled
            .iter()
            .map(|p| PulledDocV1 {
                doc_id: p.doc_id,
                kind: p.kind,
                grid_id: p.grid_id.clone(),
                data: p.data.clone(),
            })
            .collect(),
        cursors: resp.cursors.clone(),
        more: resp.more,
        full_pull_total: resp.full_pull_total,
        digests: resp.digests.clone(),
        server_heads: resp.server_heads.clone(),
        scope_changed: resp.scope_changed.clone(),
        handed_over: resp.handed_over.clone(),
    };
    encode(&old)
}

/// A request of any version this build reads (version 1 and 2 requests have one shape;
/// devices before the handover sent one field less).
pub(super) fn decode_request(body: &[u8], limit: usize) -> Result<SyncRequest, CodecError> {
    let raw = decompress_limited(body, limit)?;
    match parse::<SyncRequest>(&raw) {
        Err(CodecError::Decode(reason)) => match parse::<SyncRequestV1>(&raw) {
            Ok(v1) => Ok(SyncRequest {
                protocol: v1.protocol,
                cursors: v1.cursors,
                push: v1.push,
                max_pull_bytes: v1.max_pull_bytes,
                want_digest: v1.want_digest,
                compare: v1.compare,
                handover: vec![],
            }),
            Err(_) => Err(CodecError::Decode(reason)),
        },
        other => other,
    }
}

/// A response of a version-2 server, or of a version-1 server (with or without the
/// handover fields), read as version 2 (no heads, no rows).
pub(super) fn decode_response(body: &[u8], limit: usize) -> Result<SyncResponse, CodecError> {
    let raw = decompress_limited(body, limit)?;
    let version = postcard::take_from_bytes::<u16>(&raw)
        .map(|(v, _)| v)
        .map_err(|e| CodecError::Decode(e.to_string()))?;
    if version >= 4 {
        return super::v4::from_v4(parse(&raw)?);
    }
    if version >= 2 {
        return parse::<SyncResponse>(&raw);
    }
    let v1 = match parse::<SyncResponseV1>(&raw) {
        Ok(v1) => v1,
        Err(CodecError::Decode(reason)) => match parse::<SyncResponseV1Early>(&raw) {
            Ok(e) => SyncResponseV1 {
                protocol: e.protocol,
                pushed: e.pushed,
                pulled: e.pulled,
                cursors: e.cursors,
                more: e.more,
                full_pull_total: e.full_pull_total,
                digests: e.digests,
                server_heads: e.server_heads,
                scope_changed: None,
                handed_over: vec![],
            },
            Err(_) => return Err(CodecError::Decode(reason)),
        },
        Err(e) => return Err(e),
    };
    Ok(SyncResponse {
        protocol: v1.protocol,
        pushed: v1.pushed,
        pulled: v1.pulled.into_iter().map(from_v1).collect(),
        cursors: v1.cursors,
        more: v1.more,
        full_pull_total: v1.full_pull_total,
        digests: v1.digests,
        server_heads: v1.server_heads,
        scope_changed: v1.scope_changed,
        handed_over: v1.handed_over,
        projection: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{decode, Cell, TableRows, PROTOCOL_VERSION};
    use super::*;
    use serde_bytes::ByteBuf;

    fn request() -> SyncRequest {
        SyncRequest {
            protocol: 1,
            cursors: vec![GridCursor::fresh("g1")],
            push: vec![DocChanges {
                doc_id: Uuid::from_u128(7),
                kind: DocKind::Household,
                changes: vec![ByteBuf::from(vec![1, 2, 3])],
            }],
            max_pull_bytes: 1 << 20,
            want_digest: false,
            compare: vec![],
            handover: vec![],
        }
    }

    fn response() -> SyncResponse {
        SyncResponse {
            protocol: PROTOCOL_VERSION,
            pushed: vec![],
            pulled: vec![PulledDoc {
                doc_id: Uuid::from_u128(9),
                kind: DocKind::Household,
                grid_id: "g1".into(),
                data: DocData::Snapshot(ByteBuf::from(vec![4, 5])),
                heads: vec![[7; 32]],
                rows: Some(vec![TableRows {
                    table: "households".into(),
                    rows: vec![vec![Cell::Text("x".into()), Cell::Real(1.5), Cell::Null]],
                }]),
            }],
            cursors: vec![GridCursor::fresh("g1")],
            more: false,
            full_pull_total: 1,
            digests: vec![],
            server_heads: vec![],
            scope_changed: None,
            handed_over: vec![],
            projection: "3".into(),
        }
    }

    #[test]
    fn older_requests_still_decode() {
        let mut req = request();
        let early = SyncRequestV1 {
            protocol: req.protocol,
            cursors: req.cursors.clone(),
            push: req.push.clone(),
            max_pull_bytes: req.max_pull_bytes,
            want_digest: req.want_digest,
            compare: vec![],
        };
        assert!(decode::<SyncRequest>(&encode(&early), 1 << 20).is_err());
        assert_eq!(decode_request(&encode(&early), 1 << 20), Ok(req.clone()));
        req.handover = req.push.clone();
        assert_eq!(decode_request(&encode(&req), 1 << 20), Ok(req));
        assert!(decode_request(b"garbage", 1 << 20).is_err());
    }

    #[test]
    fn a_version_1_device_gets_version_1_shape() {
        let resp = response();
        let body = encode_response(&resp, 1);
        // What a version-1 device reads: its own shape, the snapshot unchanged.
        let old: SyncResponseV1 = decode(&body, 1 << 20).expect("v1 shape");
        assert_eq!(old.protocol, 1);
        assert_eq!(old.pulled[0].data, resp.pulled[0].data);
        assert!(decode::<SyncResponse>(&body, 1 << 20).is_err());
        // A version-2 device reading a version-1 server: no heads, no rows.
        let back = decode_response(&body, 1 << 20).expect("reads v1");
        assert_eq!(back.pulled[0].rows, None);
        assert!(back.pulled[0].heads.is_empty());
        assert_eq!(back.cursors, resp.cursors);
        // Version 2 round-trips whole, in version 2's shape.
        let back = decode_response(&encode_response(&resp, 2), 1 << 20).expect("v2");
        assert_eq!((back.protocol, back.pulled), (2, resp.pulled));
    }

    #[test]
    fn an_early_version_1_response_still_decodes() {
        let old = SyncResponseV1Early {
            protocol: 1,
            pushed: vec![],
            pulled: vec![],
            cursors: vec![GridCursor::fresh("g1")],
            more: false,
            full_pull_total: 0,
            digests: vec![],
            server_heads: vec![],
        };
        let back = decode_response(&encode(&old), 1 << 20).expect("old response");
        assert_eq!((back.scope_changed, back.cursors), (None, old.cursors));
    }
}
