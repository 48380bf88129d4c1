//! Four-letter words (`org.apache.zookeeper.server.command`), with Apache ZooKeeper 3.8's
//! output formats.

use std::fmt::Write;

use crate::config::ServerConfig;
use crate::core::Core;
use crate::time_fmt::java_date;

/// The version string reported by srvr, stat, mntr and envi.
pub const VERSION: &str = concat!(
    "3.8.0-zk-server-",
    env!("CARGO_PKG_VERSION"),
    ", built on 1970-01-01 00:00 UTC"
);

/// Every command Apache ZooKeeper recognizes in the first four bytes of a connection.
pub const KNOWN: [&str; 18] = [
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk", "srvr", "srst", "stat",
    "wchc", "wchp", "wchs", "mntr", "isro", "hash",
];

/// zk-server's own word: `ydld` (yield leadership, as ClickHouse Keeper's) hands the
/// leadership of an ensemble to the most up-to-date voting follower, `ydld <id>` to server
/// `<id>`. Sent to the leader; answered at once, the handover takes an election.
pub const YIELD: &str = "ydld";

/// The command spelled by a connection's first four bytes, if any.
pub fn detect(first: [u8; 4]) -> Option<&'static str> {
    let s = std::str::from_utf8(&first).ok()?;
    KNOWN.iter().copied().chain([YIELD]).find(|k| *k == s)
}

/// `ydld`'s argument: nothing (the most up-to-date follower) or a server id.
///
/// # Errors
/// Anything else, with the answer to print.
pub fn yield_target(arg: &str) -> Result<Option<i64>, String> {
    match arg.trim() {
        "" => Ok(None),
        s => s
            .parse()
            .map(Some)
            .map_err(|_| format!("Usage: {YIELD} [server id], not \"{YIELD} {s}\"\n")),
    }
}

/// Driver-side figures the core does not know.
#[derive(Debug, Clone, Copy, Default)]
pub struct DriverStats {
    /// Requests read and not yet answered, over all connections.
    pub outstanding: usize,
    /// Smallest request latency (ms).
    pub min_latency_ms: u64,
    /// Mean request latency (ms).
    pub avg_latency_ms: f64,
    /// Largest request latency (ms).
    pub max_latency_ms: u64,
    /// The member's role, when it is a member of an ensemble (None: standalone).
    pub quorum: Option<QuorumView>,
}

/// An ensemble member's role as the four-letter words report it.
#[derive(Debug, Clone, Copy)]
pub struct QuorumView {
    /// `leader`, `follower`, `observer`, `read-only` (no quorum, `readonlymode.enabled`), or
    /// `looking` while electing.
    pub mode: &'static str,
    /// Whether it serves clients now.
    pub serving: bool,
    /// Leader: learners connected.
    pub learners: usize,
    /// Leader: followers past NEWLEADER.
    pub synced_followers: usize,
    /// Leader: syncs in progress.
    pub pending_syncs: usize,
    /// How long the last election took (ms).
    pub election_time_ms: i64,
    /// The member's id.
    pub my_id: i64,
    /// The client address it serves on.
    pub client_addr: std::net::SocketAddr,
}

