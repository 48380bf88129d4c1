//! History checking against real servers: the committed history read back from a data
//! directory's transaction logs ([`read_committed`]), and a register workload that records
//! what its clients see ([`run_register`]) for [`zk_history::check`].
//!
//! This lives here, not in zk-history, because it needs zk-server (the log reader) and
//! zk-client (the workload), and zk-history depends on zk-core only.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use zk_client::{Bytes, Client};
use zk_core::message::{Request, Response};
use zk_core::proto::{CreateRequest, GetDataRequest, SetDataRequest};
use zk_core::txn::{TxnBody, TxnEntry};
use zk_core::{Acl, CreateMode, ErrorCode, Zxid};
use zk_history::{Change, ClientId, CommittedHistory, Operation, Outcome, Recorder, Reply, Txn};
use zk_server::persist::{version_dir, TornTail, TxnLogIter};

/// Every transaction in the logs of `data_log_dir` (zoo.cfg's `dataLogDir`, or `dataDir` when
/// that is not set), from the first log file on, as a committed history.
///
/// It needs every log since the database was created: run the server with autopurge off (the
/// default) and do not purge. When the first logged transaction is not the first of the
/// database (counter 1 of epoch 0 or 1), the history is returned as starting after the zxid
/// before it, over a state the checker does not know. A torn tail of the newest log (a member
/// killed mid-write) is left in place and ends the history; corruption anywhere else is an
/// error.
pub fn read_committed(data_log_dir: &Path) -> anyhow::Result<CommittedHistory> {
    let dir = version_dir(data_log_dir);
    let iter = TxnLogIter::open(&dir, Zxid::ZERO, TornTail::Keep)
        .with_context(|| format!("open the logs in {}", dir.display()))?;
    let mut txns = Vec::new();
    for entry in iter {
        txns.push(txn_of(&entry?)?);
    }
    Ok(match txns.first().map(|t| t.zxid) {
        Some(z) if z.counter() != 1 || z.epoch() > 1 => {
            CommittedHistory::after(Zxid(z.0 - 1), txns)
        }
        _ => CommittedHistory::from_start(txns),
    })
}

/// One logged transaction as the checker sees it.
pub fn txn_of(entry: &TxnEntry) -> anyhow::Result<Txn> {
    let zxid = entry.header.zxid;
    let txn = entry
        .body()
        .with_context(|| format!("decode the transaction at {zxid}"))?;
    Ok(Txn {
        zxid,
        session_id: Some(entry.header.client_id),
        change: change_of(txn),
    })
}

fn data(d: Option<Bytes>) -> Vec<u8> {
    d.map(|b| b.to_vec()).unwrap_or_default()
}

/// Multis are decomposed; a closeSession that deletes ephemerals is a multi of its deletes.
fn change_of(txn: TxnBody) -> Change {
    match txn {
        TxnBody::Create(c) => Change::Create {
            path: c.path,
            data: data(c.data),
        },
        TxnBody::CreateTtl(c) => Change::Create {
            path: c.path,
            data: data(c.data),
        },
        TxnBody::CreateContainer(c) => Change::Create {
            path: c.path,
            data: data(c.data),
        },
        TxnBody::Delete(d) => Change::Delete { path: d.path },
        TxnBody::SetData(s) => Change::SetData {
            path: s.path,
            data: data(s.data),
            version: s.version,
        },
        TxnBody::Error(e) => Change::Error {
            code: ErrorCode::from_i32(e.err),
        },
        TxnBody::Multi(subs) => {
            Change::Multi(subs.into_iter().map(|(_, t)| change_of(t)).collect())
        }
        TxnBody::CloseSession(c) if !c.paths_to_delete.is_empty() => Change::Multi(
            c.paths_to_delete
                .into_iter()
                .map(|path| Change::Delete { path })
                .collect(),
        ),
        _ => Change::Other,
    }
}

