//! Crash safety of the real `zk-server` binary: several clients write (creates, setData,
//! multis) while the server is SIGKILLed at a random moment; after each restart on the same
//! data directory (on a port the server binds itself and reports) every acknowledged write is present and no multi is half applied.
//! Five rounds, each a fresh process over the directory the previous ones wrote.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{create, Client, ServerProcess};
use zk_core::proto::*;
use zk_core::{ErrorCode, Request, Response};

const WRITERS: usize = 4;
const ROUNDS: usize = 5;

fn get(c: &mut Client, path: &str) -> Option<GetDataResponse> {
    match c
        .call(Request::GetData(GetDataRequest {
            path: path.into(),
            watch: false,
        }))
        .expect("the restarted server answers")
    {
        Ok(Response::GetData(d)) => Some(d),
        Err(ErrorCode::NoNode) => None,
        other => panic!("{path}: {other:?}"),
    }
}

/// What the clients were told succeeded.
#[derive(Default)]
struct Acked {
    creates: BTreeMap<String, String>,
    /// Per counter node: (version, data) of the last acknowledged setData.
    sets: BTreeMap<String, (i32, String)>,
    /// Multis sent: (path a, path b, acknowledged).
    multis: Vec<(String, String, bool)>,
}

fn writer(addr: SocketAddr, t: usize, round: usize, acked: Arc<Mutex<Acked>>) {
    let Ok(mut c) = Client::connect(addr) else {
        return;
    };
    let counter = format!("/k{t}");
    for i in 0.. {
        let r = match i % 3 {
            0 => {
                let p = format!("/w{t}-{round}-{i}");
                let data = format!("d{i}");
                let r = c.call(create(&p, &data));
                if let Ok(Ok(_)) = r {
                    acked.lock().unwrap().creates.insert(p, data);
                }
                r.map(|_| ())
            }
            1 => {
                let data = format!("r{round}-{i}");
                let r = c.call(Request::SetData(SetDataRequest {
                    path: counter.clone(),
                    data: Some(Bytes::copy_from_slice(data.as_bytes())),
                    version: -1,
                }));
                if let Ok(Ok(Response::SetData(s))) = &r {
                    acked
                        .lock()
                        .unwrap()
                        .sets
                        .insert(counter.clone(), (s.stat.version, data));
                }
                r.map(|_| ())
            }
            _ => {
                let (a, b) = (
                    format!("/m{t}-{round}-{i}-a"),
                    format!("/m{t}-{round}-{i}-b"),
                );
                let idx = {
                    let mut g = acked.lock().unwrap();
                    g.multis.push((a.clone(), b.clone(), false));
                    g.multis.len() - 1
                };
                let r = c.call(Request::Multi(vec![create(&a, "a"), create(&b, "b")]));
                if let Ok(Ok(Response::Multi(_))) = &r {
                    acked.lock().unwrap().multis[idx].2 = true;
                }
                r.map(|_| ())
            }
        };
        if r.is_err() {
            return; // killed
        }
    }
}

/// Starts the binary on `cfg` (`clientPort=0`) and waits until it serves; returns it and the
/// address it reported.
fn spawn(cfg: &std::path::Path) -> (Child, SocketAddr) {
    let server = ServerProcess::spawn(&[cfg.as_os_str()], &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Client::connect(server.addr).is_err() {
        assert!(Instant::now() < deadline, "zk-server did not serve");
        std::thread::sleep(Duration::from_millis(20));
    }
    (server.child, server.addr)
}

/// Every acknowledged write is there; every multi is all or nothing.
fn check(addr: SocketAddr, acked: &Acked) {
    let mut c = Client::connect(addr).unwrap();
    for (p, data) in &acked.creates {
        let d = get(&mut c, p).unwrap_or_else(|| panic!("acknowledged create {p} lost"));
        assert_eq!(d.data.as_deref(), Some(data.as_bytes()), "{p}");
    }
    for (p, (version, data)) in &acked.sets {
        let d = get(&mut c, p).unwrap();
        assert!(d.stat.version >= *version, "{p}: {:?} < {version}", d.stat);
        if d.stat.version == *version {
            assert_eq!(d.data.as_deref(), Some(data.as_bytes()), "{p}");
        }
    }
    for (a, b, ok) in &acked.multis {
        let (x, y) = (get(&mut c, a).is_some(), get(&mut c, b).is_some());
        assert_eq!(x, y, "multi {a} {b} partly applied");
        if *ok {
            assert!(x, "acknowledged multi {a} lost");
        }
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=2000\ndataDir={}\nclientPort=0\nclientPortAddress=127.0.0.1\n\
             snapCount=300\npreAllocSize=64\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let acked = Arc::new(Mutex::new(Acked::default()));
    let (mut child, mut addr) = spawn(&cfg);
    {
        let mut c = Client::connect(addr).unwrap();
        for t in 0..WRITERS {
            c.call(create(&format!("/k{t}"), "")).unwrap().unwrap();
            acked
                .lock()
                .unwrap()
                .creates
                .insert(format!("/k{t}"), String::new());
        }
        // The counters' data changes; only their existence is checked as a create.
        acked.lock().unwrap().creates.clear();
    }
    let mut seed = std::process::id() as u64 | 1;
    for round in 0..ROUNDS {
        let writers: Vec<_> = (0..WRITERS)
            .map(|t| {
                let acked = acked.clone();
                std::thread::spawn(move || writer(addr, t, round, acked))
            })
            .collect();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let wait = 300 + seed % 1200;
        std::thread::sleep(Duration::from_millis(wait));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for w in writers {
            w.join().unwrap();
        }
        (child, addr) = spawn(&cfg);
        let g = acked.lock().unwrap();
        eprintln!(
            "round {round}: killed after {wait} ms; {} creates, {} multis acknowledged so far",
            g.creates.len(),
            g.multis.iter().filter(|m| m.2).count()
        );
        check(addr, &g);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let snaps = std::fs::read_dir(dir.path().join("data/version-2"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("snapshot."))
        .count();
    assert!(snaps >= 2, "snapshots were taken under load: {snaps}");
    // A last start removes what a kill left of an unfinished snapshot.
    let (mut child, _) = spawn(&cfg);
    child.kill().unwrap();
    child.wait().unwrap();
    let unfinished = std::fs::read_dir(dir.path().join("data/version-2"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("tmp."))
        .count();
    assert_eq!(unfinished, 0);
}