/// Apache ZooKeeper's answer to the commands that need a serving server while it is not.
const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// A double as Java's `Double.toString` prints ordinary values (`0.0`, `1.5`).
fn java_double(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e7 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// The answer to `cmd` (already known to be recognized), whitelist applied.
pub fn run(cmd: &str, core: &Core, cfg: &ServerConfig, now_ms: i64, d: DriverStats) -> String {
    if !cfg.four_letter_allowed(cmd) {
        return format!("{cmd} is not executed because it is not in the whitelist.\n");
    }
    let mut o = String::new();
    let needs_server = matches!(
        cmd,
        "srvr"
            | "stat"
            | "cons"
            | "conf"
            | "dump"
            | "wchs"
            | "wchc"
            | "wchp"
            | "mntr"
            | "crst"
            | "srst"
            | "dirs"
            | "hash"
            | "isro"
    );
    if needs_server && d.quorum.is_some_and(|q| !q.serving) {
        // As Apache ZooKeeper 3.8 answers: `isro` says "null", `hash` (DigestCommand)
        // prints the message without a line end, the others with one.
        return match cmd {
            "isro" => "null".to_string(),
            "hash" => NOT_SERVING.trim_end().to_string(),
            _ => NOT_SERVING.to_string(),
        };
    }
    match cmd {
        "ruok" => o.push_str("imok"),
        "isro" => o.push_str(if d.quorum.is_some_and(|q| q.mode == "read-only") {
            "ro"
        } else {
            "rw"
        }),
        "srvr" => srvr(&mut o, core, d, false),
        "stat" => srvr(&mut o, core, d, true),
        "cons" => {
            cons(&mut o, core, now_ms);
            o.push('\n');
        }
        "conf" => conf(&mut o, cfg),
        "envi" => envi(&mut o),
        "mntr" => mntr(&mut o, core, d, now_ms),
        "wchs" => {
            let w = &core.watches;
            let _ = writeln!(
                o,
                "{} connections watching {} paths\nTotal watches:{}",
                w.conn_count(),
                w.path_count(),
                w.watch_count()
            );
        }
        "wchc" => {
            for (conn, paths) in core.watches.by_conn() {
                let sid = core
                    .conns
                    .get(&conn)
                    .and_then(|c| c.session)
                    .map_or(0, |s| s.0);
                let _ = writeln!(o, "0x{sid:x}");
                for p in paths {
                    let _ = writeln!(o, "\t{p}");
                }
            }
            o.push('\n');
        }
        "wchp" => {
            for (p, conns) in core.watches.by_path() {
                let _ = writeln!(o, "{p}");
                for c in conns {
                    let sid = core
                        .conns
                        .get(&c)
                        .and_then(|c| c.session)
                        .map_or(0, |s| s.0);
                    let _ = writeln!(o, "\t0x{sid:x}");
                }
            }
            o.push('\n');
        }
        "dump" => dump(&mut o, core),
        "crst" => o.push_str("Connection stats reset.\n"),
        "srst" => o.push_str("Server stats reset.\n"),
        "dirs" => {
            let _ = writeln!(o, "datadir_size: 0\nlogdir_size: 0");
        }
        "hash" => o.push_str("Digest in every 128 txns:\n"),
        // An ensemble member answers it before this (see `server::ensemble`).
        YIELD => o.push_str("This server is not a member of an ensemble\n"),
        "gtmk" | "stmk" => o.push_str("0\n"),
        _ => {}
    }
    o
}

fn srvr(o: &mut String, core: &Core, d: DriverStats, with_clients: bool) {
    let _ = writeln!(o, "Zookeeper version: {VERSION}");
    if with_clients {
        o.push_str("Clients:\n");
        let mut conns: Vec<_> = core.conns.values().collect();
        conns.sort_by_key(|c| c.established);
        for c in conns {
            let _ = writeln!(
                o,
                " /{}[1](queued=0,recved={},sent={})",
                c.remote, c.received, c.sent
            );
        }
        o.push('\n');
    }
    let _ = write!(
        o,
        "Latency min/avg/max: {}/{}/{}\nReceived: {}\nSent: {}\nConnections: {}\nOutstanding: {}\n\
         Zxid: 0x{:x}\nMode: {}\nNode count: {}\n",
        d.min_latency_ms,
        java_double(d.avg_latency_ms),
        d.max_latency_ms,
        core.packets_received,
        core.packets_sent,
        core.conns.len(),
        d.outstanding,
        core.last_zxid().0,
        d.quorum.map_or("standalone", |q| q.mode),
        core.tree.node_count() + 1
    );
    if d.quorum.is_some_and(|q| q.mode == "leader") {
        o.push_str("Proposal sizes last/min/max: -1/-1/-1\n");
    }
}

fn cons(o: &mut String, core: &Core, now_ms: i64) {
    let mut conns: Vec<_> = core.conns.values().collect();
    conns.sort_by_key(|c| c.established);
    for c in conns {
        let _ = write!(
            o,
            " /{}[1](queued=0,recved={},sent={}",
            c.remote, c.received, c.sent
        );
        if let Some(sid) = c.session {
            let _ = write!(
                o,
                ",sid=0x{:x},lop={},est={},to={},lcxid=0x{:x},lzxid=0x{:x},lresp={},llat=0,minlat=0,avglat=0,maxlat=0",
                sid.0,
                c.last_op,
                c.established,
                c.timeout_ms,
                c.last_cxid,
                c.last_zxid.0,
                c.last_response.min(now_ms)
            );
        }
        o.push_str(")\n");
    }
}

fn conf(o: &mut String, cfg: &ServerConfig) {
    let data = cfg.data_dir.join("version-2");
    let log = cfg
        .data_log_dir
        .as_ref()
        .unwrap_or(&cfg.data_dir)
        .join("version-2");
    let _ = write!(
        o,
        "clientPort={}\nsecureClientPort=-1\ndataDir={}\ndataDirSize=0\ndataLogDir={}\n\
         dataLogSize=0\ntickTime={}\nmaxClientCnxns={}\nminSessionTimeout={}\n\
         maxSessionTimeout={}\nclientPortListenBacklog=-1\nserverId=0\n",
        cfg.client_port,
        data.display(),
        log.display(),
        cfg.tick_time_ms,
        cfg.max_client_cnxns,
        cfg.min_session_timeout(),
        cfg.max_session_timeout()
    );
}

fn envi(o: &mut String) {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    let dir = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let _ = write!(
        o,
        "Environment:\nzookeeper.version={VERSION}\nhost.name={host}\njava.version=<NA>\n\
         java.vendor=<NA>\njava.home=<NA>\njava.class.path=<NA>\njava.library.path=<NA>\n\
         java.io.tmpdir={}\njava.compiler=<NA>\nos.name={}\nos.arch={}\nos.version=<NA>\n\
         user.name={}\nuser.home={}\nuser.dir={dir}\nos.memory.free=0MB\nos.memory.max=0MB\n\
         os.memory.total=0MB\n",
        std::env::temp_dir().display(),
        std::env::consts::OS,
        std::env::consts::ARCH,
        std::env::var("USER").unwrap_or_default(),
        std::env::var("HOME").unwrap_or_default(),
    );
}

fn mntr(o: &mut String, core: &Core, d: DriverStats, now_ms: i64) {
    let lines: [(&str, String); 17] = [
        ("version", VERSION.to_string()),
        (
            "server_state",
            d.quorum.map_or("standalone", |q| q.mode).into(),
        ),
        ("ephemerals_count", core.tree.ephemeral_count().to_string()),
        ("num_alive_connections", core.conns.len().to_string()),
        ("avg_latency", java_double(d.avg_latency_ms)),
        ("outstanding_requests", d.outstanding.to_string()),
        ("znode_count", (core.tree.node_count() + 1).to_string()),
        ("global_sessions", core.sessions.len().to_string()),
        ("packets_sent", core.packets_sent.to_string()),
        ("packets_received", core.packets_received.to_string()),
        ("watch_count", core.watches.watch_count().to_string()),
        ("min_latency", d.min_latency_ms.to_string()),
        ("max_latency", d.max_latency_ms.to_string()),
        (
            "approximate_data_size",
            core.tree.approximate_data_size().to_string(),
        ),
        ("local_sessions", "0".into()),
        ("uptime", (now_ms - core.started).max(0).to_string()),
        ("connection_drop_probability", "0.0".into()),
    ];
    for (k, v) in lines {
        let _ = writeln!(o, "zk_{k}\t{v}");
    }
    if let Some(q) = d.quorum.filter(|q| q.mode == "leader") {
        let _ = writeln!(
            o,
            "zk_learners\t{}\nzk_synced_followers\t{}\nzk_pending_syncs\t{}",
            q.learners, q.synced_followers, q.pending_syncs
        );
    }
    if let Some(q) = d.quorum {
        let _ = writeln!(o, "zk_election_time\t{}", q.election_time_ms);
    }
    if let Some((open, max)) = file_descriptors() {
        let _ = writeln!(
            o,
            "zk_open_file_descriptor_count\t{open}\nzk_max_file_descriptor_count\t{max}"
        );
    }
}

/// Open and maximum file descriptors of this process (Linux `/proc`), as mntr reports them.
fn file_descriptors() -> Option<(usize, u64)> {
    let open = std::fs::read_dir("/proc/self/fd").ok()?.count();
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let max = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some((open, max))
}

fn dump(o: &mut String, core: &Core) {
    let buckets = core.sessions.buckets();
    let total: usize = buckets.values().map(|s| s.len()).sum();
    let _ = writeln!(
        o,
        "SessionTracker dump:\nSession Sets ({})/({}):",
        buckets.len(),
        total
    );
    for (at, set) in buckets {
        let _ = writeln!(o, "{} expire at {}:", set.len(), java_date(*at));
        for s in set {
            let _ = writeln!(o, "\t0x{:x}", s.0);
        }
    }
    let eph = core.tree.ephemerals_by_session();
    let _ = writeln!(
        o,
        "ephemeral nodes dump:\nSessions with Ephemerals ({}):",
        eph.len()
    );
    for (sid, paths) in eph {
        let _ = writeln!(o, "0x{:x}:", sid.0);
        for p in paths {
            let _ = writeln!(o, "\t{p}");
        }
    }
    let _ = writeln!(o, "Connections dump:\nConnections Sets (0)/(0):");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_known_words_only() {
        assert_eq!(detect(*b"ruok"), Some("ruok"));
        assert_eq!(detect(*b"\0\0\0\x2d"), None);
        assert_eq!(detect(*b"abcd"), None);
    }

    #[test]
    fn whitelist_message() {
        let core = Core::new(Default::default(), 0);
        let cfg = ServerConfig::default();
        assert_eq!(
            run("ruok", &core, &cfg, 0, DriverStats::default()),
            "ruok is not executed because it is not in the whitelist.\n"
        );
        let srvr = run("srvr", &core, &cfg, 0, DriverStats::default());
        assert!(srvr.starts_with("Zookeeper version: 3.8.0"), "{srvr}");
        assert!(srvr.contains("Node count: 5\n"), "{srvr}");
    }

    /// A member without a quorum answers as Apache ZooKeeper 3.8 does (captured from a 3.8.0
    /// member left alone: `tests/tests/ensemble_four_letter.rs` compares both on processes).
    #[test]
    fn a_member_that_does_not_serve() {
        let core = Core::new(Default::default(), 0);
        let cfg = ServerConfig::for_tests("/tmp/unused");
        let d = DriverStats {
            quorum: Some(QuorumView {
                mode: "looking",
                serving: false,
                learners: 0,
                synced_followers: 0,
                pending_syncs: 0,
                election_time_ms: 0,
                my_id: 1,
                client_addr: ([127, 0, 0, 1], 2181).into(),
            }),
            ..DriverStats::default()
        };
        for word in KNOWN {
            let expected = match word {
                "ruok" => "imok",
                "isro" => "null",
                "hash" => "This ZooKeeper instance is not currently serving requests",
                // The process's own settings and the trace mask answer anyway.
                "envi" | "gtmk" | "stmk" => continue,
                _ => NOT_SERVING,
            };
            assert_eq!(run(word, &core, &cfg, 0, d), expected, "{word}");
        }
    }
}
