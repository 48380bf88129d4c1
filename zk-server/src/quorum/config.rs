//! A member's quorum settings: what `ServerConfig::quorum` returns (Apache's `QuorumPeerConfig`
//! checks, then `QuorumPeer.start`'s "not in the peer list" check).
//!
//! Apache ZooKeeper 3.8 runs a config as an ensemble member only when it `isDistributed()`: more
//! than one participant, or `standaloneEnabled=false` and at least one. A config with no
//! `server.N` line, or with a single participant (HBase writes one) while `standaloneEnabled` is
//! true (the default), runs standalone: [`QuorumConfig::from_server_config`] returns `None`.
//!
//! The checks, in Apache's order (each error names the file, the line and the cause):
//! 1. with `dynamicConfigFile`, no `server.`/`group`/`weight` key in the static file; the dynamic
//!    file holds only `server.N` keys, no `version` (that comes from the file name's hex suffix);
//! 2. every server line parses; `|` alternatives need `zookeeper.multiAddress.enabled=true` (the
//!    JVM property: Apache 3.8 ignores zoo.cfg's `multiAddress.enabled` when parsing lines);
//!    `group.*`/`weight.*` (hierarchical quorums) are refused as unsupported;
//! 3. participants: none with `standaloneEnabled=false`, or observers without two participants,
//!    is an error;
//! 4. `dataDir/myid`, when present, is a decimal id (Apache reads the first line; zk-server also
//!    tolerates trailing white space on it, which Apache refuses) — checked even standalone, as
//!    Apache's QuorumPeerMain does;
//! 5. the client address: the server line's `;[host:]port` must agree with `clientPort` /
//!    `clientPortAddress` when both are given; the line's wins, else the static one is used for
//!    this member (and left out of the QV text);
//! 6. in quorum mode: `initLimit` and `syncLimit` set (non-zero), myid present, and myid among the
//!    members. zk-server also refuses negative limits, which Apache accepts.
//!
//! `peerType` only matters when it disagrees with the server list: the list wins, with a warning.

use std::net::IpAddr;
use std::path::Path;

use super::properties;
use super::server::{HostPort, LearnerType, QuorumServer, ServerLineError};
use super::verifier::{parse_version, QuorumVerifier, QvTextError};
use crate::config::ServerConfig;
use crate::error::ServerError;

/// Apache's default for `zookeeper.electionPortBindRetry` (`QuorumCnxManager.Listener`).
pub const DEFAULT_ELECTION_PORT_BIND_RETRY: u32 = 3;

/// The quorum settings of this member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumConfig {
    /// This member's sid (`dataDir/myid`).
    pub my_id: i64,
    /// Participant or observer, from the server list.
    pub learner_type: LearnerType,
    /// The members and the version: what elections count votes with and what notifications
    /// carry as text.
    pub verifier: QuorumVerifier,
    /// tickTime (ms).
    pub tick_time_ms: u64,
    /// initLimit (ticks): connecting and syncing to a leader.
    pub init_limit: u32,
    /// syncLimit (ticks): a learner's lag allowed once synced.
    pub sync_limit: u32,
    /// Binding the election port: tries before giving up, 0 = forever.
    pub election_port_bind_retry: u32,
    /// quorumListenOnAllIPs: listen on the wildcard address instead of the configured host.
    pub quorum_listen_on_all_ips: bool,
    /// multiAddress.enabled: send the V2 initial election message (all addresses).
    pub multi_address_enabled: bool,
    /// reconfigEnabled.
    pub reconfig_enabled: bool,
    /// The client address this member serves on: its server line's, else the static one.
    pub client_addr: Option<HostPort>,
}

impl QuorumConfig {
    /// This member's own entry.
    pub fn me(&self) -> &QuorumServer {
        // Invariant: from_server_config refuses a myid that is not a member.
        self.verifier
            .member(self.my_id)
            .expect("my_id is a member of the config")
    }

