//! The request and response records of `org.apache.zookeeper.proto`.
//!
//! Each struct mirrors the jute record of the same name; field names are snake_case forms of the
//! jute field names. `ConnectRequest` and `ConnectResponse` are written by hand because their
//! trailing `readOnly` byte is optional on the wire.

use bytes::Bytes;

use crate::data::{Acl, ClientInfo, Stat};
use crate::error::DecodeError;
use crate::ids::{SessionId, Zxid};
use crate::jute::{Decode, Encode, Reader, WriteExt};
use crate::jute_record;

/// The first frame of a session: `ConnectRequest`, with the optional trailing `readOnly` byte.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    /// Always 0.
    pub protocol_version: i32,
    /// The last zxid the client has seen; the server refuses a client that is ahead of it.
    pub last_zxid_seen: Zxid,
    /// The requested session timeout in milliseconds.
    pub timeout_ms: i32,
    /// 0 for a new session, else the session to resume.
    pub session_id: SessionId,
    /// The session password (16 zero bytes for a new session).
    pub passwd: Bytes,
    /// `Some(can_be_read_only)` when the client sent the trailing byte; `None` for old clients
    /// (go-zookeeper) that send a 44-byte request.
    pub read_only: Option<bool>,
}

impl Encode for ConnectRequest {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i32(self.protocol_version);
        self.last_zxid_seen.encode(w);
        w.put_i32(self.timeout_ms);
        self.session_id.encode(w);
        self.passwd.encode(w);
        if let Some(ro) = self.read_only {
            w.put_bool(ro);
        }
    }
}

impl Decode for ConnectRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ConnectRequest {
            protocol_version: r.read_i32()?,
            last_zxid_seen: Zxid::decode(r)?,
            timeout_ms: r.read_i32()?,
            session_id: SessionId::decode(r)?,
            passwd: Bytes::decode(r)?,
            read_only: if r.is_empty() {
                None
            } else {
                Some(r.read_bool()?)
            },
        })
    }
}

/// The server's answer to a [`ConnectRequest`]: `ConnectResponse`, trailing `readOnly` optional.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    /// Always 0.
    pub protocol_version: i32,
    /// The negotiated session timeout in milliseconds; 0 means the session is expired or invalid.
    pub timeout_ms: i32,
    /// The session id.
    pub session_id: SessionId,
    /// The session password.
    pub passwd: Bytes,
    /// `Some(is_read_only_server)`, present only when the client sent the byte.
    pub read_only: Option<bool>,
}

impl Encode for ConnectResponse {
    fn encode(&self, w: &mut Vec<u8>) {
        w.put_i32(self.protocol_version);
        w.put_i32(self.timeout_ms);
        self.session_id.encode(w);
        self.passwd.encode(w);
        if let Some(ro) = self.read_only {
            w.put_bool(ro);
        }
    }
}

impl Decode for ConnectResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ConnectResponse {
            protocol_version: r.read_i32()?,
            timeout_ms: r.read_i32()?,
            session_id: SessionId::decode(r)?,
            passwd: Bytes::decode(r)?,
            read_only: if r.is_empty() {
                None
            } else {
                Some(r.read_bool()?)
            },
        })
    }
}

jute_record! {
    /// `RequestHeader { int xid; int type; }` (8 bytes).
    pub struct RequestHeader {
        pub xid: i32,
        pub op_type: i32,
    }
}

jute_record! {
    /// `ReplyHeader { int xid; long zxid; int err; }` (16 bytes).
    pub struct ReplyHeader {
        pub xid: i32,
        pub zxid: Zxid,
        pub err: i32,
    }
}

jute_record! {
    /// `MultiHeader { int type; boolean done; int err; }` (9 bytes).
    pub struct MultiHeader {
        pub op_type: i32,
        pub done: bool,
        pub err: i32,
    }
}

jute_record! {
    /// `AuthPacket { int type; ustring scheme; buffer auth; }`; type is always 0.
    pub struct AuthPacket {
        pub auth_type: i32,
        pub scheme: String,
        pub auth: Bytes,
    }
}