/// The register workload: `clients` sessions each run random gets, unconditional sets and
/// compare-and-sets (with the version that session last read or wrote, 0 if none) on `keys`
/// keys under `root`,
/// one request at a time, until `duration` has passed, `max_ops` operations were issued in
/// all, or `stop` is set. Every set writes a unique value. A session that expires is replaced
/// by a new one (with a new [`ClientId`]).
#[derive(Debug, Clone)]
pub struct RegisterWorkload {
    /// The connect string: one or more hosts, no chroot.
    pub connect: String,
    /// The parent of the keys (created, with the keys, before the clients start).
    pub root: String,
    /// How many keys: `{root}/k0`, `{root}/k1`, ...
    pub keys: usize,
    /// How many concurrent sessions.
    pub clients: usize,
    /// How long the clients run.
    pub duration: Duration,
    /// The most operations issued, in all.
    pub max_ops: usize,
    /// The session timeout asked for.
    pub session_timeout: Duration,
    /// How long a request may wait for its reply; after that its outcome is unknown.
    pub request_timeout: Duration,
    /// Seeds each client's choices.
    pub seed: u64,
    /// Set to stop the clients early: each finishes the request it is waiting for (at most
    /// `request_timeout`), closes its session and returns.
    pub stop: Arc<AtomicBool>,
}