    /// Checks `cfg` as Apache 3.8 does and builds this member's quorum settings; `None` means
    /// standalone. Reads `dataDir/myid` and the dynamic config file.
    pub fn from_server_config(cfg: &ServerConfig) -> Result<Option<QuorumConfig>, ServerError> {
        let file = cfg.config_file.as_str();
        let static_err = |key_line: usize, reason: String| ServerError::Config {
            file: file.to_owned(),
            line: key_line,
            reason,
        };
        let source = match &cfg.dynamic_config_file {
            Some(path) => {
                if let Some((key, line)) = cfg.file_keys.iter().find(|(k, _)| is_membership_key(k))
                {
                    return Err(static_err(
                        *line,
                        format!("parameter: {key} must be in a separate dynamic config file"),
                    ));
                }
                Members::from_dynamic_file(path, cfg.multi_address_property)?
            }
            None => Members::from_static(cfg)?,
        };
        let Members {
            mut verifier,
            file: members_file,
            lines,
        } = source;
        let line_of = |sid: i64| lines.iter().find(|(s, _)| *s == sid).map_or(0, |l| l.1);
        let members_err = |line: usize, reason: String| ServerError::Config {
            file: members_file.clone(),
            line,
            reason,
        };
        let voters = verifier.voters();
        let observers = verifier.observers();
        let first_observer_line = observers.iter().next().map_or(0, |&s| line_of(s));
        let standalone_line = cfg
            .file_keys
            .iter()
            .rfind(|(k, _)| k == "standaloneEnabled")
            .map_or(0, |l| l.1);
        if voters.is_empty() {
            if !cfg.standalone_enabled {
                return Err(static_err(
                    standalone_line,
                    "standaloneEnabled = false then number of participants should be >0 \
                     (no server.N participant line)"
                        .into(),
                ));
            }
            if !observers.is_empty() {
                return Err(members_err(
                    first_observer_line,
                    "Observers w/o participants is an invalid configuration".into(),
                ));
            }
        } else if voters.len() == 1 && cfg.standalone_enabled {
            if !observers.is_empty() {
                return Err(members_err(
                    first_observer_line,
                    "Observers w/o quorum is an invalid configuration (one participant)".into(),
                ));
            }
            tracing::warn!(
                file,
                "Invalid configuration, only one server specified (ignoring): standalone"
            );
        } else if voters.len() <= 2 {
            tracing::warn!("No server failure will be tolerated. You need at least 3 servers.");
        } else if voters.len() % 2 == 0 {
            tracing::warn!("Non-optimal configuration, consider an odd number of servers.");
        }
        let distributed = !cfg.standalone_enabled || voters.len() > 1;

        let myid_path = cfg.data_dir.join("myid");
        let my_id = read_myid(&myid_path)?;
        let myid_err = |reason: String| ServerError::Config {
            file: myid_path.display().to_string(),
            line: 1,
            reason,
        };
        let mut client_addr = None;
        let mut learner_type = cfg.peer_type;
        if let Some(my_id) = my_id {
            client_addr = setup_client_port(cfg, &mut verifier, my_id)
                .map_err(|reason| members_err(line_of(my_id), reason))?;
            let by_list = if observers.contains(&my_id) {
                LearnerType::Observer
            } else {
                LearnerType::Participant
            };
            if by_list != cfg.peer_type {
                tracing::warn!(
                    list = by_list.as_str(),
                    peer_type = cfg.peer_type.as_str(),
                    "Peer type from servers list doesn't match peerType. Defaulting to servers list."
                );
            }
            learner_type = by_list;
        }
        if !distributed {
            return Ok(None);
        }
        let first_server_line = lines.iter().map(|l| l.1).min().unwrap_or(0);
        let limit = |name: &str, v: i32| -> Result<u32, ServerError> {
            match v {
                0 => Err(members_err(
                    first_server_line,
                    format!("{name} is not set (required when running as an ensemble member)"),
                )),
                v if v < 0 => Err(static_err(
                    cfg.file_keys
                        .iter()
                        .rfind(|(k, _)| k == name)
                        .map_or(0, |l| l.1),
                    format!("{name} must be positive, not {v}"),
                )),
                // Invariant: v > 0 here.
                v => Ok(u32::try_from(v).expect("positive i32 fits u32")),
            }
        };
        let init_limit = limit("initLimit", cfg.init_limit)?;
        let sync_limit = limit("syncLimit", cfg.sync_limit)?;
        let Some(my_id) = my_id else {
            return Err(myid_err(
                "myid file is missing (or holds -1): an ensemble member needs its server id there"
                    .into(),
            ));
        };
        if verifier.member(my_id).is_none() {
            let ids: Vec<String> = verifier
                .members()
                .iter()
                .map(|m| m.sid.to_string())
                .collect();
            return Err(myid_err(format!(
                "My id {my_id} not in the peer list (the servers are {})",
                ids.join(", ")
            )));
        }
        Ok(Some(QuorumConfig {
            my_id,
            learner_type,
            verifier,
            tick_time_ms: cfg.tick_time_ms,
            init_limit,
            sync_limit,
            election_port_bind_retry: cfg.election_port_bind_retry,
            quorum_listen_on_all_ips: cfg.quorum_listen_on_all_ips,
            multi_address_enabled: cfg
                .multi_address_enabled
                .unwrap_or(cfg.multi_address_property),
            reconfig_enabled: cfg.reconfig_enabled,
            client_addr,
        }))
    }
}

