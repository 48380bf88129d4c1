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

fn num<T: FromStr>(opt: &str, v: &str) -> Result<T, BenchError> {
    v.parse()
        .map_err(|_| BenchError::Config(format!("{opt}: bad number {v:?}")))
}

fn secs(opt: &str, v: &str) -> Result<Duration, BenchError> {
    let f: f64 = num(opt, v)?;
    if !(0.0..=86_400.0).contains(&f) {
        return Err(BenchError::Config(format!("{opt}: out of range {v:?}")));
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
    /// Print usage and exit.
    pub help: bool,
}

/// The usage text of the `zk-bench` binary.
pub const USAGE: &str = "\
zk-bench: a load generator for any ZooKeeper-protocol server

usage: zk-bench [options]
  --servers HOST:PORT[,..]  connect string              (default 127.0.0.1:2181)
  --sessions N              sessions / connections      (default 8)
  --inflight K              requests in flight per session (default 32)
  --op KIND | --mix SPEC    get|exists|set|create|delete|multi, or weights
                            like get=90,set=10          (default get)
  --data-size BYTES         data per write / key node   (default 100)
  --keys N                  key space size              (default 1000)
  --multi-ops N             setData ops per multi       (default 4)
  --duration SECS           measured window             (default 10)
  --warmup SECS             unrecorded warm-up          (default 2)
  --count N                 stop after N ops instead (load mode; no warm-up)
  --rate OPS                total ops/s on a fixed schedule; latency counts from
                            the scheduled send time (default: closed loop)
  --root PATH               parent node                 (default /zk-bench)
  --session-timeout SECS    (default 30)
  --no-setup                the key space exists already
  --threads N               tokio worker threads, 0 = one thread (default 1)
  --json                    print the report as JSON
";

impl BenchConfig {
    /// Parses `zk-bench`'s options (without the program name).
    pub fn from_args<I: IntoIterator<Item = String>>(
        args: I,
    ) -> Result<(BenchConfig, CliExtras), BenchError> {
        let mut cfg = BenchConfig::default();
        let mut extras = CliExtras {
            threads: 1,
            ..CliExtras::default()
        };
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let (opt, inline) = match arg.split_once('=') {
                Some((o, v)) if o.starts_with("--") => (o.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = || -> Result<String, BenchError> {
                match &inline {
                    Some(v) => Ok(v.clone()),
                    None => it
                        .next()
                        .ok_or_else(|| BenchError::Config(format!("{opt} needs a value"))),
                }
            };
            match opt.as_str() {
                "--servers" | "--server" => cfg.servers = value()?,
                "--sessions" | "-n" => cfg.sessions = num(&opt, &value()?)?,
                "--inflight" | "-k" => cfg.inflight = num(&opt, &value()?)?,
                "--op" | "--mix" => cfg.mix = value()?.parse()?,
                "--data-size" => cfg.data_size = num(&opt, &value()?)?,
                "--keys" => cfg.keys = num(&opt, &value()?)?,
                "--multi-ops" => cfg.multi_ops = num(&opt, &value()?)?,
                "--duration" => cfg.duration = secs(&opt, &value()?)?,
                "--warmup" => cfg.warmup = secs(&opt, &value()?)?,
                "--rate" => cfg.rate = Some(num(&opt, &value()?)?),
                "--count" => cfg.count = Some(num(&opt, &value()?)?),
                "--root" => cfg.root = value()?,
                "--session-timeout" => cfg.session_timeout = secs(&opt, &value()?)?,
                "--no-setup" => cfg.no_setup = true,
                "--threads" => extras.threads = num(&opt, &value()?)?,
                "--json" => extras.json = true,
                "--help" | "-h" => extras.help = true,
                other => return Err(BenchError::Config(format!("unknown option {other:?}"))),
            }
        }
        cfg.validate()?;
        Ok((cfg, extras))
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
