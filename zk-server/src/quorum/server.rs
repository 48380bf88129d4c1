//! One member of a config: the value of a `server.N` line (`QuorumPeer.QuorumServer`).
//!
//! Syntax (`QuorumServer.initializeWithAddressString`):
//! `host:quorumPort:electionPort[:participant|:observer][|host:qp:ep[:type]...][;[clientHost:]clientPort]`.
//! A host may be an IPv6 literal in brackets. `|` alternatives (multi-address) are refused unless
//! multi-address is enabled, as Apache 3.8 does. Hosts are kept as written and never resolved.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use thiserror::Error;

/// What a member does in the ensemble (`QuorumPeer.LearnerType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum LearnerType {
    /// A voter: it takes part in elections and in the Zab quorum.
    #[default]
    Participant,
    /// A non-voting learner.
    Observer,
}

impl LearnerType {
    /// Parses `participant` / `observer` (trimmed, any case), as `QuorumServer.getType`.
    pub fn parse(s: &str) -> Result<LearnerType, ServerLineError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "participant" => Ok(LearnerType::Participant),
            "observer" => Ok(LearnerType::Observer),
            _ => Err(ServerLineError::UnknownPeerType(s.to_owned())),
        }
    }

    /// The word Apache prints (`participant`, `observer`).
    pub fn as_str(self) -> &'static str {
        match self {
            LearnerType::Participant => "participant",
            LearnerType::Observer => "observer",
        }
    }
}

/// A host as written (IPv6 brackets removed) and a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// The host name or literal address, without brackets.
    pub host: String,
    /// The port.
    pub port: u16,
}

impl HostPort {
    /// `InetSocketAddress.getHostString()` of this address as Java builds it from the config:
    /// an IPv6 literal in Java's normalized form (`0:0:0:0:0:0:0:1`, an IPv4-mapped one as IPv4),
    /// a short IPv4 literal (`127.1`) expanded, anything else as written.
    pub fn java_host_string(&self) -> String {
        java_host_string(&self.host)
    }

    /// `host:port` with an IPv6 host in brackets, as Apache prints addresses in QV text.
    pub fn delimited(&self) -> String {
        format!("{}:{}", delimited_host(&self.java_host_string()), self.port)
    }

    pub(crate) fn same_as(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self
                .java_host_string()
                .eq_ignore_ascii_case(&other.java_host_string())
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.delimited())
    }
}

/// One `host:quorumPort:electionPort` alternative of a member.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerAddr {
    /// The host, without brackets.
    pub host: String,
    /// The quorum (Zab) port: learners connect to the leader here.
    pub quorum_port: u16,
    /// The election port.
    pub election_port: u16,
}

impl ServerAddr {
    /// The quorum address.
    pub fn quorum(&self) -> HostPort {
        HostPort {
            host: self.host.clone(),
            port: self.quorum_port,
        }
    }

    /// The election address.
    pub fn election(&self) -> HostPort {
        HostPort {
            host: self.host.clone(),
            port: self.election_port,
        }
    }
}

/// A config member (`QuorumPeer.QuorumServer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumServer {
    /// The server id (the `N` of `server.N`, Java `long`).
    pub sid: i64,
    /// The address alternatives in line order (one unless multi-address is used).
    pub addrs: Vec<ServerAddr>,
    /// The client address: from the line's `;` part, or for this server's own entry the static
    /// `clientPortAddress:clientPort` (then `client_addr_from_static`).
    pub client_addr: Option<HostPort>,
    /// True when `client_addr` came from the static file (`isClientAddrFromStatic`): the QV
    /// text then leaves it out.
    pub client_addr_from_static: bool,
    /// Participant (voter) or observer.
    pub kind: LearnerType,
}