/// Keys that belong in the dynamic file when there is one.
fn is_membership_key(k: &str) -> bool {
    k.starts_with("server.") || k.starts_with("group") || k.starts_with("weight")
}

/// The members, where they came from, and the line of each one's key.
struct Members {
    verifier: QuorumVerifier,
    file: String,
    lines: Vec<(i64, usize)>,
}

impl Members {
    fn from_static(cfg: &ServerConfig) -> Result<Members, ServerError> {
        let file = cfg.config_file.clone();
        let line_of = |sid: i64| {
            cfg.file_keys
                .iter()
                .rfind(|(k, _)| server_key_sid(k) == Some(sid))
                .map_or(0, |l| l.1)
        };
        if let Some((key, line)) = cfg
            .file_keys
            .iter()
            .find(|(k, _)| k.starts_with("group") || k.starts_with("weight"))
        {
            return Err(ServerError::Config {
                file,
                line: *line,
                reason: QvTextError::Hierarchical(key.clone()).to_string(),
            });
        }
        for s in cfg.servers.values() {
            if s.addrs.len() > 1 && !cfg.multi_address_property {
                return Err(ServerError::Config {
                    file,
                    line: line_of(s.sid),
                    reason: ServerLineError::MultiAddressDisabled(s.sid).to_string(),
                });
            }
        }
        let keys = cfg.file_keys.iter().map(|(k, _)| k.as_str());
        let verifier = QuorumVerifier::new(
            cfg.servers.values().cloned(),
            cfg.config_version.unwrap_or(0),
            keys,
        );
        let lines = cfg.servers.keys().map(|&s| (s, line_of(s))).collect();
        Ok(Members {
            verifier,
            file,
            lines,
        })
    }

    fn from_dynamic_file(path: &Path, multi_address: bool) -> Result<Members, ServerError> {
        let file = path.display().to_string();
        let err = |line: usize, reason: String| ServerError::Config {
            file: file.clone(),
            line,
            reason,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(0, format!("cannot read the dynamic config file: {e}")))?;
        let props = properties::parse(&text).map_err(|e| err(0, e))?;
        if let Some(p) = props.iter().find(|p| p.key == "version") {
            return Err(err(
                p.line,
                "dynamic file shouldn't have version inside (it comes from the file name)".into(),
            ));
        }
        let mut members = std::collections::BTreeMap::new();
        let mut lines = Vec::new();
        for p in &props {
            let key = p.key.trim();
            if key.starts_with("group") || key.starts_with("weight") {
                return Err(err(
                    p.line,
                    QvTextError::Hierarchical(key.into()).to_string(),
                ));
            }
            let Some(sid) = server_key_sid(key) else {
                let e = if key.starts_with("server.") {
                    QvTextError::BadSid { key: key.into() }
                } else {
                    QvTextError::UnknownKey(key.into())
                };
                return Err(err(p.line, e.to_string()));
            };
            let server = QuorumServer::parse(sid, &p.value, multi_address)
                .map_err(|e| err(p.line, format!("server.{sid}: {e}")))?;
            members.insert(sid, server);
            lines.retain(|(s, _)| *s != sid);
            lines.push((sid, p.line));
        }
        let version = version_from_file_name(&file);
        let mut keys: Vec<&str> = props.iter().map(|p| p.key.as_str()).collect();
        if version.is_some() {
            // QuorumPeerConfig.parse: dynamicCfg.setProperty("version", ...) after loading.
            keys.push("version");
        }
        let verifier = QuorumVerifier::new(members.into_values(), version.unwrap_or(0), keys);
        Ok(Members {
            verifier,
            file,
            lines,
        })
    }
}

/// The sid of a `server.N` key.
fn server_key_sid(key: &str) -> Option<i64> {
    key.strip_prefix("server.")?.parse().ok()
}

/// `QuorumPeerConfig.getVersionFromFilename`: the hex text after the last `.` of the path
/// (`zoo.cfg.dynamic.100000000` -> 0x100000000), None when that is not hex.
pub fn version_from_file_name(path: &str) -> Option<i64> {
    let (_, suffix) = path.rsplit_once('.')?;
    parse_version(suffix).ok()
}

