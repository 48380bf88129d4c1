//! Path rules (`PathUtils.validatePath`), parents and names, chroot, sequence suffixes and the
//! connect string.

use crate::error::PathError;

fn invalid(path: &str, reason: &'static str) -> PathError {
    PathError {
        path: path.to_owned(),
        reason,
    }
}

/// Checks `path` against Apache ZooKeeper's rules.
///
/// A path is absolute, has no empty, `.` or `..` component, does not end with `/` (except `/`
/// itself), and has no NUL, control, surrogate, private-use or U+FFF0..U+FFFF characters.
/// For a sequential create the server checks `path + "1"`, so `/queue/` is a valid sequential
/// prefix: pass `sequential = true` for that rule.
pub fn validate_path(path: &str, sequential: bool) -> Result<(), PathError> {
    if sequential {
        return validate_path(&format!("{path}1"), false).map_err(|e| invalid(path, e.reason));
    }
    if path.is_empty() {
        return Err(invalid(path, "path length must be > 0"));
    }
    if !path.starts_with('/') {
        return Err(invalid(path, "path must start with / character"));
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(invalid(path, "path must not end with / character"));
    }
    for component in path[1..].split('/') {
        if component.is_empty() {
            return Err(invalid(path, "empty node name specified"));
        }
        if component == "." || component == ".." {
            return Err(invalid(path, "relative paths not allowed"));
        }
        for c in component.chars() {
            let u = c as u32;
            if u == 0 {
                return Err(invalid(path, "null character not allowed"));
            }
            // Java compares UTF-16 code units: a character outside the BMP is a surrogate pair,
            // which falls in the forbidden \ud800-\uf8ff range.
            if (0x01..=0x1f).contains(&u)
                || (0x7f..=0x9f).contains(&u)
                || (0xd800..=0xf8ff).contains(&u)
                || (0xfff0..=0xffff).contains(&u)
                || u > 0xffff
            {
                return Err(invalid(path, "invalid character"));
            }
        }
    }
    Ok(())
}

/// The parent of an absolute path: `/a/b` -> `/a`, `/a` -> `/`, `/` -> `/`.
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last component of an absolute path: `/a/b` -> `b`, `/` -> ``.
pub fn node_name(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// Joins a parent path and a child name.
pub fn join(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

/// The 10-digit suffix of a sequential node (`String.format("%010d", n)`).
pub fn sequential_suffix(n: i32) -> String {
    format!("{n:010}")
}

/// Parses the sequence number at the end of a sequential node's name, if it has one.
pub fn parse_sequence(name: &str) -> Option<i32> {
    if name.len() < 10 {
        return None;
    }
    let tail = &name[name.len() - 10..];
    if tail.bytes().all(|b| b.is_ascii_digit()) {
        tail.parse().ok()
    } else {
        None
    }
}

/// A chroot: a path prefix that a client applies to every path it sends and removes from every
/// path it receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chroot(String);

impl Chroot {
    /// A chroot at `prefix`, which must be a valid path other than `/`.
    pub fn new(prefix: &str) -> Result<Option<Chroot>, PathError> {
        validate_path(prefix, false)?;
        Ok(if prefix == "/" {
            None
        } else {
            Some(Chroot(prefix.to_owned()))
        })
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The server path for a client path: `/` maps to the chroot itself.
    pub fn prepend(&self, path: &str) -> String {
        if path == "/" {
            self.0.clone()
        } else {
            format!("{}{}", self.0, path)
        }
    }

    /// The client path for a server path; paths outside the chroot (such as
    /// `/zookeeper/config`) are returned unchanged.
    pub fn strip<'a>(&self, path: &'a str) -> &'a str {
        if path == self.0 {
            "/"
        } else if path.len() > self.0.len()
            && path.starts_with(self.0.as_str())
            && path.as_bytes()[self.0.len()] == b'/'
        {
            &path[self.0.len()..]
        } else {
            path
        }
    }
}

/// A parsed connect string: `host1:2181,host2,[::1]:2182/chroot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectString {
    /// The hosts with their ports (2181 when none is given), in the order written.
    pub hosts: Vec<(String, u16)>,
    /// The chroot, if the string has one other than `/`.
    pub chroot: Option<Chroot>,
}