jute_record! {
    /// `SetWatches { long relativeZxid; vector<ustring> dataWatches, existWatches, childWatches; }`.
    pub struct SetWatches {
        pub relative_zxid: Zxid,
        pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>,
        pub child_watches: Vec<String>,
    }
}

jute_record! {
    /// `SetWatches2`: [`SetWatches`] plus persistent and persistent-recursive watches (3.6+).
    pub struct SetWatches2 {
        pub relative_zxid: Zxid,
        pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>,
        pub child_watches: Vec<String>,
        pub persistent_watches: Vec<String>,
        pub persistent_recursive_watches: Vec<String>,
    }
}

jute_record! {
    /// `GetDataRequest { ustring path; boolean watch; }`.
    pub struct GetDataRequest {
        pub path: String,
        pub watch: bool,
    }
}

jute_record! {
    /// `SetDataRequest { ustring path; buffer data; int version; }`.
    pub struct SetDataRequest {
        pub path: String,
        pub data: Option<Bytes>,
        pub version: i32,
    }
}

jute_record! {
    /// `ReconfigRequest { ustring joiningServers, leavingServers, newMembers; long curConfigId; }`.
    pub struct ReconfigRequest {
        pub joining_servers: Option<String>,
        pub leaving_servers: Option<String>,
        pub new_members: Option<String>,
        pub cur_config_id: i64,
    }
}

jute_record! {
    /// `SetDataResponse { Stat stat; }`.
    pub struct SetDataResponse {
        pub stat: Stat,
    }
}

jute_record! {
    /// `GetSASLRequest { buffer token; }`.
    pub struct GetSaslRequest {
        pub token: Option<Bytes>,
    }
}

jute_record! {
    /// `SetSASLResponse { buffer token; }`.
    pub struct SetSaslResponse {
        pub token: Option<Bytes>,
    }
}

jute_record! {
    /// `CreateRequest { ustring path; buffer data; vector<ACL> acl; int flags; }`, used by
    /// create (1), create2 (15) and createContainer (19).
    pub struct CreateRequest {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub flags: i32,
    }
}

jute_record! {
    /// `CreateTTLRequest`: [`CreateRequest`] plus `long ttl` (createTTL, 21).
    pub struct CreateTtlRequest {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub flags: i32,
        pub ttl: i64,
    }
}

jute_record! {
    /// `DeleteRequest { ustring path; int version; }`.
    pub struct DeleteRequest {
        pub path: String,
        pub version: i32,
    }
}

jute_record! {
    /// `GetChildrenRequest { ustring path; boolean watch; }`.
    pub struct GetChildrenRequest {
        pub path: String,
        pub watch: bool,
    }
}

jute_record! {
    /// `GetChildren2Request { ustring path; boolean watch; }`.
    pub struct GetChildren2Request {
        pub path: String,
        pub watch: bool,
    }
}

jute_record! {
    /// `GetAllChildrenNumberRequest { ustring path; }`.
    pub struct GetAllChildrenNumberRequest {
        pub path: String,
    }
}

jute_record! {
    /// `CheckVersionRequest { ustring path; int version; }`.
    pub struct CheckVersionRequest {
        pub path: String,
        pub version: i32,
    }
}

jute_record! {
    /// `SyncRequest { ustring path; }`.
    pub struct SyncRequest {
        pub path: String,
    }
}

jute_record! {
    /// `SyncResponse { ustring path; }`.
    pub struct SyncResponse {
        pub path: String,
    }
}

jute_record! {
    /// `GetACLRequest { ustring path; }`.
    pub struct GetAclRequest {
        pub path: String,
    }
}

jute_record! {
    /// `SetACLRequest { ustring path; vector<ACL> acl; int version; }`.
    pub struct SetAclRequest {
        pub path: String,
        pub acl: Vec<Acl>,
        pub version: i32,
    }
}

jute_record! {
    /// `SetACLResponse { Stat stat; }`.
    pub struct SetAclResponse {
        pub stat: Stat,
    }
}

jute_record! {
    /// `AddWatchRequest { ustring path; int mode; }`.
    pub struct AddWatchRequest {
        pub path: String,
        pub mode: i32,
    }
}

jute_record! {
    /// `WatcherEvent { int type; int state; ustring path; }`: the body of a notification.
    pub struct WatcherEvent {
        pub event_type: i32,
        pub state: i32,
        pub path: String,
    }
}

