//! zk-client against a scripted mock server that asserts each frame: behaviour no real server
//! shows on demand (an auth reply overtaking earlier replies, a ConnectResponse without the
//! readOnly byte, 3.9-style notification zxids, a reply out of order), and connection
//! failures with no server at all.

use std::time::Duration;

use tests::client_support::within;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zk_client::{Client, Error, SessionState, Version, Zxid};
use zk_core::jute::{Decode, Encode};
use zk_core::proto::*;
use zk_core::SessionId;

const LIMIT: Duration = Duration::from_secs(20);

/// One connection of the mock server.
struct Peer(TcpStream);

impl Peer {
    async fn accept(l: &TcpListener) -> Peer {
        Peer(l.accept().await.expect("accept").0)
    }

    async fn read_frame(&mut self) -> Vec<u8> {
        let len = self.0.read_i32().await.expect("frame length");
        let mut buf = vec![0; len as usize];
        self.0.read_exact(&mut buf).await.expect("frame body");
        buf
    }

    /// Reads a request frame: its header and body.
    async fn request(&mut self) -> (RequestHeader, Vec<u8>) {
        let f = self.read_frame().await;
        (RequestHeader::from_bytes(&f[..8]).unwrap(), f[8..].to_vec())
    }

    async fn send(&mut self, payload: &[u8]) {
        self.0.write_i32(payload.len() as i32).await.unwrap();
        self.0.write_all(payload).await.unwrap();
    }

    async fn reply(&mut self, xid: i32, zxid: i64, err: i32, body: &[u8]) {
        let mut f = ReplyHeader {
            xid,
            zxid: Zxid(zxid),
            err,
        }
        .to_bytes();
        f.extend_from_slice(body);
        self.send(&f).await;
    }

    /// Reads the ConnectRequest and grants session 0x42 with 10 s, without the readOnly byte.
    async fn handshake(&mut self) -> ConnectRequest {
        let req = ConnectRequest::from_bytes(&self.read_frame().await).unwrap();
        let resp = ConnectResponse {
            protocol_version: 0,
            timeout_ms: 10_000,
            session_id: SessionId(0x42),
            passwd: bytes::Bytes::from_static(&[7; 16]),
            read_only: None,
        };
        self.send(&resp.to_bytes()).await;
        req
    }
}

