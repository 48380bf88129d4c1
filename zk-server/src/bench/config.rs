//! The workload: which operations, how many sessions and requests in flight, how long.

use std::str::FromStr;
use std::time::Duration;

use super::BenchError;

/// One kind of request the generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    /// getData of a random key.
    Get,
    /// exists of a random key.
    Exists,
    /// setData (any version) of a random key.
    Set,
    /// create of a new persistent node under `<root>/c`, unique per session.
    Create,
    /// delete of a node this session created earlier (a create when it has none left).
    Delete,
    /// A multi of `multi_ops` setData on random keys (counted as one operation).
    Multi,
}

impl OpKind {
    /// Every kind, in report order.
    pub const ALL: [OpKind; 6] = [
        OpKind::Get,
        OpKind::Exists,
        OpKind::Set,
        OpKind::Create,
        OpKind::Delete,
        OpKind::Multi,
    ];

    /// The option-value spelling.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Get => "get",
            OpKind::Exists => "exists",
            OpKind::Set => "set",
            OpKind::Create => "create",
            OpKind::Delete => "delete",
            OpKind::Multi => "multi",
        }
    }

    /// True for the kinds that need the key space to exist.
    pub fn needs_keys(self) -> bool {
        matches!(
            self,
            OpKind::Get | OpKind::Exists | OpKind::Set | OpKind::Multi
        )
    }

    /// The position in [`OpKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl FromStr for OpKind {
    type Err = BenchError;

    fn from_str(s: &str) -> Result<OpKind, BenchError> {
        OpKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| BenchError::Config(format!("unknown operation {s:?}")))
    }
}

/// Operation mix: relative weights, e.g. `get=90,set=10` or just `get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    /// (kind, weight) with weight > 0.
    pub weights: Vec<(OpKind, u32)>,
}

impl Mix {
    /// The sum of the weights.
    pub fn total(&self) -> u32 {
        self.weights.iter().map(|(_, w)| *w).sum()
    }

    /// The kind for a number drawn uniformly in `0..total()`.
    pub fn pick(&self, mut draw: u32) -> OpKind {
        for (k, w) in &self.weights {
            if draw < *w {
                return *k;
            }
            draw -= w;
        }
        // Unreachable for draws below total(); the last kind is a safe answer.
        self.weights.last().map(|(k, _)| *k).unwrap_or(OpKind::Get)
    }

    /// True when any kind in the mix needs the key space.
    pub fn needs_keys(&self) -> bool {
        self.weights.iter().any(|(k, _)| k.needs_keys())
    }
}

impl std::fmt::Display for Mix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .weights
            .iter()
            .map(|(k, w)| format!("{}={w}", k.name()))
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl FromStr for Mix {
    type Err = BenchError;

    fn from_str(s: &str) -> Result<Mix, BenchError> {
        let mut weights = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, w) = match part.split_once(['=', ':']) {
                Some((n, w)) => (
                    n,
                    w.parse::<u32>()
                        .map_err(|_| BenchError::Config(format!("bad weight in {part:?}")))?,
                ),
                None => (part, 1),
            };
            if w > 0 {
                weights.push((name.parse()?, w));
            }
        }
        if weights.is_empty() {
            return Err(BenchError::Config(format!("empty mix {s:?}")));
        }
        Ok(Mix { weights })
    }
}

/// A whole benchmark run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Connect string (`host:port,...`).
    pub servers: String,
    /// Sessions (one connection each).
    pub sessions: usize,
    /// Requests in flight per session.
    pub inflight: usize,
    /// Operation mix.
    pub mix: Mix,
    /// Bytes of data written by set/create/multi and in the key space's nodes.
    pub data_size: usize,
    /// Number of keys (`<root>/k<i>`) read and written.
    pub keys: usize,
    /// Setdata ops per multi.
    pub multi_ops: usize,
    /// Length of the measured window.
    pub duration: Duration,
    /// Time before the measured window (requests run but are not recorded).
    pub warmup: Duration,
    /// Stop after this many operations in total instead of after `duration` (load mode).
    pub count: Option<u64>,
    /// Total request rate (ops/s) spread over the sessions; `None` = as fast as the
    /// in-flight limit allows (closed loop).
    pub rate: Option<f64>,
    /// Parent node of everything the benchmark touches.
    pub root: String,
    /// Session timeout asked for.
    pub session_timeout: Duration,
    /// Skip creating the key space (it exists already).
    pub no_setup: bool,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            servers: "127.0.0.1:2181".into(),
            sessions: 8,
            inflight: 32,
            mix: Mix {
                weights: vec![(OpKind::Get, 1)],
            },
            data_size: 100,
            keys: 1000,
            multi_ops: 4,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            count: None,
            rate: None,
            root: "/zk-bench".into(),
            session_timeout: Duration::from_secs(30),
            no_setup: false,
        }
    }
}

fn secs(v: &str) -> Result<Duration, String> {
    let f: f64 = v
        .parse()
        .map_err(|_| format!("bad number of seconds {v:?}"))?;
    if !(0.0..=86_400.0).contains(&f) {
        return Err(format!("out of range {v:?} (0 to 86400 s)"));
    }
    Ok(Duration::from_secs_f64(f))
}

/// Options that are not part of the workload itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CliExtras {
    /// Print JSON instead of text.
    pub json: bool,
    /// Tokio worker threads (0 = current-thread runtime).
    pub threads: usize,
}