/// Why a `server.N` value cannot be used. Messages follow Apache's, made to name the cause.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ServerLineError {
    /// Not `host:port:port[:type][;[host:]port]` (Apache's "does not have the form" error).
    #[error(
        "{0} does not have the form server_config or server_config;client_config where \
         server_config is the pipe separated list of host:port:port or host:port:port:type and \
         client_config is port or host:port"
    )]
    Format(String),
    /// A port that is not a number.
    #[error("Address unresolved: {host}:{port} (the port is not a number)")]
    PortNotANumber {
        /// The host of the address.
        host: String,
        /// The text where a port was expected.
        port: String,
    },
    /// A port outside 0..=65535.
    #[error("port out of range:{0}")]
    PortOutOfRange(i64),
    /// The quorum and election ports are the same.
    #[error(
        "server.{sid}: the quorum port and the election port are both {port}; they must differ \
         (Apache: \"Client and election port must be different!\")"
    )]
    SamePorts {
        /// The member.
        sid: i64,
        /// The port given twice.
        port: u16,
    },
    /// A type other than `participant` / `observer`.
    #[error("Unrecognised peertype: {0}")]
    UnknownPeerType(String),
    /// Alternatives with different types.
    #[error("Multiple addresses should have similar roles: {0} vs {1}")]
    MixedRoles(&'static str, &'static str),
    /// `|` alternatives while multi-address is off.
    #[error(
        "Multiple address feature is disabled, but multiple addresses were specified for sid \
         {0} (set zookeeper.multiAddress.enabled=true)"
    )]
    MultiAddressDisabled(i64),
    /// A `[` without its `]`.
    #[error("{0} starts with '[' but has no matching ']:'")]
    UnclosedBracket(String),
    /// `[v6]:` with nothing after the colon.
    #[error("{0} doesn't have a port after colon")]
    NoPortAfterColon(String),
}

