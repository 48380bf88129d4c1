//! Bad input on a zk-server member's election and quorum ports: garbage, a too-long election
//! frame, a sid that is not in the configuration, a truncated initial message, a
//! QuorumPacket with an absurd length, a SNAP stream that does not parse. Each must close
//! that connection only, with a warning in the log, and the member must go on: it serves
//! clients, and it takes part in the next election.
//!
//! Each test runs a three-member zk-server ensemble in process (members 1-3; sid 9 is an
//! observer in the configuration that never runs, whose identity the attacker borrows where
//! it needs a member's sid), or two members and a scripted fake leader (sid 3) for the SNAP
//! case. "Still elects": the other members are shut down and started again, and the attacked
//! member must be part of the ensemble that forms.

mod inproc;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zk_core::jute::{Encode, WriteExt};
use zk_core::quorum::{
    next_election_frame, write_election_frame, InitialMessage, LeaderInfo, Notification,
    PacketType, QuorumPacket, ServerState,
};
use zk_core::Zxid;

use inproc::{a_follower, closed_within, dial, logged, Ensemble, Packets};

// ---- the election port ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_port_garbage() {
    let mut ens = Ensemble::start(&[1, 2, 3]).await;
    let leader = ens.serving().await;
    let x = a_follower(&ens, leader);
    // A first long that is no protocol version (negative, not -65536 or -65535).
    let (mut s, local) = dial(ens.election[&x]).await;
    s.write_all(b"\xde\xad\xbe\xef garbage, not an initial message \x00\x01\x02")
        .await
        .unwrap();
    closed_within(&mut s, Duration::from_secs(5)).await;
    logged(&["bad election handshake; closing", &local]).await;
    // A pre-3.5 peer (a bare non-negative sid) is refused as well.
    let (mut s, local) = dial(ens.election[&x]).await;
    s.write_all(&2i64.to_be_bytes()).await.unwrap();
    closed_within(&mut s, Duration::from_secs(5)).await;
    logged(&["pre-3.5 election peer", &local]).await;
    ens.serves(x).await;
    ens.elects_again(x).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_port_frame_too_long() {
    let mut ens = Ensemble::start(&[1, 2, 3]).await;
    let leader = ens.serving().await;
    let x = a_follower(&ens, leader);
    for len in [512 * 1024 + 1, 0x7fff_ffff, 0, -1] {
        // As sid 9 (larger than x's: x keeps the connection and reads frames from it).
        let (mut s, local) = dial(ens.election[&x]).await;
        let mut bytes = InitialMessage::v1(9, ens.election[&9].to_string()).to_bytes();
        bytes.put_i32(len);
        bytes.extend_from_slice(&[0u8; 64]);
        s.write_all(&bytes).await.unwrap();
        closed_within(&mut s, Duration::from_secs(5)).await;
        logged(&["bad election frame; closing", &local]).await;
    }
    ens.serves(x).await;
    ens.elects_again(x).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_port_sid_not_in_the_config() {
    let mut ens = Ensemble::start(&[1, 2, 3]).await;
    let leader = ens.serving().await;
    let x = a_follower(&ens, leader);
    let (mut s, local) = dial(ens.election[&x]).await;
    let mut bytes = InitialMessage::v1(42, "127.0.0.1:1").to_bytes();
    // Followed by a vote it must never count.
    let vote = Notification {
        state: ServerState::Looking,
        leader: 42,
        zxid: Zxid(i64::MAX),
        election_epoch: 1000,
        peer_epoch: 1000,
        version: Notification::CURRENT_VERSION,
        config: bytes::Bytes::new(),
    };
    write_election_frame(&mut bytes, &vote.to_bytes());
    s.write_all(&bytes).await.unwrap();
    closed_within(&mut s, Duration::from_secs(5)).await;
    logged(&["not in the configuration; closing", &local, "sid=42"]).await;
    ens.serves(x).await;
    ens.elects_again(x).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_port_truncated_initial_message() {
    let mut ens = Ensemble::start(&[1, 2, 3]).await;
    let leader = ens.serving().await;
    let x = a_follower(&ens, leader);
    let whole = InitialMessage::v1(9, ens.election[&9].to_string()).to_bytes();
    // Cut inside the address, then silence: dropped after the handshake timeout.
    let (mut s, local) = dial(ens.election[&x]).await;
    s.write_all(&whole[..whole.len() - 4]).await.unwrap();
    closed_within(&mut s, Duration::from_secs(10)).await;
    logged(&["no election handshake in time; closing", &local]).await;
    // Cut inside the sid, then the end of the stream.
    let (mut s, local) = dial(ens.election[&x]).await;
    s.write_all(&whole[..12]).await.unwrap();
    s.shutdown().await.unwrap();
    closed_within(&mut s, Duration::from_secs(5)).await;
    logged(&["closed before its initial message", &local]).await;
    // An address length beyond 2048 bytes.
    let (mut s, local) = dial(ens.election[&x]).await;
    let mut bad = whole[..16].to_vec();
    bad.put_i32(4096);
    bad.extend_from_slice(&[b'a'; 64]);
    s.write_all(&bad).await.unwrap();
    closed_within(&mut s, Duration::from_secs(5)).await;
    logged(&["bad election handshake; closing", &local]).await;
    ens.serves(x).await;
    ens.elects_again(x).await;
}

// ---- the quorum port ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_port_garbage() {
    let mut ens = Ensemble::start(&[1, 2, 3]).await;
    let leader = ens.serving().await;
    // Only the leader listens on its quorum port.
    let f = a_follower(&ens, leader);
    let refused = TcpStream::connect(ens.quorum[&f]).await;
    assert!(
        refused.is_err(),
        "a follower's quorum port accepted a connection"
    );

    let (mut s, local) = dial(ens.quorum[&leader]).await;
    s.write_all(b"GET / HTTP/1.1\r\nHost: zk\r\n\r\n")
        .await
        .unwrap();
    closed_within(&mut s, Duration::from_secs(5)).await;
    logged(&["undecodable quorum stream; closing", &local]).await;
    // Well-formed packets of the wrong kind: a PING before FOLLOWERINFO, and a SNAP.
    for kind in [PacketType::Ping, PacketType::Snap] {
        let (mut s, _) = dial(ens.quorum[&leader]).await;
        let p = QuorumPacket::new(kind, Zxid(0), None);
        s.write_all(&p.to_bytes()).await.unwrap();
        closed_within(&mut s, Duration::from_secs(5)).await;
    }
    logged(&["unexpected PING in state WaitInfo"]).await;
    logged(&["SNAP from a learner; closing"]).await;
    ens.serves(leader).await;
    ens.serves(f).await;
    ens.elects_again(leader).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_port_absurd_length() {
    let mut ens = Ensemble::start(&[1, 2, 3]).await;
    let leader = ens.serving().await;
    for len in [0x7fff_ffff, -7] {
        // FOLLOWERINFO's header, then a data length no learner sends.
        let (mut s, local) = dial(ens.quorum[&leader]).await;
        let mut bytes = Vec::new();
        bytes.put_i32(PacketType::FollowerInfo.as_i32());
        bytes.put_i64(0);
        bytes.put_i32(len);
        bytes.extend_from_slice(&[0u8; 32]);
        s.write_all(&bytes).await.unwrap();
        closed_within(&mut s, Duration::from_secs(5)).await;
        logged(&["undecodable quorum stream; closing", &local]).await;
    }
    // An authinfo count no buffer could hold.
    let (mut s, local) = dial(ens.quorum[&leader]).await;
    let mut bytes = Vec::new();
    bytes.put_i32(PacketType::FollowerInfo.as_i32());
    bytes.put_i64(0);
    bytes.put_i32(-1);
    bytes.put_i32(i32::MAX);
    s.write_all(&bytes).await.unwrap();
    closed_within(&mut s, Duration::from_secs(5)).await;
    logged(&["undecodable quorum stream; closing", &local]).await;
    ens.serves(leader).await;
    ens.elects_again(leader).await;
}

// ---- a SNAP stream that does not parse, from a fake leader ----

/// The fake leader, sid 3: it wins the election of members 1 and 2 with a better vote, takes
/// their registrations on its quorum port, and answers one with `snapshot` after a SNAP
/// packet.
/// Returns the ensemble, the member that got the snapshot, and the fake leader's quorum
/// address (as the member logs it).
async fn fake_leader_sends(snapshot: &[u8]) -> (Ensemble, i64, String) {
    let ens = Ensemble::start(&[1, 2]).await;
    let quorum = TcpListener::bind(ens.quorum[&3]).await.unwrap();
    // Sid 3 is the larger: it dials 1 and 2 and keeps those connections.
    let mut elections = Vec::new();
    for to in [1, 2] {
        let mut s = loop {
            match TcpStream::connect(ens.election[&to]).await {
                Ok(s) => break s,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        s.write_all(&InitialMessage::v1(3, ens.election[&3].to_string()).to_bytes())
            .await
            .unwrap();
        // The member's own config text, from its first notification.
        let mut buf = Vec::new();
        let config = loop {
            let mut chunk = [0u8; 4096];
            let n = s.read(&mut chunk).await.unwrap();
            assert!(n > 0, "member {to} closed the election connection");
            buf.extend_from_slice(&chunk[..n]);
            if let Some((_, payload)) = next_election_frame(&buf).unwrap() {
                break Notification::decode(payload).unwrap().config;
            }
        };
        let vote = Notification {
            state: ServerState::Looking,
            leader: 3,
            zxid: Zxid::new(1, 100),
            election_epoch: 1,
            peer_epoch: 1,
            version: Notification::CURRENT_VERSION,
            config,
        };
        let mut frame = Vec::new();
        write_election_frame(&mut frame, &vote.to_bytes());
        s.write_all(&frame).await.unwrap();
        elections.push(s);
    }
    // The first member to register gets the bad snapshot.
    let (learner, _) = tokio::time::timeout(Duration::from_secs(20), quorum.accept())
        .await
        .expect("a member followed the fake leader")
        .unwrap();
    let mut conn = Packets {
        s: learner,
        buf: Vec::new(),
    };
    let info = conn.next().await;
    assert_eq!(info.kind(), Some(PacketType::FollowerInfo));
    let victim = zk_core::quorum::LearnerInfo::decode_lenient(info.data_bytes()).server_id;
    let leader_info = QuorumPacket::new(
        PacketType::LeaderInfo,
        Zxid::new(2, 0),
        Some(
            LeaderInfo {
                protocol_version: 0x10000,
            }
            .to_bytes()
            .into(),
        ),
    );
    conn.s.write_all(&leader_info.to_bytes()).await.unwrap();
    let ack = conn.next().await;
    assert_eq!(ack.kind(), Some(PacketType::AckEpoch));
    let mut bytes = QuorumPacket::new(PacketType::Snap, Zxid::new(1, 100), None).to_bytes();
    bytes.extend_from_slice(snapshot);
    conn.s.write_all(&bytes).await.unwrap();
    closed_within(&mut conn.s, Duration::from_secs(5)).await;
    // The fake leader goes away; the members must elect among themselves.
    drop(elections);
    drop(quorum);
    let marker = ens.quorum[&3].to_string();
    (ens, victim, marker)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snap_stream_that_does_not_parse() {
    // Sessions, an empty ACL map, then a node path whose length is absurd.
    let mut bad = Vec::new();
    bad.put_i32(0);
    bad.put_i32(0);
    bad.put_i32(0x7fff_fff0);
    bad.extend_from_slice(b"/x");
    let (ens, victim, marker) = fake_leader_sends(&bad).await;
    logged(&["undecodable quorum stream; closing", &marker]).await;
    let leader = ens.serving().await;
    assert!([1, 2].contains(&leader));
    ens.serves(victim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snap_stream_that_is_no_tree() {
    // Well-formed items, but a node before its parent (Apache's learner fails the same way).
    let mut w = zk_core::quorum::SnapWriter::new();
    w.sessions(Vec::new());
    w.acl_map(Vec::<(i64, &[zk_core::Acl])>::new());
    w.node("", Some(b""), -1, &Default::default());
    w.node("/a/b", Some(b""), -1, &Default::default());
    w.end();
    let (ens, victim, marker) = fake_leader_sends(w.bytes()).await;
    logged(&[
        "bad SNAP stream; closing",
        "comes before its parent",
        &marker,
    ])
    .await;
    let leader = ens.serving().await;
    assert!([1, 2].contains(&leader));
    ens.serves(victim).await;
}
