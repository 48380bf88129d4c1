//! Zab's typed messages on Apache ZooKeeper's wire: [`Zab`] to and from zk-core's
//! `QuorumPacket`, the inline SNAP stream to and from a [`DataTree`], and election
//! notifications to and from zk-core's record. No IO: the tokio driver moves the bytes.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use zk_core::jute::Encode;
use zk_core::path;
use zk_core::quorum::{
    self as wire, AckEpoch, CommitAndActivate, InformAndActivate, LeaderInfo, PacketType,
    PingTouches, QuorumPacket, RevalidateReply, RevalidateRequest, SnapItem, SnapWriter,
};
use zk_core::txn::TxnEntry;
use zk_core::{Acl, DecodeError, Zxid};

use super::notification::{Notification, ToSend};
use super::vote::ServerState;
use super::zab::{LearnerInfo, Txn, Zab};
use crate::core::{DataNode, DataTree, ForwardedRequest};

fn enc(v: &impl Encode) -> Option<Bytes> {
    let mut b = Vec::new();
    v.encode(&mut b);
    Some(Bytes::from(b))
}

fn txn_bytes(t: &Txn) -> Option<Bytes> {
    // No TxnDigest: Apache ZooKeeper reads an entry without one as "no digest".
    enc(&TxnEntry::new(t.header.clone(), &t.body, None))
}

fn txn_of(data: &[u8]) -> Result<Txn, DecodeError> {
    let e = TxnEntry::decode(data)?;
    let body = e.body()?;
    Ok(Txn {
        header: e.header,
        body,
    })
}

/// The packet of a message sent from `from`, except SNAP's snapshot (see [`snap_stream`]).
pub fn to_packet(m: &Zab, from: Side) -> QuorumPacket {
    use PacketType as P;
    let p = |t: P, z: Zxid, d: Option<Bytes>| QuorumPacket::new(t, z, d);
    match m {
        Zab::Request(r) => {
            let f = wire::ForwardedRequest {
                session_id: r.session,
                cxid: r.cxid,
                op_type: r.op,
                body: Bytes::copy_from_slice(&r.body),
            };
            QuorumPacket {
                packet_type: P::Request.as_i32(),
                zxid: Zxid(-1),
                data: enc(&f),
                authinfo: r.authinfo.clone(),
            }
        }
        Zab::Proposal(t) => p(P::Proposal, t.zxid(), txn_bytes(t)),
        Zab::Inform(t) => p(P::Inform, t.zxid(), txn_bytes(t)),
        Zab::CommitAndActivate {
            zxid,
            designated_leader,
        } => p(
            P::CommitAndActivate,
            *zxid,
            enc(&CommitAndActivate {
                designated_leader: *designated_leader,
            }),
        ),
        Zab::InformAndActivate {
            txn,
            designated_leader,
        } => p(
            P::InformAndActivate,
            txn.zxid(),
            enc(&InformAndActivate {
                designated_leader: *designated_leader,
                entry: TxnEntry::new(txn.header.clone(), &txn.body, None),
            }),
        ),
        Zab::Ack(z) => p(P::Ack, *z, None),
        Zab::Commit(z) => p(P::Commit, *z, None),
        Zab::Ping { zxid, touches } => {
            // The leader's PING has no data; a learner's answer always has a buffer, empty
            // when nothing was touched.
            if from == Side::FromLeader {
                p(P::Ping, *zxid, None)
            } else {
                p(
                    P::Ping,
                    *zxid,
                    enc(&PingTouches {
                        touches: touches.clone(),
                    }),
                )
            }
        }
        Zab::Revalidate {
            session,
            timeout_ms,
        } => p(
            P::Revalidate,
            Zxid(-1),
            enc(&RevalidateRequest {
                session_id: *session,
                timeout_ms: *timeout_ms,
            }),
        ),
        Zab::RevalidateReply { session, valid } => p(
            P::Revalidate,
            Zxid(-1),
            enc(&RevalidateReply {
                session_id: *session,
                valid: *valid,
            }),
        ),
        Zab::Sync => p(P::Sync, Zxid(0), None),
        Zab::NewLeader { zxid, config } => p(
            P::NewLeader,
            *zxid,
            Some(Bytes::copy_from_slice(config.as_bytes())),
        ),
        Zab::FollowerInfo {
            accepted_epoch,
            info,
        } => p(
            P::FollowerInfo,
            Zxid::new(*accepted_epoch, 0),
            enc(&learner_info(info)),
        ),
        Zab::ObserverInfo {
            accepted_epoch,
            info,
        } => p(
            P::ObserverInfo,
            Zxid::new(*accepted_epoch, 0),
            enc(&learner_info(info)),
        ),
        Zab::UpToDate => p(P::UpToDate, Zxid(-1), None),
        Zab::Diff(z) => p(P::Diff, *z, None),
        Zab::Trunc(z) => p(P::Trunc, *z, None),
        Zab::Snap { zxid, .. } => p(P::Snap, *zxid, None),
        Zab::LeaderInfo {
            epoch,
            protocol_version,
        } => p(
            P::LeaderInfo,
            Zxid::new(*epoch, 0),
            enc(&LeaderInfo {
                protocol_version: *protocol_version,
            }),
        ),
        Zab::AckEpoch {
            last_zxid,
            current_epoch,
        } => p(
            P::AckEpoch,
            *last_zxid,
            enc(&AckEpoch {
                current_epoch: *current_epoch,
            }),
        ),
        Zab::Other { packet_type, zxid } => QuorumPacket {
            packet_type: *packet_type,
            zxid: *zxid,
            data: None,
            authinfo: None,
        },
    }
}

