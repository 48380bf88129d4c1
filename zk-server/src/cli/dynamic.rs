//! The dynamic configuration's text as zkCli.sh reads it (pure): `java.util.Properties`
//! parsing and iteration order, the client connect string `config -c` prints
//! (`ConfigUtils.getClientConfigStr`), and the membership `reconfig -file` sends
//! (`QuorumPeerConfig.parseDynamicConfig(...).toString()`).
//!
//! zkCli.sh walks a `Properties` (a hash table) in its hash order, not in the order the lines
//! were written: for `server.1`, `server.2`, `server.3` and `version` that order is
//! `server.2`, `server.1`, `server.3`, `version`, so `config -c` on a three-server ensemble
//! lists the second server first. [`properties_order`] reproduces it.

/// One `key=value` entry of a properties text, in file order (a later duplicate replaces the
/// value of the earlier one, in its place).
pub type Entries = Vec<(String, String)>;

/// Parses a properties text as `Properties.load` does for the lines a dynamic config has:
/// `#` and `!` comments, blank lines, keys ending at the first `=`, `:` or blank, blanks
/// around the separator and leading blanks skipped. (Backslash escapes and continuation
/// lines, which no dynamic config uses, are kept as written.)
pub fn parse_properties(text: &str) -> Entries {
    let mut out: Entries = Vec::new();
    for line in text.lines() {
        let line = line.trim_start_matches([' ', '\t', '\x0c']);
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let end = line
            .find(['=', ':', ' ', '\t', '\x0c'])
            .unwrap_or(line.len());
        let key = &line[..end];
        let mut rest = line[end..].trim_start_matches([' ', '\t', '\x0c']);
        if let Some(r) = rest.strip_prefix(['=', ':']) {
            rest = r.trim_start_matches([' ', '\t', '\x0c']);
        }
        match out.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = rest.to_owned(),
            None => out.push((key.to_owned(), rest.to_owned())),
        }
    }
    out
}

/// Java's `String.hashCode` (over UTF-16 code units).
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The order in which a `Properties` holding `keys` (distinct, in insertion order) iterates
/// them: by bucket of its `ConcurrentHashMap` (16 buckets, doubled each time the count
/// reaches three quarters), then in insertion order within a bucket. Checked against Java 17
/// for up to 20 servers.
pub fn properties_order<S: AsRef<str>>(keys: &[S]) -> Vec<usize> {
    let mut buckets = 16usize;
    while keys.len() >= buckets / 4 * 3 {
        buckets *= 2;
    }
    let bucket = |k: &str| {
        let h = java_hash(k);
        // ConcurrentHashMap.spread: the high half folded into the low one.
        let spread = (h ^ ((h as u32) >> 16) as i32) & 0x7fff_ffff;
        spread as usize & (buckets - 1)
    };
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| bucket(keys[i].as_ref()));
    order
}

/// The client connect string of a config (`ConfigUtils.getClientConfigStr`): its version,
/// a space, and the client addresses of its servers, comma-separated, in the `Properties`
/// order. A server line without a client address adds an empty entry; one that does not
/// parse adds nothing.
pub fn client_config_str(config: &str) -> String {
    let entries = parse_properties(config);
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.trim()).collect();
    let mut version = "";
    let mut hosts: Vec<String> = Vec::new();
    for i in properties_order(&keys) {
        let (key, value) = (keys[i], entries[i].1.trim());
        if key == "version" {
            version = value;
        }
        if !key.starts_with("server.") {
            continue;
        }
        if let Ok(server) = ServerSpec::parse(value) {
            hosts.push(
                server
                    .client
                    .map(|(h, p)| format!("{h}:{p}"))
                    .unwrap_or_default(),
            );
        }
    }
    format!("{version} {}", hosts.join(","))
}

/// One server's config value (`QuorumPeer.QuorumServer`):
/// `host:quorumPort:electionPort[:type][;[clientHost:]clientPort]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    /// Host, quorum port, election port.
    pub server: (String, u16, u16),
    /// `participant` or `observer`.
    pub observer: bool,
    /// The client address (`0.0.0.0` when only a port is given).
    pub client: Option<(String, u16)>,
}

/// Apache's message for a server value of the wrong shape.
const WRONG_FORMAT: &str = " does not have the form server_config or server_config;client_config where server_config is the pipe separated list of host:port:port or host:port:port:type and client_config is port or host:port";