impl ConnectString {
    /// The default client port.
    pub const DEFAULT_PORT: u16 = 2181;

    /// Parses a connect string as Apache ZooKeeper's `ConnectStringParser` does.
    pub fn parse(s: &str) -> Result<ConnectString, PathError> {
        let (hosts_part, chroot) = match s.find('/') {
            Some(i) => (&s[..i], Chroot::new(&s[i..])?),
            None => (s, None),
        };
        let mut hosts = Vec::new();
        for h in hosts_part
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
        {
            let (host, port) = if let Some(rest) = h.strip_prefix('[') {
                // [ipv6]:port
                let end = rest
                    .find(']')
                    .ok_or_else(|| invalid(s, "unterminated IPv6 address"))?;
                let port = rest[end + 1..].strip_prefix(':');
                (&rest[..end], port)
            } else {
                match h.rsplit_once(':') {
                    Some((host, port)) => (host, Some(port)),
                    None => (h, None),
                }
            };
            let port = match port {
                Some(p) => p.parse().map_err(|_| invalid(s, "invalid port"))?,
                None => Self::DEFAULT_PORT,
            };
            hosts.push((host.to_owned(), port));
        }
        if hosts.is_empty() {
            return Err(invalid(s, "no hosts in connect string"));
        }
        Ok(ConnectString { hosts, chroot })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_path_rules() {
        for ok in [
            "/",
            "/a",
            "/a/b",
            "/zookeeper",
            "/a b",
            "/a.b",
            "/..a",
            "/a/.b",
            "/é",
        ] {
            assert!(validate_path(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "/a/",
            "//",
            "/a//b",
            "/.",
            "/..",
            "/a/./b",
            "/a/../b",
            "/a\0",
            "/a\u{1}",
            "/\u{7f}",
            "/\u{e000}",
            "/\u{fff0}",
            "/\u{1f600}",
        ] {
            assert!(validate_path(bad, false).is_err(), "{bad:?}");
        }
        assert!(validate_path("/queue/", true).is_ok());
        assert!(validate_path("/queue//", true).is_err());
    }

    #[test]
    fn parents_and_names() {
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(parent("/"), "/");
        assert_eq!(node_name("/a/b"), "b");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }

    #[test]
    fn sequence_suffix() {
        assert_eq!(sequential_suffix(7), "0000000007");
        assert_eq!(sequential_suffix(-5), "-000000005");
        assert_eq!(sequential_suffix(i32::MIN), "-2147483648");
        assert_eq!(parse_sequence("lock-0000000042"), Some(42));
        assert_eq!(parse_sequence("lock-42"), None);
    }

    #[test]
    fn chroot() {
        assert_eq!(Chroot::new("/").unwrap(), None);
        let c = Chroot::new("/app").unwrap().unwrap();
        assert_eq!(c.prepend("/"), "/app");
        assert_eq!(c.prepend("/x"), "/app/x");
        assert_eq!(c.strip("/app"), "/");
        assert_eq!(c.strip("/app/x"), "/x");
        assert_eq!(c.strip("/apple"), "/apple");
        assert_eq!(c.strip("/zookeeper/config"), "/zookeeper/config");
    }

    #[test]
    fn connect_strings() {
        let cs = ConnectString::parse("h1:2182,h2,[::1]:2183/app/x").unwrap();
        assert_eq!(
            cs.hosts,
            vec![
                ("h1".to_owned(), 2182),
                ("h2".to_owned(), 2181),
                ("::1".to_owned(), 2183)
            ]
        );
        assert_eq!(cs.chroot.unwrap().as_str(), "/app/x");
        assert!(ConnectString::parse("h1/").unwrap().chroot.is_none());
        assert!(ConnectString::parse("h1:x").is_err());
        assert!(ConnectString::parse("/app").is_err());
        assert!(ConnectString::parse("h1/app/").is_err());
    }
}
