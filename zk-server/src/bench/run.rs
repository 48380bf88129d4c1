//! Running a benchmark: connect, set up the key space, then keep K requests in flight per
//! session until the window closes.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use hdrhistogram::Histogram;
use zk_client::{Client, CreateMode, Error, Version};

use super::config::{BenchConfig, OpKind};
use super::report::{OpStats, Report};
use super::BenchError;

/// Longest latency the histograms hold (longer ones are clamped): one minute, in ns.
const MAX_LATENCY_NS: u64 = 60_000_000_000;
/// How long the in-flight requests may take to drain after the window closed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How far behind its schedule a rate-limited request may be sent before the delay counts
/// as latency.
const SCHEDULE_SLACK: Duration = Duration::from_millis(2);
/// Creates in flight while the key space is set up.
const SETUP_WINDOW: usize = 512;

/// A completed request: what it was, when it was sent, and its outcome (a created path for
/// creates, so a later delete can remove it).
type Done = (OpKind, Instant, Result<Option<String>, Error>);
type OpFuture = Pin<Box<dyn Future<Output = Done> + Send>>;

fn new_histogram() -> Histogram<u64> {
    // The bounds are constants that Histogram accepts (low >= 1, high >= 2 * low, sigfig 3).
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).expect("valid histogram bounds")
}

/// The path of key `i` under `root`.
pub fn key_path(root: &str, i: usize) -> String {
    format!("{root}/k{i:08}")
}

/// Runs the benchmark `cfg` describes and returns what it measured.
///
/// # Cancel safety
/// Dropping the future stops issuing requests; the sessions close when their tasks are
/// dropped by the runtime (the server expires them otherwise).
pub async fn run(cfg: &BenchConfig) -> Result<Report, BenchError> {
    cfg.validate()?;
    let connect = |_| {
        Client::builder()
            .session_timeout(cfg.session_timeout)
            .connect(&cfg.servers)
    };
    let setup_client = connect(0).await?;
    let keys: Arc<Vec<String>> = Arc::new((0..cfg.keys).map(|i| key_path(&cfg.root, i)).collect());
    let data: Arc<Vec<u8>> = Arc::new(vec![b'x'; cfg.data_size]);
    let setup_started = Instant::now();
    setup(&setup_client, cfg, &keys, &data).await?;
    let setup_time = setup_started.elapsed();

    let clients = futures::future::try_join_all((0..cfg.sessions).map(connect)).await?;
    let cpu_before = process_cpu_seconds();
    let t0 = Instant::now();
    let (warm_end, end) = match cfg.count {
        Some(_) => (t0, None),
        None => (t0 + cfg.warmup, Some(t0 + cfg.warmup + cfg.duration)),
    };
    let budget = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(cfg.sessions);
    for (i, client) in clients.iter().enumerate() {
        let worker = Worker {
            id: i,
            client: client.clone(),
            rng: 0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03),
            keys: keys.clone(),
            data: data.clone(),
            create_prefix: format!("{}/c/s{i}-", cfg.root),
            next_create: 0,
            created: VecDeque::new(),
            stats: SessionStats::new(),
            cfg: cfg.clone(),
            budget: budget.clone(),
            warm_end,
            end,
        };
        tasks.push(tokio::spawn(worker.run()));
    }
    let mut total = SessionStats::new();
    for t in tasks {
        match t.await {
            Ok(s) => total.merge(&s),
            Err(e) => {
                *total.errors.entry(format!("task: {e}")).or_default() += 1;
            }
        }
    }
    let measured = match (cfg.count, end) {
        (Some(_), _) | (None, None) => total.last_done.map_or(Duration::ZERO, |l| l - t0),
        (None, Some(_)) => cfg.duration,
    };
    let client_cpu_s = process_cpu_seconds() - cpu_before;
    for c in clients.iter().chain(std::iter::once(&setup_client)) {
        let _ = tokio::time::timeout(Duration::from_secs(2), c.close()).await;
    }
    Ok(total.into_report(cfg, measured, setup_time, client_cpu_s))
}

