//! Configuration: Apache ZooKeeper's zoo.cfg keys, plus the settings Apache ZooKeeper takes as
//! Java system properties, accepted as zoo.cfg keys, as environment variables (the key itself,
//! or `ZK_` + the key upper-cased with `.` as `_`), and as `-Dkey=value` words in `JVMFLAGS` /
//! `SERVER_JVMFLAGS`. Unknown keys are logged and ignored, as Apache ZooKeeper does.
//!
//! Without a file the server listens on 127.0.0.1:2181 with data in `/tmp/zk-server`
//! ([`ServerConfig::DEFAULT_DATA_DIR`]).
//!
//! Ensemble keys (`server.N`, `initLimit`, `syncLimit`, `peerType`, `standaloneEnabled`,
//! `electionAlg`, `dynamicConfigFile`, ...) are parsed here line by line; whether they make an
//! ensemble member, and Apache's checks across keys and files, are [`ServerConfig::quorum`]'s.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::core::CoreConfig;
use crate::error::ServerError;
use crate::quorum::{LearnerType, QuorumConfig, QuorumServer, DEFAULT_ELECTION_PORT_BIND_RETRY};

/// Every server setting. Field defaults are Apache ZooKeeper's.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// tickTime (ms): session expiry granularity and the unit of the session timeout bounds.
    pub tick_time_ms: u64,
    /// dataDir: snapshots (and the log unless `data_log_dir` is set).
    pub data_dir: PathBuf,
    /// dataLogDir: the transaction log.
    pub data_log_dir: Option<PathBuf>,
    /// clientPort (0 = an ephemeral port).
    pub client_port: u16,
    /// clientPortAddress.
    pub client_port_address: IpAddr,
    /// maxClientCnxns: connections per client IP (0 = unlimited).
    pub max_client_cnxns: usize,
    /// minSessionTimeout (ms); default 2 * tickTime.
    pub min_session_timeout_ms: Option<i32>,
    /// maxSessionTimeout (ms); default 20 * tickTime.
    pub max_session_timeout_ms: Option<i32>,
    /// globalOutstandingLimit: requests queued for the core across all connections.
    pub global_outstanding_limit: usize,
    /// zookeeper.maxOutstandingPerConnection: requests in flight per connection before the
    /// server stops reading from it (default 1000).
    pub max_outstanding_per_connection: usize,
    /// zookeeper.maxQueuedBytesPerConnection: bytes of replies and notifications waiting for a
    /// connection's socket; a connection that goes over is closed (its client does not read;
    /// it reconnects and re-arms its watches). Default 64 MiB.
    pub max_queued_bytes_per_connection: usize,
    /// maxCnxns: client connections in all (0 = unlimited, the default, as Apache's).
    pub max_cnxns: usize,
    /// jute.maxbuffer: the largest frame accepted.
    pub jute_max_buffer: usize,
    /// snapCount (for the persistence layer).
    pub snap_count: u64,
    /// preAllocSize in KiB (for the persistence layer).
    pub pre_alloc_size_kb: u64,
    /// autopurge.snapRetainCount.
    pub autopurge_snap_retain_count: u32,
    /// autopurge.purgeInterval (hours, 0 = off).
    pub autopurge_purge_interval_h: u32,
    /// 4lw.commands.whitelist (`*` = all).
    pub four_letter_whitelist: Vec<String>,
    /// forceSync: fsync the log (no = unsafe).
    pub force_sync: bool,
    /// zookeeper.extendedTypesEnabled: TTL nodes.
    pub extended_types_enabled: bool,
    /// zookeeper.skipACL (`yes`): no ACL is checked (Apache's `ZooKeeperServer.skipACL`).
    pub skip_acl: bool,
    /// zookeeper.DigestAuthenticationProvider.superDigest.
    pub super_digest: Option<String>,
    /// znode.container.checkIntervalMs: container/TTL reaper period.
    pub container_check_interval_ms: u64,
    /// znode.container.maxPerMinute: reaper deletions per minute.
    pub container_max_per_minute: u32,
    /// `server.N` lines, parsed (multi-address alternatives are accepted here and refused by
    /// [`ServerConfig::quorum`] unless `zookeeper.multiAddress.enabled` is set).
    pub servers: BTreeMap<i64, QuorumServer>,
    /// initLimit (ticks); 0 = not set, which an ensemble member refuses.
    pub init_limit: i32,
    /// syncLimit (ticks); 0 = not set, which an ensemble member refuses.
    pub sync_limit: i32,
    /// zookeeper.commitLogCount: committed transactions a member keeps in memory to DIFF a
    /// learner from (default 500).
    pub commit_log_count: usize,
    /// zookeeper.snapshotSizeFactor: a leader DIFFs a learner from its on-disk log when the
    /// transactions to send take at most this times the newest snapshot's size (default
    /// 0.33; 0 = no limit; negative = never from the on-disk log).
    pub snapshot_size_factor: f64,
    /// zookeeper.forceSnapshotSync: a leader syncs every learner by SNAP (testing).
    pub force_snapshot_sync: bool,
    /// peerType; when it disagrees with the server list, the list wins (with a warning).
    pub peer_type: LearnerType,
    /// standaloneEnabled: a single participant runs standalone (default true).
    pub standalone_enabled: bool,
    /// electionPortBindRetry / zookeeper.electionPortBindRetry: tries to bind the election port,
    /// 0 = forever (default 3; a negative value means the default, as in Apache).
    pub election_port_bind_retry: u32,
    /// quorumListenOnAllIPs.
    pub quorum_listen_on_all_ips: bool,
    /// dynamicConfigFile: the file with the `server.N` lines (the version is its name's hex
    /// suffix).
    pub dynamic_config_file: Option<PathBuf>,
    /// `version` (hex) in the static file: the config version of its server lines.
    pub config_version: Option<i64>,
    /// multiAddress.enabled in zoo.cfg (None = not given: the JVM property decides).
    pub multi_address_enabled: Option<bool>,
    /// The JVM property zookeeper.multiAddress.enabled: what lets server lines carry `|`
    /// alternatives in Apache 3.8.
    pub multi_address_property: bool,
    /// The file this config was parsed from (for messages; empty when built in code).
    pub config_file: String,
    /// Every key of that file in file order with its 1-based line, as Java's `Properties` sees
    /// them: the member order of the QV text and the error messages depend on them.
    pub file_keys: Vec<(String, usize)>,
    /// reconfigEnabled: decides which error a reconfig request gets (see `CoreConfig`).
    pub reconfig_enabled: bool,
    /// localSessionsEnabled: as a leader, accept the writes of learners' local sessions (see
    /// `CoreConfig`).
    pub local_sessions_enabled: bool,
    /// readonlymode.enabled (a JVM property for Apache ZooKeeper, also read from zoo.cfg): a
    /// member without a quorum serves read-only clients.
    pub read_only_mode: bool,
    /// quorumSync / zookeeper.quorumSync (zk-server's): a leader answers a sync only after a
    /// quorum confirmed its leadership (see `CoreConfig`).
    pub quorum_sync: bool,
    /// linearizableReads / zookeeper.linearizableReads (zk-server's): every read is preceded
    /// by a quorum sync of its own (see `CoreConfig`).
    pub linearizable_reads: bool,
    /// java.security.auth.login.config: the JAAS file whose `Server` section (DigestLoginModule,
    /// `user_NAME="password"`) enables SASL DIGEST-MD5.
    pub jaas_config: Option<PathBuf>,
    /// zookeeper.sasl.serverconfig: the JAAS section read (default `Server`).
    pub sasl_server_section: String,
    /// zookeeper.superUser: a SASL user who also gets the `super` id.
    pub sasl_super_user: Option<String>,
    /// authProvider.N / zookeeper.authProvider.N names `SASLAuthenticationProvider`: `sasl`
    /// ACLs are accepted (the ip and digest providers are always there).
    pub sasl_auth_provider: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            tick_time_ms: 2000,
            data_dir: PathBuf::from(Self::DEFAULT_DATA_DIR),
            data_log_dir: None,
            client_port: 2181,
            client_port_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            max_client_cnxns: 60,
            min_session_timeout_ms: None,
            max_session_timeout_ms: None,
            global_outstanding_limit: 1000,
            max_outstanding_per_connection: 1000,
            max_queued_bytes_per_connection: 64 << 20,
            max_cnxns: 0,
            jute_max_buffer: zk_core::jute::DEFAULT_MAX_BUFFER,
            snap_count: 100_000,
            pre_alloc_size_kb: 65536,
            autopurge_snap_retain_count: 3,
            autopurge_purge_interval_h: 0,
            four_letter_whitelist: vec!["srvr".into()],
            force_sync: true,
            extended_types_enabled: false,
            skip_acl: false,
            super_digest: None,
            container_check_interval_ms: 60_000,
            container_max_per_minute: 10_000,
            servers: BTreeMap::new(),
            init_limit: 0,
            sync_limit: 0,
            commit_log_count: 500,
            snapshot_size_factor: 0.33,
            force_snapshot_sync: false,
            peer_type: LearnerType::Participant,
            standalone_enabled: true,
            election_port_bind_retry: DEFAULT_ELECTION_PORT_BIND_RETRY,
            quorum_listen_on_all_ips: false,
            dynamic_config_file: None,
            config_version: None,
            multi_address_enabled: None,
            multi_address_property: false,
            config_file: String::new(),
            file_keys: Vec::new(),
            reconfig_enabled: false,
            local_sessions_enabled: false,
            read_only_mode: false,
            quorum_sync: false,
            linearizable_reads: false,
            jaas_config: None,
            sasl_server_section: "Server".into(),
            sasl_super_user: None,
            sasl_auth_provider: false,
        }
    }
}