fn learner_info(i: &LearnerInfo) -> wire::LearnerInfo {
    wire::LearnerInfo {
        server_id: i.server_id,
        protocol_version: i.protocol_version,
        config_version: i.config_version,
    }
}

/// Which side of a link sent a packet: REVALIDATE and PING mean different things each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A learner reads what its leader sent.
    FromLeader,
    /// A leader reads what a learner sent.
    FromLearner,
}

/// The message a packet sent from `side` carries (SNAP's snapshot comes separately, see
/// [`SnapBuilder`]).
///
/// # Errors
/// A payload that does not decode for its type.
pub fn from_packet(p: QuorumPacket, side: Side) -> Result<Zab, DecodeError> {
    use PacketType as P;
    let data = p.data_bytes();
    let z = p.zxid;
    let Some(kind) = p.kind() else {
        return Ok(Zab::Other {
            packet_type: p.packet_type,
            zxid: z,
        });
    };
    Ok(match kind {
        P::Request => {
            let f = wire::ForwardedRequest::decode(data)?;
            Zab::Request(ForwardedRequest {
                session: f.session_id,
                cxid: f.cxid,
                op: f.op_type,
                body: f.body.to_vec(),
                authinfo: p.authinfo,
            })
        }
        P::Proposal => Zab::Proposal(txn_of(data)?),
        P::Inform => Zab::Inform(txn_of(data)?),
        P::Ack => Zab::Ack(z),
        P::Commit => Zab::Commit(z),
        P::CommitAndActivate => Zab::CommitAndActivate {
            zxid: z,
            designated_leader: CommitAndActivate::decode(data)?.designated_leader,
        },
        P::InformAndActivate => {
            let ia = InformAndActivate::decode(data)?;
            let body = ia.entry.body()?;
            Zab::InformAndActivate {
                txn: Txn {
                    header: ia.entry.header,
                    body,
                },
                designated_leader: ia.designated_leader,
            }
        }
        P::Ping => Zab::Ping {
            zxid: z,
            touches: match side {
                Side::FromLearner => PingTouches::decode(data)?.touches,
                Side::FromLeader => Vec::new(),
            },
        },
        P::Revalidate => match side {
            Side::FromLearner => {
                let r = RevalidateRequest::decode(data)?;
                Zab::Revalidate {
                    session: r.session_id,
                    timeout_ms: r.timeout_ms,
                }
            }
            Side::FromLeader => {
                let r = RevalidateReply::decode(data)?;
                Zab::RevalidateReply {
                    session: r.session_id,
                    valid: r.valid,
                }
            }
        },
        P::Sync => Zab::Sync,
        P::NewLeader => Zab::NewLeader {
            zxid: z,
            config: String::from_utf8_lossy(data).into_owned(),
        },
        P::FollowerInfo | P::ObserverInfo => {
            let i = wire::LearnerInfo::decode_lenient(data);
            let info = LearnerInfo {
                server_id: i.server_id,
                protocol_version: i.protocol_version,
                config_version: i.config_version,
            };
            let accepted_epoch = z.epoch();
            if kind == P::FollowerInfo {
                Zab::FollowerInfo {
                    accepted_epoch,
                    info,
                }
            } else {
                Zab::ObserverInfo {
                    accepted_epoch,
                    info,
                }
            }
        }
        P::UpToDate => Zab::UpToDate,
        P::Diff => Zab::Diff(z),
        P::Trunc => Zab::Trunc(z),
        P::Snap => Zab::Snap {
            zxid: z,
            tree: Box::new(DataTree::empty()),
        },
        P::LeaderInfo => Zab::LeaderInfo {
            epoch: z.epoch(),
            protocol_version: LeaderInfo::decode(data)?.protocol_version,
        },
        P::AckEpoch => Zab::AckEpoch {
            last_zxid: z,
            current_epoch: AckEpoch::decode(data)?.current_epoch,
        },
        _ => Zab::Other {
            packet_type: p.packet_type,
            zxid: z,
        },
    })
}