/// Reads `dataDir/myid`: None when there is no such file (or it holds -1, Apache's "unset").
fn read_myid(path: &Path) -> Result<Option<i64>, ServerError> {
    let err = |reason: String| ServerError::Config {
        file: path.display().to_string(),
        line: 1,
        reason,
    };
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    // BufferedReader.readLine: the first line, without its \n, \r or \r\n.
    let first = text.split(['\n', '\r']).next().unwrap_or("");
    let id_text = first.trim_end();
    match id_text.parse::<i64>() {
        Ok(-1) => Ok(None),
        Ok(id) => Ok(Some(id)),
        Err(_) if text.is_empty() => Err(err("serverid null is not a number (empty file)".into())),
        Err(_) => Err(err(format!("serverid {first} is not a number"))),
    }
}

/// `QuorumPeerConfig.setupClientPort`: reconciles the static client address with this member's
/// server line and returns the address the member serves on.
fn setup_client_port(
    cfg: &ServerConfig,
    verifier: &mut QuorumVerifier,
    my_id: i64,
) -> Result<Option<HostPort>, String> {
    let has_key = |k: &str| cfg.file_keys.iter().any(|(key, _)| key == k);
    // Apache's clientPort 0 means "not set"; without clientPortAddress it is the wildcard.
    let static_addr: Option<(IpAddr, u16)> =
        (has_key("clientPort") && cfg.client_port != 0).then(|| {
            let ip = if has_key("clientPortAddress") {
                cfg.client_port_address
            } else {
                IpAddr::from([0, 0, 0, 0])
            };
            (ip, cfg.client_port)
        });
    let Some(me) = verifier.member_mut(my_id) else {
        return Ok(None);
    };
    match (&me.client_addr, static_addr) {
        (Some(line), Some((ip, port))) => {
            let line_ip: Option<IpAddr> = line.java_host_string().parse().ok();
            let differs = if ip.is_unspecified() {
                line.port != port
            } else {
                // A host name on the line would need DNS to compare; Apache resolves it, we
                // let it pass.
                line_ip.is_some_and(|l| l != ip) || line.port != port
            };
            if differs {
                return Err(format!(
                    "client address for this server (id = {my_id}): clientPort/clientPortAddress \
                     give {} but its server.{my_id} line gives {}",
                    HostPort {
                        host: ip.to_string(),
                        port
                    },
                    line
                ));
            }
            Ok(Some(line.clone()))
        }
        (Some(line), None) => Ok(Some(line.clone())),
        (None, Some((ip, port))) => {
            let addr = HostPort {
                host: ip.to_string(),
                port,
            };
            me.client_addr = Some(addr.clone());
            me.client_addr_from_static = true;
            Ok(Some(addr))
        }
        (None, None) => {
            me.client_addr_from_static = true;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data dir with `myid` (when given) and the config text with `dataDir` pointing there.
    struct Setup {
        dir: tempfile::TempDir,
    }

    impl Setup {
        fn new(myid: Option<&str>) -> Setup {
            let dir = tempfile::tempdir().unwrap();
            if let Some(id) = myid {
                std::fs::write(dir.path().join("myid"), id).unwrap();
            }
            Setup { dir }
        }

        fn cfg(&self, text: &str) -> ServerConfig {
            let text = format!("dataDir={}\n{text}", self.dir.path().display());
            ServerConfig::parse(&text, "zoo.cfg").unwrap()
        }

        fn quorum(&self, text: &str) -> Result<Option<QuorumConfig>, ServerError> {
            self.cfg(text).quorum()
        }

        fn error(&self, text: &str) -> String {
            self.quorum(text).unwrap_err().to_string()
        }
    }

    /// The docs' example (zookeeperStarted.html, "Running Replicated ZooKeeper").
    const DOCS_EXAMPLE: &str = "tickTime=2000\nclientPort=2181\ninitLimit=5\nsyncLimit=2\n\
        server.1=zoo1:2888:3888\nserver.2=zoo2:2888:3888\nserver.3=zoo3:2888:3888\n";

    /// `zoo1.cfg` of the captures (/work/shared/quorum/README.md), dataDir aside.
    const CAPTURED_ZOO1: &str = "tickTime=2000\ninitLimit=10\nsyncLimit=5\nclientPort=21811\n\
        clientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=*\n\
        server.1=127.0.0.1:22881:23881\nserver.2=127.0.0.1:22882:23882\n\
        server.3=127.0.0.1:22883:23883\nserver.4=127.0.0.1:22884:23884:observer\n";

    /// What every notification and NEWLEADER of the captures carried.
    const CAPTURED_QV: &str = "server.1=127.0.0.1:22881:23881:participant\nserver.2=127.0.0.1:22882:23882:participant\nserver.3=127.0.0.1:22883:23883:participant\nserver.4=127.0.0.1:22884:23884:observer\nversion=0";

    #[test]
    fn docs_three_server_example() {
        let s = Setup::new(Some("2\n"));
        let q = s.quorum(DOCS_EXAMPLE).unwrap().expect("quorum mode");
        assert_eq!(q.my_id, 2);
        assert_eq!(q.learner_type, LearnerType::Participant);
        assert_eq!((q.init_limit, q.sync_limit, q.tick_time_ms), (5, 2, 2000));
        assert_eq!(
            q.verifier.voters().into_iter().collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert!(q.verifier.observers().is_empty());
        assert_eq!(
            q.verifier.to_qv_text(),
            "server.1=zoo1:2888:3888:participant\nserver.2=zoo2:2888:3888:participant\n\
             server.3=zoo3:2888:3888:participant\nversion=0"
        );
        assert_eq!(q.me().quorum_addr().to_string(), "zoo2:2888");
        assert_eq!(q.me().election_addr().to_string(), "zoo2:3888");
        // clientPort without clientPortAddress: the wildcard, from the static file.
        assert_eq!(
            q.client_addr.as_ref().map(HostPort::delimited).as_deref(),
            Some("0.0.0.0:2181")
        );
        assert!(q.me().client_addr_from_static);
        assert_eq!(q.election_port_bind_retry, 3);
        assert!(!q.quorum_listen_on_all_ips && !q.multi_address_enabled && !q.reconfig_enabled);
    }

    #[test]
    fn captured_config_gives_the_captured_qv_bytes() {
        let s = Setup::new(Some("1\n"));
        let cfg = s.cfg(CAPTURED_ZOO1);
        let q = cfg.quorum().unwrap().unwrap();
        assert_eq!(q.verifier.to_qv_text(), CAPTURED_QV);
        assert_eq!(q.verifier.to_qv_text().len(), 178);
        assert_eq!(q.client_addr.unwrap().delimited(), "127.0.0.1:21811");
        // 4lw settings are unaffected by the quorum keys.
        assert!(cfg.four_letter_allowed("mntr"));
    }

    #[test]
    fn the_captured_observer_is_an_observer() {
        let s = Setup::new(Some("4\n"));
        let q = s
            .quorum(&format!("peerType=observer\n{CAPTURED_ZOO1}"))
            .unwrap()
            .unwrap();
        assert_eq!(q.learner_type, LearnerType::Observer);
        assert_eq!(q.verifier.to_qv_text(), CAPTURED_QV);
        assert!(!q.verifier.is_voter(4));
    }

    #[test]
    fn the_server_list_wins_over_peer_type() {
        let s = Setup::new(Some("1\n"));
        let q = s
            .quorum(&format!("peerType=observer\n{DOCS_EXAMPLE}"))
            .unwrap()
            .unwrap();
        assert_eq!(q.learner_type, LearnerType::Participant);
    }

    #[test]
    fn myid_may_end_in_white_space() {
        for id in ["3", "3\n", "3\r\n", "3 \t\n", "3\nanything else\n"] {
            let q = Setup::new(Some(id)).quorum(DOCS_EXAMPLE).unwrap().unwrap();
            assert_eq!(q.my_id, 3, "{id:?}");
        }
    }

    #[test]
    fn missing_myid_is_refused() {
        let s = Setup::new(None);
        let e = s.error(DOCS_EXAMPLE);
        assert!(e.contains("myid file is missing"), "{e}");
        assert!(
            e.contains(&s.dir.path().join("myid").display().to_string()),
            "{e}"
        );
        // Apache treats -1 as "unset".
        assert!(Setup::new(Some("-1\n"))
            .error(DOCS_EXAMPLE)
            .contains("myid file is missing"));
    }

    #[test]
    fn unparsable_myid_is_refused_even_standalone() {
        let e = Setup::new(Some("abc\n")).error(DOCS_EXAMPLE);
        assert!(e.contains("serverid abc is not a number"), "{e}");
        assert!(e.contains("myid: line 1"), "{e}");
        let e = Setup::new(Some("")).error(DOCS_EXAMPLE);
        assert!(e.contains("is not a number"), "{e}");
        let e = Setup::new(Some(" 1\n")).error(DOCS_EXAMPLE);
        assert!(e.contains("serverid  1 is not a number"), "{e}");
        // Apache's QuorumPeerMain reads myid whenever the file exists.
        let e = Setup::new(Some("x")).error("clientPort=2181\n");
        assert!(e.contains("serverid x is not a number"), "{e}");
    }

    #[test]
    fn myid_not_among_the_servers_is_refused() {
        let e = Setup::new(Some("5\n")).error(DOCS_EXAMPLE);
        assert!(
            e.contains("My id 5 not in the peer list (the servers are 1, 2, 3)"),
            "{e}"
        );
    }

    #[test]
    fn equal_quorum_and_election_ports_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "dataDir={}\ninitLimit=5\nsyncLimit=2\nserver.1=zoo1:2888:2888\n",
            dir.path().display()
        );
        let e = ServerConfig::parse(&text, "zoo.cfg")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("config zoo.cfg: line 4: server.1: the quorum port and the election port are both 2888"), "{e}");
    }

    #[test]
    fn init_and_sync_limits_are_required_in_quorum_mode() {
        let s = Setup::new(Some("1\n"));
        let servers = "server.1=zoo1:2888:3888\nserver.2=zoo2:2888:3888\n";
        let e = s.error(&format!("syncLimit=2\n{servers}"));
        assert!(e.contains("initLimit is not set"), "{e}");
        // The line given is the first server line, what makes this an ensemble config.
        assert!(e.contains("line 3"), "{e}");
        let e = s.error(&format!("initLimit=5\n{servers}"));
        assert!(e.contains("syncLimit is not set"), "{e}");
        let e = s.error(&format!("initLimit=0\nsyncLimit=2\n{servers}"));
        assert!(e.contains("initLimit is not set"), "{e}");
        let e = s.error(&format!("initLimit=-5\nsyncLimit=2\n{servers}"));
        assert!(e.contains("initLimit must be positive"), "{e}");
        // Standalone needs neither.
        assert_eq!(s.quorum("server.1=zoo1:2888:3888\n").unwrap(), None);
    }

    #[test]
    fn one_participant_runs_standalone_unless_standalone_is_disabled() {
        let s = Setup::new(Some("1\n"));
        let one = "initLimit=5\nsyncLimit=2\nserver.1=zoo1:2888:3888\n";
        assert_eq!(s.quorum(one).unwrap(), None);
        assert_eq!(s.quorum("").unwrap(), None);
        let q = s
            .quorum(&format!("standaloneEnabled=false\n{one}"))
            .unwrap()
            .expect("a one-voter ensemble");
        assert_eq!(q.verifier.voters().len(), 1);
        let e = s.error(&format!("{one}server.2=zoo2:2888:3888:observer\n"));
        assert!(
            e.contains("Observers w/o quorum is an invalid configuration"),
            "{e}"
        );
        assert!(e.contains("line 5"), "{e}");
    }

    #[test]
    fn participants_are_needed() {
        let s = Setup::new(Some("1\n"));
        let e = s.error("standaloneEnabled=false\n");
        assert!(
            e.contains("standaloneEnabled = false then number of participants should be >0"),
            "{e}"
        );
        let e = s.error("server.1=zoo1:2888:3888:observer\n");
        assert!(
            e.contains("Observers w/o participants is an invalid configuration"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_are_refused_at_their_line() {
        let cases = [
            ("electionAlg=1", "Only 3 is supported"),
            ("electionAlg=x", "not a number"),
            ("peerType=foo", "Unrecognised peertype: foo"),
            (
                "standaloneEnabled=yes",
                "Invalid option yes for standaloneEnabled",
            ),
            (
                "quorumListenOnAllIPs=1",
                "Invalid option 1 for quorumListenOnAllIPs",
            ),
            ("initLimit=abc", "initLimit: not a number"),
            (
                "server.x=zoo1:2888:3888",
                "server.x: the server id is not a number",
            ),
            ("server.1=zoo1:2888", "does not have the form"),
            ("server.1=zoo1:2888:3888:foo", "Unrecognised peertype: foo"),
            ("server.1=zoo1:2888:x", "Address unresolved: zoo1:x"),
            ("server.1=zoo1:99999:3888", "port out of range:99999"),
            ("version=zz", "version=zz: not a hex number"),
        ];
        for (line, want) in cases {
            let e = ServerConfig::parse(&format!("tickTime=2000\n{line}\n"), "z.cfg")
                .unwrap_err()
                .to_string();
            assert!(e.contains("line 2") && e.contains(want), "{line}: {e}");
        }
        assert!(ServerConfig::parse("electionAlg=3\n", "z.cfg").is_ok());
    }

    #[test]
    fn multi_address_lines_need_the_jvm_property() {
        let s = Setup::new(Some("1\n"));
        let text = format!("{DOCS_EXAMPLE}server.4=zoo4:2888:3888|zoo4b:2889:3889\n");
        let e = s.error(&text);
        assert!(e.contains("Multiple address feature is disabled"), "{e}");
        assert!(e.contains("line 9"), "{e}");
        // zoo.cfg's multiAddress.enabled does not do it in Apache 3.8 either.
        let e = s.error(&format!("multiAddress.enabled=true\n{text}"));
        assert!(e.contains("Multiple address feature is disabled"), "{e}");
        let mut cfg = s.cfg(&text);
        cfg.apply_env([(
            "JVMFLAGS".to_string(),
            "-Dzookeeper.multiAddress.enabled=true".to_string(),
        )]);
        let q = cfg.quorum().unwrap().unwrap();
        assert!(q.multi_address_enabled);
        assert_eq!(q.verifier.member(4).unwrap().addrs.len(), 2);
    }

    #[test]
    fn client_address_on_the_server_line() {
        let s = Setup::new(Some("1\n"));
        let base = "initLimit=5\nsyncLimit=2\n";
        // Only on the line: used, and printed in the QV text.
        let q = s
            .quorum(&format!(
                "{base}server.1=zoo1:2888:3888;127.0.0.1:2181\nserver.2=zoo2:2888:3888\n"
            ))
            .unwrap()
            .unwrap();
        assert_eq!(q.client_addr.unwrap().delimited(), "127.0.0.1:2181");
        assert_eq!(
            q.verifier.to_qv_text(),
            "server.1=zoo1:2888:3888:participant;127.0.0.1:2181\nserver.2=zoo2:2888:3888:participant\nversion=0"
        );
        // In both places and agreeing (wildcard: the ports).
        let q = s
            .quorum(&format!(
                "{base}clientPort=2181\nserver.1=zoo1:2888:3888;2181\nserver.2=zoo2:2888:3888;zoo2:2181\n"
            ))
            .unwrap()
            .unwrap();
        assert_eq!(
            q.verifier.to_qv_text(),
            "server.1=zoo1:2888:3888:participant;0.0.0.0:2181\nserver.2=zoo2:2888:3888:participant;zoo2:2181\nversion=0"
        );
        // Disagreeing.
        let e = s.error(&format!(
            "{base}clientPort=2181\nserver.1=zoo1:2888:3888;2182\nserver.2=zoo2:2888:3888\n"
        ));
        assert!(
            e.contains("give 0.0.0.0:2181 but its server.1 line gives 0.0.0.0:2182"),
            "{e}"
        );
        assert!(e.contains("line 5"), "{e}");
        let e = s.error(&format!(
            "{base}clientPort=2181\nclientPortAddress=127.0.0.1\nserver.1=zoo1:2888:3888;2181\nserver.2=zoo2:2888:3888\n"
        ));
        assert!(
            e.contains("give 127.0.0.1:2181 but its server.1 line gives 0.0.0.0:2181"),
            "{e}"
        );
    }

    #[test]
    fn dynamic_config_file() {
        let s = Setup::new(Some("1\n"));
        let dynamic = s.dir.path().join("zoo.cfg.dynamic.100000000");
        std::fs::write(
            &dynamic,
            "server.1=zoo1:2888:3888\nserver.2=zoo2:2888:3888:observer\nserver.3=zoo3:2888:3888\n",
        )
        .unwrap();
        let base = format!(
            "initLimit=5\nsyncLimit=2\nclientPort=2181\ndynamicConfigFile={}\n",
            dynamic.display()
        );
        let q = s.quorum(&base).unwrap().unwrap();
        assert_eq!(q.verifier.version(), 0x1_0000_0000);
        assert_eq!(
            q.verifier.to_qv_text(),
            "server.1=zoo1:2888:3888:participant\nserver.2=zoo2:2888:3888:observer\nserver.3=zoo3:2888:3888:participant\nversion=100000000"
        );
        // Membership keys must not be in the static file then.
        let e = s.error(&format!("{base}server.1=zoo1:2888:3888\n"));
        assert!(
            e.contains("parameter: server.1 must be in a separate dynamic config file"),
            "{e}"
        );
        assert!(e.contains("zoo.cfg: line 6"), "{e}");
        // A file name without a hex suffix: version 0.
        let plain = s.dir.path().join("dynamic");
        std::fs::write(&plain, "server.1=zoo1:2888:3888\nserver.2=zoo2:2888:3888\n").unwrap();
        let q = s
            .quorum(&format!(
                "initLimit=5\nsyncLimit=2\ndynamicConfigFile={}\n",
                plain.display()
            ))
            .unwrap()
            .unwrap();
        assert_eq!(q.verifier.version(), 0);
        // What the dynamic file may not hold.
        for (body, want) in [
            (
                "server.1=zoo1:2888:3888\nversion=5\n",
                "dynamic file shouldn't have version inside",
            ),
            (
                "server.1=zoo1:2888:3888\ntickTime=5\n",
                "Unrecognised parameter: tickTime",
            ),
            (
                "server.1=zoo1:2888:3888\ngroup.1=1\n",
                "hierarchical quorums",
            ),
            (
                "server.1=zoo1:2888:2888\n",
                "quorum port and the election port",
            ),
        ] {
            std::fs::write(&plain, body).unwrap();
            let e = s.error(&format!("dynamicConfigFile={}\n", plain.display()));
            assert!(
                e.contains(want) && e.contains(&plain.display().to_string()),
                "{e}"
            );
        }
        let e = s.error(&format!(
            "dynamicConfigFile={}/missing\n",
            s.dir.path().display()
        ));
        assert!(e.contains("cannot read the dynamic config file"), "{e}");
    }

    #[test]
    fn hierarchical_quorums_are_refused() {
        let s = Setup::new(Some("1\n"));
        let e = s.error(&format!("{DOCS_EXAMPLE}group.1=1:2:3\nweight.1=1\n"));
        assert!(
            e.contains("group.1: hierarchical quorums (group/weight) are not supported"),
            "{e}"
        );
    }

    #[test]
    fn version_and_election_settings() {
        let s = Setup::new(Some("1\n"));
        let q = s
            .quorum(&format!(
                "{DOCS_EXAMPLE}version=1a\nelectionPortBindRetry=0\nquorumListenOnAllIPs=TRUE\nreconfigEnabled=true\n"
            ))
            .unwrap()
            .unwrap();
        assert_eq!(q.verifier.version(), 0x1a);
        assert!(q.verifier.to_qv_text().ends_with("version=1a"));
        assert_eq!(q.election_port_bind_retry, 0);
        assert!(q.quorum_listen_on_all_ips && q.reconfig_enabled);
        let mut cfg = s.cfg(&format!("{DOCS_EXAMPLE}electionPortBindRetry=-2\n"));
        assert_eq!(
            cfg.election_port_bind_retry,
            DEFAULT_ELECTION_PORT_BIND_RETRY
        );
        cfg.apply_env([(
            "ZK_ZOOKEEPER_ELECTIONPORTBINDRETRY".to_string(),
            "7".to_string(),
        )]);
        assert_eq!(cfg.quorum().unwrap().unwrap().election_port_bind_retry, 7);
    }

    #[test]
    fn member_order_follows_the_whole_file_like_java() {
        // Apache 3.8.0 printed 49, 17, 65, 113, 33, 97, 1, 81, 18, 2, 3 for this file.
        let s = Setup::new(Some("1\n"));
        let sids = [1, 17, 33, 2, 18, 49, 65, 3, 81, 97, 113];
        let mut text = "tickTime=2000\ninitLimit=10\nsyncLimit=5\nclientPort=2181\n".to_string();
        for sid in sids {
            text.push_str(&format!("server.{sid}=a:{}:{}\n", 1000 + sid, 2000 + sid));
        }
        let q = s.quorum(&text).unwrap().unwrap();
        let order: Vec<i64> = q.verifier.members().iter().map(|m| m.sid).collect();
        assert_eq!(order, [49, 17, 65, 113, 33, 97, 1, 81, 18, 2, 3]);
    }

    #[test]
    fn version_from_the_dynamic_file_name() {
        assert_eq!(
            version_from_file_name("/a/zoo.cfg.dynamic.100000000"),
            Some(0x1_0000_0000)
        );
        assert_eq!(version_from_file_name("zoo.cfg.dynamic.0"), Some(0));
        assert_eq!(version_from_file_name("/etc/zk.d/dynamic"), None);
        assert_eq!(version_from_file_name("dynamic"), None);
    }
}