/// 32 bytes the operating system makes unpredictable: the standard library's per-process
/// random hash keys, mixed with the clock and the process id.
fn os_entropy() -> [u8; 32] {
    use std::hash::{BuildHasher, Hasher};
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u32(std::process::id());
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        chunk.copy_from_slice(&h.finish().to_be_bytes());
    }
    out
}

fn parse_bool(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("true") || v.trim().eq_ignore_ascii_case("yes")
}

/// `QuorumPeerConfig.parseBoolean`: only `true` or `false` (any case).
fn parse_strict_bool(k: &str, v: &str) -> Result<bool, String> {
    match v.trim() {
        t if t.eq_ignore_ascii_case("true") => Ok(true),
        t if t.eq_ignore_ascii_case("false") => Ok(false),
        t => Err(format!(
            "Invalid option {t} for {k}. Choose 'true' or 'false.'"
        )),
    }
}

impl ServerConfig {
    /// The data directory used when no config file names one.
    pub const DEFAULT_DATA_DIR: &'static str = "/tmp/zk-server";

    /// A config for tests and embedding: 127.0.0.1, an ephemeral port, `data_dir`, tickTime
    /// 200 ms (session timeouts from 400 ms, expiry checked every 200 ms) with session timeouts
    /// up to 60 s, every 4lw, TTL nodes enabled, no per-IP connection limit, and the super
    /// digest of `super:test`.
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            tick_time_ms: 200,
            max_session_timeout_ms: Some(60_000),
            data_dir: data_dir.into(),
            client_port: 0,
            max_client_cnxns: 0,
            four_letter_whitelist: vec!["*".into()],
            extended_types_enabled: true,
            super_digest: Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU=".into()),
            ..ServerConfig::default()
        }
    }

    /// Reads a zoo.cfg file, then the environment overrides.
    pub fn from_file(path: &Path) -> Result<ServerConfig, ServerError> {
        let text = std::fs::read_to_string(path)?;
        let mut cfg = ServerConfig::parse(&text, &path.display().to_string())?;
        cfg.apply_env(std::env::vars());
        Ok(cfg)
    }

    /// Parses zoo.cfg text (Java properties: `key=value`, `#` and `!` comments).
    pub fn parse(text: &str, file: &str) -> Result<ServerConfig, ServerError> {
        let mut cfg = ServerConfig {
            config_file: file.to_owned(),
            ..ServerConfig::default()
        };
        cfg.file_keys = match crate::quorum::properties::parse(text) {
            Ok(props) => props.into_iter().map(|p| (p.key, p.line)).collect(),
            // Java would refuse the file (a malformed \u escape); the lines below decide.
            Err(_) => Vec::new(),
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some((k, v)) = line.split_once(['=', ':']) else {
                tracing::warn!(file, line = i + 1, "ignoring line without '='");
                continue;
            };
            cfg.set(k.trim(), v.trim())
                .map_err(|reason| ServerError::Config {
                    file: file.to_owned(),
                    line: i + 1,
                    reason,
                })?;
        }
        Ok(cfg)
    }

    /// Applies settings from environment variables (see the module docs).
    pub fn apply_env(&mut self, vars: impl IntoIterator<Item = (String, String)>) {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        for (k, v) in &vars {
            if k == "JVMFLAGS" || k == "SERVER_JVMFLAGS" {
                for word in v.split_whitespace() {
                    if let Some((pk, pv)) = word.strip_prefix("-D").and_then(|w| w.split_once('='))
                    {
                        self.set_known(pk, pv);
                    }
                }
            }
        }
        for (k, v) in &vars {
            self.set_known(k, v);
            if let Some(rest) = k.strip_prefix("ZK_") {
                for key in Self::ENV_KEYS {
                    if key.replace('.', "_").eq_ignore_ascii_case(rest) {
                        self.set_known(key, v);
                    }
                }
            }
        }
    }

    /// Keys accepted from the environment.
    const ENV_KEYS: [&'static str; 22] = [
        "zookeeper.maxCnxns",
        "zookeeper.maxOutstandingPerConnection",
        "zookeeper.maxQueuedBytesPerConnection",
        "zookeeper.commitLogCount",
        "zookeeper.snapshotSizeFactor",
        "zookeeper.forceSnapshotSync",
        "java.security.auth.login.config",
        "zookeeper.sasl.serverconfig",
        "zookeeper.superUser",
        "zookeeper.quorumSync",
        "zookeeper.linearizableReads",
        "readonlymode.enabled",
        "zookeeper.extendedTypesEnabled",
        "zookeeper.skipACL",
        "zookeeper.DigestAuthenticationProvider.superDigest",
        "jute.maxbuffer",
        "znode.container.checkIntervalMs",
        "znode.container.maxPerMinute",
        "zookeeper.forceSync",
        "zookeeper.globalOutstandingLimit",
        "zookeeper.multiAddress.enabled",
        "zookeeper.electionPortBindRetry",
    ];

    fn set_known(&mut self, k: &str, v: &str) {
        if Self::ENV_KEYS.contains(&k) || k.starts_with("zookeeper.authProvider.") {
            if let Err(e) = self.set(k, v) {
                tracing::warn!(key = k, error = %e, "ignoring bad environment setting");
            }
        }
    }

    /// Sets one key. Unknown keys are logged and ignored.
    pub fn set(&mut self, k: &str, v: &str) -> Result<(), String> {
        fn num<T: std::str::FromStr>(k: &str, v: &str) -> Result<T, String> {
            v.trim()
                .parse()
                .map_err(|_| format!("{k}: not a number: {v:?}"))
        }
        match k {
            "tickTime" => self.tick_time_ms = num(k, v)?,
            "dataDir" => self.data_dir = PathBuf::from(v),
            "dataLogDir" => self.data_log_dir = Some(PathBuf::from(v)),
            "clientPort" => self.client_port = num(k, v)?,
            "clientPortAddress" => {
                self.client_port_address = v.parse().map_err(|_| format!("bad address {v:?}"))?
            }
            "maxClientCnxns" => self.max_client_cnxns = num(k, v)?,
            "maxCnxns" | "zookeeper.maxCnxns" => self.max_cnxns = num(k, v)?,
            "maxOutstandingPerConnection" | "zookeeper.maxOutstandingPerConnection" => {
                self.max_outstanding_per_connection = num::<usize>(k, v)?.max(1)
            }
            "maxQueuedBytesPerConnection" | "zookeeper.maxQueuedBytesPerConnection" => {
                self.max_queued_bytes_per_connection = num::<usize>(k, v)?.max(1)
            }
            "minSessionTimeout" => {
                self.min_session_timeout_ms = Some(num(k, v)?).filter(|t| *t >= 0)
            }
            "maxSessionTimeout" => {
                self.max_session_timeout_ms = Some(num(k, v)?).filter(|t| *t >= 0)
            }
            "globalOutstandingLimit" | "zookeeper.globalOutstandingLimit" => {
                self.global_outstanding_limit = num::<usize>(k, v)?.max(1)
            }
            "jute.maxbuffer" => {
                let s = v.trim();
                self.jute_max_buffer = match s.strip_prefix("0x").or(s.strip_prefix("0X")) {
                    Some(h) => usize::from_str_radix(h, 16).map_err(|_| format!("bad {k}"))?,
                    None => num(k, s)?,
                }
            }
            "snapCount" | "zookeeper.snapCount" => self.snap_count = num(k, v)?,
            "preAllocSize" | "zookeeper.preAllocSize" => self.pre_alloc_size_kb = num(k, v)?,
            "autopurge.snapRetainCount" => self.autopurge_snap_retain_count = num(k, v)?,
            "autopurge.purgeInterval" => self.autopurge_purge_interval_h = num(k, v)?,
            "4lw.commands.whitelist" => {
                self.four_letter_whitelist = v
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            "forceSync" | "zookeeper.forceSync" => {
                self.force_sync = !v.trim().eq_ignore_ascii_case("no")
            }
            "zookeeper.extendedTypesEnabled" => self.extended_types_enabled = parse_bool(v),
            // Apache compares with "yes" exactly.
            "zookeeper.skipACL" => self.skip_acl = v.trim() == "yes",
            "zookeeper.DigestAuthenticationProvider.superDigest" => {
                self.super_digest = Some(v.trim().to_owned()).filter(|s| !s.is_empty())
            }
            "znode.container.checkIntervalMs" => self.container_check_interval_ms = num(k, v)?,
            "znode.container.maxPerMinute" => self.container_max_per_minute = num(k, v)?,
            "reconfigEnabled" => self.reconfig_enabled = parse_bool(v),
            "localSessionsEnabled" => self.local_sessions_enabled = parse_bool(v),
            "readonlymode.enabled" => self.read_only_mode = parse_bool(v),
            "quorumSync" | "zookeeper.quorumSync" => self.quorum_sync = parse_bool(v),
            "linearizableReads" | "zookeeper.linearizableReads" => {
                self.linearizable_reads = parse_bool(v)
            }
            // zk-server never creates local sessions, so it has none to upgrade.
            "localSessionsUpgradingEnabled" => {}
            "java.security.auth.login.config" => {
                self.jaas_config =
                    Some(PathBuf::from(v.trim())).filter(|p| !p.as_os_str().is_empty())
            }
            "zookeeper.sasl.serverconfig" => self.sasl_server_section = v.trim().to_owned(),
            "zookeeper.superUser" => {
                self.sasl_super_user = Some(v.trim().to_owned()).filter(|s| !s.is_empty())
            }
            _ if k.starts_with("authProvider.") || k.starts_with("zookeeper.authProvider.") => {
                if v.trim().ends_with(".SASLAuthenticationProvider") {
                    self.sasl_auth_provider = true;
                } else if !v.trim().ends_with(".DigestAuthenticationProvider")
                    && !v.trim().ends_with(".IPAuthenticationProvider")
                {
                    tracing::warn!(
                        key = k,
                        value = v,
                        "unsupported authentication provider ignored"
                    );
                }
            }
            _ if k.starts_with("server.") => {
                let sid: i64 = k["server.".len()..]
                    .parse()
                    .map_err(|_| format!("{k}: the server id is not a number"))?;
                let server = QuorumServer::parse(sid, v, true).map_err(|e| e.to_string())?;
                self.servers.insert(sid, server);
            }
            "initLimit" => self.init_limit = num(k, v)?,
            "commitLogCount" | "zookeeper.commitLogCount" => {
                self.commit_log_count = num::<usize>(k, v)?.max(1)
            }
            "snapshotSizeFactor" | "zookeeper.snapshotSizeFactor" => {
                self.snapshot_size_factor = num(k, v)?
            }
            "forceSnapshotSync" | "zookeeper.forceSnapshotSync" => {
                self.force_snapshot_sync = parse_bool(v)
            }
            "syncLimit" => self.sync_limit = num(k, v)?,
            "peerType" => {
                self.peer_type = LearnerType::parse(v)
                    .map_err(|_| format!("Unrecognised peertype: {}", v.trim()))?
            }
            "standaloneEnabled" => self.standalone_enabled = parse_strict_bool(k, v)?,
            "electionAlg" => {
                if num::<i32>(k, v)? != 3 {
                    return Err(format!(
                        "Invalid electionAlg value {}. Only 3 is supported.",
                        v.trim()
                    ));
                }
            }
            "electionPortBindRetry" | "zookeeper.electionPortBindRetry" => {
                // Integer.getInteger: a bad or negative value means the default.
                self.election_port_bind_retry = match v.trim().parse::<i32>() {
                    Ok(n) if n >= 0 => n as u32,
                    _ => {
                        tracing::warn!(key = k, value = v, "invalid, using the default 3");
                        DEFAULT_ELECTION_PORT_BIND_RETRY
                    }
                }
            }
            "quorumListenOnAllIPs" => self.quorum_listen_on_all_ips = parse_strict_bool(k, v)?,
            "dynamicConfigFile" => self.dynamic_config_file = Some(PathBuf::from(v.trim())),
            "version" => {
                self.config_version = Some(
                    crate::quorum::verifier::parse_version(v.trim()).map_err(|e| e.to_string())?,
                )
            }
            "multiAddress.enabled" => self.multi_address_enabled = Some(parse_strict_bool(k, v)?),
            "zookeeper.multiAddress.enabled" => {
                // Boolean.parseBoolean: anything but "true" is false.
                self.multi_address_property = v.trim().eq_ignore_ascii_case("true")
            }
            _ if k.starts_with("group.") || k.starts_with("weight.") => {
                tracing::debug!(key = k, "hierarchical quorum key (refused by quorum())");
            }
            // Set to true these need what zk-server does not have yet: a member or a server
            // started without them would run, but its peers or TLS clients could not reach it.
            "sslQuorum"
            | "quorum.auth.enableSasl"
            | "quorum.auth.learnerRequireSasl"
            | "quorum.auth.serverRequireSasl"
                if parse_bool(v) =>
            {
                return Err(format!(
                    "{k}={}: quorum TLS and quorum SASL are not supported by zk-server",
                    v.trim()
                ));
            }
            "secureClientPort" if !v.trim().is_empty() && v.trim() != "0" => {
                return Err(format!(
                    "{k}={}: client TLS is not supported by zk-server",
                    v.trim()
                ));
            }
            "sslQuorum"
            | "quorum.auth.enableSasl"
            | "quorum.auth.learnerRequireSasl"
            | "quorum.auth.serverRequireSasl"
            | "secureClientPort"
            | "secureClientPortAddress" => {}
            "admin.enableServer" | "admin.serverPort" | "metricsProvider.className" => {
                tracing::debug!(key = k, "setting accepted and unused");
            }
            _ => tracing::warn!(key = k, value = v, "unknown configuration key ignored"),
        }
        Ok(())
    }

    /// The ensemble settings, checked as Apache ZooKeeper 3.8 checks them (see
    /// [`crate::quorum::config`]); reads `dataDir/myid` and the dynamic config file. `None`
    /// means standalone: no `server.N` line, or one participant with `standaloneEnabled=true`.
    pub fn quorum(&self) -> Result<Option<QuorumConfig>, ServerError> {
        QuorumConfig::from_server_config(self)
    }

    /// The listening address.
    pub fn client_addr(&self) -> SocketAddr {
        SocketAddr::new(self.client_port_address, self.client_port)
    }

    /// Effective minimum session timeout.
    pub fn min_session_timeout(&self) -> i32 {
        self.min_session_timeout_ms
            .unwrap_or((self.tick_time_ms * 2) as i32)
    }

    /// Effective maximum session timeout.
    pub fn max_session_timeout(&self) -> i32 {
        self.max_session_timeout_ms
            .unwrap_or((self.tick_time_ms * 20) as i32)
    }

    /// True when `cmd` passes the 4lw whitelist.
    pub fn four_letter_allowed(&self, cmd: &str) -> bool {
        self.four_letter_whitelist
            .iter()
            .any(|w| w == "*" || w.eq_ignore_ascii_case(cmd))
    }

    /// The subset the sans-IO core needs.
    pub fn core_config(&self) -> CoreConfig {
        CoreConfig {
            tick_time_ms: self.tick_time_ms.max(1) as i64,
            min_session_timeout_ms: self.min_session_timeout(),
            max_session_timeout_ms: self.max_session_timeout(),
            extended_types_enabled: self.extended_types_enabled,
            super_digest: self.super_digest.clone(),
            server_id: 1,
            reconfig_enabled: self.reconfig_enabled,
            sasl_digest_users: self.sasl_digest_users(),
            sasl_super_user: self.sasl_super_user.clone(),
            sasl_scheme: self.sasl_auth_provider,
            max_zxid_counter: u32::MAX,
            entropy: os_entropy(),
            local_sessions_enabled: self.local_sessions_enabled,
            quorum_sync: self.quorum_sync,
            linearizable_reads: self.linearizable_reads,
            skip_acl: self.skip_acl,
        }
    }

    /// The SASL DIGEST-MD5 users of the JAAS file's server section, read now (Apache ZooKeeper
    /// reads it at start-up). None without a JAAS file or section (no SASL server).
    pub fn sasl_digest_users(&self) -> Option<BTreeMap<String, String>> {
        let path = self.jaas_config.as_ref()?;
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the JAAS configuration");
                return None;
            }
        };
        let users = crate::core::sasl::digest_users_from_jaas(&text, &self.sasl_server_section);
        if let Some(u) = &users {
            tracing::info!(users = u.len(), "SASL DIGEST-MD5 enabled");
        }
        users
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_quorum_tls_and_sasl_and_client_tls() {
        for line in [
            "sslQuorum=true",
            "quorum.auth.enableSasl=true",
            "quorum.auth.learnerRequireSasl=true",
            "quorum.auth.serverRequireSasl=true",
            "secureClientPort=2281",
        ] {
            let text = format!("tickTime=2000\ndataDir=/var/zk\n{line}\n");
            match ServerConfig::parse(&text, "zoo.cfg") {
                Err(ServerError::Config {
                    line: 3, reason, ..
                }) => {
                    assert!(reason.contains("not supported"), "{line}: {reason}")
                }
                other => panic!("{line}: {other:?}"),
            }
        }
        let off = "tickTime=2000\nsslQuorum=false\nquorum.auth.enableSasl=false\n";
        ServerConfig::parse(off, "zoo.cfg").expect("switched off, they are fine");
    }

    #[test]
    fn parses_zoo_cfg() {
        let cfg = ServerConfig::parse(
            "# comment\ntickTime=1000\ndataDir=/var/zk\nclientPort=2191\n\
             maxClientCnxns=10\n4lw.commands.whitelist=srvr, ruok,mntr\n\
             jute.maxbuffer=0x100000\nserver.1=a:2888:3888\nfoo=bar\n\
             zookeeper.extendedTypesEnabled=true\nforceSync=no\nreconfigEnabled=true\n",
            "zoo.cfg",
        )
        .unwrap();
        assert_eq!(cfg.tick_time_ms, 1000);
        assert_eq!(cfg.data_dir, PathBuf::from("/var/zk"));
        assert_eq!(cfg.client_port, 2191);
        assert_eq!(cfg.min_session_timeout(), 2000);
        assert_eq!(cfg.max_session_timeout(), 20000);
        assert!(cfg.four_letter_allowed("mntr"));
        assert!(!cfg.four_letter_allowed("stat"));
        assert_eq!(cfg.jute_max_buffer, 0x100000);
        assert_eq!(cfg.servers[&1].to_string(), "a:2888:3888:participant");
        assert_eq!(cfg.file_keys[0], ("tickTime".to_string(), 2));
        assert_eq!(cfg.config_file, "zoo.cfg");
        assert!(cfg.extended_types_enabled);
        assert!(!cfg.force_sync);
        assert!(cfg.reconfig_enabled && cfg.core_config().reconfig_enabled);
        assert!(!ServerConfig::default().reconfig_enabled);
    }

    #[test]
    fn bad_number_names_the_line() {
        let e = ServerConfig::parse("tickTime=abc\n", "z.cfg").unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    /// kazoo's test harness: `authProvider.1=...SASLAuthenticationProvider` in zoo.cfg, the
    /// JAAS file as `-Djava.security.auth.login.config` (here through JVMFLAGS).
    #[test]
    fn sasl_settings_from_zoo_cfg_and_jvm_flags() {
        let dir = tempfile::tempdir().unwrap();
        let jaas = dir.path().join("jaas.conf");
        std::fs::write(
            &jaas,
            "Server {\n org.apache.zookeeper.server.auth.DigestLoginModule required\n \
             user_super=\"super_secret\"\n user_jaasuser=\"jaas_password\";\n};\n",
        )
        .unwrap();
        let mut cfg = ServerConfig::parse(
            "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n",
            "zoo.cfg",
        )
        .unwrap();
        assert!(cfg.core_config().sasl_scheme);
        assert_eq!(cfg.core_config().sasl_digest_users, None);
        cfg.apply_env([(
            "JVMFLAGS".to_string(),
            format!(
                "-Dfile.encoding=UTF-8 -Djava.security.auth.login.config={} \
                 -Dzookeeper.superUser=super",
                jaas.display()
            ),
        )]);
        let core = cfg.core_config();
        let users = core.sasl_digest_users.expect("SASL users");
        assert_eq!(
            users.get("jaasuser").map(String::as_str),
            Some("jaas_password")
        );
        assert_eq!(users.len(), 2);
        assert_eq!(core.sasl_super_user.as_deref(), Some("super"));
        // An empty JAAS file (kazoo's harness writes one when it tests no SASL): no SASL server.
        std::fs::write(&jaas, "").unwrap();
        assert_eq!(cfg.core_config().sasl_digest_users, None);
        assert!(!ServerConfig::default().core_config().sasl_scheme);
    }

    #[test]
    fn environment_overrides() {
        let mut cfg = ServerConfig::default();
        cfg.apply_env([
            (
                "ZK_ZOOKEEPER_EXTENDEDTYPESENABLED".to_string(),
                "true".to_string(),
            ),
            (
                "SERVER_JVMFLAGS".to_string(),
                "-Xmx1g -Dzookeeper.DigestAuthenticationProvider.superDigest=super:abc".to_string(),
            ),
            ("jute.maxbuffer".to_string(), "4096".to_string()),
        ]);
        assert!(cfg.extended_types_enabled);
        assert_eq!(cfg.super_digest.as_deref(), Some("super:abc"));
        assert_eq!(cfg.jute_max_buffer, 4096);
    }
}