/// Java's `String.split` for a one-character separator: trailing empty pieces are dropped, and a
/// text without the separator is one piece (even when empty).
fn java_split(s: &str, sep: char) -> Vec<&str> {
    if !s.contains(sep) {
        return vec![s];
    }
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// `ConfigUtils.getHostAndPort`: splits on `:`, with a leading `[v6]` kept as one piece.
fn host_and_port(s: &str) -> Result<Vec<&str>, ServerLineError> {
    let Some(body) = s.strip_prefix('[') else {
        return Ok(java_split(s, ':'));
    };
    let Some(i) = body.find(']') else {
        return Err(ServerLineError::UnclosedBracket(s.to_owned()));
    };
    // Java indexes the original text: `]` is at i + 1 there, the port starts at i + 3.
    let after = &body[i + 1..];
    if after.chars().count() == 1 {
        return Err(ServerLineError::NoPortAfterColon(s.to_owned()));
    }
    if after.is_empty() {
        return Ok(vec![&body[..i]]);
    }
    // The character after `]` is skipped without being checked, as Java does.
    let skip = after.chars().next().map_or(0, char::len_utf8);
    let mut parts = vec![&body[..i]];
    parts.extend(java_split(&after[skip..], ':'));
    Ok(parts)
}

fn parse_port(host: &str, text: &str) -> Result<u16, ServerLineError> {
    let n: i64 = text
        .parse::<i32>()
        .map_err(|_| ServerLineError::PortNotANumber {
            host: host.to_owned(),
            port: text.to_owned(),
        })?
        .into();
    u16::try_from(n).map_err(|_| ServerLineError::PortOutOfRange(n))
}

impl QuorumServer {
    /// Parses the value of `server.<sid>=...`. `multi_address` allows `|` alternatives
    /// (Apache: the `zookeeper.multiAddress.enabled` system property).
    pub fn parse(sid: i64, value: &str, multi_address: bool) -> Result<Self, ServerLineError> {
        let format = || ServerLineError::Format(value.to_owned());
        let server_client = java_split(value, ';');
        let addresses = java_split(server_client.first().copied().unwrap_or(""), '|');
        let mut client_addr = None;
        if server_client.len() == 2 {
            let parts = host_and_port(server_client[1])?;
            let (host, port) = match parts.as_slice() {
                [port] => ("0.0.0.0", *port),
                [host, port] => (*host, *port),
                _ => return Err(format()),
            };
            client_addr = Some(HostPort {
                host: host.to_owned(),
                port: parse_port(host, port)?,
            });
        }
        if !multi_address && addresses.len() > 1 {
            return Err(ServerLineError::MultiAddressDisabled(sid));
        }
        let mut kind: Option<LearnerType> = None;
        let mut addrs = Vec::with_capacity(addresses.len());
        for address in addresses {
            let parts = host_and_port(address)?;
            if server_client.len() > 2 || parts.len() < 3 || parts.len() > 4 {
                return Err(format());
            }
            let host = parts[0];
            let quorum_port = parse_port(host, parts[1])?;
            let election_port = parse_port(host, parts[2])?;
            if quorum_port == election_port {
                return Err(ServerLineError::SamePorts {
                    sid,
                    port: quorum_port,
                });
            }
            if let Some(t) = parts.get(3) {
                let t = LearnerType::parse(t)?;
                match kind {
                    Some(k) if k != t => {
                        return Err(ServerLineError::MixedRoles(k.as_str(), t.as_str()))
                    }
                    _ => kind = Some(t),
                }
            }
            addrs.push(ServerAddr {
                host: host.to_owned(),
                quorum_port,
                election_port,
            });
        }
        if addrs.is_empty() {
            return Err(format());
        }
        Ok(QuorumServer {
            sid,
            addrs,
            client_addr,
            client_addr_from_static: false,
            kind: kind.unwrap_or_default(),
        })
    }

    /// The first quorum address (the one a learner dials without multi-address).
    pub fn quorum_addr(&self) -> HostPort {
        self.addrs[0].quorum()
    }

    /// The first election address.
    pub fn election_addr(&self) -> HostPort {
        self.addrs[0].election()
    }

    /// `QuorumServer.equals`: same sid, type, addresses (as sets) and client address. Hosts are
    /// compared as Java would print them, ignoring ASCII case (no DNS look-up).
    pub fn quorum_server_equals(&self, other: &QuorumServer) -> bool {
        let same_set = |a: Vec<HostPort>, b: Vec<HostPort>| {
            a.iter().all(|x| b.iter().any(|y| x.same_as(y)))
                && b.iter().all(|y| a.iter().any(|x| x.same_as(y)))
        };
        self.sid == other.sid
            && self.kind == other.kind
            && same_set(
                self.addrs.iter().map(ServerAddr::quorum).collect(),
                other.addrs.iter().map(ServerAddr::quorum).collect(),
            )
            && same_set(
                self.addrs.iter().map(ServerAddr::election).collect(),
                other.addrs.iter().map(ServerAddr::election).collect(),
            )
            && match (&self.client_addr, &other.client_addr) {
                (None, None) => true,
                (Some(a), Some(b)) => a.same_as(b),
                _ => false,
            }
    }
}

/// `QuorumServer.toString()`: the value of this member's line in QV text.
impl fmt::Display for QuorumServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Java sorts the quorum and the election addresses by host string, separately, then
        // pairs them up by position (a stable sort: equal hosts keep line order here).
        let mut quorum: Vec<HostPort> = self.addrs.iter().map(ServerAddr::quorum).collect();
        let mut election: Vec<HostPort> = self.addrs.iter().map(ServerAddr::election).collect();
        quorum.sort_by_cached_key(HostPort::java_host_string);
        election.sort_by_cached_key(HostPort::java_host_string);
        for (i, (q, e)) in quorum.iter().zip(&election).enumerate() {
            if i > 0 {
                f.write_str("|")?;
            }
            write!(
                f,
                "{}:{}:{}",
                delimited_host(&q.java_host_string()),
                q.port,
                e.port
            )?;
        }
        write!(f, ":{}", self.kind.as_str())?;
        match &self.client_addr {
            Some(c) if !self.client_addr_from_static => write!(f, ";{}", c.delimited()),
            _ => Ok(()),
        }
    }
}