/// `ConfigUtils.getHostAndPort`: `[v6]:port...` or `host:port...`.
fn host_and_port(s: &str) -> Vec<String> {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some(i) = rest.find(']') {
            let mut out = vec![rest[..i].to_owned()];
            if let Some(ports) = rest[i + 1..].strip_prefix(':') {
                out.extend(ports.split(':').map(str::to_owned));
            }
            return out;
        }
    }
    s.split(':').map(str::to_owned).collect()
}

impl ServerSpec {
    /// Parses a server value, with Apache's `ConfigException` message on error.
    pub fn parse(value: &str) -> Result<ServerSpec, String> {
        let parts: Vec<&str> = value.split(';').collect();
        if parts.len() > 2 {
            return Err(format!("{value}{WRONG_FORMAT}"));
        }
        let port = |host: &str, p: &str| {
            p.parse::<u16>()
                .map_err(|_| format!("Address unresolved: {host}:{p}"))
        };
        let client = match parts.get(1) {
            None => None,
            Some(c) => {
                let cp = host_and_port(c);
                if cp.len() > 2 {
                    return Err(format!("{value}{WRONG_FORMAT}"));
                }
                let host = if cp.len() == 2 { &cp[0] } else { "0.0.0.0" };
                Some((host.to_owned(), port(host, &cp[cp.len() - 1])?))
            }
        };
        let sp = host_and_port(parts[0]);
        if !(3..=4).contains(&sp.len()) {
            return Err(format!("{value}{WRONG_FORMAT}"));
        }
        let quorum = port(&sp[0], &sp[1])?;
        let election = port(&sp[0], &sp[2])?;
        let observer = match sp.get(3).map(String::as_str) {
            None | Some("participant") => false,
            Some("observer") => true,
            Some(other) => return Err(format!("Unrecognised peertype: {other}")),
        };
        Ok(ServerSpec {
            server: (sp[0].clone(), quorum, election),
            observer,
            client,
        })
    }
}

impl std::fmt::Display for ServerSpec {
    /// `QuorumServer.toString`: the type always written, IPv6 hosts in brackets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = |h: &str| {
            if h.contains(':') {
                format!("[{h}]")
            } else {
                h.to_owned()
            }
        };
        let (h, q, e) = &self.server;
        let kind = if self.observer {
            "observer"
        } else {
            "participant"
        };
        write!(f, "{}:{q}:{e}:{kind}", host(h))?;
        if let Some((ch, cp)) = &self.client {
            write!(f, ";{}:{cp}", host(ch))?;
        }
        Ok(())
    }
}

