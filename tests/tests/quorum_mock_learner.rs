//! A zk-server leader syncs a scripted learner that behaves exactly like Apache ZooKeeper
//! 3.8.0's (`Learner.syncWithLeader`, `FollowerZooKeeperServer.commit`), while a client keeps
//! writing, so proposals are in flight during the sync and commit while the learner persists.
//!
//! The model fails where the real learner fails: a COMMIT between NEWLEADER and UPTODATE with
//! no PROPOSAL after NEWLEADER (the NullPointerException at Learner.java:655 in 3.8.0,
//! ZOOKEEPER-4394), and a COMMIT after UPTODATE that is not for the oldest pending proposal
//! (`System.exit(UNMATCHED_TXN_COMMIT)`).

mod inproc;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zk_client::{Client, CreateMode};
use zk_core::jute::Encode;
use zk_core::quorum::{
    AckEpoch, LearnerInfo, PacketType, QuorumItem, QuorumPacket, QuorumStream, SnapItem,
};
use zk_core::Zxid;

use inproc::Ensemble;

/// The quorum stream a learner reads, item by item.
struct Stream {
    s: TcpStream,
    buf: Vec<u8>,
    reader: QuorumStream,
}

impl Stream {
    async fn next(&mut self) -> QuorumItem {
        loop {
            if let Some((used, item)) = self.reader.next_item(&self.buf).unwrap() {
                self.buf.drain(..used);
                return item;
            }
            let mut chunk = [0u8; 64 * 1024];
            let n = tokio::time::timeout(Duration::from_secs(10), self.s.read(&mut chunk))
                .await
                .expect("the leader went silent")
                .unwrap();
            assert!(n > 0, "the leader closed the link");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The next packet, skipping a snapshot's items.
    async fn packet(&mut self) -> QuorumPacket {
        loop {
            match self.next().await {
                QuorumItem::Packet(p) => return p,
                QuorumItem::Snap(SnapItem::End) | QuorumItem::Snap(_) => {}
            }
        }
    }

    async fn send(&mut self, p: QuorumPacket) {
        self.s.write_all(&p.to_bytes()).await.unwrap();
    }
}

/// Apache 3.8.0's learner state, as far as the order of packets matters.
#[derive(Default)]
struct Model {
    snap_mode: bool,
    /// `packetsNotCommitted`.
    not_committed: VecDeque<Zxid>,
    /// `packetsCommitted` (DIFF mode, and everything after NEWLEADER).
    committed: VecDeque<Zxid>,
    /// `FollowerZooKeeperServer.pendingTxns`.
    pending: VecDeque<Zxid>,
    newleader_seen: bool,
}

impl Model {
    fn sync_packet(&mut self, p: &QuorumPacket) {
        match p.kind() {
            Some(PacketType::Proposal) => self.not_committed.push_back(p.zxid),
            Some(PacketType::Commit) => {
                // `pif = packetsNotCommitted.peekFirst(); if (pif.hdr.getZxid() == ...`
                let Some(head) = self.not_committed.front().copied() else {
                    panic!(
                        "COMMIT {:?} with no proposal held{}: Apache 3.8.0's learner throws \
                         a NullPointerException here (Learner.java:655)",
                        p.zxid,
                        if self.newleader_seen {
                            " after NEWLEADER"
                        } else {
                            ""
                        }
                    );
                };
                if self.snap_mode && !self.newleader_seen {
                    if head == p.zxid {
                        self.not_committed.pop_front();
                    }
                } else {
                    self.committed.push_back(p.zxid);
                }
            }
            Some(PacketType::NewLeader) => {
                // `fzk.logRequest(p)` for each, then `packetsNotCommitted.clear()`.
                self.pending.extend(self.not_committed.drain(..));
                self.newleader_seen = true;
            }
            _ => {}
        }
    }

    /// UPTODATE: the post-NEWLEADER proposals are logged, the noted COMMITs committed.
    fn up_to_date(&mut self) {
        self.pending.extend(self.not_committed.drain(..));
        let noted: Vec<Zxid> = self.committed.drain(..).collect();
        for z in noted {
            self.commit(z);
        }
    }

    /// `FollowerZooKeeperServer.commit`.
    fn commit(&mut self, z: Zxid) {
        match self.pending.front() {
            None => {} // "Committing ... without seeing txn": ignored.
            Some(head) if *head == z => {
                self.pending.pop_front();
            }
            Some(head) => panic!(
                "COMMIT {z:?} while the oldest pending proposal is {head:?}: Apache's \
                 follower exits (UNMATCHED_TXN_COMMIT)"
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zk_server_leader_never_commits_between_newleader_and_uptodate() {
    let ens = Ensemble::start(&[1, 2]).await;
    let leader = ens.serving().await;
    let c = Client::connect(&ens.servers[&leader].addr().to_string())
        .await
        .unwrap();
    c.create("/busy", b"", CreateMode::Persistent)
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (c, stop) = (c.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let batch: Vec<_> = (0..16)
                    .map(|_| c.create("/busy/n-", b"x", CreateMode::PersistentSequential))
                    .collect();
                for b in batch {
                    b.await.unwrap();
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Member 3, by the script.
    let s = TcpStream::connect(ens.quorum[&leader]).await.unwrap();
    let mut st = Stream {
        s,
        buf: Vec::new(),
        reader: QuorumStream::default(),
    };
    let info = LearnerInfo {
        server_id: 3,
        protocol_version: 0x10000,
        config_version: 0,
    };
    st.send(QuorumPacket::new(
        PacketType::FollowerInfo,
        Zxid(0),
        Some(info.to_bytes().into()),
    ))
    .await;
    let li = st.packet().await;
    assert_eq!(li.kind(), Some(PacketType::LeaderInfo));
    let new_epoch = li.zxid;
    st.send(QuorumPacket::new(
        PacketType::AckEpoch,
        Zxid(0),
        Some(AckEpoch { current_epoch: 0 }.to_bytes().into()),
    ))
    .await;
    let mut m = Model::default();
    let first = st.packet().await;
    match first.kind() {
        Some(PacketType::Snap) => m.snap_mode = true,
        Some(PacketType::Diff) | Some(PacketType::Trunc) => {}
        other => panic!("{other:?} first: Apache's learner exits"),
    }
    loop {
        let p = st.packet().await;
        m.sync_packet(&p);
        if p.kind() == Some(PacketType::NewLeader) {
            assert_eq!(p.zxid, new_epoch);
            break;
        }
    }
    // Persisting takes a while (a snapshot, an fsync): the leader keeps committing.
    tokio::time::sleep(Duration::from_millis(400)).await;
    st.send(QuorumPacket::new(PacketType::Ack, new_epoch, None))
        .await;
    let mut between = 0;
    loop {
        let p = st.packet().await;
        if p.kind() == Some(PacketType::UpToDate) {
            break;
        }
        between += 1;
        // A COMMIT here crashes Apache 3.8.0's learner whenever no PROPOSAL came since
        // NEWLEADER; a zk-server leader holds them until after UPTODATE.
        assert_ne!(
            p.kind(),
            Some(PacketType::Commit),
            "COMMIT {:?} between NEWLEADER and UPTODATE",
            p.zxid
        );
        m.sync_packet(&p);
    }
    m.up_to_date();
    st.send(QuorumPacket::new(PacketType::Ack, new_epoch, None))
        .await;
    // Broadcast: ACK every proposal, answer PINGs, check every COMMIT, for a while.
    let mut commits = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(1500);
    while tokio::time::Instant::now() < until {
        let p = st.packet().await;
        match p.kind() {
            Some(PacketType::Proposal) => {
                m.pending.push_back(p.zxid);
                st.send(QuorumPacket::new(PacketType::Ack, p.zxid, None))
                    .await;
            }
            Some(PacketType::Commit) => {
                m.commit(p.zxid);
                commits += 1;
            }
            Some(PacketType::Ping) => {
                st.send(QuorumPacket::new(
                    PacketType::Ping,
                    p.zxid,
                    Some(bytes::Bytes::new()),
                ))
                .await;
            }
            _ => {}
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    c.close().await.unwrap();
    assert!(
        between > 0,
        "no proposal came between NEWLEADER and UPTODATE: the test proved nothing"
    );
    assert!(commits > 0, "no commit after UPTODATE");
}