/// `QuorumServer.delimitedHostString`: brackets around a host that contains `:`.
fn delimited_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// Java's `getHostString()` for an `InetSocketAddress(host, port)` built from config text.
fn java_host_string(host: &str) -> String {
    let (addr, scope) = match host.split_once('%') {
        Some((a, s)) => (a, Some(s)),
        None => (host, None),
    };
    if let Ok(v6) = addr.parse::<Ipv6Addr>() {
        match scope {
            // A named scope that Java cannot resolve leaves the text unresolved, as written.
            Some(s) if !s.chars().all(|c| c.is_ascii_digit()) || s.is_empty() => {
                return host.to_owned()
            }
            _ => {}
        }
        if let (Some(v4), None) = (v6.to_ipv4_mapped(), scope) {
            return v4.to_string();
        }
        let groups: Vec<String> = v6.segments().iter().map(|g| format!("{g:x}")).collect();
        let mut s = groups.join(":");
        if let Some(scope) = scope {
            s.push('%');
            s.push_str(scope);
        }
        return s;
    }
    short_ipv4(host).map_or_else(|| host.to_owned(), |v4| v4.to_string())
}

/// IPv4 literals Java accepts besides the dotted quad: `a`, `a.b`, `a.b.c` (the last part fills
/// the remaining bytes). Parts with leading zeros are not treated as literals.
fn short_ipv4(host: &str) -> Option<Ipv4Addr> {
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        return Some(v4);
    }
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        || parts.iter().any(|p| p.len() > 1 && p.starts_with('0'))
    {
        return None;
    }
    let nums: Vec<u64> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (head, last) = nums.split_at(nums.len() - 1);
    if head.iter().any(|&n| n > 255) {
        return None;
    }
    let last_bits = 8 * (4 - head.len() as u32);
    if last[0] >= 1u64 << last_bits {
        return None;
    }
    let mut v: u64 = 0;
    for &n in head {
        v = (v << 8) | n;
    }
    Some(Ipv4Addr::from(((v << last_bits) | last[0]) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Result<QuorumServer, ServerLineError> {
        QuorumServer::parse(1, v, false)
    }

    #[test]
    fn plain_line_defaults_to_participant() {
        let s = parse("zoo1:2888:3888").unwrap();
        assert_eq!(s.kind, LearnerType::Participant);
        assert_eq!(s.quorum_addr().to_string(), "zoo1:2888");
        assert_eq!(s.election_addr().to_string(), "zoo1:3888");
        assert_eq!(s.client_addr, None);
        assert_eq!(s.to_string(), "zoo1:2888:3888:participant");
    }

    #[test]
    fn observer_and_client_port_forms() {
        let s = parse("127.0.0.1:22884:23884:observer").unwrap();
        assert_eq!(s.to_string(), "127.0.0.1:22884:23884:observer");
        let s = parse("zk2:2888:3888;2181").unwrap();
        assert_eq!(s.to_string(), "zk2:2888:3888:participant;0.0.0.0:2181");
        let s = parse("zk2:2888:3888:participant;zk2:2181").unwrap();
        assert_eq!(s.to_string(), "zk2:2888:3888:participant;zk2:2181");
        // Java drops the empty piece after a trailing ';'.
        assert_eq!(parse("zk2:2888:3888;").unwrap().client_addr, None);
    }

    /// Outputs of Apache 3.8.0's `QuorumServer.toString()` on OpenJDK 17 for these lines.
    #[test]
    fn hosts_print_as_java_prints_them() {
        let cases = [
            (
                "[::1]:1:2;[::1]:2181",
                "[0:0:0:0:0:0:0:1]:1:2:participant;[0:0:0:0:0:0:0:1]:2181",
            ),
            (
                "[2001:DB8::0001]:1:2:observer;[::]:7",
                "[2001:db8:0:0:0:0:0:1]:1:2:observer;[0:0:0:0:0:0:0:0]:7",
            ),
            ("[::ffff:1.2.3.4]:1:2", "1.2.3.4:1:2:participant"),
            ("[fe80::1%2]:1:2", "[fe80:0:0:0:0:0:0:1%2]:1:2:participant"),
            (
                "[fe80::1%lo]:3:4;127.0.0.1:5",
                "[fe80::1%lo]:3:4:participant;127.0.0.1:5",
            ),
            ("ZOO3:1:2;ZOO3:5", "ZOO3:1:2:participant;ZOO3:5"),
            ("127.1:1:2", "127.0.0.1:1:2:participant"),
            ("[zk6]:1:2", "zk6:1:2:participant"),
        ];
        for (line, want) in cases {
            assert_eq!(parse(line).unwrap().to_string(), want, "{line}");
        }
    }

    #[test]
    fn format_errors_name_the_value() {
        for bad in [
            "zoo1:2888",
            "zoo1:2888:3888:participant:x",
            "zoo1:2888:3888;a:b:2181",
            "zoo1:2888:3888:participant;2181;x",
            "",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(
                matches!(e, ServerLineError::Format(ref v) if v == bad),
                "{bad}: {e}"
            );
            assert!(e.to_string().contains("does not have the form"), "{e}");
        }
    }

    #[test]
    fn port_errors() {
        assert_eq!(
            parse("zoo1:2888:x").unwrap_err(),
            ServerLineError::PortNotANumber {
                host: "zoo1".into(),
                port: "x".into()
            }
        );
        assert_eq!(
            parse("zoo1:99999:3888").unwrap_err(),
            ServerLineError::PortOutOfRange(99999)
        );
        let e = parse("zoo1:2888:2888").unwrap_err();
        assert_eq!(e, ServerLineError::SamePorts { sid: 1, port: 2888 });
        assert!(e.to_string().contains("server.1"), "{e}");
    }

    #[test]
    fn peer_type_and_bracket_errors() {
        assert_eq!(
            parse("zoo1:2888:3888:foo").unwrap_err(),
            ServerLineError::UnknownPeerType("foo".into())
        );
        assert_eq!(
            parse("[::1:2888:3888").unwrap_err(),
            ServerLineError::UnclosedBracket("[::1:2888:3888".into())
        );
        assert_eq!(
            parse("[::1]:").unwrap_err(),
            ServerLineError::NoPortAfterColon("[::1]:".into())
        );
    }

    #[test]
    fn multi_address_needs_the_switch() {
        let line = "zoo1:2888:3888|zoo1b:2889:3889";
        assert_eq!(
            parse(line).unwrap_err(),
            ServerLineError::MultiAddressDisabled(1)
        );
        let s = QuorumServer::parse(1, "zb:2889:3889|za:2888:3888", true).unwrap();
        assert_eq!(s.addrs.len(), 2);
        assert_eq!(s.quorum_addr().host, "zb");
        // Printed sorted by host.
        assert_eq!(s.to_string(), "za:2888:3888|zb:2889:3889:participant");
        let mixed = QuorumServer::parse(1, "a:1:2:observer|b:1:2:participant", true);
        assert_eq!(
            mixed.unwrap_err(),
            ServerLineError::MixedRoles("observer", "participant")
        );
    }

    #[test]
    fn equality_is_quorum_server_equals() {
        let a = parse("zoo1:2888:3888").unwrap();
        assert!(a.quorum_server_equals(&parse("ZOO1:2888:3888:participant").unwrap()));
        assert!(!a.quorum_server_equals(&parse("zoo1:2888:3889").unwrap()));
        assert!(!a.quorum_server_equals(&parse("zoo1:2888:3888:observer").unwrap()));
        assert!(!a.quorum_server_equals(&parse("zoo1:2888:3888;2181").unwrap()));
        assert!(parse("[::1]:1:2")
            .unwrap()
            .quorum_server_equals(&parse("[0:0:0:0:0:0:0:1]:1:2").unwrap()));
    }
}