/// The membership `reconfig -file` sends: the file's servers, checked and written back as
/// `QuorumMaj.toString` does (`server.<id>=<spec>` lines by id, then `version=<hex>`, the
/// file's version or 0). The error is Apache's message for the first problem.
pub fn members_from_file(text: &str) -> Result<String, String> {
    let entries = parse_properties(text);
    let mut servers: Vec<(i64, ServerSpec)> = Vec::new();
    let mut version = 0i64;
    for (key, value) in &entries {
        let key = key.trim();
        if key.starts_with("group") || key.starts_with("weight") {
            return Err("hierarchical quorums are not supported by zkcli".into());
        }
        if key == "version" {
            version = i64::from_str_radix(value.trim(), 16)
                .map_err(|_| format!("For input string: \"{}\"", value.trim()))?;
            continue;
        }
        let Some(id) = key.strip_prefix("server.") else {
            return Err(format!("Unrecognised parameter: {key}"));
        };
        let id: i64 = id
            .parse()
            .map_err(|_| format!("For input string: \"{id}\""))?;
        servers.push((id, ServerSpec::parse(value.trim())?));
    }
    let voters = servers.iter().filter(|(_, s)| !s.observer).count();
    if voters == 0 && servers.iter().any(|(_, s)| s.observer) {
        return Err("Observers w/o participants is an invalid configuration".into());
    }
    if voters == 1 && servers.iter().any(|(_, s)| s.observer) {
        return Err("Observers w/o quorum is an invalid configuration".into());
    }
    servers.sort_by_key(|(id, _)| *id);
    let mut out = String::new();
    for (id, spec) in &servers {
        out.push_str(&format!("server.{id}={spec}\n"));
    }
    out.push_str(&format!("version={version:x}"));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys `server.1..=n` then `version`, in Java 17's `Properties` order (printed by a
    /// Java program walking `entrySet()`).
    fn java_order(n: usize) -> &'static str {
        match n {
            3 => "server.2 server.1 server.3 version",
            5 => "server.2 server.1 server.5 server.4 server.3 version",
            9 => "server.2 server.1 server.6 server.5 server.4 server.3 server.9 version server.8 server.7",
            11 => "version server.10 server.11 server.2 server.1 server.6 server.5 server.4 server.3 server.9 server.8 server.7",
            12 => "version server.10 server.11 server.2 server.1 server.12 server.6 server.5 server.4 server.3 server.9 server.8 server.7",
            20 => "server.18 server.19 server.16 server.17 version server.10 server.11 server.20 server.2 server.14 server.1 server.15 server.12 server.13 server.6 server.5 server.4 server.3 server.9 server.8 server.7",
            _ => unreachable!(),
        }
    }

    #[test]
    fn properties_iterate_in_java_order() {
        for n in [3, 5, 9, 11, 12, 20] {
            let mut keys: Vec<String> = (1..=n).map(|i| format!("server.{i}")).collect();
            keys.push("version".into());
            let got: Vec<&str> = properties_order(&keys)
                .into_iter()
                .map(|i| keys[i].as_str())
                .collect();
            assert_eq!(got.join(" "), java_order(n), "{n} servers");
        }
        let keys = ["server.100", "server.7", "server.42", "version"];
        let got: Vec<&str> = properties_order(&keys)
            .into_iter()
            .map(|i| keys[i])
            .collect();
        assert_eq!(got, ["server.42", "version", "server.100", "server.7"]);
    }

    #[test]
    fn client_config_lists_client_addresses_in_java_order() {
        let cfg = "server.1=a:2888:3888:participant;127.0.0.1:2181\n\
                   server.2=b:2888:3888:participant;127.0.0.1:2182\n\
                   server.3=c:2888:3888:observer;2183\nversion=100000000";
        assert_eq!(
            client_config_str(cfg),
            "100000000 127.0.0.1:2182,127.0.0.1:2181,0.0.0.0:2183"
        );
        // No client address: an empty entry; a value that does not parse: none.
        let cfg = "server.1=a:1:2\nserver.2=bogus\nversion=1";
        assert_eq!(client_config_str(cfg), "1 ");
        assert_eq!(client_config_str(""), " ");
        assert_eq!(client_config_str("null"), " ");
    }

    #[test]
    fn properties_parse_like_java() {
        let p = parse_properties("# c\n! c\n\n  a = 1\nb:2\nc 3\na=4\nd\n");
        assert_eq!(
            p,
            [
                ("a".to_owned(), "4".to_owned()),
                ("b".into(), "2".into()),
                ("c".into(), "3".into()),
                ("d".into(), String::new()),
            ]
        );
    }

    #[test]
    fn server_specs_parse_and_print_as_quorum_server() {
        let s = ServerSpec::parse("127.0.0.1:1:2;3").unwrap();
        assert_eq!(s.to_string(), "127.0.0.1:1:2:participant;0.0.0.0:3");
        let s = ServerSpec::parse("h:1:2:observer;h:3").unwrap();
        assert_eq!(s.to_string(), "h:1:2:observer;h:3");
        assert_eq!(
            ServerSpec::parse("[::1]:1:2").unwrap().to_string(),
            "[::1]:1:2:participant"
        );
        assert_eq!(
            ServerSpec::parse("bogus").unwrap_err(),
            format!("bogus{WRONG_FORMAT}")
        );
        assert_eq!(
            ServerSpec::parse("h:x:2").unwrap_err(),
            "Address unresolved: h:x"
        );
        assert_eq!(
            ServerSpec::parse("h:1:2:voter").unwrap_err(),
            "Unrecognised peertype: voter"
        );
    }

    #[test]
    fn members_from_a_file() {
        let file = "server.2=h:4:5;6\nserver.1=h:1:2:participant;h:3\n";
        assert_eq!(
            members_from_file(file).unwrap(),
            "server.1=h:1:2:participant;h:3\nserver.2=h:4:5:participant;0.0.0.0:6\nversion=0"
        );
        assert_eq!(
            members_from_file("tickTime=2000\n").unwrap_err(),
            "Unrecognised parameter: tickTime"
        );
        assert_eq!(
            members_from_file("server.x=h:1:2\n").unwrap_err(),
            "For input string: \"x\""
        );
    }
}