/// The SNAP stream of `tree` (`ZKDatabase.serializeSnapshot`): sessions, the ACL map (ids from
/// 1 in first-use order), every node pre-order with the root as `""`, then `"/"` and
/// "BenWasHere". Handed out in chunks of about `chunk` bytes so a large tree does not sit in
/// memory twice.
pub fn snap_stream(tree: &DataTree, chunk: usize, mut out: impl FnMut(Vec<u8>) -> bool) {
    let mut w = SnapWriter::new();
    let sessions: Vec<_> = tree.sessions().iter().map(|(s, t)| (*s, *t)).collect();
    w.sessions(sessions);
    // First pass: the ACL ids, in the order nodes first use them.
    let mut ids: HashMap<*const [Acl], i64> = HashMap::new();
    let mut map: Vec<(i64, Arc<[Acl]>)> = Vec::new();
    let mut order = Vec::with_capacity(tree.node_count());
    let mut stack: Vec<String> = vec!["/".to_owned()];
    while let Some(p) = stack.pop() {
        let Some(node) = tree.node(&p) else { continue };
        let key = Arc::as_ptr(&node.acl);
        if let std::collections::hash_map::Entry::Vacant(e) = ids.entry(key) {
            let id = map.len() as i64 + 1;
            e.insert(id);
            map.push((id, node.acl.clone()));
        }
        for c in node.children_iter() {
            stack.push(path::join(&p, c));
        }
        order.push(p);
    }
    w.acl_map(map.iter().map(|(i, a)| (*i, &a[..])));
    for p in &order {
        let Some(node) = tree.node(p) else { continue };
        let acl = ids.get(&Arc::as_ptr(&node.acl)).copied().unwrap_or(-1);
        let wire_path = if p == "/" { "" } else { p.as_str() };
        w.node(wire_path, node.data.as_deref(), acl, &node.stat);
        if w.bytes().len() >= chunk && !out(w.take_bytes()) {
            return;
        }
    }
    w.end();
    out(w.into_bytes());
}

/// Builds the tree a SNAP stream carries, item by item.
#[derive(Debug)]
pub struct SnapBuilder {
    tree: DataTree,
    acls: HashMap<i64, crate::core::acl::AclList>,
    nodes: u64,
}

impl Default for SnapBuilder {
    fn default() -> Self {
        SnapBuilder::new()
    }
}

impl SnapBuilder {
    /// An empty tree to fill.
    pub fn new() -> SnapBuilder {
        SnapBuilder {
            tree: DataTree::empty(),
            acls: HashMap::new(),
            nodes: 0,
        }
    }

    /// Adds one item; `Ok(true)` once the stream ended.
    ///
    /// # Errors
    /// A node whose ACL id is not in the map, whose parent has not come, or the root missing:
    /// the stream cannot be a tree (Apache's learner fails the same way).
    pub fn add(&mut self, item: SnapItem) -> Result<bool, String> {
        match item {
            SnapItem::Session {
                session_id,
                timeout_ms,
            } => self.tree.insert_session(session_id, timeout_ms),
            SnapItem::AclEntry { index, acl } => {
                let list = self.tree.intern_acl(&acl);
                self.acls.insert(index, list);
            }
            SnapItem::Node {
                path,
                data,
                acl,
                stat,
            } => {
                let acl = if acl == -1 {
                    self.tree.intern_acl(&Acl::open_unsafe())
                } else {
                    self.acls.get(&acl).cloned().ok_or_else(|| {
                        format!("node {path:?} refers to ACL {acl}, not in the map")
                    })?
                };
                let p = if path.is_empty() {
                    "/".to_owned()
                } else {
                    path
                };
                if p != "/" && self.tree.node(path::parent(&p)).is_none() {
                    return Err(format!("node {p:?} comes before its parent"));
                }
                if p == "/" && self.nodes > 0 {
                    return Err("the root comes twice".into());
                }
                self.tree
                    .insert_restored(&p, DataNode::new(data, acl, stat));
                self.nodes += 1;
            }
            SnapItem::End => {
                if self.tree.node("/").is_none() {
                    return Err("the snapshot has no root".into());
                }
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The tree, once the stream ended.
    pub fn finish(self) -> DataTree {
        self.tree
    }
}

/// The wire notification of an election message.
pub fn notification_out(m: &ToSend) -> wire::Notification {
    wire::Notification {
        state: wire_state(m.state),
        leader: m.leader,
        zxid: m.zxid,
        election_epoch: m.election_epoch,
        peer_epoch: m.peer_epoch,
        version: wire::Notification::CURRENT_VERSION,
        config: Bytes::copy_from_slice(m.config.as_bytes()),
    }
}

/// The election message of a wire notification from `from`.
pub fn notification_in(from: i64, n: wire::Notification) -> Notification {
    let config = (n.version > 1).then(|| n.config_text());
    Notification {
        from,
        state: match n.state {
            wire::ServerState::Looking => ServerState::Looking,
            wire::ServerState::Following => ServerState::Following,
            wire::ServerState::Leading => ServerState::Leading,
            wire::ServerState::Observing => ServerState::Observing,
        },
        leader: n.leader,
        zxid: n.zxid,
        election_epoch: n.election_epoch,
        peer_epoch: n.peer_epoch,
        version: n.version,
        config,
    }
}

fn wire_state(s: ServerState) -> wire::ServerState {
    match s {
        ServerState::Looking => wire::ServerState::Looking,
        ServerState::Following => wire::ServerState::Following,
        ServerState::Leading => wire::ServerState::Leading,
        ServerState::Observing => wire::ServerState::Observing,
    }
}
