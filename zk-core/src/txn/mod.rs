//! The transaction records of `org.apache.zookeeper.txn`, the persistence file header, and
//! whole transactions: [`TxnBody`] (the record a header's type selects) and [`TxnEntry`] (header,
//! record and digest, the bytes of a log record and of a quorum PROPOSAL).
//!
//! These are what Apache ZooKeeper writes to its transaction log and replicates between servers;
//! they live here, beside the client records, because they share the jute codec and its fuzzing.
//!
//! | item | Apache ZooKeeper | what |
//! |---|---|---|
//! | [`TxnHeader`], [`CreateTxn`], ... | `zookeeper.jute` records | one record each |
//! | [`TxnBody`] | `SerializeUtils.deserializeTxn`'s switch | the record by header type, multi |
//! | [`TxnEntry`] | `TxnLogEntry`, `Util.marshallTxnEntry` | header + record + digest |

mod body;
mod entry;

pub use body::TxnBody;
pub use entry::{TxnEntry, DIGEST_LEN};

use bytes::Bytes;

use crate::data::Acl;
use crate::ids::{SessionId, Zxid};
use crate::jute_record;

jute_record! {
    /// `TxnHeader { long clientId; int cxid; long zxid; long time; int type; }`.
    pub struct TxnHeader {
        pub client_id: SessionId,
        pub cxid: i32,
        pub zxid: Zxid,
        pub time: i64,
        pub txn_type: i32,
    }
}

jute_record! {
    /// `TxnDigest { int version; long treeDigest; }`: the 3.6+ digest appended to log entries.
    pub struct TxnDigest {
        pub version: i32,
        pub tree_digest: i64,
    }
}

jute_record! {
    /// `CreateTxn { ustring path; buffer data; vector<ACL> acl; boolean ephemeral;
    /// int parentCVersion; }`.
    pub struct CreateTxn {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub ephemeral: bool,
        pub parent_cversion: i32,
    }
}

jute_record! {
    /// `CreateTTLTxn { ustring path; buffer data; vector<ACL> acl; int parentCVersion; long ttl; }`.
    pub struct CreateTtlTxn {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub parent_cversion: i32,
        pub ttl: i64,
    }
}

jute_record! {
    /// `CreateContainerTxn { ustring path; buffer data; vector<ACL> acl; int parentCVersion; }`.
    pub struct CreateContainerTxn {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub parent_cversion: i32,
    }
}

jute_record! {
    /// `DeleteTxn { ustring path; }`.
    pub struct DeleteTxn {
        pub path: String,
    }
}

jute_record! {
    /// `SetDataTxn { ustring path; buffer data; int version; }`.
    pub struct SetDataTxn {
        pub path: String,
        pub data: Option<Bytes>,
        pub version: i32,
    }
}

jute_record! {
    /// `CheckVersionTxn { ustring path; int version; }`.
    pub struct CheckVersionTxn {
        pub path: String,
        pub version: i32,
    }
}

jute_record! {
    /// `SetACLTxn { ustring path; vector<ACL> acl; int version; }`.
    pub struct SetAclTxn {
        pub path: String,
        pub acl: Vec<Acl>,
        pub version: i32,
    }
}

jute_record! {
    /// `CreateSessionTxn { int timeOut; }`.
    pub struct CreateSessionTxn {
        pub timeout_ms: i32,
    }
}

jute_record! {
    /// `CloseSessionTxn { vector<ustring> paths2Delete; }`.
    pub struct CloseSessionTxn {
        pub paths_to_delete: Vec<String>,
    }
}

jute_record! {
    /// `ErrorTxn { int err; }`.
    pub struct ErrorTxn {
        pub err: i32,
    }
}

jute_record! {
    /// `Txn { int type; buffer data; }`: one sub-transaction of a multi.
    pub struct Txn {
        pub txn_type: i32,
        pub data: Bytes,
    }
}

jute_record! {
    /// `MultiTxn { vector<Txn> txns; }`.
    pub struct MultiTxn {
        pub txns: Vec<Txn>,
    }
}

jute_record! {
    /// `FileHeader { int magic; int version; long dbid; }`: the head of log and snapshot files.
    pub struct FileHeader {
        pub magic: i32,
        pub version: i32,
        pub dbid: i64,
    }
}

impl FileHeader {
    /// The magic of transaction logs: "ZKLG".
    pub const LOG_MAGIC: i32 = i32::from_be_bytes(*b"ZKLG");
    /// The magic of snapshots: "ZKSN".
    pub const SNAP_MAGIC: i32 = i32::from_be_bytes(*b"ZKSN");
    /// The file format version Apache ZooKeeper writes.
    pub const VERSION: i32 = 2;
}