impl RegisterWorkload {
    /// 8 keys under `/history`, 8 clients, 3 s or 20,000 operations, 10 s sessions, 2 s
    /// request timeout, seed 1.
    pub fn new(connect: impl Into<String>) -> RegisterWorkload {
        RegisterWorkload {
            connect: connect.into(),
            root: "/history".into(),
            keys: 8,
            clients: 8,
            duration: Duration::from_secs(3),
            max_ops: 20_000,
            session_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(2),
            seed: 1,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn key(&self, k: usize) -> String {
        format!("{}/k{k}", self.root)
    }

    async fn connect(&self) -> anyhow::Result<Client> {
        let connect = Client::builder()
            .session_timeout(self.session_timeout)
            .request_timeout(self.request_timeout)
            .connect(&self.connect);
        tokio::time::timeout(self.session_timeout, connect)
            .await
            .map_err(anyhow::Error::from)
            .and_then(|c| c.map_err(anyhow::Error::from))
            .with_context(|| format!("connect to {}", self.connect))
    }

    /// A new session, tried until `deadline` (members may be down for a while).
    async fn reconnect(&self, deadline: Instant) -> Option<Client> {
        while Instant::now() < deadline && !self.stopped() {
            if let Ok(c) = self.connect().await {
                return Some(c);
            }
        }
        None
    }
}

/// Closes a session, giving up after the request timeout (its members may be down).
async fn close(w: &RegisterWorkload, client: Client) {
    let _ = tokio::time::timeout(w.request_timeout, client.close()).await;
}

/// What a workload run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkloadStats {
    /// Operations recorded.
    pub ops: usize,
    /// Sessions used (more than `clients` when some expired).
    pub sessions: usize,
    /// Operations with an unknown outcome.
    pub unknown: usize,
    /// Sessions that expired (each replaced by a new one).
    pub expired: usize,
}

/// The request for `op`, paths as given.
fn request_of(op: &Operation) -> Request {
    let bytes = |d: &[u8]| Some(Bytes::copy_from_slice(d));
    match op {
        Operation::Read { path } => Request::GetData(GetDataRequest {
            path: path.clone(),
            watch: false,
        }),
        Operation::Set {
            path,
            data,
            version,
        } => Request::SetData(SetDataRequest {
            path: path.clone(),
            data: bytes(data),
            version: version.unwrap_or(-1),
        }),
        Operation::Create { path, data } => Request::Create2(CreateRequest {
            path: path.clone(),
            data: bytes(data),
            acl: Acl::open_unsafe(),
            flags: CreateMode::Persistent.flag(),
        }),
        Operation::Delete { path, version } => Request::Delete(zk_core::proto::DeleteRequest {
            path: path.clone(),
            version: version.unwrap_or(-1),
        }),
    }
}

/// The outcome of a reply: unknown unless the server answered, and also for the answers that
/// do not tell whether a write happened.
fn outcome_of(zxid: Option<Zxid>, result: zk_client::Result<Response>) -> Outcome {
    let Some(zxid) = zxid else {
        return Outcome::Unknown;
    };
    let reply = match result {
        Ok(Response::GetData(r)) => Reply::Read {
            data: data(r.data),
            version: r.stat.version,
        },
        Ok(Response::SetData(r)) => Reply::Set {
            version: r.stat.version,
        },
        Ok(Response::Create(_) | Response::Create2(_)) => Reply::Created,
        Ok(Response::Empty) => Reply::Deleted,
        Ok(_) => return Outcome::Unknown,
        Err(e) => {
            return match e.code() {
                Some(
                    ErrorCode::ConnectionLoss
                    | ErrorCode::SessionExpired
                    | ErrorCode::SessionMoved
                    | ErrorCode::OperationTimeout
                    | ErrorCode::RequestTimeout,
                )
                | None => Outcome::Unknown,
                Some(code) => Outcome::Error { zxid, code },
            }
        }
    };
    Outcome::Ok { zxid, reply }
}

/// Runs `operation` on `client` as session `id`, recorded in `recorder`.
///
/// # Cancel safety
///
/// The request is queued and its invocation recorded on the first poll; dropped after that,
/// the operation stays in the history with an unknown outcome.
pub async fn record(
    recorder: &Recorder,
    client: &Client,
    id: ClientId,
    operation: Operation,
) -> Outcome {
    let request = request_of(&operation);
    let pending = recorder.invoke(id, Some(client.session_id()), operation);
    // Queued when called, right after the invocation was stamped.
    let (zxid, result) = client.request_with_zxid(&request).await;
    let outcome = outcome_of(zxid, result);
    recorder.complete(pending, outcome.clone());
    outcome
}

/// SplitMix64: the clients' choices, and the fault tests' schedules.
pub struct Rng(pub u64);

impl Rng {
    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// Runs the workload, recording every operation (the setup's creates too) in `recorder`.
///
/// # Cancel safety
///
/// Dropping the future stops the clients where they are (their sessions close when dropped);
/// what they did so far stays recorded.
pub async fn run_register(
    w: &RegisterWorkload,
    recorder: &Recorder,
) -> anyhow::Result<WorkloadStats> {
    if w.connect.contains('/') {
        bail!("the connect string must not have a chroot: {}", w.connect);
    }
    let setup = w.connect().await?;
    let id = recorder.client();
    let mut paths = vec![(w.root.clone(), "root".to_owned())];
    paths.extend((0..w.keys).map(|k| (w.key(k), format!("init-{k}"))));
    for (path, data) in paths {
        let create = Operation::Create {
            path,
            data: data.into_bytes(),
        };
        record(recorder, &setup, id, create).await;
    }
    close(w, setup).await;

    let w = Arc::new(w.clone());
    let deadline = Instant::now() + w.duration;
    let budget = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..w.clients {
        let (w, recorder, budget) = (Arc::clone(&w), recorder.clone(), Arc::clone(&budget));
        tasks.spawn(async move { worker(&w, &recorder, index, deadline, &budget).await });
    }
    let mut stats = WorkloadStats {
        sessions: 1,
        ..WorkloadStats::default()
    };
    while let Some(done) = tasks.join_next().await {
        let s = done.context("a workload task panicked")??;
        stats.sessions += s.sessions;
        stats.expired += s.expired;
    }
    let history = recorder.history();
    stats.ops = history.len();
    stats.unknown = history
        .ops()
        .iter()
        .filter(|op| op.outcome == Outcome::Unknown)
        .count();
    Ok(stats)
}

/// One client's loop.
async fn worker(
    w: &RegisterWorkload,
    recorder: &Recorder,
    index: usize,
    deadline: Instant,
    budget: &AtomicUsize,
) -> anyhow::Result<WorkloadStats> {
    let mut rng = Rng(w.seed ^ (index as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let mut client = w.connect().await?;
    let mut id = recorder.client();
    let mut stats = WorkloadStats {
        sessions: 1,
        ..WorkloadStats::default()
    };
    let mut versions: Vec<Option<i32>> = vec![None; w.keys];
    let mut n = 0;
    while Instant::now() < deadline
        && !w.stopped()
        && budget.fetch_add(1, Ordering::Relaxed) < w.max_ops
    {
        let key = rng.below(w.keys);
        let path = w.key(key);
        let data = format!("c{index}-{n}").into_bytes();
        n += 1;
        let operation = match rng.below(100) {
            0..50 => Operation::Read { path },
            50..75 => Operation::Set {
                path,
                data,
                version: None,
            },
            _ => Operation::Set {
                path,
                data,
                version: Some(versions[key].unwrap_or(0)),
            },
        };
        versions[key] = match record(recorder, &client, id, operation).await {
            Outcome::Ok {
                reply: Reply::Read { version, .. } | Reply::Set { version },
                ..
            } => Some(version),
            _ => None,
        };
        if client.state().is_terminal() {
            if client.state() == zk_client::SessionState::Expired {
                stats.expired += 1;
            }
            // A new session, and so a new client id: session order holds per session.
            let Some(c) = w.reconnect(deadline).await else {
                break;
            };
            close(w, std::mem::replace(&mut client, c)).await;
            id = recorder.client();
            stats.sessions += 1;
        }
    }
    close(w, client).await;
    Ok(stats)
}

/// A register workload running in the background of a fault test until
/// [`BackgroundLoad::finish`], every operation recorded on a clock started with it.
pub struct BackgroundLoad {
    /// The history so far.
    pub recorder: Recorder,
    t0: Instant,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<anyhow::Result<WorkloadStats>>,
}

impl BackgroundLoad {
    /// Starts `w` on `rt`, with no limit of time or operations.
    pub fn start(rt: &tokio::runtime::Runtime, mut w: RegisterWorkload) -> BackgroundLoad {
        let t0 = Instant::now();
        let recorder = Recorder::new(move || t0.elapsed().as_nanos() as u64);
        w.duration = Duration::from_secs(24 * 3600);
        w.max_ops = usize::MAX;
        let stop = Arc::clone(&w.stop);
        let task = {
            let r = recorder.clone();
            rt.spawn(async move { run_register(&w, &r).await })
        };
        BackgroundLoad {
            recorder,
            t0,
            stop,
            task,
        }
    }

    /// The recorder's clock now.
    pub fn now(&self) -> u64 {
        self.t0.elapsed().as_nanos() as u64
    }

    /// Acknowledged writes so far.
    pub fn acknowledged_writes(&self) -> usize {
        crate::ensemble_history::acknowledged_writes(&self.recorder.history())
    }

    /// Waits until `n` more writes than now were acknowledged; panics after `limit`.
    pub fn more_writes(&self, n: usize, limit: Duration) {
        let target = self.acknowledged_writes() + n;
        let deadline = Instant::now() + limit;
        while self.acknowledged_writes() < target {
            assert!(Instant::now() < deadline, "writes stalled for {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the clients (each finishes its request and closes its session) and returns
    /// what they did and the history.
    pub fn finish(self, rt: &tokio::runtime::Runtime) -> (WorkloadStats, zk_history::History) {
        self.stop.store(true, Ordering::Relaxed);
        let stats = rt
            .block_on(self.task)
            .expect("the workload task")
            .expect("the workload ran");
        (stats, self.recorder.history())
    }
}
