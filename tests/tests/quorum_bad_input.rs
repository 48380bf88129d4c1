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

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zk_client::{Client, CreateMode};
use zk_core::jute::{Encode, WriteExt};
use zk_core::quorum::{
    next_election_frame, write_election_frame, InitialMessage, LeaderInfo, Notification,
    PacketType, QuorumPacket, QuorumPacketReader, ServerState,
};
use zk_core::Zxid;
use zk_server::quorum::ServerState as Role;
use zk_server::{Server, ServerConfig};

// ---- the log ----

/// Every WARN and ERROR event of this test binary, as text.
fn log_lines() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .try_init();
        buf
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Waits until a logged line contains every one of `parts`.
async fn logged(parts: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = String::from_utf8_lossy(&log_lines().lock().unwrap()).into_owned();
        if text.lines().any(|l| parts.iter().all(|p| l.contains(p))) {
            return;
        }
        assert!(Instant::now() < deadline, "nothing logged with {parts:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---- an in-process ensemble ----

/// Members 1..=3 run (or the ones `start` was given); sid 9 is an observer that never runs.
struct Ensemble {
    _dir: tempfile::TempDir,
    cfgs: BTreeMap<i64, ServerConfig>,
    servers: BTreeMap<i64, Server>,
    election: BTreeMap<i64, SocketAddr>,
    quorum: BTreeMap<i64, SocketAddr>,
}

const SIDS: [i64; 4] = [1, 2, 3, 9];

impl Ensemble {
    /// Configures members 1-3 (and 9) and starts those in `start`.
    async fn start(start: &[i64]) -> Ensemble {
        log_lines();
        let dir = tempfile::tempdir().unwrap();
        let base = tests::ports::unassigned_port_block(2 * SIDS.len() as u16);
        let mut servers_text = String::new();
        let mut election = BTreeMap::new();
        let mut quorum = BTreeMap::new();
        for (i, sid) in SIDS.iter().enumerate() {
            let q = base + 2 * i as u16;
            quorum.insert(*sid, SocketAddr::from(([127, 0, 0, 1], q)));
            election.insert(*sid, SocketAddr::from(([127, 0, 0, 1], q + 1)));
            servers_text.push_str(&format!(
                "server.{sid}=127.0.0.1:{q}:{}{}\n",
                q + 1,
                if *sid == 9 { ":observer" } else { "" }
            ));
        }
        let mut cfgs = BTreeMap::new();
        for sid in [1, 2, 3] {
            let data = dir.path().join(format!("m{sid}"));
            std::fs::create_dir_all(&data).unwrap();
            std::fs::write(data.join("myid"), format!("{sid}\n")).unwrap();
            let text = format!(
                "tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort=0\n\
                 clientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n{servers_text}",
                data.display()
            );
            cfgs.insert(sid, ServerConfig::parse(&text, "zoo.cfg").unwrap());
        }
        let mut ens = Ensemble {
            _dir: dir,
            cfgs,
            servers: BTreeMap::new(),
            election,
            quorum,
        };
        for sid in start {
            ens.run(*sid).await;
        }
        ens
    }

    async fn run(&mut self, sid: i64) {
        let s = Server::start(self.cfgs[&sid].clone())
            .await
            .unwrap_or_else(|e| panic!("member {sid}: {e}"));
        self.servers.insert(sid, s);
    }

    async fn stop(&mut self, sid: i64) {
        if let Some(s) = self.servers.remove(&sid) {
            s.shutdown().await;
        }
    }

    fn role(&self, sid: i64) -> Option<Role> {
        self.servers[&sid].role()
    }

    /// Waits until every running member serves, one of them leading; returns the leader.
    async fn serving(&self) -> i64 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let roles: Vec<(i64, Option<Role>)> =
                self.servers.keys().map(|s| (*s, self.role(*s))).collect();
            let leaders: Vec<i64> = roles
                .iter()
                .filter(|(_, r)| *r == Some(Role::Leading))
                .map(|(s, _)| *s)
                .collect();
            if leaders.len() == 1 && roles.iter().all(|(_, r)| *r != Some(Role::Looking)) {
                // The role flips before the member serves: a client write confirms it.
                let l = leaders[0];
                if self.write_ok(l).await {
                    return l;
                }
            }
            assert!(Instant::now() < deadline, "no ensemble formed: {roles:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn write_ok(&self, sid: i64) -> bool {
        let addr = self.servers[&sid].addr().to_string();
        let connect = Client::builder()
            .connection_timeout(Duration::from_secs(2))
            .connect(&addr);
        let Ok(Ok(c)) = tokio::time::timeout(Duration::from_secs(5), connect).await else {
            return false;
        };
        let ok = c
            .create("/probe-", b"", CreateMode::PersistentSequential)
            .await;
        let _ = c.close().await;
        ok.is_ok()
    }

    /// `sid` serves a client: a write there, read back after a sync through another member.
    async fn serves(&self, sid: i64) {
        let other = *self.servers.keys().find(|s| **s != sid).unwrap();
        let a = Client::connect(&self.servers[&sid].addr().to_string())
            .await
            .unwrap();
        let b = Client::connect(&self.servers[&other].addr().to_string())
            .await
            .unwrap();
        let (p, _) = a
            .create("/still-", b"up", CreateMode::PersistentSequential)
            .await
            .unwrap_or_else(|e| panic!("member {sid} does not serve: {e}"));
        b.sync(&p).await.unwrap();
        assert_eq!(&b.get_data(&p).await.unwrap().0[..], b"up");
        a.close().await.unwrap();
        b.close().await.unwrap();
    }

    /// The other members stop and start again: `sid` must be part of the ensemble they form.
    async fn elects_again(&mut self, sid: i64) {
        let others: Vec<i64> = self.servers.keys().copied().filter(|s| *s != sid).collect();
        for o in &others {
            self.stop(*o).await;
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.role(sid) != Some(Role::Looking) {
            assert!(Instant::now() < deadline, "member {sid} never looked again");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for o in &others {
            self.run(*o).await;
        }
        self.serving().await;
        self.serves(sid).await;
    }
}

/// Reads until the peer closes (EOF or reset), failing after `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) {
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => panic!("the member kept the connection open for {within:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => {}
        }
    }
}

/// A connection from a fresh local port; returns it with that port, for the log.
async fn dial(addr: SocketAddr) -> (TcpStream, String) {
    let s = TcpStream::connect(addr).await.unwrap();
    let local = s.local_addr().unwrap().to_string();
    (s, local)
}

/// A follower (not the leader) of the running members.
fn a_follower(ens: &Ensemble, leader: i64) -> i64 {
    *ens.servers.keys().find(|s| **s != leader).unwrap()
}

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

/// Quorum packets off a connection.
struct Packets {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Packets {
    async fn next(&mut self) -> QuorumPacket {
        let reader = QuorumPacketReader::default();
        loop {
            if let Some((used, p)) = reader.next_packet(&self.buf).unwrap() {
                self.buf.drain(..used);
                return p;
            }
            let mut chunk = [0u8; 4096];
            let n = self.s.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the learner closed early");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
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