/// Creates the root, `<root>/c` and the key space, `SETUP_WINDOW` creates at a time; nodes
/// that exist already are fine.
async fn setup(
    client: &Client,
    cfg: &BenchConfig,
    keys: &[String],
    data: &[u8],
) -> Result<(), BenchError> {
    if cfg.no_setup {
        return Ok(());
    }
    for p in [cfg.root.clone(), format!("{}/c", cfg.root)] {
        match client.create(&p, b"", CreateMode::Persistent).await {
            Ok(_) | Err(Error::NodeExists) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if !cfg.mix.needs_keys() {
        return Ok(());
    }
    let mut pending = FuturesUnordered::new();
    for k in keys {
        if pending.len() >= SETUP_WINDOW {
            if let Some(r) = pending.next().await {
                check_setup(r)?;
            }
        }
        pending.push(client.create(k, data, CreateMode::Persistent));
    }
    while let Some(r) = pending.next().await {
        check_setup(r)?;
    }
    Ok(())
}

fn check_setup<T>(r: Result<T, Error>) -> Result<(), BenchError> {
    match r {
        Ok(_) | Err(Error::NodeExists) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A short name for an error (its variant).
fn error_name(e: &Error) -> String {
    let s = format!("{e:?}");
    let end = s.find(['(', ' ', '{']).unwrap_or(s.len());
    s[..end].to_string()
}

/// CPU time (user + system) this process used so far, from /proc/self/stat; 0 where that
/// file is missing.
pub fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // USER_HZ is 100 on every Linux architecture this runs on.
    (ticks(11) + ticks(12)) / 100.0
}

/// Counters and histograms of one session (merged into the run's at the end).
struct SessionStats {
    all: Histogram<u64>,
    per_op: Vec<(u64, u64, Histogram<u64>)>,
    errors: BTreeMap<String, u64>,
    last_done: Option<Instant>,
    /// Every completed request, warm-up included (for the CPU cost per request).
    completed: u64,
}

impl SessionStats {
    fn new() -> SessionStats {
        SessionStats {
            all: new_histogram(),
            per_op: OpKind::ALL
                .iter()
                .map(|_| (0, 0, new_histogram()))
                .collect(),
            errors: BTreeMap::new(),
            last_done: None,
            completed: 0,
        }
    }

    fn record(&mut self, kind: OpKind, latency: Duration, ok: bool) {
        let ns = (latency.as_nanos() as u64).clamp(1, MAX_LATENCY_NS);
        let slot = &mut self.per_op[kind.index()];
        if ok {
            slot.0 += 1;
            // In bounds by the clamp above.
            let _ = slot.2.record(ns);
            let _ = self.all.record(ns);
        } else {
            slot.1 += 1;
        }
    }

    fn merge(&mut self, o: &SessionStats) {
        let _ = self.all.add(&o.all);
        for (a, b) in self.per_op.iter_mut().zip(&o.per_op) {
            a.0 += b.0;
            a.1 += b.1;
            let _ = a.2.add(&b.2);
        }
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        self.last_done = self.last_done.max(o.last_done);
        self.completed += o.completed;
    }

    fn into_report(
        self,
        cfg: &BenchConfig,
        measured: Duration,
        setup_time: Duration,
        client_cpu_s: f64,
    ) -> Report {
        let us = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        let ops = self.all.len();
        let errors: u64 = self.errors.values().sum();
        let secs = measured.as_secs_f64().max(1e-9);
        let per_op = OpKind::ALL
            .iter()
            .zip(&self.per_op)
            .filter(|(_, (n, e, _))| n + e > 0)
            .map(|(k, (n, e, h))| OpStats {
                kind: *k,
                ops: *n,
                errors: *e,
                p50_us: us(h, 0.5),
                p99_us: us(h, 0.99),
            })
            .collect();
        Report {
            mix: cfg.mix.to_string(),
            sessions: cfg.sessions,
            inflight: cfg.inflight,
            data_size: cfg.data_size,
            keys: cfg.keys,
            duration_s: measured.as_secs_f64(),
            setup_s: setup_time.as_secs_f64(),
            ops,
            ops_per_sec: ops as f64 / secs,
            errors,
            error_kinds: self.errors,
            mean_us: self.all.mean() / 1000.0,
            p50_us: us(&self.all, 0.5),
            p99_us: us(&self.all, 0.99),
            p999_us: us(&self.all, 0.999),
            max_us: self.all.max() as f64 / 1000.0,
            client_cpu_s,
            completed_all: self.completed,
            per_op,
        }
    }
}

/// One session's loop.
struct Worker {
    id: usize,
    client: Client,
    rng: u64,
    keys: Arc<Vec<String>>,
    data: Arc<Vec<u8>>,
    create_prefix: String,
    next_create: u64,
    created: VecDeque<String>,
    stats: SessionStats,
    cfg: BenchConfig,
    budget: Arc<AtomicU64>,
    warm_end: Instant,
    end: Option<Instant>,
}

impl Worker {
    fn next_u64(&mut self) -> u64 {
        // xorshift64*: fast, and good enough to spread keys and pick operations.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn random_key(&mut self) -> usize {
        (self.next_u64() % self.keys.len() as u64) as usize
    }

    /// May another request be sent now?
    fn may_issue(&self, now: Instant) -> bool {
        match (self.cfg.count, self.end) {
            (Some(n), _) => self.budget.fetch_add(1, Ordering::Relaxed) < n,
            (None, Some(end)) => now < end,
            (None, None) => false,
        }
    }

    fn issue(&mut self, now: Instant) -> OpFuture {
        let total = self.cfg.mix.total();
        let draw = (self.next_u64() % u64::from(total)) as u32;
        let mut kind = self.cfg.mix.pick(draw);
        match kind {
            OpKind::Get => {
                let k = self.random_key();
                let f = self.client.get_data(&self.keys[k]);
                Box::pin(async move { (kind, now, f.await.map(|_| None)) })
            }
            OpKind::Exists => {
                let k = self.random_key();
                let f = self.client.exists(&self.keys[k]);
                Box::pin(async move { (kind, now, f.await.map(|_| None)) })
            }
            OpKind::Set => {
                let k = self.random_key();
                let f = self
                    .client
                    .set_data(&self.keys[k], &self.data, Version::Any);
                Box::pin(async move { (kind, now, f.await.map(|_| None)) })
            }
            OpKind::Delete if !self.created.is_empty() => {
                let path = self.created.pop_front().unwrap_or_default();
                let f = self.client.delete(&path, Version::Any);
                Box::pin(async move { (kind, now, f.await.map(|_| None)) })
            }
            OpKind::Create | OpKind::Delete => {
                kind = OpKind::Create;
                let path = format!("{}{}", self.create_prefix, self.next_create);
                self.next_create += 1;
                let f = self
                    .client
                    .create(&path, &self.data, CreateMode::Persistent);
                Box::pin(async move { (kind, now, f.await.map(|(p, _)| Some(p))) })
            }
            OpKind::Multi => {
                let picks: Vec<usize> =
                    (0..self.cfg.multi_ops).map(|_| self.random_key()).collect();
                let mut m = self.client.multi();
                for k in picks {
                    m = m.set_data(&self.keys[k], &self.data, Version::Any);
                }
                let f = m.commit();
                Box::pin(async move { (kind, now, f.await.map(|_| None)) })
            }
        }
    }

    async fn run(mut self) -> SessionStats {
        let _ = self.id;
        let mut inflight: FuturesUnordered<OpFuture> = FuturesUnordered::new();
        let mut issuing = true;
        let mut drain_deadline: Option<Instant> = None;
        // With --rate, each session sends on a fixed schedule and latency counts from the
        // scheduled time, so a stalled server is charged for the requests it delayed
        // (no coordinated omission).
        let interval = self
            .cfg
            .rate
            .map(|r| Duration::from_secs_f64(self.cfg.sessions as f64 / r.max(1e-3)));
        let mut next_send = Instant::now();
        loop {
            let now = Instant::now();
            while issuing && inflight.len() < self.cfg.inflight {
                let at = match interval {
                    Some(_) if next_send > now => break,
                    Some(iv) => {
                        let at = next_send;
                        next_send += iv;
                        // Timer wake-ups are late by up to a millisecond; only a real backlog
                        // (more than 2 ms behind schedule) is charged to the server.
                        if now.saturating_duration_since(at) > SCHEDULE_SLACK {
                            at
                        } else {
                            now
                        }
                    }
                    None => now,
                };
                if self.may_issue(now) {
                    inflight.push(self.issue(at));
                } else {
                    issuing = false;
                }
            }
            if inflight.is_empty() {
                if issuing && interval.is_some() {
                    tokio::time::sleep_until(next_send.into()).await;
                    continue;
                }
                break;
            }
            let next = if issuing {
                if interval.is_some() && inflight.len() < self.cfg.inflight {
                    tokio::select! {
                        n = inflight.next() => n,
                        _ = tokio::time::sleep_until(next_send.into()) => continue,
                    }
                } else {
                    inflight.next().await
                }
            } else {
                let deadline = *drain_deadline.get_or_insert(now + DRAIN_TIMEOUT);
                match tokio::time::timeout_at(deadline.into(), inflight.next()).await {
                    Ok(n) => n,
                    Err(_) => {
                        *self.stats.errors.entry("DrainTimeout".into()).or_default() +=
                            inflight.len() as u64;
                        break;
                    }
                }
            };
            let Some((kind, sent, result)) = next else {
                break;
            };
            let done = Instant::now();
            self.stats.completed += 1;
            let in_window = sent >= self.warm_end && self.end.is_none_or(|e| done <= e);
            match result {
                Ok(created) => {
                    if let Some(p) = created {
                        self.created.push_back(p);
                    }
                    if in_window {
                        self.stats.record(kind, done - sent, true);
                        self.stats.last_done = Some(done);
                    }
                }
                Err(e) => {
                    if in_window {
                        self.stats.record(kind, done - sent, false);
                        *self.stats.errors.entry(error_name(&e)).or_default() += 1;
                    }
                }
            }
        }
        self.stats
    }
}