jute_record! {
    /// `ErrorResponse { int err; }`: the addWatch success body and multi error results.
    pub struct ErrorResponse {
        pub err: i32,
    }
}

jute_record! {
    /// `CreateResponse { ustring path; }`.
    pub struct CreateResponse {
        pub path: String,
    }
}

jute_record! {
    /// `Create2Response { ustring path; Stat stat; }`.
    pub struct Create2Response {
        pub path: String,
        pub stat: Stat,
    }
}

jute_record! {
    /// `ExistsRequest { ustring path; boolean watch; }`.
    pub struct ExistsRequest {
        pub path: String,
        pub watch: bool,
    }
}

jute_record! {
    /// `ExistsResponse { Stat stat; }`.
    pub struct ExistsResponse {
        pub stat: Stat,
    }
}

jute_record! {
    /// `GetDataResponse { buffer data; Stat stat; }`.
    pub struct GetDataResponse {
        pub data: Option<Bytes>,
        pub stat: Stat,
    }
}

jute_record! {
    /// `GetChildrenResponse { vector<ustring> children; }`.
    pub struct GetChildrenResponse {
        pub children: Vec<String>,
    }
}

jute_record! {
    /// `GetAllChildrenNumberResponse { int totalNumber; }`.
    pub struct GetAllChildrenNumberResponse {
        pub total_number: i32,
    }
}

jute_record! {
    /// `GetChildren2Response { vector<ustring> children; Stat stat; }`.
    pub struct GetChildren2Response {
        pub children: Vec<String>,
        pub stat: Stat,
    }
}

jute_record! {
    /// `GetACLResponse { vector<ACL> acl; Stat stat; }`.
    pub struct GetAclResponse {
        pub acl: Vec<Acl>,
        pub stat: Stat,
    }
}

jute_record! {
    /// `CheckWatchesRequest { ustring path; int type; }`.
    pub struct CheckWatchesRequest {
        pub path: String,
        pub watcher_type: i32,
    }
}

jute_record! {
    /// `RemoveWatchesRequest { ustring path; int type; }`.
    pub struct RemoveWatchesRequest {
        pub path: String,
        pub watcher_type: i32,
    }
}

jute_record! {
    /// `GetEphemeralsRequest { ustring prefixPath; }`.
    pub struct GetEphemeralsRequest {
        pub prefix_path: Option<String>,
    }
}

jute_record! {
    /// `GetEphemeralsResponse { vector<ustring> ephemerals; }`.
    pub struct GetEphemeralsResponse {
        pub ephemerals: Vec<String>,
    }
}

jute_record! {
    /// `WhoAmIResponse { vector<ClientInfo> clientInfo; }`.
    pub struct WhoAmIResponse {
        pub client_info: Vec<ClientInfo>,
    }
}

jute_record! {
    /// `DeleteContainerRequest { buffer path; }` (not in the .jute file; wire-identical to a
    /// ustring).
    pub struct DeleteContainerRequest {
        pub path: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_request_with_and_without_read_only() {
        let mut req = ConnectRequest {
            timeout_ms: 30000,
            passwd: Bytes::from_static(&[0; 16]),
            read_only: Some(false),
            ..Default::default()
        };
        let bytes = req.to_bytes();
        assert_eq!(bytes.len(), 45);
        assert_eq!(ConnectRequest::from_bytes(&bytes).unwrap(), req);
        req.read_only = None;
        let bytes = req.to_bytes();
        assert_eq!(bytes.len(), 44);
        assert_eq!(ConnectRequest::from_bytes(&bytes).unwrap(), req);
    }

    #[test]
    fn header_sizes() {
        assert_eq!(RequestHeader::default().to_bytes().len(), 8);
        assert_eq!(ReplyHeader::default().to_bytes().len(), 16);
        assert_eq!(MultiHeader::default().to_bytes().len(), 9);
        let resp = ConnectResponse {
            passwd: Bytes::from_static(&[0; 16]),
            read_only: Some(false),
            ..Default::default()
        };
        assert_eq!(resp.to_bytes().len(), 37);
    }
}