#[tokio::test]
async fn auth_reply_overtaking_earlier_replies_and_notification_zxids() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut p = Peer::accept(&l).await;
        let req = p.handshake().await;
        assert_eq!(
            req.read_only,
            Some(false),
            "the client sends the readOnly byte"
        );
        assert_eq!(req.session_id, SessionId(0));
        // A getData, then an auth, pipelined.
        let (get, body) = p.request().await;
        assert_eq!(get.op_type, 4);
        assert_eq!(GetDataRequest::from_bytes(&body).unwrap().path, "/a");
        let (auth, body) = p.request().await;
        assert_eq!((auth.xid, auth.op_type), (-4, 100));
        assert_eq!(AuthPacket::from_bytes(&body).unwrap().scheme, "digest");
        // The auth reply overtakes the getData reply, as Apache ZooKeeper's may.
        p.reply(-4, 0, 0, &[]).await;
        // A 3.9-style notification with a zxid ahead of every reply.
        let ev = WatcherEvent {
            event_type: 3,
            state: 3,
            path: "/a".into(),
        };
        p.reply(-1, 0x99, 0, &ev.to_bytes()).await;
        let data = GetDataResponse {
            data: Some(bytes::Bytes::from_static(b"v")),
            stat: Default::default(),
        };
        p.reply(get.xid, 0x10, 0, &data.to_bytes()).await;
        // A ping gets its -2 reply.
        let (ping, _) = p.request().await;
        assert_eq!((ping.xid, ping.op_type), (-2, 11));
        p.reply(-2, 0x10, 0, &[]).await;
        p
    });
    within(LIMIT, "mock peer", async {
        let c = Client::connect(&addr.to_string()).await.unwrap();
        assert_eq!(c.session_id(), SessionId(0x42));
        assert_eq!(c.state(), SessionState::Connected);
        let get = c.get_data("/a");
        let auth = c.add_auth("digest", b"u:p");
        auth.await.unwrap();
        assert_eq!(get.await.unwrap().0, &b"v"[..]);
        assert_eq!(
            c.last_zxid(),
            Zxid(0x10),
            "notifications do not move last_zxid"
        );
        // Idle for a third of the session timeout: the client pings.
        let _peer = server.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn out_of_order_reply_drops_the_connection_and_the_session_resumes() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut p = Peer::accept(&l).await;
        p.handshake().await;
        let (a, _) = p.request().await;
        let (b, _) = p.request().await;
        p.reply(a.xid, 0x5, 0, &[]).await;
        // b is answered with a wrong xid: the client must drop the connection.
        p.reply(b.xid + 100, 0x6, 0, &[]).await;
        let mut p2 = Peer::accept(&l).await;
        let req = p2.handshake().await;
        assert_eq!(req.session_id, SessionId(0x42), "same session");
        assert_eq!(req.passwd.as_ref(), &[7; 16], "same password");
        assert_eq!(req.last_zxid_seen, Zxid(0x5), "last zxid from replies");
        let (c, _) = p2.request().await;
        assert_eq!(c.op_type, 2);
        p2.reply(c.xid, 0x7, 0, &[]).await;
        (p, p2)
    });
    within(LIMIT, "mock peer", async {
        let c = Client::connect(&addr.to_string()).await.unwrap();
        let mut states = c.state_stream();
        assert_eq!(states.next_state().await, Some(SessionState::Connected));
        let a = c.delete("/a", Version::Any);
        let b = c.delete("/b", Version::Any);
        assert_eq!(a.await, Ok(()));
        assert_eq!(b.await, Err(Error::ConnectionLoss));
        assert_eq!(states.next_state().await, Some(SessionState::Disconnected));
        assert_eq!(states.next_state().await, Some(SessionState::Connected));
        assert_eq!(c.delete("/c", Version::Any).await, Ok(()));
        let _peers = server.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn expired_answer_ends_the_client() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let mut p = Peer::accept(&l).await;
        let _ = p.read_frame().await;
        let resp = ConnectResponse {
            passwd: bytes::Bytes::from_static(&[0; 16]),
            read_only: Some(false),
            ..Default::default()
        };
        p.send(&resp.to_bytes()).await;
        p
    });
    let r = within(LIMIT, "expired", Client::connect(&addr.to_string())).await;
    assert_eq!(r.map(|_| ()), Err(Error::SessionExpired));
}

#[tokio::test]
async fn no_server_fails_connect_with_timeout_and_bad_strings_fail_at_once() {
    let dead = tests::ports::RefusedAddr::new();
    let r = within(
        LIMIT,
        "connect timeout",
        Client::builder()
            .connection_timeout(Duration::from_millis(500))
            .connect(&dead.addr().to_string()),
    )
    .await;
    assert_eq!(r.map(|_| ()), Err(Error::Timeout));
    let r = Client::connect("127.0.0.1:2181/bad/").await;
    assert!(matches!(r, Err(Error::ConnectString(_))), "{r:?}");
    let r = Client::connect("").await;
    assert!(matches!(r, Err(Error::ConnectString(_))), "{r:?}");
}

#[tokio::test]
async fn read_only_server_gives_connected_read_only() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut p = Peer::accept(&l).await;
        let req = ConnectRequest::from_bytes(&p.read_frame().await).unwrap();
        assert_eq!(
            req.read_only,
            Some(true),
            "the client allows read-only servers"
        );
        let resp = ConnectResponse {
            timeout_ms: 10_000,
            session_id: SessionId(0x43),
            passwd: bytes::Bytes::from_static(&[1; 16]),
            read_only: Some(true),
            ..Default::default()
        };
        p.send(&resp.to_bytes()).await;
        let (set, _) = p.request().await;
        p.reply(set.xid, 0, -119, &[]).await;
        p
    });
    within(LIMIT, "read-only", async {
        let c = Client::builder()
            .read_only(true)
            .connect(&addr.to_string())
            .await
            .unwrap();
        assert_eq!(c.state(), SessionState::ConnectedReadOnly);
        assert_eq!(
            c.set_data("/a", b"", Version::Any).await,
            Err(Error::NotReadOnly)
        );
        let _peer = server.await.unwrap();
    })
    .await;
}

/// The handles, watches and futures can move between tasks and threads.
#[test]
fn client_watches_and_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    fn send_sync_clone<C: Send + Sync + Clone, W: Send + Sync, P: Send + Sync>() {}
    send_sync_clone::<Client, zk_client::OneshotWatch, zk_client::PersistentWatch>();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    send(&Client::connect("127.0.0.1:1"));
}
