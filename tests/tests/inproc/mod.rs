//! An in-process zk-server ensemble for tests of the election and quorum ports: members 1-3
//! from one configuration (sid 9 an observer that never runs, for an attacker or a mock peer
//! to borrow), the WARN log of the test binary captured, and raw-socket helpers.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use zk_client::{Client, CreateMode};
use zk_core::quorum::{QuorumPacket, QuorumPacketReader};
use zk_server::quorum::ServerState as Role;
use zk_server::{Server, ServerConfig};

// ---- the log ----

/// Every WARN and ERROR event of this test binary, as text.
pub(crate) fn log_lines() -> &'static Arc<Mutex<Vec<u8>>> {
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
pub(crate) async fn logged(parts: &[&str]) {
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
pub(crate) struct Ensemble {
    _dir: tempfile::TempDir,
    pub(crate) cfgs: BTreeMap<i64, ServerConfig>,
    pub(crate) servers: BTreeMap<i64, Server>,
    /// Election and quorum addresses of every sid in the configuration.
    pub(crate) election: BTreeMap<i64, SocketAddr>,
    pub(crate) quorum: BTreeMap<i64, SocketAddr>,
}

const SIDS: [i64; 4] = [1, 2, 3, 9];

impl Ensemble {
    /// Configures members 1-3 (and 9) and starts those in `start`.
    pub(crate) async fn start(start: &[i64]) -> Ensemble {
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

    pub(crate) async fn run(&mut self, sid: i64) {
        let s = Server::start(self.cfgs[&sid].clone())
            .await
            .unwrap_or_else(|e| panic!("member {sid}: {e}"));
        self.servers.insert(sid, s);
    }

    pub(crate) async fn stop(&mut self, sid: i64) {
        if let Some(s) = self.servers.remove(&sid) {
            s.shutdown().await;
        }
    }

    pub(crate) fn role(&self, sid: i64) -> Option<Role> {
        self.servers[&sid].role()
    }

    /// Waits until every running member serves, one of them leading; returns the leader.
    pub(crate) async fn serving(&self) -> i64 {
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

    pub(crate) async fn write_ok(&self, sid: i64) -> bool {
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
    pub(crate) async fn serves(&self, sid: i64) {
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
    pub(crate) async fn elects_again(&mut self, sid: i64) {
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
pub(crate) async fn closed_within(s: &mut TcpStream, within: Duration) {
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
pub(crate) async fn dial(addr: SocketAddr) -> (TcpStream, String) {
    let s = TcpStream::connect(addr).await.unwrap();
    let local = s.local_addr().unwrap().to_string();
    (s, local)
}

/// A follower (not the leader) of the running members.
pub(crate) fn a_follower(ens: &Ensemble, leader: i64) -> i64 {
    *ens.servers.keys().find(|s| **s != leader).unwrap()
}

/// Quorum packets off a connection.
pub(crate) struct Packets {
    pub(crate) s: TcpStream,
    pub(crate) buf: Vec<u8>,
}

impl Packets {
    pub(crate) async fn next(&mut self) -> QuorumPacket {
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