/// The `zk-bench` command line (`zk-bench --help` prints it).
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "zk-bench",
    version,
    about = "zk-bench: a load generator for any ZooKeeper-protocol server",
    long_about = "zk-bench: a load generator for any ZooKeeper-protocol server (zk-server, Apache \
                  ZooKeeper, ...): N sessions with K requests in flight each, latencies in an \
                  HdrHistogram, a text or JSON report."
)]
pub struct BenchArgs {
    /// The connect string.
    #[arg(
        long,
        visible_alias = "server",
        value_name = "HOST:PORT[,..]",
        default_value = "127.0.0.1:2181"
    )]
    pub servers: String,
    /// Sessions (one connection each).
    #[arg(long, short = 'n', value_name = "N", default_value_t = 8)]
    pub sessions: usize,
    /// Requests in flight per session.
    #[arg(long, short = 'k', value_name = "K", default_value_t = 32)]
    pub inflight: usize,
    /// The operation mix: get|exists|set|create|delete|multi, or weights like get=90,set=10.
    #[arg(long, visible_alias = "op", value_name = "SPEC", default_value = "get")]
    pub mix: Mix,
    /// Bytes of data per write and per key node.
    #[arg(long, value_name = "BYTES", default_value_t = 100)]
    pub data_size: usize,
    /// Size of the key space.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub keys: usize,
    /// setData ops per multi.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub multi_ops: usize,
    /// The measured window, in seconds.
    #[arg(long, value_name = "SECS", value_parser = secs, default_value = "10")]
    pub duration: Duration,
    /// The unrecorded warm-up, in seconds.
    #[arg(long, value_name = "SECS", value_parser = secs, default_value = "2")]
    pub warmup: Duration,
    /// Stop after N operations instead (load mode; no warm-up).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Total ops/s on a fixed schedule; latency counts from the scheduled send time (default:
    /// closed loop).
    #[arg(long, value_name = "OPS")]
    pub rate: Option<f64>,
    /// The parent node of everything the benchmark touches.
    #[arg(long, value_name = "PATH", default_value = "/zk-bench")]
    pub root: String,
    /// The session timeout asked for, in seconds.
    #[arg(long, value_name = "SECS", value_parser = secs, default_value = "30")]
    pub session_timeout: Duration,
    /// The key space exists already.
    #[arg(long)]
    pub no_setup: bool,
    /// Tokio worker threads, 0 = one current-thread runtime.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

impl BenchArgs {
    /// The workload and the other options, checked ([`BenchConfig::validate`]).
    pub fn into_config(self) -> Result<(BenchConfig, CliExtras), BenchError> {
        let cfg = BenchConfig {
            servers: self.servers,
            sessions: self.sessions,
            inflight: self.inflight,
            mix: self.mix,
            data_size: self.data_size,
            keys: self.keys,
            multi_ops: self.multi_ops,
            duration: self.duration,
            warmup: self.warmup,
            count: self.count,
            rate: self.rate,
            root: self.root,
            session_timeout: self.session_timeout,
            no_setup: self.no_setup,
        };
        cfg.validate()?;
        Ok((
            cfg,
            CliExtras {
                json: self.json,
                threads: self.threads,
            },
        ))
    }
}

impl BenchConfig {
    /// Parses `zk-bench`'s options (without the program name); `--help` is an error here
    /// (the binary prints it).
    pub fn from_args<I: IntoIterator<Item = String>>(
        args: I,
    ) -> Result<(BenchConfig, CliExtras), BenchError> {
        use clap::Parser;
        let argv = std::iter::once("zk-bench".to_owned()).chain(args);
        BenchArgs::try_parse_from(argv)
            .map_err(|e| BenchError::Config(e.to_string()))?
            .into_config()
    }

    /// Checks the limits: at least one session, request and key; at most 10,000 sessions and
    /// 100,000 requests in flight per session; data within jute.maxbuffer's default.
    pub fn validate(&self) -> Result<(), BenchError> {
        let bad = |m: &str| Err(BenchError::Config(m.into()));
        if self.sessions == 0 || self.sessions > 10_000 {
            return bad("--sessions must be 1..=10000");
        }
        if self.inflight == 0 || self.inflight > 100_000 {
            return bad("--inflight must be 1..=100000");
        }
        if self.keys == 0 || self.keys > 100_000_000 {
            return bad("--keys must be 1..=100000000");
        }
        if self.data_size > 1_000_000 {
            return bad("--data-size must be at most 1000000");
        }
        if self.multi_ops == 0 || self.multi_ops > 1000 {
            return bad("--multi-ops must be 1..=1000");
        }
        if self.rate.is_some_and(|r| !(r > 0.0 && r <= 1e9)) {
            return bad("--rate must be in (0, 1e9]");
        }
        if !self.root.starts_with('/') || self.root.len() < 2 || self.root.ends_with('/') {
            return bad("--root must be an absolute path other than /");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mix_and_options() {
        let args = "--mix get=90,set=10 --sessions 4 -k 16 --duration=1.5 --json"
            .split(' ')
            .map(String::from);
        let (cfg, extras) = BenchConfig::from_args(args).unwrap();
        assert_eq!(cfg.mix.total(), 100);
        assert_eq!(cfg.mix.pick(89), OpKind::Get);
        assert_eq!(cfg.mix.pick(90), OpKind::Set);
        assert_eq!(cfg.sessions, 4);
        assert_eq!(cfg.inflight, 16);
        assert_eq!(cfg.duration, Duration::from_millis(1500));
        assert!(extras.json);
        assert_eq!(cfg.mix.to_string(), "get=90,set=10");
    }

    #[test]
    fn rejects_bad_input() {
        assert!("frob".parse::<Mix>().is_err());
        assert!("get=0".parse::<Mix>().is_err());
        assert!(BenchConfig::from_args(["--sessions".to_string(), "0".into()]).is_err());
        assert!(BenchConfig::from_args(["--bogus".to_string()]).is_err());
    }
}
